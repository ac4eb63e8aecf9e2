#!/usr/bin/env python3
"""EMR bootstrap action: give the primary (master) node its fixed private IP.

Guide tip T4 and the guide's "fixed IP" script, rewritten for Python 3. YARN RM, the
Spark UI and SSH then stay on one address while clusters are replaced.

Usage (as an EMR bootstrap action; EMR runs it on every node)::

    assign_private_ip.py --ip 10.20.1.10 --reservation-eni eni-0123456789abcdef0
    assign_private_ip.py --ip 10.20.1.10            # cidr mode: the IP is reserved by a
                                                    # subnet CIDR reservation, not an ENI

``--ip``               the fixed IPv4 address (required).
``--reservation-eni``  the network interface that holds the reserved block (``eni`` mode).
                       Omit it in ``cidr`` mode (``aws_ec2_subnet_cidr_reservation``).
``--wait-timeout``     seconds to wait until instance metadata shows the address on the
                       interface after assignment (default 120).

What it does, on the primary node only (``isMaster`` in ``instance.json``, read from
``/mnt/var/lib/info/`` or ``/emr/instance-controller/lib/info/``; every other node logs a
line and exits 0):

1. reads instance id, MAC, interface id, subnet CIDR, primary IP and region from instance
   metadata, IMDSv2 (a session token for every read), nothing hard-coded;
2. refuses an IP outside the node's subnet or one of the five addresses AWS reserves;
3. finds who holds the IP now by listing the subnet's network interfaces: nobody, the
   reservation ENI, this node's interface, or something else. Something else is refused
   (non-zero exit) so a running cluster never loses its address to a new one;
4. ``AssignPrivateIpAddresses`` to this node's interface. ``AllowReassignment`` is sent
   only when the reservation ENI holds the IP (that is what moves it off the ENI); a free
   IP is assigned without it, so a concurrent taker makes AWS refuse instead of the script
   silently stealing the address;
5. waits, with bounded exponential backoff, until metadata lists the IP on the interface;
6. adds the address to the OS interface (found by its MAC: ``eth0`` on Amazon Linux 2,
   ``ens5`` and similar on AL2023) with the subnet's prefix length, unless it is already
   there with any prefix (``amazon-ec2-net-utils`` may add secondary IPs itself);
7. adds ``iptables -t nat`` DNAT rules fixed IP -> primary IP in ``PREROUTING`` (traffic
   from other hosts) and ``OUTPUT`` (traffic the master sends to its own fixed IP, e.g. a
   client on the master configured with the fixed address; locally generated packets never
   pass PREROUTING). Both only if ``iptables -C`` does not find them. Daemons such as the
   YARN RM bind the primary address, so without DNAT the fixed IP would reach nothing.

Every step checks before it changes, so a second run changes nothing and says so. Any
failure exits non-zero, so the bootstrap action fails and the cluster never comes up
silently without its address. Log lines go to stderr with a UTC timestamp and the script
name.

Why the AWS CLI and not boto3: every EMR 6.x and 7.x image ships the AWS CLI (v1 on Amazon
Linux 2, v2 with its own bundled Python on AL2023), and the guide's own scripts rely on it.
boto3 for the system ``python3`` is not part of either image: AL2023 installs no
``python3-boto3`` by default (and that package conflicted with ``awscli-2`` for a while),
and EMR bootstrap scripts commonly ``pip install boto3`` first, which needs package-index
access from private subnets at boot, the worst moment to depend on it. Only the standard
library is imported, and the code is kept Python 3.7 compatible (EMR 6.x's python3).
The CLI runs with ``AWS_RETRY_MODE=standard`` (unless set); on top of that the script
retries throttling (``RequestLimitExceeded``, ``Throttling``, ...) with its own bounded
exponential backoff and jitter.

IAM (instance profile of the cluster's EC2 role):
- ``ec2:DescribeNetworkInterfaces`` on ``*`` (the action has no resource-level permissions);
- ``ec2:AssignPrivateIpAddresses`` on ``arn:aws:ec2:<region>:<account>:network-interface/*``,
  scoped with the condition ``ec2:Subnet`` = the subnet's ARN (the master's interface is
  created by EMR, so its id is not known in advance).
Instance metadata, the info files, ``ip`` and ``iptables`` need no IAM. ``ip``/``iptables``
run through ``sudo -n`` when the script is not root (bootstrap actions run as ``hadoop``,
which has passwordless sudo on EMR).

Test-only environment overrides (never set on a node): ``EMR_BOOTSTRAP_IMDS_ENDPOINT``
(metadata base URL), ``EMR_BOOTSTRAP_INFO_DIRS`` (colon-separated info-file directories),
``EMR_BOOTSTRAP_BACKOFF_BASE`` (seconds, scales every backoff), ``EMR_BOOTSTRAP_INTERFACE``
(OS interface name instead of finding it by MAC), ``EMR_BOOTSTRAP_NETNS`` (run ``ip`` and
``iptables`` inside this network namespace), and the AWS CLI's own ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

PROG = "assign_private_ip"

# ---- shared block: begin (identical in assign_private_ip.py and tag_instance_role.py) ----
IMDS_ENDPOINT = os.environ.get("EMR_BOOTSTRAP_IMDS_ENDPOINT", "http://169.254.169.254")
INFO_DIRS = os.environ.get(
    "EMR_BOOTSTRAP_INFO_DIRS", "/mnt/var/lib/info:/emr/instance-controller/lib/info"
).split(":")
BACKOFF_BASE = float(os.environ.get("EMR_BOOTSTRAP_BACKOFF_BASE", "1.0"))
THROTTLING_CODES = frozenset(
    {"RequestLimitExceeded", "Throttling", "ThrottlingException", "RequestThrottled"}
)
AWS_ATTEMPTS = 6


class BootstrapError(Exception):
    """A failure the script reports in one line and exits non-zero for."""


def log(message):
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    print("%s %s: %s" % (stamp, PROG, message), file=sys.stderr, flush=True)


def backoff(attempt, cap=20.0):
    """Seconds to wait before retry number ``attempt`` (0-based): exponential, equal jitter."""
    ceiling = min(cap * BACKOFF_BASE, BACKOFF_BASE * 2 ** attempt)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


class Imds:
    """Instance metadata over IMDSv2: one session token, sent with every read."""

    def __init__(self, endpoint=IMDS_ENDPOINT, timeout=2.0, attempts=4):
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout
        self.attempts = attempts
        self._token = None
        # Metadata is link-local: an http_proxy set for the node must never see it.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def _call(self, method, path, headers):
        last = None
        for attempt in range(self.attempts):
            request = urllib.request.Request(
                self.endpoint + path, method=method, headers=headers
            )
            try:
                with self._opener.open(request, timeout=self.timeout) as response:
                    return response.read().decode()
            except urllib.error.HTTPError as error:
                if error.code < 500:
                    raise
                last = "HTTP %d" % error.code
            except (urllib.error.URLError, OSError) as error:
                last = str(getattr(error, "reason", error))
            if attempt + 1 < self.attempts:
                time.sleep(backoff(attempt, cap=2.0))
        raise BootstrapError(
            "instance metadata service at %s unreachable after %d attempts (%s)"
            % (self.endpoint, self.attempts, last)
        )

    def get(self, path):
        """The text at ``/latest/meta-data/PATH``; a 401 (expired token) renews it once."""
        for renew in (False, True):
            try:
                if renew or self._token is None:
                    self._token = self._call(
                        "PUT", "/latest/api/token",
                        {"X-aws-ec2-metadata-token-ttl-seconds": "21600"},
                    )
                return self._call(
                    "GET", "/latest/meta-data/" + path, {"X-aws-ec2-metadata-token": self._token}
                ).strip()
            except urllib.error.HTTPError as error:
                if error.code != 401 or renew:
                    raise BootstrapError("instance metadata %s: HTTP %d" % (path, error.code))
        raise AssertionError("unreachable")


def read_info_file(name):
    """The first ``name`` found in the EMR info directories, parsed; None if none has it."""
    for directory in INFO_DIRS:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            try:
                with open(path) as handle:
                    return json.load(handle)
            except (OSError, ValueError) as error:
                raise BootstrapError("cannot read %s: %s" % (path, error))
    return None


def aws_ec2(region, *args):
    """Run ``aws ec2 ARGS`` and return its parsed JSON output (None when it prints none)."""
    cli = shutil.which("aws")
    if cli is None:
        raise BootstrapError("the AWS CLI ('aws') is not on PATH")
    command = [cli, "ec2"] + list(args) + ["--region", region, "--output", "json"]
    env = dict(os.environ, AWS_PAGER="")
    env.setdefault("AWS_RETRY_MODE", "standard")
    for attempt in range(AWS_ATTEMPTS):
        result = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True, env=env, timeout=300,
        )
        if result.returncode == 0:
            return json.loads(result.stdout) if result.stdout.strip() else None
        match = re.search(r"An error occurred \(([A-Za-z0-9.]+)\)", result.stderr)
        code = match.group(1) if match else None
        if code in THROTTLING_CODES and attempt + 1 < AWS_ATTEMPTS:
            delay = backoff(attempt)
            log("aws ec2 %s throttled (%s), retry %d of %d in %.2fs"
                % (args[0], code, attempt + 1, AWS_ATTEMPTS - 1, delay))
            time.sleep(delay)
            continue
        detail = result.stderr.strip().splitlines()
        raise BootstrapError(
            "aws ec2 %s failed (exit %d): %s"
            % (args[0], result.returncode, detail[-1] if detail else "no output")
        )
    raise BootstrapError("aws ec2 %s still throttled after %d attempts" % (args[0], AWS_ATTEMPTS))
# ---- shared block: end ----


ENI_ID = re.compile(r"^eni-[0-9a-f]{8,17}$")
DEFAULT_WAIT_TIMEOUT = 120.0


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Assign the fixed private IP to this EMR primary node (no-op elsewhere).",
    )
    parser.add_argument("--ip", required=True, help="the fixed IPv4 address, e.g. 10.20.1.10")
    parser.add_argument(
        "--reservation-eni",
        metavar="ENI_ID",
        help="network interface holding the reserved block (eni mode); omit in cidr mode",
    )
    parser.add_argument(
        "--wait-timeout",
        type=float,
        default=DEFAULT_WAIT_TIMEOUT,
        metavar="SECONDS",
        help="how long to wait for metadata to show the address (default %(default)s)",
    )
    args = parser.parse_args(argv)
    problems = []
    try:
        args.ip = ipaddress.IPv4Address(args.ip)
    except ValueError:
        problems.append("--ip %r is not an IPv4 address (example: 10.20.1.10)" % args.ip)
    if args.reservation_eni is not None and not ENI_ID.match(args.reservation_eni):
        problems.append(
            "--reservation-eni %r is not a network interface id (eni- and 8-17 hex digits); "
            "omit it in cidr mode" % args.reservation_eni
        )
    if args.wait_timeout <= 0:
        problems.append("--wait-timeout %r must be a positive number of seconds" % args.wait_timeout)
    if problems:
        parser.error("; ".join(problems))
    return args


def is_primary_node():
    info = read_info_file("instance.json")
    if info is None:
        raise BootstrapError(
            "instance.json not found in %s: cannot tell whether this is the primary node"
            % " or ".join(INFO_DIRS)
        )
    return info.get("isMaster") is True


def check_in_subnet(ip, cidr):
    """Refuse an IP outside the subnet or one of the five addresses AWS reserves."""
    network = ipaddress.IPv4Network(cidr)
    if ip not in network:
        raise BootstrapError(
            "fixed IP %s is outside this node's subnet %s: give an IP of the subnet the "
            "master runs in" % (ip, network)
        )
    reserved = [network.network_address + i for i in range(4)] + [network.broadcast_address]
    if ip in reserved:
        raise BootstrapError(
            "fixed IP %s is one of the five addresses AWS reserves in %s (first four, last)"
            % (ip, network)
        )


def find_holder(region, subnet_id, ip):
    """The subnet's interface holding ``ip`` as {id, instance, description}, or None.

    The subnet's interfaces are listed and matched here rather than trusting a server-side
    address filter, so secondary addresses are found the same way everywhere.
    """
    interfaces = aws_ec2(
        region,
        "describe-network-interfaces",
        "--filters", "Name=subnet-id,Values=%s" % subnet_id,
        "--query",
        "NetworkInterfaces[].{id: NetworkInterfaceId, ips: PrivateIpAddresses[].PrivateIpAddress,"
        " instance: Attachment.InstanceId, description: Description}",
    ) or []
    for interface in interfaces:
        if str(ip) in (interface.get("ips") or []):
            return interface
    return None


def ip_in_metadata(imds, mac, ip):
    return str(ip) in imds.get("network/interfaces/macs/%s/local-ipv4s" % mac).split()


def wait_for_metadata(imds, mac, ip, timeout):
    deadline = time.monotonic() + timeout
    attempt = 0
    while not ip_in_metadata(imds, mac, ip):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BootstrapError(
                "metadata still does not show %s on interface %s after %.0fs" % (ip, mac, timeout)
            )
        delay = min(backoff(attempt, cap=10.0), remaining)
        log("waiting %.2fs for metadata to show %s on the interface" % (delay, ip))
        time.sleep(delay)
        attempt += 1
    log("metadata shows %s on the interface" % ip)


def os_command(*args):
    """``args`` prefixed as needed: test namespace, then sudo when not root."""
    command = list(args)
    netns = os.environ.get("EMR_BOOTSTRAP_NETNS")
    if netns:
        command = ["ip", "netns", "exec", netns] + command
    if os.geteuid() != 0:
        command = ["sudo", "-n"] + command
    return command


def run_os(*args, check=True):
    result = subprocess.run(
        os_command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        universal_newlines=True, timeout=60,
    )
    if check and result.returncode != 0:
        raise BootstrapError(
            "%s failed (exit %d): %s"
            % (" ".join(args), result.returncode, result.stderr.strip() or result.stdout.strip())
        )
    return result


def os_interface(mac):
    override = os.environ.get("EMR_BOOTSTRAP_INTERFACE")
    if override:
        return override
    for line in run_os("ip", "-o", "link", "show").stdout.splitlines():
        match = re.match(r"^\d+:\s+([^:@\s]+)[^:]*:.*link/ether\s+([0-9a-fA-F:]{17})", line)
        if match and match.group(2).lower() == mac.lower():
            return match.group(1)
    raise BootstrapError("no network interface with MAC %s (ip -o link show)" % mac)


def ensure_address(interface, ip, prefix):
    shown = run_os("ip", "-o", "-4", "addr", "show", "dev", interface).stdout
    present = re.search(r"\sinet\s+%s/(\d+)\s" % re.escape(str(ip)), shown)
    if present:
        log("%s/%s already on %s (unchanged)" % (ip, present.group(1), interface))
        return False
    run_os("ip", "addr", "add", "%s/%d" % (ip, prefix), "dev", interface)
    log("added %s/%d to %s" % (ip, prefix, interface))
    return True


def ensure_dnat(chain, ip, primary):
    rule = ["-d", "%s/32" % ip, "-j", "DNAT", "--to-destination", str(primary)]
    check = run_os("iptables", "-w", "-t", "nat", "-C", chain, *rule, check=False)
    if check.returncode == 0:
        log("DNAT %s -> %s already in nat %s (unchanged)" % (ip, primary, chain))
        return False
    if check.returncode != 1:
        raise BootstrapError(
            "iptables -t nat -C %s failed (exit %d): %s"
            % (chain, check.returncode, check.stderr.strip())
        )
    run_os("iptables", "-w", "-t", "nat", "-A", chain, *rule)
    log("added DNAT %s -> %s to nat %s" % (ip, primary, chain))
    return True


def assign(args):
    if not is_primary_node():
        log("not the primary node (isMaster is not true in instance.json): nothing to do")
        return 0
    ip = args.ip
    imds = Imds()
    region = imds.get("placement/region")
    mac = imds.get("mac")
    interface_id = imds.get("network/interfaces/macs/%s/interface-id" % mac)
    subnet_id = imds.get("network/interfaces/macs/%s/subnet-id" % mac)
    cidr = imds.get("network/interfaces/macs/%s/subnet-ipv4-cidr-block" % mac)
    primary = ipaddress.IPv4Address(imds.get("local-ipv4"))
    mode = "eni (reservation %s)" % args.reservation_eni if args.reservation_eni else "cidr"
    log("primary node %s in %s, interface %s, subnet %s %s, primary IP %s, fixed IP %s, mode %s"
        % (imds.get("instance-id"), region, interface_id, subnet_id, cidr, primary, ip, mode))
    check_in_subnet(ip, cidr)
    if ip == primary:
        raise BootstrapError("fixed IP %s is this node's primary IP already" % ip)

    changed = False
    if ip_in_metadata(imds, mac, ip):
        log("%s already assigned to %s (unchanged)" % (ip, interface_id))
    else:
        holder = find_holder(region, subnet_id, ip)
        holder_id = holder["id"] if holder else None
        if holder_id == interface_id:
            log("%s already assigned to %s; metadata has not caught up yet" % (ip, interface_id))
        elif holder_id is not None and holder_id != args.reservation_eni:
            raise BootstrapError(
                "%s is held by %s (instance %s, %r), which is neither the reservation ENI (%s) "
                "nor this node's interface %s: refusing to take it. Free it (terminate the old "
                "cluster or release the address) and retry."
                % (ip, holder_id, holder.get("instance") or "none",
                   holder.get("description") or "", args.reservation_eni or "none in cidr mode",
                   interface_id)
            )
        else:
            command = [
                "assign-private-ip-addresses",
                "--network-interface-id", interface_id,
                "--private-ip-addresses", str(ip),
            ]
            if holder_id is not None:
                command.append("--allow-reassignment")
                log("moving %s from reservation %s to %s" % (ip, holder_id, interface_id))
            else:
                log("assigning free %s to %s" % (ip, interface_id))
            aws_ec2(region, *command)
            changed = True
        wait_for_metadata(imds, mac, ip, args.wait_timeout)

    interface = os_interface(mac)
    prefix = ipaddress.IPv4Network(cidr).prefixlen
    changed = ensure_address(interface, ip, prefix) or changed
    changed = ensure_dnat("PREROUTING", ip, primary) or changed
    changed = ensure_dnat("OUTPUT", ip, primary) or changed
    log("done: %s" % ("fixed IP %s configured" % ip if changed else "nothing changed, already configured"))
    return 0


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return assign(args)
    except BootstrapError as error:
        log("FAILED: %s" % error)
        return 1
    except Exception as error:  # an unexpected failure must still fail the bootstrap action
        log("FAILED: unexpected %s: %s" % (type(error).__name__, error))
        return 1


if __name__ == "__main__":
    sys.exit(main())
