"""The whole lifecycle against the stand-in account (``standin.py``): what the account had
before (VPC, private subnets, a log bucket that accepts S3 server access logs, a data
bucket) is created, an environment file written for it, every stack synthesized, then
in deploy order: init, apply, and a second ``plan -detailed-exitcode`` that must show no
changes (a perpetual diff is a construct bug). Finally everything is destroyed in reverse
order and nothing of the project may be left, security groups included.
"""

from __future__ import annotations

import pytest

from tests.terraform.standin import declared_names, leftovers

PURPOSES = ("spark-batch", "spark-stream", "service-presto")


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
