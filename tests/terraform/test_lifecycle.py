"""The whole lifecycle against the stand-in account (``devtools/standin.py``): what the account had
before (VPC, private subnets, a log bucket that accepts S3 server access logs, a data
bucket) is created, an environment file written for it, every stack synthesized, then
in deploy order: init, apply, and a second ``plan -detailed-exitcode`` that must show no
changes (a perpetual diff is a construct bug). Finally everything is destroyed in reverse
order and nothing of the project may be left, security groups included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.standin import declared_names, leftovers

PURPOSES = ("spark-batch", "spark-stream", "service-presto")
ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable


def test_every_stack_applies_and_its_second_plan_is_empty(applied_example_app):
    records = applied_example_app.records
    assert list(records) == applied_example_app.order
    assert list(records)[0] == "foundation" and set(PURPOSES) <= set(records)
    changed = {stack: record.plan_output for stack, record in records.items() if record.plan_exit_code != 0}
    assert not changed, "a second plan right after apply shows changes (perpetual diff):\n" + "\n\n".join(
        f"== {stack}\n{output[-4000:]}" for stack, output in changed.items()
    )


def test_the_stand_in_holds_what_the_stacks_declare(applied_example_app, standin):
    """The apply really built the clusters and their groups (the empty plans are not vacuous)."""
    region = applied_example_app.account.region
    emr = standin.client("emr", region)
    clusters = {
        c["Name"]: c["Id"]
        for c in emr.list_clusters(ClusterStates=["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"])["Clusters"]
    }
    assert {"spark-batch-production-01", "spark-batch-operation-01", "spark-stream-01", "service-presto-01"} <= set(
        clusters
    )
    groups = {
        g["Name"]: g
        for g in emr.list_instance_groups(ClusterId=clusters["spark-batch-production-01"])["InstanceGroups"]
    }
    assert {"task-spot-static-a", "task-spot-static-b"} <= set(groups)
    assert groups["task-spot-static-a"]["Market"] == "SPOT"
    state = applied_example_app.terraform("spark-batch").state_list()
    assert "aws_emr_cluster.spark-batch-production-01" in state
    ec2 = standin.client("ec2", region)
    names = {
        g["GroupName"]
        for g in ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [applied_example_app.account.vpc_id]}]
        )["SecurityGroups"]
    }
    assert {
        f"standin-{p}-{role}" for p in PURPOSES for role in ("master-managed", "slave-managed", "service-access")
    } <= names


FLEX = "spark-batch-flex-01"


def test_the_fleet_cluster_runs_on_fleets_in_one_of_its_subnets(applied_example_app, standin):
    """spark-batch-flex-01 applied: master, core and task fleets with their targets, in one of
    the subnets it lists (the second plan of spark-batch was empty, above)."""
    app = applied_example_app
    emr = standin.client("emr", app.account.region)
    (cluster_id,) = [
        c["Id"] for c in emr.list_clusters(ClusterStates=["WAITING", "RUNNING"])["Clusters"] if c["Name"] == FLEX
    ]
    cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
    assert cluster["InstanceCollectionType"] == "INSTANCE_FLEET"
    requested = cluster["Ec2InstanceAttributes"]["RequestedEc2SubnetIds"]
    assert len(requested) == 2 and cluster["Ec2InstanceAttributes"]["Ec2SubnetId"] in requested
    fleets = {f["Name"]: f for f in emr.list_instance_fleets(ClusterId=cluster_id)["InstanceFleets"]}
    assert {n: (f["TargetOnDemandCapacity"], f["TargetSpotCapacity"]) for n, f in fleets.items()} == {
        "master": (1, 0),
        "core": (8, 0),
        "task": (0, 24),
    }
    assert f"aws_emr_instance_fleet.{FLEX}_task" in app.terraform("spark-batch").state_list()


def test_a_task_fleet_resize_in_the_code_is_applied_in_place_and_replans_empty(applied_example_app, standin):
    """The change step of the lifecycle: the task fleet's Spot target 24 -> 32 in the
    synthesized stack is one in-place update (ModifyInstanceFleet), no replacement, and the
    plan after it is empty."""
    app = applied_example_app
    folder = app.folder("spark-batch")
    path = folder / "cdk.tf.json"
    original = path.read_text(encoding="utf-8")
    doc = json.loads(original)
    doc["resource"]["aws_emr_instance_fleet"][f"{FLEX}_task"]["target_spot_capacity"] = 32
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    tf = app.terraform("spark-batch")
    plan = app.plan_json(folder, folder / "fleet-resize.tfplan")
    changed = {
        rc["address"]: rc["change"]["actions"]
        for rc in plan["resource_changes"]
        if rc["change"]["actions"] != ["no-op"]
    }
    assert changed == {f"aws_emr_instance_fleet.{FLEX}_task": ["update"]}
    tf.apply()
    assert tf.plan(detailed_exitcode=True).returncode == 0
    emr = standin.client("emr", app.account.region)
    (cluster_id,) = [
        c["Id"] for c in emr.list_clusters(ClusterStates=["WAITING", "RUNNING"])["Clusters"] if c["Name"] == FLEX
    ]
    (task,) = [f for f in emr.list_instance_fleets(ClusterId=cluster_id)["InstanceFleets"] if f["Name"] == "task"]
    assert task["TargetSpotCapacity"] == 32
    # Back to the synthesized stack (other tests of the session plan against this state).
    path.write_text(original, encoding="utf-8")
    tf.apply()
    assert tf.plan(detailed_exitcode=True).returncode == 0


def _ops(app, standin, tmp_path, *args: str) -> subprocess.CompletedProcess:
    """``python -m ops`` as an operator runs it, against the stand-in account."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        standin.aws_env(app.account.region),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
    )
    return subprocess.run(
        [PYTHON, "-m", "ops", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_ops_status_shows_each_fleet_provisioned_against_its_target(applied_example_app, standin, tmp_path):
    result = _ops(applied_example_app, standin, tmp_path, "status", FLEX)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:] if line.startswith("  ")}
    # FLEET ROLE ON-DEMAND SPOT NODES STATE: provisioned/target units per market.
    assert rows["master"][:4] == ["master", "MASTER", "1/1", "0/0"]
    assert rows["core"][:4] == ["core", "CORE", "8/8", "0/0"]
    assert rows["task"][:4] == ["task", "TASK", "0/0", "24/24"]
    assert "r5.2xlarge×4" in result.stdout and "price-capacity-optimized" in result.stdout
    assert "instance fleets" in result.stdout.splitlines()[0]


def test_ops_rotate_spot_refuses_a_fleet_cluster_with_what_to_do_instead(applied_example_app, standin, tmp_path):
    result = _ops(applied_example_app, standin, tmp_path, "rotate-spot", FLEX)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "uses instance fleets" in result.stderr
    assert "aws emr modify-instance-fleet" in result.stderr and "InstanceFleetId=if-" in result.stderr


@pytest.mark.destroys_applied_app
def test_destroy_in_reverse_order_leaves_nothing_of_the_project(applied_example_app, standin):
    app = applied_example_app
    app.destroy()
    configurations = declared_names(app.stacks_root, "aws_emr_security_configuration")
    assert configurations, "the stacks declare EMR security configurations: the check below must look for them"
    assert leftovers(standin, app.account, f"{app.account.name}-", configurations) == []
    for stack in app.order:
        assert app.terraform(stack).state_list() == [], f"{stack}: resources left in the state"
    # What the account had before the project is still there.
    ec2 = standin.client("ec2", app.account.region)
    assert ec2.describe_vpcs(VpcIds=[app.account.vpc_id])["Vpcs"]
    s3 = standin.client("s3", app.account.region)
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert {app.account.logs_bucket, app.account.data_bucket} <= buckets
