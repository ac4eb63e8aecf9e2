"""Fixtures for the node bootstrap scripts in assets/bootstrap/.

The scripts run as real processes, as EMR runs them, against:

- moto in server mode: a real local HTTP endpoint holding the EC2 state (VPC, subnet, the
  master instance and its interface, the reservation ENI, another ENI);
- ``AwsProxy``, a thin HTTP proxy in front of moto that the scripts' AWS CLI talks to
  (``AWS_ENDPOINT_URL``). It adds what moto does not model, explicitly, as AWS documents
  it: ``AssignPrivateIpAddresses`` refuses an address another interface of the subnet holds
  (``PrivateIpAddressInUse``) unless ``AllowReassignment`` is set, in which case the address
  moves (moto would silently put it on both interfaces); ``UnassignPrivateIpAddresses``
  refuses an address the interface does not hold (moto accepts it silently);
  ``CreateTags`` refuses a value over 256 characters (moto stores it). And, on demand:
  throttling (``RequestLimitExceeded`` N times for one action, then pass-through), denied
  actions (``UnauthorizedOperation``), an instance state other than moto's (moto never
  shows ``shutting-down``), and a hook run before an action is forwarded (to change EC2
  state between two calls of a run, as a concurrent actor would). It records every action
  it forwards so tests can tell what a run called;
- ``ImdsStandIn``, a local instance-metadata service on 127.0.0.1: ``PUT
  /latest/api/token`` and token-checked GETs (401 without ``X-aws-ec2-metadata-token``),
  answering from moto's state so an assigned address shows up in ``local-ipv4s``. It can
  fail the next requests on demand (an HTTP status, or a dropped connection) and serves
  instance-profile credentials, which the AWS CLI fetches when no keys are set;
- info files (``instance.json``, ``job-flow.json``) in a temporary folder, and folders
  standing in for ``/etc/systemd/system`` and the script's install folder;
- for the OS part, a network namespace with a veth interface carrying the master's MAC
  and primary IP, so ``ip``, ``iptables`` and ``nft`` run for real
  (``EMR_BOOTSTRAP_NETNS``); the veth's other end sits in a client namespace, a host of the
  subnet that connects to the master through the fixed IP.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "assets" / "bootstrap"
ASSIGN = SCRIPTS / "assign_private_ip.py"
TAG = SCRIPTS / "tag_instance_role.py"
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable

REGION = "ap-northeast-2"
VPC_CIDR = "10.20.0.0/16"
SUBNET_CIDR = "10.20.1.0/24"
MASTER_IP = "10.20.1.50"
RESERVED_BLOCK = ["10.20.1.10", "10.20.1.11", "10.20.1.12", "10.20.1.13"]
FOREIGN_PRIMARY = "10.20.1.30"
FOREIGN_HELD = "10.20.1.20"
CLUSTER_ID = "j-2AXXXXXXGAPLF"
CLIENT_IP = "10.20.1.200"  # another host of the subnet, in the client namespace


def aws_cli_dir() -> str | None:
    """Directory of the AWS CLI the scripts will call.

    The project venv's, else the one installed beside the Python the venv was made from
    (found directly: a version manager's shim on PATH costs a shell start per call), else
    whatever ``aws`` is on PATH.
    """
    for candidate in (ROOT / ".venv" / "bin" / "aws", Path(sys.base_prefix) / "bin" / "aws"):
        if candidate.exists():
            return str(candidate.parent)
    found = shutil.which("aws")
    return str(Path(found).parent) if found else None


# ---------------------------------------------------------------- servers


class _QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep pytest output readable
        pass

    def reply(self, status: int, body: bytes, content_type: str = "text/plain", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers:
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


def _serve(handler_cls) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_cls)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _ec2_error(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
        f"<Code>{code}</Code><Message>{message}</Message></Error></Errors>"
        f"<RequestID>{uuid.uuid4()}</RequestID></Response>"
    ).encode()


class AwsProxy:
    """HTTP proxy in front of moto adding AllowReassignment semantics and throttling."""

    def __init__(self, moto_url: str, ec2):
        self.moto = moto_url.split("://", 1)[1]
        self.ec2 = ec2
        self.calls: list[tuple[str, dict[str, list[str]]]] = []
        self.throttle: dict[str, int] = {}
        self.deny: set[str] = set()
        self.instance_states: dict[str, str] = {}  # instance id -> state DescribeInstances shows
        self.hooks: dict[str, object] = {}  # action -> callable(params), run before forwarding
        self.lock = threading.Lock()
        proxy = self

        class Handler(_QuietHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                params = parse_qs(body.decode())
                action = params.get("Action", ["?"])[0]
                with proxy.lock:
                    proxy.calls.append((action, params))
                    if proxy.throttle.get(action, 0) > 0:
                        proxy.throttle[action] -= 1
                        return self.reply(
                            503,
                            _ec2_error("RequestLimitExceeded", "Request limit exceeded."),
                            "text/xml",
                        )
                    if action in proxy.deny:
                        return self.reply(
                            403,
                            _ec2_error("UnauthorizedOperation", "You are not authorized to perform this operation."),
                            "text/xml",
                        )
                    if action in proxy.hooks:
                        proxy.hooks[action](params)
                    refusal = proxy.refusal(action, params)
                    if refusal:
                        return self.reply(400, refusal, "text/xml")
                status, headers, payload = proxy.forward(self.command, self.path, self.headers, body)
                if action == "DescribeInstances":
                    payload = proxy.with_instance_states(payload)
                self.reply(status, payload, headers.get("Content-Type", "text/xml"))

        self.server = _serve(Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]

    def forward(self, method, path, headers, body):
        conn = http.client.HTTPConnection(self.moto, timeout=30)
        conn.request(
            method,
            path,
            body=body,
            headers={k: v for k, v in headers.items() if k.lower() not in ("host", "connection")},
        )
        response = conn.getresponse()
        payload = response.read()
        conn.close()
        return response.status, dict(response.getheaders()), payload

    def refusal(self, action, params) -> bytes | None:
        """AWS's answer where it differs from moto's, or None to forward the call."""
        if action == "AssignPrivateIpAddresses":
            return self.reassignment(params)
        if action == "UnassignPrivateIpAddresses":
            target = params["NetworkInterfaceId"][0]
            ips = [v[0] for k, v in params.items() if k.startswith("PrivateIpAddress.")]
            held = self.held(target)
            if any(ip not in held for ip in ips):
                return _ec2_error(
                    "InvalidParameterValue", f"Some of the specified addresses are not assigned to interface {target}"
                )
        if action == "CreateTags":
            for key, value in params.items():
                if re.match(r"^Tag\.\d+\.Value$", key) and len(value[0]) > 256:
                    return _ec2_error("InvalidParameterValue", "Tag value exceeds the maximum length of 256 characters")
        return None

    def held(self, eni_id) -> list[str]:
        interface = self.ec2.describe_network_interfaces(NetworkInterfaceIds=[eni_id])["NetworkInterfaces"][0]
        return [a["PrivateIpAddress"] for a in interface["PrivateIpAddresses"]]

    def with_instance_states(self, payload: bytes) -> bytes:
        """Show the states set in ``instance_states`` instead of moto's."""
        text = payload.decode()
        for instance_id, state in self.instance_states.items():
            text = re.sub(
                rf"(<instanceId>{instance_id}</instanceId>.*?<instanceState>\s*<code>)\d+(</code>\s*<name>)\w[\w-]*(</name>)",
                lambda m, state=state: (
                    m.group(1)
                    + {"shutting-down": "32", "terminated": "48", "running": "16"}[state]
                    + m.group(2)
                    + state
                    + m.group(3)
                ),
                text,
                count=1,
                flags=re.S,
            )
        return text.encode()

    def reassignment(self, params) -> bytes | None:
        """What AWS does and moto does not: an address held elsewhere moves or is refused."""
        target = params["NetworkInterfaceId"][0]
        ips = [v[0] for k, v in params.items() if k.startswith("PrivateIpAddress.")]
        allow = params.get("AllowReassignment", ["false"])[0].lower() == "true"
        subnet = self.ec2.describe_network_interfaces(NetworkInterfaceIds=[target])["NetworkInterfaces"][0]["SubnetId"]
        interfaces = self.ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": [subnet]}])[
            "NetworkInterfaces"
        ]
        for ip in ips:
            for interface in interfaces:
                held = [a["PrivateIpAddress"] for a in interface["PrivateIpAddresses"]]
                if interface["NetworkInterfaceId"] == target or ip not in held:
                    continue
                if not allow:
                    return _ec2_error("PrivateIpAddressInUse", f"Address {ip} is in use.")
                self.ec2.unassign_private_ip_addresses(
                    NetworkInterfaceId=interface["NetworkInterfaceId"], PrivateIpAddresses=[ip]
                )
        return None

    def actions(self) -> list[str]:
        return [action for action, _ in self.calls]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class ImdsStandIn:
    """Instance metadata (IMDSv2) for one instance, answering from moto's EC2 state."""

    def __init__(self, ec2, *, instance_id, mac, eni_id, subnet_id, cidr, primary_ip, region):
        self.ec2 = ec2
        self.eni_id = eni_id
        self.tokens: set[str] = set()
        self.tokenless_reads = 0
        self.reads: list[str] = []
        self.hidden: dict[str, int] = {}  # ip -> how many more local-ipv4s reads hide it
        # The next requests whose path starts with a prefix fail: an HTTP status, or
        # "drop" (the connection closes without an answer).
        self.failures: list[tuple[str, object]] = []
        self.failed: list[tuple[str, object]] = []
        self.role = "emr-instance-role"
        self.lock = threading.Lock()
        base = f"network/interfaces/macs/{mac}/"
        self.static = {
            "instance-id": instance_id,
            "mac": mac,
            "local-ipv4": primary_ip,
            "placement/region": region,
            base + "interface-id": eni_id,
            base + "subnet-id": subnet_id,
            base + "subnet-ipv4-cidr-block": cidr,
        }
        self.local_ipv4s_path = base + "local-ipv4s"
        stand_in = self

        class Handler(_QuietHandler):
            def fail(self) -> bool:
                with stand_in.lock:
                    for i, (prefix, how) in enumerate(stand_in.failures):
                        if self.path.startswith(prefix):
                            del stand_in.failures[i]
                            stand_in.failed.append((self.path, how))
                            break
                    else:
                        return False
                if how == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                else:
                    self.reply(how, b"")
                return True

            def do_PUT(self):
                if self.fail():
                    return None
                if self.path != "/latest/api/token" or not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                    return self.reply(400, b"bad token request")
                token = secrets.token_urlsafe(24)
                stand_in.tokens.add(token)
                self.reply(200, token.encode())

            def do_GET(self):
                if self.fail():
                    return None
                if self.headers.get("X-aws-ec2-metadata-token") not in stand_in.tokens:
                    stand_in.tokenless_reads += 1
                    return self.reply(401, b"")
                path = self.path.removeprefix("/latest/meta-data/")
                stand_in.reads.append(path)
                value = stand_in.value(path)
                if value is None:
                    return self.reply(404, b"Not Found")
                self.reply(200, value.encode())

        self.server = _serve(Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]

    def value(self, path: str) -> str | None:
        credentials = "iam/security-credentials/"
        if path == credentials:
            return self.role
        if path == credentials + self.role:
            return json.dumps(
                {
                    "Code": "Success",
                    "Type": "AWS-HMAC",
                    "AccessKeyId": "ASIATESTING",
                    "SecretAccessKey": "testing",
                    "Token": "testing",
                    "LastUpdated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "Expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600)),
                }
            )
        if path == self.local_ipv4s_path:
            interface = self.ec2.describe_network_interfaces(NetworkInterfaceIds=[self.eni_id])["NetworkInterfaces"][0]
            ips = [
                a["PrivateIpAddress"] for a in sorted(interface["PrivateIpAddresses"], key=lambda a: not a["Primary"])
            ]
            shown = []
            for ip in ips:
                if self.hidden.get(ip, 0) > 0:
                    self.hidden[ip] -= 1
                else:
                    shown.append(ip)
            return "\n".join(shown)
        return self.static.get(path)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def moto_url():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def moto_ec2(moto_url):
    """boto3 EC2 client talking to moto directly (test set-up and checks, not the scripts)."""
    return boto3.client(
        "ec2", region_name=REGION, endpoint_url=moto_url, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


# ---------------------------------------------------------------- network namespace


def _netns_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if shutil.which("ip") is None:
        return "iproute2 ('ip') is not installed"
    if shutil.which("iptables") is None:
        return "iptables is not installed (Debian package iptables)"
    name = f"emrbt-probe-{uuid.uuid4().hex[:6]}"
    try:
        probe = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
        if probe.returncode != 0:
            return f"'ip netns add' failed: {probe.stderr.strip()}"
        nat = subprocess.run(
            ["ip", "netns", "exec", name, "iptables", "-w", "-t", "nat", "-S"], capture_output=True, text=True
        )
        if nat.returncode != 0:
            return f"iptables nat table unusable in a namespace: {nat.stderr.strip()}"
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None


@pytest.fixture(scope="session")
def netns_skip_reason():
    return _netns_unavailable()


@contextlib.contextmanager
def network_namespace(mac: str, primary_cidr: str):
    """A namespace holding veth ``fx0`` (MAC ``mac``, address ``primary_cidr``), like eth0.

    The veth's peer ``fx1`` sits in a second namespace, ``<name>-client``, with
    ``CLIENT_IP`` of the same subnet: another host that reaches the master over the link.
    """
    name = f"emrbt-{uuid.uuid4().hex[:8]}"
    client = f"{name}-client"
    prefix = primary_cidr.split("/")[1]
    steps = [
        ["ip", "netns", "add", name],
        ["ip", "netns", "add", client],
        [
            "ip",
            "-n",
            name,
            "link",
            "add",
            "fx0",
            "address",
            mac,
            "type",
            "veth",
            "peer",
            "name",
            "fx1",
            "netns",
            client,
        ],
        ["ip", "-n", name, "link", "set", "lo", "up"],
        ["ip", "-n", name, "link", "set", "fx0", "up"],
        ["ip", "-n", client, "link", "set", "lo", "up"],
        ["ip", "-n", client, "link", "set", "fx1", "up"],
        ["ip", "-n", name, "addr", "add", primary_cidr, "dev", "fx0"],
        ["ip", "-n", client, "addr", "add", f"{CLIENT_IP}/{prefix}", "dev", "fx1"],
    ]
    try:
        for step in steps:
            subprocess.run(step, check=True, capture_output=True, text=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", client], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


# ---------------------------------------------------------------- one EMR node


@dataclass
class RunResult:
    returncode: int
    log: str
    stdout: str


@dataclass
class Node:
    """One EMR node: its EC2 world in moto, its metadata, info files and namespace."""

    ec2: object
    proxy: AwsProxy
    imds: ImdsStandIn
    info_dirs: list[Path]
    instance_id: str
    eni_id: str
    reservation_eni_id: str
    foreign_eni_id: str
    subnet_id: str
    mac: str
    root: Path  # stands in for / : systemd/ (/etc/systemd/system) and install/
    netns: str | None = None
    env_extra: dict[str, str | None] = field(default_factory=dict)  # None removes a variable

    @property
    def systemd_dir(self) -> Path:
        return self.root / "systemd"

    @property
    def install_dir(self) -> Path:
        return self.root / "install"

    def env(self) -> dict[str, str]:
        cli_dir = aws_cli_dir()
        env = {
            "PATH": os.pathsep.join(filter(None, [cli_dir, os.environ.get("PATH", "")])),
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_ENDPOINT_URL": self.proxy.url,
            "AWS_CONFIG_FILE": "/nonexistent/aws-config",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
            "AWS_EC2_METADATA_DISABLED": "true",
            # The CLI's own retries off, so throttling reaches the script's backoff loop.
            "AWS_MAX_ATTEMPTS": "1",
            "EMR_BOOTSTRAP_IMDS_ENDPOINT": self.imds.url,
            "EMR_BOOTSTRAP_INFO_DIRS": ":".join(str(d) for d in self.info_dirs),
            # Backoffs scaled to hundredths of their real length to keep tests fast.
            "EMR_BOOTSTRAP_BACKOFF_BASE": "0.01",
            "EMR_BOOTSTRAP_SYSTEMD_DIR": str(self.systemd_dir),
            "EMR_BOOTSTRAP_INSTALL_DIR": str(self.install_dir),
        }
        # Without a namespace of its own, a run that unexpectedly reached the OS part would
        # fail on a namespace that does not exist instead of touching the host's network.
        env["EMR_BOOTSTRAP_NETNS"] = self.netns or "emrbt-no-such-namespace"
        for key, value in self.env_extra.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def run(self, script: Path, *args: str, python: str = PYTHON) -> RunResult:
        return self.run_command([python, str(script), *args])

    def run_command(self, command: list[str]) -> RunResult:
        result = subprocess.run(
            command, env=self.env(), capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=120
        )
        return RunResult(result.returncode, result.stderr, result.stdout)

    def unit(self) -> dict[str, str]:
        """The installed boot unit, as key -> value (later keys win)."""
        text = (self.systemd_dir / "emr-fixed-ip.service").read_text()
        return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))

    def boot(self) -> RunResult:
        """What systemd runs at boot: the installed unit's ExecStart, as written there."""
        return self.run_command(shlex.split(self.unit()["ExecStart"]))

    @property
    def client_netns(self) -> str:
        return f"{self.netns}-client"

    @contextlib.contextmanager
    def listener(self, port: int = 8088):
        """A TCP service in the master's namespace bound to the primary IP only, as the
        YARN ResourceManager binds it; it answers every connection with b"RM"."""
        code = (
            "import socket,sys\n"
            "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            f"s.bind(({MASTER_IP!r}, {port})); s.listen(8); print('ready', flush=True)\n"
            "while True:\n"
            "    c,_=s.accept(); c.sendall(b'RM'); c.close()\n"
        )
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, sys.executable, "-c", code], stdout=subprocess.PIPE, text=True
        )
        try:
            assert process.stdout.readline().strip() == "ready"
            yield port
        finally:
            process.kill()
            process.wait()

    def reach(self, ip: str, port: int = 8088, *, from_client: bool = True) -> str:
        """What a TCP client gets from ``ip:port``: the answer, or the error's name.
        From the client namespace (another host), or from the master itself."""
        code = (
            "import socket\n"
            "try:\n"
            f"    c=socket.create_connection(({ip!r}, {port}), timeout=2); print(c.recv(16).decode())\n"
            "except OSError as e:\n"
            "    print(type(e).__name__)\n"
        )
        where = self.client_netns if from_client else self.netns
        return subprocess.run(
            ["ip", "netns", "exec", where, sys.executable, "-c", code], capture_output=True, text=True, timeout=30
        ).stdout.strip()

    def reboot_os(self):
        """What a reboot loses on the node: every nat rule (iptables and nft) and the
        secondary address on the interface."""
        for iptables in ("iptables", "iptables-legacy", "iptables-nft"):
            if shutil.which(iptables):
                self.in_netns(iptables, "-w", "-t", "nat", "-F")
                self.in_netns(iptables, "-w", "-t", "nat", "-X")
        if shutil.which("nft"):
            self.in_netns("nft", "flush", "ruleset")
        for entry in self.addresses():
            if not entry.startswith(MASTER_IP + "/"):
                self.in_netns("ip", "addr", "del", entry, "dev", "fx0")

    def write_info(self, instance: dict | None, job_flow: dict | None = None, *, where: int = 0):
        directory = self.info_dirs[where]
        directory.mkdir(parents=True, exist_ok=True)
        for name, content in (("instance.json", instance), ("job-flow.json", job_flow)):
            path = directory / name
            if content is None:
                path.unlink(missing_ok=True)
            else:
                path.write_text(json.dumps(content))

    def ips(self, eni_id: str) -> list[str]:
        interface = self.ec2.describe_network_interfaces(NetworkInterfaceIds=[eni_id])["NetworkInterfaces"][0]
        return [a["PrivateIpAddress"] for a in interface["PrivateIpAddresses"]]

    def tags(self) -> dict[str, str]:
        instance = self.ec2.describe_instances(InstanceIds=[self.instance_id])["Reservations"][0]["Instances"][0]
        return {t["Key"]: t["Value"] for t in instance.get("Tags", [])}

    def in_netns(self, *command: str) -> str:
        return subprocess.run(
            ["ip", "netns", "exec", self.netns, *command], check=True, capture_output=True, text=True
        ).stdout

    def addresses(self) -> list[str]:
        """IPv4 address/prefix entries on fx0 inside the namespace."""
        out = self.in_netns("ip", "-o", "-4", "addr", "show", "dev", "fx0")
        return [line.split()[3] for line in out.splitlines()]

    def nat_rules(self) -> list[str]:
        return [
            line for line in self.in_netns("iptables", "-w", "-t", "nat", "-S").splitlines() if line.startswith("-A ")
        ]


def master_info(group_id: str = "ig-MASTER") -> dict:
    return {"isMaster": True, "instanceGroupId": group_id, "instanceRole": "Master"}


def job_flow_info() -> dict:
    return {
        "jobFlowId": CLUSTER_ID,
        "instanceGroups": [
            {"instanceGroupId": "ig-MASTER", "instanceRole": "Master"},
            {"instanceGroupId": "ig-CORE", "instanceRole": "Core"},
            {"instanceGroupId": "ig-TASK", "instanceRole": "Task"},
        ],
    }


_IMAGE_IDS: dict[str, str] = {}


def _any_image_id(ec2) -> str:
    """An AMI id moto knows; listing moto's images takes seconds, so once per endpoint."""
    endpoint = ec2.meta.endpoint_url
    if endpoint not in _IMAGE_IDS:
        _IMAGE_IDS[endpoint] = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    return _IMAGE_IDS[endpoint]


@contextlib.contextmanager
def emr_node(moto_ec2, moto_url: str, tmp: Path, *, instance_tags=None, with_netns=False):
    """Build a fresh VPC, subnet, master instance, reservation ENI and a foreign ENI in moto.

    The reservation ENI holds ``RESERVED_BLOCK`` as secondary addresses (the guide's way of
    reserving IPs); the foreign ENI (another instance's, say) holds ``FOREIGN_HELD``.
    """
    ec2 = moto_ec2
    vpc = ec2.create_vpc(CidrBlock=VPC_CIDR)["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=SUBNET_CIDR)["Subnet"]["SubnetId"]
    reservation = ec2.create_network_interface(
        SubnetId=subnet,
        Description="fixed-ip reservation",
        PrivateIpAddresses=[{"PrivateIpAddress": "10.20.1.9", "Primary": True}]
        + [{"PrivateIpAddress": ip, "Primary": False} for ip in RESERVED_BLOCK],
    )["NetworkInterface"]["NetworkInterfaceId"]
    foreign = ec2.create_network_interface(
        SubnetId=subnet,
        Description="another instance",
        PrivateIpAddresses=[
            {"PrivateIpAddress": FOREIGN_PRIMARY, "Primary": True},
            {"PrivateIpAddress": FOREIGN_HELD, "Primary": False},
        ],
    )["NetworkInterface"]["NetworkInterfaceId"]
    tags = (
        {
            "Name": "spark-batch-production-01",
            "aws:elasticmapreduce:instance-group-role": "MASTER",
            "aws:elasticmapreduce:job-flow-id": CLUSTER_ID,
        }
        if instance_tags is None
        else instance_tags
    )
    run_kwargs = {}
    if tags:
        run_kwargs["TagSpecifications"] = [
            {
                "ResourceType": "instance",
                "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
            }
        ]
    image = _any_image_id(ec2)
    instance = ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet, PrivateIpAddress=MASTER_IP, **run_kwargs
    )["Instances"][0]
    primary = instance["NetworkInterfaces"][0]
    proxy = AwsProxy(moto_url, ec2)
    imds = ImdsStandIn(
        ec2,
        instance_id=instance["InstanceId"],
        mac=primary["MacAddress"],
        eni_id=primary["NetworkInterfaceId"],
        subnet_id=subnet,
        cidr=SUBNET_CIDR,
        primary_ip=MASTER_IP,
        region=REGION,
    )
    node = Node(
        ec2=ec2,
        proxy=proxy,
        imds=imds,
        info_dirs=[tmp / "mnt-var-lib-info", tmp / "emr-instance-controller-lib-info"],
        instance_id=instance["InstanceId"],
        eni_id=primary["NetworkInterfaceId"],
        reservation_eni_id=reservation,
        foreign_eni_id=foreign,
        subnet_id=subnet,
        mac=primary["MacAddress"],
        root=tmp / "node-root",
    )
    node.systemd_dir.mkdir(parents=True, exist_ok=True)
    node.write_info(master_info(), job_flow_info())
    try:
        if with_netns:
            with network_namespace(node.mac, MASTER_IP + "/24") as netns:
                node.netns = netns
                yield node
        else:
            yield node
    finally:
        proxy.close()
        imds.close()


@pytest.fixture(scope="session")
def require_aws_cli():
    if aws_cli_dir() is None:
        pytest.skip("the AWS CLI ('aws') is not installed; the scripts call it as EMR nodes do")


@pytest.fixture
def node(moto_ec2, moto_url, tmp_path, require_aws_cli):
    """A primary node without a namespace: for runs that must fail before the OS part."""
    with emr_node(moto_ec2, moto_url, tmp_path) as built:
        yield built


@pytest.fixture
def node_ns(moto_ec2, moto_url, tmp_path, require_aws_cli, netns_skip_reason):
    """A primary node whose OS part runs for real in its own network namespace."""
    if netns_skip_reason:
        pytest.skip(netns_skip_reason)
    with emr_node(moto_ec2, moto_url, tmp_path, with_netns=True) as built:
        yield built
