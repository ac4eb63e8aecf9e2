"""A stand-in AWS account on localhost for real Terraform runs, and the helpers to deploy
the project into it.

The stand-in is moto in server mode, in a process of its own, serving https with a
self-signed certificate made for it (``127.0.0.1`` / ``localhost``), AWS managed policies
loaded (``MOTO_IAM_LOAD_MANAGED_POLICIES=true``: the service role attaches
AmazonEMRServicePolicy_v2) and the documented gaps of ``moto_shim.py`` filled. Terraform
reaches it through an override file beside each stack's ``cdk.tf.json`` (endpoints,
``insecure``, ``s3_use_path_style``, ``skip_credentials_validation`` ...); the synthesized
JSON is never edited.

API (fixtures in ``tests/terraform/conftest.py`` wrap it):

``StandIn.start(workdir) -> StandIn``
    Start the server (``python -m devtools.standin serve``), wait until it answers.
    ``.endpoint`` (``https://127.0.0.1:<port>``), ``.ca_bundle`` (the certificate, for
    boto3's ``AWS_CA_BUNDLE``), ``.aws_env(region)`` (the environment an AWS SDK or the
    ``ops`` CLI needs to talk to it), ``.client(service, region)``, ``.provider_settings()``
    (what goes into the provider override), ``.stop()``. ``StandIn.attach(endpoint,
    ca_bundle)`` wraps a server someone else started (``make sandbox``).

``create_account(standin, region, name=...) -> Account``
    What an account has before this project: a VPC, two private subnets in two zones, a
    log bucket whose policy lets S3 server access logging write to it, and a data bucket.
    ``Account.environment_toml(...)`` writes an environment file for it (the example
    environment's shape: admin/office CIDRs, fixed IPs for the masters).

``synthesize(environment_file, outdir) -> Path``
    ``build_app(load_environment(file)).synth()`` into ``outdir`` (in-process: the provider
    bindings import once per test session); returns ``outdir / "stacks"``.

``Deployment(toolchain, standin, state_dir, cli_config)``
    ``.terraform(stack_dir)`` writes the override (provider version from the mirror, a local
    backend at ``state_dir/<stack>.tfstate``, stand-in provider settings) and returns a
    ``toolchain.Terraform`` for the folder: ``init``, ``plan(out=..., detailed_exitcode=...)``,
    ``show_json``, ``apply``, ``destroy``, ``state_list``. Because the state path is
    absolute and keyed by stack name, a *modified* synthesis of the same stack (another
    outdir) plans against the applied state: apply the base once, then ``terraform(
    synthesized_stacks(other_outdir)[name]).plan(out=...)`` and ``show_json`` for each
    variant.
    ``.lift_prevent_destroy(stack_dir)`` adds an override setting ``prevent_destroy = false``
    wherever the stack sets it (to plan what the protection refuses);
    ``.decommission_override(stack_dir)`` also lifts EMR termination protection
    (decommissioning; the stack's own JSON keeps both).

``deploy_order(stacks_root)``: the foundation first (the bootstrap bucket and fixed-IP
reservation the purpose stacks read), then the purpose stacks; destroy runs it backwards.

``python -m devtools.standin serve --port N --cert C --key K`` runs the server in the
foreground (used by ``StandIn.start`` and ``make sandbox``).
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from devtools.toolchain import OVERRIDE_FILE, ROOT, Terraform, Toolchain, write_override
from emr_constructs.model.layout import stack_name_of, synthesized_stacks

ACCOUNT_ID = "123456789012"  # moto's default account
ACCESS_KEY = "testing"
SECRET_KEY = "testing"


def deploy_order(stacks_root: Path) -> list[str]:
    """Every synthesized stack in the guarded deploy's order (``deploy.cli.order``): the
    foundation first (the bootstrap bucket and fixed-IP reservation the purpose stacks
    read), then the purpose stacks by name."""
    from deploy.cli import order

    return order(synthesized_stacks(stacks_root.parent), None)


# Every service the stacks' resources and data sources call; all point at the stand-in.
PROVIDER_SERVICES = ("ec2", "emr", "iam", "s3", "sts", "kms", "sso", "ssm", "cloudwatch", "logs")
LIFT_FILE = "zz_decommission_override.tf.json"
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable


class StandInFailed(RuntimeError):
    pass


# ----------------------------------------------------------------------------- certificate


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (reused if present)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    cert_path, key_path = directory / "standin-cert.pem", directory / "standin-key.pem"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "emr-cdktf stand-in account")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ----------------------------------------------------------------------------- the server


@dataclass
class StandIn:
    endpoint: str
    ca_bundle: Path
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    @classmethod
    def start(cls, workdir: Path, *, port: int | None = None, timeout: float = 60) -> "StandIn":
        workdir.mkdir(parents=True, exist_ok=True)
        cert, key = make_certificate(workdir)
        port = port or _free_port()
        log_path = workdir / "standin.log"
        env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true", "PYTHONUNBUFFERED": "1"}
        log = open(log_path, "ab")
        process = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "devtools.standin",
                "serve",
                "--port",
                str(port),
                "--cert",
                str(cert),
                "--key",
                str(key),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        standin = cls(endpoint=f"https://127.0.0.1:{port}", ca_bundle=cert, process=process, log_path=log_path)
        standin.wait_ready(timeout)
        return standin

    @classmethod
    def attach(cls, endpoint: str, ca_bundle: Path) -> "StandIn":
        standin = cls(endpoint=endpoint, ca_bundle=ca_bundle)
        standin.wait_ready(10)
        return standin

    def wait_ready(self, timeout: float) -> None:
        """Wait until an STS call answers (cheap; moto's data dump is not, with the managed
        policies loaded)."""
        from botocore.config import Config

        sts = self.client(
            "sts", "us-east-1", config=Config(connect_timeout=2, read_timeout=20, retries={"max_attempts": 1})
        )
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise StandInFailed(
                    f"the stand-in exited with {self.process.returncode}: "
                    f"{self.log_path.read_text()[-3000:] if self.log_path else ''}"
                )
            try:
                sts.get_caller_identity()
                return
            except Exception as exc:  # connection refused while it starts, TLS not up yet
                last = exc
                time.sleep(0.3)
        raise StandInFailed(f"the stand-in at {self.endpoint} did not answer within {timeout} s: {last}")

    def stop(self) -> None:
        """Stop the server process (and its process group) that ``start`` started."""
        if self.process is None or self.process.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def aws_env(self, region: str) -> dict[str, str]:
        """Environment for an AWS SDK / the ``ops`` CLI pointed at the stand-in."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_CA_BUNDLE": str(self.ca_bundle),
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self, service: str, region: str, **kwargs):
        import boto3

        return boto3.client(  # type: ignore[call-overload]
            service,
            region_name=region,
            endpoint_url=self.endpoint,
            verify=str(self.ca_bundle),
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            **kwargs,
        )

    def faults(self, **plan: object) -> dict:
        """Set (``services=[...], count=N, every=K, kind="throttle"|"5xx"``) or, without
        arguments, read the shim's fault injection (``moto_shim`` "Faults on demand");
        answers ``{"injected": ..., "remaining": ...}``."""
        import ssl
        import urllib.request

        from devtools.moto_shim import FAULT_PATH

        request = urllib.request.Request(
            self.endpoint + FAULT_PATH,
            data=json.dumps(plan).encode() if plan else None,
            method="POST" if plan else "GET",
        )
        context = ssl.create_default_context(cafile=str(self.ca_bundle))
        with urllib.request.urlopen(request, context=context, timeout=30) as answer:
            return json.loads(answer.read())

    def provider_settings(self) -> dict:
        """The ``provider "aws"`` arguments that point Terraform at the stand-in."""
        return {
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            "insecure": True,
            "s3_use_path_style": True,
            "skip_credentials_validation": True,
            "skip_metadata_api_check": "true",
            "skip_requesting_account_id": False,
            "skip_region_validation": True,
            "endpoints": [{service: self.endpoint for service in PROVIDER_SERVICES}],
        }


def serve(port: int, cert: str, key: str) -> None:
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    from devtools import moto_shim

    moto_shim.install()
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import run_simple

    # As moto's own server command, with the shim's lingering close (moto_shim docstring).
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        "127.0.0.1",
        port,
        app,
        threaded=True,
        ssl_context=(cert, key),
        request_handler=moto_shim.lingering_request_handler(),
    )


# ----------------------------------------------------------------------------- the account


@dataclass
class Account:
    """What exists in the account before this project (see ``create_account``)."""

    region: str
    vpc_id: str
    vpc_cidr: str
    subnets: list[tuple[str, str, str]]  # (id, cidr, availability zone)
    logs_bucket: str
    data_bucket: str
    bootstrap_bucket: str
    name: str

    def environment_toml(
        self,
        *,
        fixed_ips: dict[str, str] | None = None,
        fixed_ip_mode: str = "eni",
        presto: bool = True,
        office_uis: bool = False,
    ) -> str:
        """An environment file for this account, shaped like the example environment.
        ``presto=False`` leaves out the service-presto settings, for apps built with
        purpose declarations that have no service-presto."""
        lines = [
            "# Written by devtools/standin.py for the stand-in account.",
            f'name = "{self.name}"',
            f'region = "{self.region}"',
            f'account_id = "{ACCOUNT_ID}"',
            f'vpc_id = "{self.vpc_id}"',
            f'vpc_cidr = "{self.vpc_cidr}"',
            'admin_cidrs = ["10.20.250.0/28"]',
            'office_cidrs = ["10.30.0.0/20"]',
            "",
        ]
        for subnet_id, cidr, zone in self.subnets:
            lines += [
                "[[private_subnets]]",
                f'id = "{subnet_id}"',
                f'cidr = "{cidr}"',
                f'availability_zone = "{zone}"',
                "",
            ]
        lines += [
            "[buckets]",
            f'logs = "{self.logs_bucket}"',
            f'bootstrap_assets = "{self.bootstrap_bucket}"',
            f'data = "{self.data_bucket}"',
            "",
        ]
        # As the example environment: the Trino cluster keeps its metastore in Glue, and the
        # settings must name the databases its role may read.
        if office_uis:
            # A user who opened the Spark History UI to the office (UIs are closed by default).
            lines += ["[purposes.spark-batch]", 'open_uis = ["spark-history"]', ""]
        if presto:
            lines += ["[purposes.service-presto]", 'glue_databases = ["analytics"]', ""]
        if fixed_ips:
            lines += [
                "[fixed_ips]",
                f'mode = "{fixed_ip_mode}"',
                f'subnet = "{self.subnets[0][0]}"',
                "",
                "[fixed_ips.masters]",
            ]
            lines += [f'"{cluster}" = "{ip}"' for cluster, ip in fixed_ips.items()]
        return "\n".join(lines) + "\n"


# Addresses in the first subnet, as the example environment gives its masters.
DEFAULT_FIXED_IPS = {
    "spark-batch-production-01": "10.20.1.16",
    "spark-batch-operation-01": "10.20.1.17",
    "service-presto-01": "10.20.1.18",
}


def create_account(standin: StandIn, region: str, *, name: str = "standin") -> Account:
    ec2 = standin.client("ec2", region)
    s3 = standin.client("s3", region)
    vpc_cidr = "10.20.0.0/16"
    vpc = ec2.create_vpc(CidrBlock=vpc_cidr)["Vpc"]["VpcId"]
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]][:2]
    subnets = []
    for index, zone in enumerate(zones, start=1):
        cidr = f"10.20.{index}.0/24"
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
        ec2.create_tags(Resources=[subnet], Tags=[{"Key": "Name", "Value": f"{name}-private-{index}"}])
        subnets.append((subnet, cidr, zone))
    logs, data = f"{name}-emr-logs", f"{name}-data-lake"
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    for bucket in (logs, data):
        s3.create_bucket(Bucket=bucket, **location)
    # The log bucket accepts S3 server access logs, as AWS documents for the logging
    # service principal (enable-server-access-logging, "bucket policy" method).
    s3.put_bucket_policy(
        Bucket=logs,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "S3ServerAccessLogsPolicy",
                        "Effect": "Allow",
                        "Principal": {"Service": "logging.s3.amazonaws.com"},
                        "Action": ["s3:PutObject"],
                        "Resource": f"arn:aws:s3:::{logs}/*",
                        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}},
                    }
                ],
            }
        ),
    )
    return Account(
        region=region,
        vpc_id=vpc,
        vpc_cidr=vpc_cidr,
        subnets=subnets,
        logs_bucket=logs,
        data_bucket=data,
        bootstrap_bucket=f"{name}-emr-bootstrap-assets",
        name=name,
    )


def synthesize(environment_file: Path, outdir: Path) -> Path:
    """Synthesize every stack for ``environment_file`` into ``outdir``; return its stacks/."""
    from environments.settings import load_environment
    from stacks.app import build_app

    build_app(load_environment(str(environment_file)), outdir=str(outdir)).synth()
    return outdir / "stacks"


# ----------------------------------------------------------------------------- terraform


@dataclass
class Deployment:
    toolchain: Toolchain
    standin: StandIn
    state_dir: Path
    cli_config: Path
    runs: list[Terraform] = field(default_factory=list)

    def terraform(self, stack_dir: Path) -> Terraform:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        write_override(
            stack_dir,
            self.toolchain.provider_version,
            backend_path=self.state_dir / f"{stack_name_of(stack_dir)}.tfstate",
            provider=self.standin.provider_settings(),
        )
        tf = Terraform(
            self.toolchain,
            stack_dir,
            self.cli_config,
            env={
                # The provider's own retries are for real AWS throttling; the stand-in answers
                # at once, and a wrong answer should fail fast instead of being retried.
                "AWS_MAX_ATTEMPTS": "2",
                "AWS_CA_BUNDLE": str(self.standin.ca_bundle),
            },
        )
        self.runs.append(tf)
        return tf

    @staticmethod
    def lift_prevent_destroy(stack_dir: Path) -> Path | None:
        """Override ``prevent_destroy`` to false on every resource of the stack that sets it
        (nothing else: a plan then shows the replacement or removal the protection refused)."""
        stack = json.loads((stack_dir / "cdk.tf.json").read_text())
        lifted = {
            rtype: {
                name: {"lifecycle": {"prevent_destroy": False}}
                for name, body in items.items()
                if body.get("lifecycle", {}).get("prevent_destroy")
            }
            for rtype, items in stack.get("resource", {}).items()
        }
        lifted = {rtype: items for rtype, items in lifted.items() if items}
        if not lifted:
            return None
        path = stack_dir / LIFT_FILE
        path.write_text(json.dumps({"resource": lifted}, indent=2) + "\n")
        return path

    @staticmethod
    def decommission_override(stack_dir: Path) -> bool:
        """Write an override that lets the stack be destroyed, as an operator decommissioning
        it changes the code: ``prevent_destroy = false`` wherever it is set, and
        ``termination_protection = false`` on protected EMR clusters (EMR refuses to
        terminate a protected cluster, API_TerminateJobFlows; the provider does not lift it
        on destroy), with ``termination_protection`` taken out of ``ignore_changes`` so the
        change is applied. Returns whether an apply is needed before destroying (a cluster
        had termination protection). The stack's own JSON keeps its protections."""
        stack = json.loads((stack_dir / "cdk.tf.json").read_text())
        lifted: dict = {}
        needs_apply = False
        for rtype, items in stack.get("resource", {}).items():
            for name, body in items.items():
                lifecycle = body.get("lifecycle", {})
                change: dict = {}
                if lifecycle.get("prevent_destroy"):
                    change["lifecycle"] = {"prevent_destroy": False}
                if rtype == "aws_emr_cluster" and body.get("termination_protection"):
                    change["termination_protection"] = False
                    ignored = [k for k in lifecycle.get("ignore_changes", []) if k != "termination_protection"]
                    change.setdefault("lifecycle", {})["ignore_changes"] = ignored
                    needs_apply = True
                if change:
                    lifted.setdefault(rtype, {})[name] = change
        path = stack_dir / LIFT_FILE
        if lifted:
            path.write_text(json.dumps({"resource": lifted}, indent=2) + "\n")
        return needs_apply


@dataclass
class StackRecord:
    """What happened to one stack when the app was applied."""

    apply_seconds: float
    plan_exit_code: int
    plan_output: str
    plan_seconds: float


@dataclass
class AppliedApp:
    """The project applied to the stand-in, stack by stack in ``deploy_order``; each apply is
    followed at once by ``plan -detailed-exitcode`` (recorded in ``records``).

    ``plan_json(stack_dir, planfile)`` plans another synthesis of one of the stacks (a
    changed environment or code, synthesized into another outdir) against the applied state
    and returns ``terraform show -json`` of the plan; nothing is applied. ``destroy()``
    destroys in reverse order (lifting ``prevent_destroy`` and termination protection
    through an override first, applied before the destroy when a cluster was protected).
    """

    deployment: Deployment
    account: Account
    environment_file: Path
    stacks_root: Path
    records: dict[str, StackRecord] = field(default_factory=dict)
    destroyed: bool = False

    def folder(self, stack: str) -> Path:
        """The applied stack's folder (``cdk.tf.json``, terraform's working data)."""
        return synthesized_stacks(self.stacks_root.parent)[stack]

    def terraform(self, stack: str) -> Terraform:
        return self.deployment.terraform(self.folder(stack))

    @property
    def order(self) -> list[str]:
        return deploy_order(self.stacks_root)

    def apply_all(self) -> None:
        for stack in self.order:
            tf = self.terraform(stack)
            tf.init()
            start = time.monotonic()
            tf.apply()
            applied = time.monotonic() - start
            start = time.monotonic()
            plan = tf.plan(detailed_exitcode=True)
            self.records[stack] = StackRecord(applied, plan.returncode, plan.stdout, time.monotonic() - start)

    def plan_json(self, stack_dir: Path, planfile: Path | None = None) -> dict:
        tf = self.deployment.terraform(stack_dir)
        tf.init()
        planfile = planfile or stack_dir / "review.tfplan"
        tf.plan(out=planfile)
        return tf.show_json(planfile)

    def destroy(self) -> dict[str, float]:
        seconds = {}
        for stack in reversed(self.order):
            needs_apply = Deployment.decommission_override(self.folder(stack))
            tf = self.terraform(stack)
            tf.init()
            start = time.monotonic()
            if needs_apply:
                tf.apply()
            tf.destroy()
            seconds[stack] = time.monotonic() - start
        self.destroyed = True
        return seconds


def deploy_example_app(
    deployment: Deployment, workdir: Path, *, region: str = "ap-northeast-2", name: str = "standin"
) -> AppliedApp:
    """Create the account's existing resources, write its environment, synthesize, apply."""
    account = create_account(deployment.standin, region, name=name)
    environment_file = workdir / f"{name}.toml"
    environment_file.write_text(account.environment_toml(fixed_ips=DEFAULT_FIXED_IPS, office_uis=True))
    stacks_root = synthesize(environment_file, workdir / "cdktf.out")
    app = AppliedApp(deployment, account, environment_file, stacks_root)
    app.apply_all()
    return app


def leftovers(
    standin: StandIn, account: Account, project_prefix: str, security_configuration_names: Sequence[str] = ()
) -> list[str]:
    """Everything of the project still in the stand-in (empty after a clean destroy): in the
    account's VPC and subnets, anything; elsewhere, names starting with ``project_prefix``
    (the environment name the stacks prefix every name with); EMR security configurations by
    the names the stacks declare (``declared_names(stacks_root, "aws_emr_security_configuration")``)."""
    region = account.region
    ec2, emr = standin.client("ec2", region), standin.client("emr", region)
    iam, s3 = standin.client("iam", region), standin.client("s3", region)
    found = []
    vpc_filter = [{"Name": "vpc-id", "Values": [account.vpc_id]}]
    for group in ec2.describe_security_groups(Filters=vpc_filter)["SecurityGroups"]:
        if group["GroupName"] != "default":
            found.append(f"security group {group['GroupId']} ({group['GroupName']})")
    for eni in ec2.describe_network_interfaces(Filters=vpc_filter)["NetworkInterfaces"]:
        found.append(f"network interface {eni['NetworkInterfaceId']} ({eni.get('Description', '')})")
    for reservation in ec2.describe_instances(
        Filters=vpc_filter + [{"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}]
    )["Reservations"]:
        found += [f"instance {i['InstanceId']}" for i in reservation["Instances"]]
    for subnet_id, _, _ in account.subnets:
        reservations = ec2.get_subnet_cidr_reservations(SubnetId=subnet_id)
        found += [
            f"subnet CIDR reservation {r['SubnetCidrReservationId']}"
            for r in reservations.get("SubnetIpv4CidrReservations", [])
        ]
    active = ["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING", "TERMINATING"]
    for cluster in emr.list_clusters(ClusterStates=active)["Clusters"]:
        described = emr.describe_cluster(ClusterId=cluster["Id"])["Cluster"]
        subnet = described.get("Ec2InstanceAttributes", {}).get("Ec2SubnetId")
        if subnet in {s[0] for s in account.subnets}:
            found.append(f"EMR cluster {cluster['Id']} ({cluster['Name']}, {cluster['Status']['State']})")
    # moto has no ListSecurityConfigurations: the names the stacks declare are looked up.
    for name in security_configuration_names:
        try:
            emr.describe_security_configuration(Name=name)
            found.append(f"EMR security configuration {name}")
        except emr.exceptions.ClientError:
            pass
    found += [
        f"IAM role {r['RoleName']}" for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(project_prefix)
    ]
    found += [
        f"IAM instance profile {p['InstanceProfileName']}"
        for p in iam.list_instance_profiles()["InstanceProfiles"]
        if p["InstanceProfileName"].startswith(project_prefix)
    ]
    found += [
        f"S3 bucket {b['Name']}"
        for b in s3.list_buckets()["Buckets"]
        if b["Name"].startswith(project_prefix) and b["Name"] not in (account.logs_bucket, account.data_bucket)
    ]
    return found


def declared_names(stacks_root: Path, resource_type: str) -> list[str]:
    """The ``name`` argument of every ``resource_type`` resource of every synthesized stack."""
    return sorted(
        body["name"]
        for folder in synthesized_stacks(stacks_root.parent).values()
        for body in json.loads((folder / "cdk.tf.json").read_text()).get("resource", {}).get(resource_type, {}).values()
        if isinstance(body.get("name"), str)
    )


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m devtools.standin")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("serve", help="run the stand-in account in the foreground")
    run.add_argument("--port", type=int, required=True)
    run.add_argument("--cert", required=True)
    run.add_argument("--key", required=True)
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.port, args.cert, args.key)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


__all__ = [
    "AppliedApp",
    "StackRecord",
    "declared_names",
    "deploy_example_app",
    "leftovers",
    "Account",
    "DEFAULT_FIXED_IPS",
    "deploy_order",
    "Deployment",
    "OVERRIDE_FILE",
    "StandIn",
    "create_account",
    "make_certificate",
    "synthesize",
]


# ----------------------------------------------------------------------------- guarded deploy


@dataclass
class DeployRun:
    """``make deploy`` of an environment into the stand-in, the user's way: the Makefile
    target, with the stand-in's Terraform override (provider endpoints, the mirror's
    provider version) passed as ``EMR_CDKTF_TF_OVERRIDE`` and the project's own backend
    (local state beside the output folder: ``<workdir>/terraform.<env>.<stack>.tfstate``)."""

    toolchain: Toolchain
    standin: StandIn
    cli_config: Path
    environment_file: Path
    workdir: Path
    region: str = "ap-northeast-2"
    # The project checkout make runs in (a scratch repository for the loop test).
    root: Path = ROOT
    account: Account | None = None

    @property
    def outdir(self) -> Path:
        return self.workdir / "cdktf.out"

    def state_path(self, environment: str, stack: str) -> Path:
        """The project's local backend: beside the output folder (``emr_constructs.model.contract``)."""
        return self.outdir.parent / f"terraform.{environment}.{stack}.tfstate"

    def override_file(self) -> Path:
        folder = self.workdir / "override"
        folder.mkdir(parents=True, exist_ok=True)
        path = write_override(folder, self.toolchain.provider_version, provider=self.standin.provider_settings())
        return path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_"))}
        env.update(self.standin.aws_env(self.region))
        env.update(
            {
                "TF_CLI_CONFIG_FILE": str(self.cli_config),
                "EMR_CDKTF_TF_OVERRIDE": str(self.override_file()),
                "EMR_CDKTF_TERRAFORM": self.toolchain.terraform,
                "AWS_MAX_ATTEMPTS": "2",
                "JSII_NODE": str(ROOT / "node_modules" / ".bin" / "node"),
            }
        )
        return env

    def command(self, *args: str, stacks: str | None = None) -> list[str]:
        command = [
            "make",
            "--no-print-directory",
            "deploy",
            f"EMR_CDKTF_ENV={self.environment_file}",
            f"CDKTF_OUT={self.outdir}",
            f"DEPLOY_ARGS={' '.join(args)}",
        ]
        return command + ([f"STACKS={stacks}"] if stacks else [])

    def start(self, *args: str, stacks: str | None = None, log: Path | None = None) -> subprocess.Popen:
        out = open(log, "w") if log else subprocess.PIPE
        return subprocess.Popen(
            self.command(*args, stacks=stacks),
            cwd=self.root,
            env=self.env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def run(self, *args: str, stacks: str | None = None, timeout: float = 1500) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.command(*args, stacks=stacks),
            cwd=self.root,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def folder(self, stack: str) -> Path:
        return synthesized_stacks(self.outdir)[stack]

    def folder_exists(self, stack: str) -> bool:
        try:  # the deploy may be writing the manifest right now
            return (synthesized_stacks(self.outdir).get(stack, Path("/nonexistent")) / "cdk.tf.json").is_file()
        except ValueError:
            return False

    def terraform(self, stack: str) -> Terraform:
        """terraform in the deployed stack's folder, for checks (re-plan, state)."""
        return Terraform(
            self.toolchain,
            self.folder(stack),
            self.cli_config,
            env={**self.standin.aws_env(self.region), "AWS_MAX_ATTEMPTS": "2"},
        )
