#!/usr/bin/env python3
"""EMR bootstrap action: give the primary (master) node its fixed private IP, for good.

Guide tip T4 and the guide's "fixed IP" script, rewritten for Python 3. YARN RM, the
Spark UI and SSH then stay on one address while clusters are replaced and masters reboot.

Usage (as an EMR bootstrap action; EMR runs it on every node)::

    assign_private_ip.py --ip 10.20.1.10                # cidr mode (the default): the IP
                                                        # is reserved by a subnet CIDR
                                                        # reservation
    assign_private_ip.py --ip 10.20.1.10 --reservation-eni eni-0123456789abcdef0

``--ip``               the fixed IPv4 address (required).
``--reservation-eni``  the network interface that holds the reserved block (``eni`` mode).
                       Omit it in ``cidr`` mode (``aws_ec2_subnet_cidr_reservation``).
``--wait-timeout``     seconds to wait until instance metadata shows the address on the
                       interface after assignment (default 120).
``--holder-wait``      seconds to wait while the address is held by an instance that is
                       shutting down (a replaced cluster's old master), default 600.
``--firewall``         ``auto`` (default: iptables when it works, else nft), ``iptables``
                       or ``nft``.
``--boot``             what the boot-time unit runs: re-apply the OS part only (see 9).
``--script-sha256``    the start of this script's sha256, added by the app to every
                       action so that a script edit replaces the clusters running it;
                       only logged.

What it does, on the primary node only (``isMaster`` in ``instance.json``, read from
``/mnt/var/lib/info/`` or ``/emr/instance-controller/lib/info/``; every other node logs a
line and exits 0):

1. preflight, before anything changes anywhere: ``ip`` works, a firewall that can DNAT
   works (``iptables -t nat``, else ``nft``: Amazon Linux 2023, the image of EMR 7, may
   ship only nftables), passwordless ``sudo -n`` when not root, and a systemd unit folder.
   A missing piece fails here, with what to install, never after the IP has moved in EC2;
2. reads instance id, MAC, interface id, subnet CIDR, primary IP and region from instance
   metadata, IMDSv2 (a session token for every read), retrying connection errors, 429 and
   5xx for about 60 s;
3. refuses an IP outside the node's subnet or one of the five addresses AWS reserves;
4. finds who holds the IP now: nobody, the reservation ENI, this node's interface, or
   something else. Something else is refused (non-zero exit) so a running cluster never
   loses its address to a new one, with one exception: when the holder's instance is
   ``shutting-down`` (the old master of a replaced cluster), the script waits for it to
   let go, up to ``--holder-wait``;
5. takes the IP without ever using ``AllowReassignment``: from the reservation ENI by
   ``UnassignPrivateIpAddresses`` on that ENI first (which AWS refuses if the ENI no longer
   holds it, so an address another master took in the meantime is never moved), then
   ``AssignPrivateIpAddresses`` to this node's interface, which AWS refuses if anything
   else took the address in between. If that assignment fails, the address is given back
   to the reservation ENI;
6. waits, with bounded exponential backoff, until metadata lists the IP on the interface;
7. adds the address to the OS interface (found by its MAC: ``eth0`` on Amazon Linux 2,
   ``ens5`` and similar on AL2023) with the subnet's prefix length, unless it is already
   there with any prefix (``amazon-ec2-net-utils`` may add secondary IPs itself);
8. DNATs fixed IP -> primary IP, for traffic from other hosts (prerouting) and for traffic
   the master sends to its own fixed IP (output: locally generated packets never pass
   prerouting). Daemons such as the YARN RM bind the primary address, so without DNAT the
   fixed IP would reach nothing. The rules live in a chain of their own, rebuilt whole
   when it differs from what it should be and jumped to first, so an older rule for the
   same address can never win: iptables chain ``EMR_FIXED_IP`` in the nat table, jumped
   to as rule 1 of ``PREROUTING`` and ``OUTPUT``; with nft, table ``ip emr_fixed_ip``
   whose nat chains hook in at priority -110, before iptables' nat (-100). The exact
   rules versions before the chain appended to ``PREROUTING``/``OUTPUT`` themselves
   (``-d <fixed IP>/32 -j DNAT --to-destination <primary IP>``) are deleted; every other
   rule stays;
9. installs ``emr-fixed-ip.service``, a systemd oneshot unit ordered after
   ``network-online.target`` and enabled for ``multi-user.target``, with a copy of this
   script. EMR does not re-run bootstrap actions after a reboot, and the nat rules do not
   survive one: at every boot the unit runs this script with ``--boot``, which re-applies
   steps 7 and 8 when metadata shows the address still on this node's interface, and
   changes nothing in AWS (after a reboot EC2 keeps the address on the interface; if
   something else holds it, the unit fails and says so instead of taking it back).

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
The CLI runs under a UTF-8 locale, with ``AWS_RETRY_MODE=standard`` and ten attempts of
five seconds at its credential fetch from metadata (unless the node sets them), and asks
only for the fields the script uses; on top of that the script retries throttling
(``RequestLimitExceeded``, ``Throttling``, ...) a bounded number of times with
exponential backoff and jitter.

IAM (instance profile of the cluster's EC2 role):
- ``ec2:DescribeNetworkInterfaces`` and ``ec2:DescribeInstances`` on ``*`` (neither has
  resource-level permissions);
- ``ec2:AssignPrivateIpAddresses`` on ``arn:aws:ec2:<region>:<account>:network-interface/*``,
  scoped with the condition ``ec2:Subnet`` = the subnet's ARN (the master's interface is
  created by EMR, so its id is not known in advance);
- ``ec2:UnassignPrivateIpAddresses`` on the reservation ENI only (``eni`` mode).
Instance metadata, the info files, ``ip``, ``iptables``/``nft`` and systemd need no IAM.
Local commands run through ``sudo -n`` when the script is not root (bootstrap actions run
as ``hadoop``, which has passwordless sudo on EMR).

Test-only environment overrides (never set on a node): ``EMR_BOOTSTRAP_IMDS_ENDPOINT``
(metadata base URL), ``EMR_BOOTSTRAP_INFO_DIRS`` (colon-separated info-file directories),
``EMR_BOOTSTRAP_BACKOFF_BASE`` (seconds, scales every backoff and the metadata retry
budget), ``EMR_BOOTSTRAP_INTERFACE`` (OS interface name instead of finding it by MAC),
``EMR_BOOTSTRAP_NETNS`` (run ``ip``, ``iptables`` and ``nft`` inside this network
namespace), ``EMR_BOOTSTRAP_SYSTEMD_DIR`` and ``EMR_BOOTSTRAP_INSTALL_DIR`` (where the unit
and the script's copy go), and the AWS CLI's own ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
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
DENIED_CODES = frozenset({"UnauthorizedOperation", "AccessDenied", "AccessDeniedException"})
AWS_ATTEMPTS = 6
# Metadata is retried this long (seconds, scaled like every backoff): at boot the service
# can answer 429/5xx or refuse connections for a while, and one hiccup must not fail the
# whole cluster.
IMDS_BUDGET = 60.0
# The CLI always runs in UTF-8, whatever the node's locale: under an ASCII locale the
# Python-based CLI of EMR 6.x crashes printing any non-ASCII text (a Korean Name tag,
# another interface's description).
CLI_ENV = {"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "PYTHONUTF8": "1",
           "PYTHONIOENCODING": "utf-8", "AWS_PAGER": ""}
# Unless the node sets them: the CLI's own retries, and its credential fetch from
# instance metadata (one attempt with a one-second timeout by default, after which the
# CLI says "Unable to locate credentials").
CLI_DEFAULTS = {"AWS_RETRY_MODE": "standard", "AWS_METADATA_SERVICE_NUM_ATTEMPTS": "10",
                "AWS_METADATA_SERVICE_TIMEOUT": "5"}


class BootstrapError(Exception):
    """A failure the script reports in one line and exits non-zero for.

    ``code`` is the AWS error code when the failure came from an AWS call.
    """

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


def log(message):
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    print("%s %s: %s" % (stamp, PROG, message), file=sys.stderr, flush=True)


def backoff(attempt, cap=20.0):
    """Seconds to wait before retry number ``attempt`` (0-based): exponential, equal jitter."""
    ceiling = min(cap * BACKOFF_BASE, BACKOFF_BASE * 2 ** attempt)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


class Imds:
    """Instance metadata over IMDSv2: one session token, sent with every read.

    Connection errors, 429 and 5xx are retried with backoff for ``IMDS_BUDGET`` seconds;
    any other HTTP error is final.
    """

    def __init__(self, endpoint=IMDS_ENDPOINT, timeout=2.0, budget=IMDS_BUDGET):
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout
        self.budget = budget * BACKOFF_BASE
        self._token = None
        # Metadata is link-local: an http_proxy set for the node must never see it.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def _call(self, method, path, headers):
        deadline = time.monotonic() + self.budget
        attempt = 0
        while True:
            request = urllib.request.Request(
                self.endpoint + path, method=method, headers=headers
            )
            try:
                with self._opener.open(request, timeout=self.timeout) as response:
                    return response.read().decode("utf-8")
            except urllib.error.HTTPError as error:
                if error.code != 429 and error.code < 500:
                    raise
                last = "HTTP %d" % error.code
            except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
                last = str(getattr(error, "reason", error)) or type(error).__name__
            attempt += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BootstrapError(
                    "instance metadata service at %s unreachable for %.0fs (%d attempts, last: %s)"
                    % (self.endpoint, self.budget, attempt, last)
                )
            time.sleep(min(backoff(attempt - 1, cap=5.0), remaining))

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
                with open(path, encoding="utf-8") as handle:
                    return json.load(handle)
            except (OSError, ValueError) as error:
                raise BootstrapError("cannot read %s: %s" % (path, error))
    return None


def aws_ec2(region, *args):
    """Run ``aws ec2 ARGS`` and return its parsed JSON output (None when it prints none).

    Throttling is retried ``AWS_ATTEMPTS`` times in all; any other failure raises
    BootstrapError carrying the AWS error code.
    """
    cli = shutil.which("aws")
    if cli is None:
        raise BootstrapError("the AWS CLI ('aws') is not on PATH")
    command = [cli, "ec2"] + list(args) + ["--region", region, "--output", "json"]
    env = dict(os.environ)
    env.update(CLI_ENV)
    for key, value in CLI_DEFAULTS.items():
        env.setdefault(key, value)
    for attempt in range(AWS_ATTEMPTS):
        result = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            encoding="utf-8", errors="replace", env=env, timeout=300,
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
            % (args[0], result.returncode, detail[-1] if detail else "no output"),
            code=code,
        )
    raise BootstrapError("aws ec2 %s still throttled after %d attempts" % (args[0], AWS_ATTEMPTS))
# ---- shared block: end ----


ENI_ID = re.compile(r"^eni-[0-9a-f]{8,17}$")
DEFAULT_WAIT_TIMEOUT = 120.0
DEFAULT_HOLDER_WAIT = 600.0
HOLDER_POLL = 10.0  # seconds between looks at a holder that is shutting down
FIREWALLS = ("auto", "iptables", "nft")
CHAIN = "EMR_FIXED_IP"
NFT_TABLE = "emr_fixed_ip"
NFT_PRIORITY = -110  # before iptables' nat chains (-100), so this table's DNAT wins
UNIT = "emr-fixed-ip.service"
SYSTEMD_DIR = os.environ.get("EMR_BOOTSTRAP_SYSTEMD_DIR", "/etc/systemd/system")
INSTALL_DIR = os.environ.get("EMR_BOOTSTRAP_INSTALL_DIR", "/usr/local/lib/emr-fixed-ip")
SCRIPT_NAME = "assign_private_ip.py"


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
    parser.add_argument(
        "--holder-wait",
        type=float,
        default=DEFAULT_HOLDER_WAIT,
        metavar="SECONDS",
        help="how long to wait while an instance that is shutting down holds the address "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--firewall", default="auto", choices=FIREWALLS,
        help="what writes the DNAT rules (default %(default)s: iptables, else nft)",
    )
    parser.add_argument(
        "--boot", action="store_true",
        help="re-apply the address and rules at boot (the systemd unit); no AWS change",
    )
    parser.add_argument(
        "--script-sha256",
        metavar="HEX",
        help="the start of this script's sha256, added by the app to every action so that a "
        "script edit replaces the clusters running it; only logged",
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
    if args.holder_wait < 0:
        problems.append("--holder-wait %r must be zero or more seconds" % args.holder_wait)
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


# ------------------------------------------------------------------ local commands


def privileged(command):
    """``command`` through ``sudo -n`` when not root."""
    return (["sudo", "-n"] if os.geteuid() != 0 else []) + list(command)


def os_command(*args):
    """``args`` prefixed as needed: test namespace, then sudo when not root."""
    command = list(args)
    netns = os.environ.get("EMR_BOOTSTRAP_NETNS")
    if netns:
        command = ["ip", "netns", "exec", netns] + command
    return privileged(command)


def run_command(command, check=True, input=None, what=None):
    try:
        result = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, input=input,
            encoding="utf-8", errors="replace", timeout=60,
        )
    except OSError as error:  # the program itself is missing
        raise BootstrapError("%s: %s" % (what or " ".join(command), error))
    if check and result.returncode != 0:
        raise BootstrapError(
            "%s failed (exit %d): %s"
            % (what or " ".join(command), result.returncode,
               result.stderr.strip() or result.stdout.strip())
        )
    return result


def run_os(*args, check=True, input=None):
    return run_command(os_command(*args), check=check, input=input, what=" ".join(args))


def probe(*args):
    """(works, detail) for a local command that must succeed for the script to work."""
    try:
        result = run_os(*args, check=False)
    except BootstrapError as error:
        return False, str(error)
    detail = (result.stderr.strip() or result.stdout.strip()).splitlines()
    return result.returncode == 0, detail[-1] if detail else "exit %d" % result.returncode


def preflight(firewall):
    """Every local prerequisite, checked before anything changes; returns the firewall
    to use (``iptables`` or ``nft``). All problems are reported together."""
    problems = []
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            problems.append("sudo is not installed and the script does not run as root")
        else:
            ok, detail = probe("true")
            if not ok:
                problems.append("'sudo -n' does not work for this user (%s): the bootstrap "
                                "action needs passwordless sudo, as user hadoop has on EMR" % detail)
    if problems:  # without sudo, nothing below can be told apart from a missing tool
        raise BootstrapError("preflight: " + "; ".join(problems))
    ok, detail = probe("ip", "-o", "link", "show")
    if not ok:
        problems.append("'ip' (iproute2) does not work: %s" % detail)
    chosen = None
    tried = []
    if firewall in ("auto", "iptables"):
        ok, detail = probe("iptables", "-w", "-t", "nat", "-S")
        if ok:
            chosen = "iptables"
        else:
            tried.append("iptables -t nat: %s" % detail)
    if chosen is None and firewall in ("auto", "nft"):
        ok, detail = probe("nft", "list", "tables")
        if ok:
            chosen = "nft"
        else:
            tried.append("nft: %s" % detail)
    if chosen is None:
        problems.append(
            "no firewall to write the DNAT rules with (%s); install iptables (Amazon Linux 2: "
            "yum install iptables) or nftables (Amazon Linux 2023, EMR 7: dnf install nftables) "
            "in an earlier bootstrap action, or pick one with --firewall" % "; ".join(tried)
        )
    if not os.path.isdir(SYSTEMD_DIR):
        problems.append(
            "no systemd unit folder %s: the address and rules could not be re-applied at "
            "boot" % SYSTEMD_DIR
        )
    if problems:
        raise BootstrapError("preflight: " + "; ".join(problems))
    log("preflight: ip, %s%s and %s are usable" % (
        chosen, "" if os.geteuid() == 0 else ", sudo -n", SYSTEMD_DIR))
    return chosen


# ------------------------------------------------------------------ AWS side


def find_holder(region, subnet_id, ip):
    """The subnet's interface holding ``ip`` as {id, instance}, or None.

    The subnet's interfaces are listed and matched here rather than trusting a server-side
    address filter, so secondary addresses are found the same way everywhere. Only the
    fields used are asked for (no descriptions: free text in any language).
    """
    interfaces = aws_ec2(
        region,
        "describe-network-interfaces",
        "--filters", "Name=subnet-id,Values=%s" % subnet_id,
        "--query",
        "NetworkInterfaces[].{id: NetworkInterfaceId, ips: PrivateIpAddresses[].PrivateIpAddress,"
        " instance: Attachment.InstanceId}",
    ) or []
    for interface in interfaces:
        if str(ip) in (interface.get("ips") or []):
            return interface
    return None


def instance_state(region, instance_id):
    """The EC2 state name of ``instance_id`` ("running", "shutting-down", ...)."""
    try:
        return aws_ec2(
            region, "describe-instances", "--instance-ids", instance_id,
            "--query", "Reservations[0].Instances[0].State.Name",
        )
    except BootstrapError as error:
        if error.code == "InvalidInstanceID.NotFound":
            return "terminated"
        raise


def wait_while_shutting_down(region, subnet_id, ip, holder, timeout):
    """Wait until ``holder`` (another instance's interface) lets go of ``ip`` while its
    instance is shutting down; return who holds it then. Refuse any other holder."""
    deadline = time.monotonic() + timeout
    while holder is not None:
        instance = holder.get("instance")
        state = instance_state(region, instance) if instance else None
        if state != "shutting-down":
            return holder
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BootstrapError(
                "%s is still held by %s of instance %s, which has been shutting down for over "
                "%.0fs (--holder-wait): retry once that instance has terminated"
                % (ip, holder["id"], instance, timeout)
            )
        delay = min(HOLDER_POLL * BACKOFF_BASE, remaining)
        log("%s is held by %s of instance %s, which is shutting down: waiting %.2fs for it "
            "to let go (up to %.0fs in all)" % (ip, holder["id"], instance, delay, timeout))
        time.sleep(delay)
        holder = find_holder(region, subnet_id, ip)
    return None


def take_ip(args, region, subnet_id, interface_id):
    """Move or assign the fixed IP to this node's interface; True if AWS changed."""
    ip = args.ip
    holder = find_holder(region, subnet_id, ip)
    if holder is not None and holder["id"] not in (interface_id, args.reservation_eni):
        holder = wait_while_shutting_down(region, subnet_id, ip, holder, args.holder_wait)
    holder_id = holder["id"] if holder else None
    if holder_id == interface_id:
        log("%s already assigned to %s; metadata has not caught up yet" % (ip, interface_id))
        return False
    if holder_id is not None and holder_id != args.reservation_eni:
        raise BootstrapError(
            "%s is held by %s (instance %s), which is neither the reservation ENI (%s) nor "
            "this node's interface %s: refusing to take it. Free it (terminate the old "
            "cluster or release the address) and retry."
            % (ip, holder_id, holder.get("instance") or "none",
               args.reservation_eni or "none in cidr mode", interface_id)
        )
    assign = ["assign-private-ip-addresses", "--network-interface-id", interface_id,
              "--private-ip-addresses", str(ip)]
    if holder_id is None:
        log("assigning free %s to %s" % (ip, interface_id))
        aws_ec2(region, *assign)
        return True
    log("moving %s from reservation %s to %s: unassign there first, then assign here"
        % (ip, holder_id, interface_id))
    try:
        aws_ec2(region, "unassign-private-ip-addresses", "--network-interface-id", holder_id,
                "--private-ip-addresses", str(ip))
    except BootstrapError as error:
        now = find_holder(region, subnet_id, ip)
        raise BootstrapError(
            "the reservation ENI %s no longer holds %s (%s); it is now held by %s: refusing to "
            "take it" % (holder_id, ip, error, now["id"] if now else "nobody")
        )
    try:
        aws_ec2(region, *assign)
    except BootstrapError as error:
        try:
            aws_ec2(region, "assign-private-ip-addresses", "--network-interface-id", holder_id,
                    "--private-ip-addresses", str(ip))
            back = "given back to the reservation ENI %s" % holder_id
        except BootstrapError as again:
            back = "could NOT be given back to %s (%s): it is unreserved now" % (holder_id, again)
        raise BootstrapError("assigning %s to %s failed (%s); the address was %s"
                             % (ip, interface_id, error, back))
    return True


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


# ------------------------------------------------------------------ OS side


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


def nat(*args, check=True):
    return run_os("iptables", "-w", "-t", "nat", *args, check=check)


def rules_of(chain):
    return [line for line in nat("-S", chain).stdout.splitlines() if line.startswith("-A ")]


def ensure_iptables_rules(ip, primary):
    """Chain EMR_FIXED_IP holds exactly the DNAT rule and is rule 1 of PREROUTING and
    OUTPUT; True if anything had to change."""
    changed = False
    if nat("-S", CHAIN, check=False).returncode != 0:
        nat("-N", CHAIN)
        changed = True
    rule = ["-d", "%s/32" % ip, "-j", "DNAT", "--to-destination", str(primary)]
    if rules_of(CHAIN) != ["-A %s %s" % (CHAIN, " ".join(rule))]:
        nat("-F", CHAIN)
        nat("-A", CHAIN, *rule)
        log("nat chain %s rebuilt: DNAT %s -> %s" % (CHAIN, ip, primary))
        changed = True
    for hook in ("PREROUTING", "OUTPUT"):
        # Versions before the chain appended exactly this rule to the hook itself. Behind
        # the jump it is shadowed, but it would DNAT again if the chain ever went away, and
        # it misleads whoever reads the table: remove those exact rules, keep every other.
        legacy = "-A %s %s" % (hook, " ".join(rule))
        while legacy in rules_of(hook):
            nat("-D", hook, *rule)
            log("removed the rule an older version wrote: %s" % legacy)
            changed = True
        jump = "-A %s -j %s" % (hook, CHAIN)
        rules = rules_of(hook)
        if rules[:1] == [jump] and rules.count(jump) == 1:
            continue
        while nat("-C", hook, "-j", CHAIN, check=False).returncode == 0:
            nat("-D", hook, "-j", CHAIN)
        nat("-I", hook, "1", "-j", CHAIN)
        log("nat %s jumps to %s first" % (hook, CHAIN))
        changed = True
    return changed


def nft_ruleset(ip, primary):
    return "".join(
        "  chain %s { type nat hook %s priority %d; policy accept; ip daddr %s dnat to %s; }\n"
        % (hook, hook, NFT_PRIORITY, ip, primary)
        for hook in ("prerouting", "output")
    )


def nft_is_current(listing, ip, primary):
    """Whether ``nft list table`` output shows exactly the two wanted chains."""
    chains = re.findall(r"chain (\w+) \{([^}]*)\}", listing)
    wanted = {}
    for name, body in chains:
        lines = [" ".join(line.split()) for line in body.strip().splitlines() if line.strip()]
        wanted[name] = lines
    expected_rule = "ip daddr %s dnat to %s" % (ip, primary)
    for hook in ("prerouting", "output"):
        lines = wanted.get(hook)
        if not lines or len(lines) != 2 or lines[1] != expected_rule:
            return False
        if not re.match(r"type nat hook %s priority (-110|dstnat - 10); policy accept;$" % hook,
                        lines[0]):
            return False
    return set(wanted) == {"prerouting", "output"}


def ensure_nft_rules(ip, primary):
    """Table ``ip emr_fixed_ip`` holds exactly the DNAT chains; replaced atomically."""
    listed = run_os("nft", "list", "table", "ip", NFT_TABLE, check=False)
    if listed.returncode == 0 and nft_is_current(listed.stdout, ip, primary):
        log("nft table %s already DNATs %s -> %s (unchanged)" % (NFT_TABLE, ip, primary))
        return False
    # One transaction: create (if missing), delete, recreate.
    script = "table ip %s\ndelete table ip %s\ntable ip %s {\n%s}\n" % (
        NFT_TABLE, NFT_TABLE, NFT_TABLE, nft_ruleset(ip, primary))
    run_os("nft", "-f", "-", input=script)
    log("nft table %s rebuilt: DNAT %s -> %s before iptables' nat" % (NFT_TABLE, ip, primary))
    return True


def ensure_rules(firewall, ip, primary):
    if firewall == "nft":
        return ensure_nft_rules(ip, primary)
    changed = ensure_iptables_rules(ip, primary)
    if not changed:
        log("nat chain %s already DNATs %s -> %s, jumped to first (unchanged)" % (CHAIN, ip, primary))
    return changed


def apply_os(imds, mac, cidr, ip, primary, firewall):
    interface = os_interface(mac)
    prefix = ipaddress.IPv4Network(cidr).prefixlen
    changed = ensure_address(interface, ip, prefix)
    return ensure_rules(firewall, ip, primary) or changed


# ------------------------------------------------------------------ boot unit


def unit_text(args, firewall):
    command = [sys.executable or "/usr/bin/python3", os.path.join(INSTALL_DIR, SCRIPT_NAME),
               "--boot", "--ip", str(args.ip), "--firewall", firewall]
    return (
        "# Written by %s (EMR bootstrap action): EMR does not re-run bootstrap actions after a\n"
        "# reboot, so this re-applies the fixed IP's address and DNAT rules at every boot.\n"
        "[Unit]\n"
        "Description=Fixed private IP %s of this EMR primary node (address and DNAT)\n"
        "Wants=network-online.target\n"
        "After=network-online.target\n"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        "RemainAfterExit=yes\n"
        "TimeoutStartSec=300\n"
        "ExecStart=%s\n"
        "\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n"
        % (PROG, args.ip, " ".join(shlex.quote(part) for part in command))
    )


def install_file(path, content, mode):
    """Write ``content`` to ``path`` (as root) unless it is there already; True if written."""
    try:
        with open(path, encoding="utf-8") as handle:
            if handle.read() == content:
                return False
    except OSError:
        pass
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", delete=False) as handle:
        handle.write(content)
    try:
        run_command(privileged(["install", "-D", "-m", mode, handle.name, path]))
    finally:
        os.unlink(handle.name)
    return True


def install_boot_unit(args, firewall):
    """The copy of this script and the enabled unit that runs it at boot; True if changed."""
    with open(os.path.abspath(__file__), encoding="utf-8") as handle:
        source = handle.read()
    changed = install_file(os.path.join(INSTALL_DIR, SCRIPT_NAME), source, "0755")
    unit = os.path.join(SYSTEMD_DIR, UNIT)
    changed = install_file(unit, unit_text(args, firewall), "0644") or changed
    wants = os.path.join(SYSTEMD_DIR, "multi-user.target.wants")
    link = os.path.join(wants, UNIT)
    if os.path.realpath(link) != os.path.realpath(unit) or not os.path.islink(link):
        # What `systemctl enable` does, without needing a running systemd.
        run_command(privileged(["mkdir", "-p", wants]))
        run_command(privileged(["ln", "-sfn", unit, link]))
        changed = True
    if changed:
        if SYSTEMD_DIR == "/etc/systemd/system" and os.path.isdir("/run/systemd/system"):
            reload = run_command(privileged(["systemctl", "daemon-reload"]), check=False)
            if reload.returncode != 0:
                log("warning: systemctl daemon-reload failed (%s); the unit still runs at the "
                    "next boot" % reload.stderr.strip())
        log("installed %s (enabled): the address and rules come back at every boot" % unit)
    else:
        log("%s already installed and enabled (unchanged)" % unit)
    return changed


# ------------------------------------------------------------------ the two entry points


def read_node(imds):
    node = {"region": imds.get("placement/region"), "mac": imds.get("mac")}
    base = "network/interfaces/macs/%s/" % node["mac"]
    node["interface_id"] = imds.get(base + "interface-id")
    node["subnet_id"] = imds.get(base + "subnet-id")
    node["cidr"] = imds.get(base + "subnet-ipv4-cidr-block")
    node["primary"] = ipaddress.IPv4Address(imds.get("local-ipv4"))
    node["instance_id"] = imds.get("instance-id")
    return node


def assign(args):
    if not is_primary_node():
        log("not the primary node (isMaster is not true in instance.json): nothing to do")
        return 0
    ip = args.ip
    firewall = preflight(args.firewall)
    imds = Imds()
    node = read_node(imds)
    mode = "eni (reservation %s)" % args.reservation_eni if args.reservation_eni else "cidr"
    log("primary node %s in %s, interface %s, subnet %s %s, primary IP %s, fixed IP %s, mode %s"
        % (node["instance_id"], node["region"], node["interface_id"], node["subnet_id"],
           node["cidr"], node["primary"], ip, mode))
    check_in_subnet(ip, node["cidr"])
    if ip == node["primary"]:
        raise BootstrapError("fixed IP %s is this node's primary IP already" % ip)

    changed = False
    if ip_in_metadata(imds, node["mac"], ip):
        log("%s already assigned to %s (unchanged)" % (ip, node["interface_id"]))
    else:
        changed = take_ip(args, node["region"], node["subnet_id"], node["interface_id"])
        wait_for_metadata(imds, node["mac"], ip, args.wait_timeout)

    changed = apply_os(imds, node["mac"], node["cidr"], ip, node["primary"], firewall) or changed
    changed = install_boot_unit(args, firewall) or changed
    log("done: %s" % ("fixed IP %s configured" % ip if changed else "nothing changed, already configured"))
    return 0


def boot(args):
    """At boot: re-apply the OS part when EC2 still has the address on this interface."""
    firewall = preflight(args.firewall)
    imds = Imds()
    node = read_node(imds)
    if not ip_in_metadata(imds, node["mac"], args.ip):
        raise BootstrapError(
            "at boot: %s is no longer assigned to this node's interface %s in EC2; not "
            "taking it back (something else may hold it now): check with the ops status "
            "command, then run %s without --boot to take it" % (args.ip, node["interface_id"], SCRIPT_NAME)
        )
    changed = apply_os(imds, node["mac"], node["cidr"], args.ip, node["primary"], firewall)
    log("boot: fixed IP %s %s" % (args.ip, "re-applied" if changed else "already in place"))
    return 0


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.script_sha256:
        log("script sha256 %s..." % args.script_sha256)
    try:
        return boot(args) if args.boot else assign(args)
    except BootstrapError as error:
        log("FAILED: %s" % error)
        return 1
    except Exception as error:  # an unexpected failure must still fail the bootstrap action
        log("FAILED: unexpected %s: %s" % (type(error).__name__, error))
        return 1


if __name__ == "__main__":
    sys.exit(main())
