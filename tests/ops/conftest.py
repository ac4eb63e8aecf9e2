"""Fixtures for the ops command against moto in server mode (a real local HTTP endpoint).

The command builds its own boto3 clients from the usual AWS configuration; the tests
point that configuration at moto through ``AWS_ENDPOINT_URL`` and dummy credentials, so
the real client construction, retries config and request serialization are exercised.

moto's backends are process-global and other test packages run their own moto server in
the same process, so nothing here resets moto: every test builds its own VPC and clusters
with a unique name instead.

moto's EMR runs in us-east-1 whatever region the client names (it takes the region from
the endpoint host), and so do the EC2 instances it launches; the tests use us-east-1.
"""

from __future__ import annotations

import io
import logging
import time
import uuid
from datetime import datetime, timedelta, timezone

import boto3
import pytest

from ops.cli import main
from ops.runtime import Runtime
from tests.ops.simulated_emr import Result

REGION = "us-east-1"
FIXED_IP = "10.20.1.10"


@pytest.fixture(scope="session")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def aws_env(endpoint: str, tmp_path) -> dict[str, str]:
    """Environment of an operator whose AWS configuration points at moto."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


class MotoAws:
    """Set-up helpers: build clusters the way the stacks name them, then run the CLI."""

    def __init__(self, endpoint: str, tmp_path, monkeypatch):
        for key in (
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_SECURITY_TOKEN",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        ):
            monkeypatch.delenv(key, raising=False)
        for key, value in aws_env(endpoint, tmp_path).items():
            monkeypatch.setenv(key, value)
        self.endpoint = endpoint
        kw = dict(
            endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        self.emr = boto3.client("emr", **kw)
        self.ec2 = boto3.client("ec2", **kw)
        self.suffix = uuid.uuid4().hex[:6]
        vpc = self.ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
        self.subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
        # What "now" is for the command: instance ages are measured from here.
        self.now = datetime.now(timezone.utc)

    def name(self, purpose: str = "spark-batch") -> str:
        return f"{purpose}-t{self.suffix}-01"

    def create_cluster(
        self,
        name: str | None = None,
        *,
        a: int = 4,
        b: int = 0,
        dynamic: int | None = None,
        fixed_ip: str | None = FIXED_IP,
        static_pair: bool = True,
        extra_tags: dict[str, str] | None = None,
    ) -> str:
        name = name or self.name()

        def group(gname, role, itype, count, market="ON_DEMAND", bid=None):
            g = {"Name": gname, "InstanceRole": role, "InstanceType": itype, "InstanceCount": count, "Market": market}
            return {**g, "BidPrice": bid} if bid else g

        groups = [group("master", "MASTER", "m5.xlarge", 1), group("core", "CORE", "r5.xlarge", 2)]
        if static_pair:
            groups += [
                group("task-spot-static-a", "TASK", "r5.xlarge", a, "SPOT", "0.24"),
                group("task-spot-static-b", "TASK", "r5.xlarge", b, "SPOT", "0.24"),
            ]
        if dynamic is not None:
            groups.append(group("task-spot-dynamic", "TASK", "m5.xlarge", dynamic, "SPOT", "0.19"))
        tags = {"Name": name, **({"fixed-private-ip": fixed_ip} if fixed_ip else {}), **(extra_tags or {})}
        return self.emr.run_job_flow(
            Name=name,
            ReleaseLabel="emr-7.1.0",
            JobFlowRole="emr-instance-profile",
            ServiceRole="emr-service-role",
            Instances={"KeepJobFlowAliveWhenNoSteps": True, "Ec2SubnetId": self.subnet, "InstanceGroups": groups},
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )["JobFlowId"]

    def group_list(self, cluster_id: str) -> list[dict]:
        return self.emr.list_instance_groups(ClusterId=cluster_id)["InstanceGroups"]

    def replace_group(
        self, cluster_id: str, name: str, *, count: int, bid: str | None = None, instance_type: str | None = None
    ) -> tuple[str, str]:
        """What ``terraform apply`` does when a group's bid or instance type changes: the
        provider's delete resizes the old group to 0 (EMR keeps it, same name), then a new
        group with that name is created with the configured count. Returns (old id, new id).
        moto's AddInstanceGroups answers without the new id, so it is found by listing."""
        before = {g["Id"]: g for g in self.group_list(cluster_id)}
        (old,) = [g for g in before.values() if g["Name"] == name and g["RequestedInstanceCount"] > 0] or [
            max(
                (g for g in before.values() if g["Name"] == name),
                key=lambda g: g["Status"]["Timeline"]["CreationDateTime"],
            )
        ]
        self.emr.modify_instance_groups(
            ClusterId=cluster_id, InstanceGroups=[{"InstanceGroupId": old["Id"], "InstanceCount": 0}]
        )
        time.sleep(0.01)  # a later creation time, as a real deploy has
        self.emr.add_instance_groups(
            JobFlowId=cluster_id,
            InstanceGroups=[
                {
                    "Name": name,
                    "InstanceRole": "TASK",
                    "InstanceType": instance_type or old["InstanceType"],
                    "InstanceCount": count,
                    "Market": "SPOT",
                    "BidPrice": bid or old["BidPrice"],
                }
            ],
        )
        (new,) = [g["Id"] for g in self.group_list(cluster_id) if g["Id"] not in before]
        return old["Id"], new

    def groups(self, cluster_id: str) -> dict[str, dict]:
        return {g["Name"]: g for g in self.emr.list_instance_groups(ClusterId=cluster_id)["InstanceGroups"]}

    def tags(self, cluster_id: str) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in self.emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Tags"]}

    def master_instance_id(self, cluster_id: str) -> str:
        master_group = self.groups(cluster_id)["master"]["Id"]
        instances = self.emr.list_instances(ClusterId=cluster_id)["Instances"]
        return next(i["Ec2InstanceId"] for i in instances if i["InstanceGroupId"] == master_group)

    def instance_created(self, cluster_id: str) -> datetime:
        return self.emr.list_instances(ClusterId=cluster_id)["Instances"][0]["Status"]["Timeline"]["CreationDateTime"]

    def run(self, *argv: str, now: datetime | None = None, clients=None) -> Result:
        out, err = io.StringIO(), io.StringIO()
        clock = [0.0]

        def sleep(seconds):
            clock[0] += seconds

        rt = Runtime(monotonic=lambda: clock[0], sleep=sleep, now=lambda: now or self.now, out=out)
        code = main(list(argv), runtime=rt, err=err, clients=clients)
        return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def moto(moto_endpoint, tmp_path, monkeypatch) -> MotoAws:
    return MotoAws(moto_endpoint, tmp_path, monkeypatch)


def later(moment: datetime, **delta) -> datetime:
    return moment + timedelta(**delta)
