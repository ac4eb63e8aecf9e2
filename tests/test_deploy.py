"""The guarded deploy's parts that need no terraform: reading Terraform's lock and
prevent_destroy errors, the stack order and options, and recovery's questions to AWS
(moto in-process). The whole deploy against real terraform and the stand-in account is
tests/terraform/test_deploy_standin.py."""

from __future__ import annotations

import argparse

import boto3
import pytest
from moto import mock_aws

from deploy.cli import EXIT_USAGE, Refused, locked_message, order, parser
from deploy.recovery import AwsView, adopt_orphans, untaint_healthy
from deploy.runner import lock_info, prevents_destroy

REGION = "ap-northeast-2"

# What terraform 1.11 prints when the local backend's state is locked (its own words).
LOCKED = """
Error: Error acquiring the state lock

Error message: resource temporarily unavailable
Lock Info:
  ID:        6b1e2f0e-5c1a-6d5e-0f3f-6e0d0f1c2b3a
  Path:      /srv/emr/terraform.production.spark-batch.tfstate
  Operation: OperationTypeApply
  Who:       runner@fv-az123-456
  Version:   1.11.4
  Created:   2026-12-04 10:31:02.123456789 +0000 UTC
  Info:

Terraform acquires a state lock to protect the state from being written
by multiple users at the same time.
"""

REFUSED = """
Error: Instance cannot be destroyed

  on cdk.tf.json line 236, in resource.aws_emr_cluster:
 236:       "spark-batch-production-01": {

Resource aws_emr_cluster.spark-batch-production-01 has
lifecycle.prevent_destroy set, but the plan calls for this resource to be
destroyed.
"""


def test_the_lock_holder_is_read_from_terraforms_error():
    lock = lock_info(LOCKED)
    assert lock is not None
    assert lock.lock_id == "6b1e2f0e-5c1a-6d5e-0f3f-6e0d0f1c2b3a"
    assert lock.who == "runner@fv-az123-456" and lock.operation == "OperationTypeApply"
    assert lock.created.startswith("2026-12-04 10:31:02")
    assert lock_info(REFUSED) is None


def test_the_locked_message_says_who_since_when_and_how_to_release_a_stale_lock(tmp_path):
    text = locked_message("spark-batch", "production", tmp_path, lock_info(LOCKED))
    assert "stack spark-batch of environment production is locked" in text
    assert "runner@fv-az123-456" in text and "OperationTypeApply" in text and "2026-12-04 10:31:02" in text
    assert f"terraform -chdir={tmp_path} force-unlock 6b1e2f0e-5c1a-6d5e-0f3f-6e0d0f1c2b3a" in text


def test_prevent_destroy_refusals_are_read_from_terraforms_error():
    assert prevents_destroy(REFUSED) == ["aws_emr_cluster.spark-batch-production-01"]
    assert prevents_destroy(LOCKED) == []


def test_the_foundation_goes_first_and_unknown_stacks_are_refused_with_the_known_ones(tmp_path):
    stacks = {name: tmp_path / name for name in ("spark-stream", "foundation", "spark-batch")}
    assert order(stacks, None) == ["foundation", "spark-batch", "spark-stream"]
    assert order(stacks, ["spark-stream", "foundation"]) == ["foundation", "spark-stream"]
    with pytest.raises(Refused) as refused:
        order(stacks, ["spark-btach", "presto"])
    assert refused.value.code == EXIT_USAGE
    message = str(refused.value)
    assert "'spark-btach', 'presto'" in message and "foundation, spark-batch, spark-stream" in message


def test_without_a_terminal_the_deploy_needs_auto_approve_or_plan_only(monkeypatch, capsys):
    from deploy.cli import main

    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["--env", "example"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "--auto-approve" in err and "--plan-only" in err


def test_options_parse_as_documented():
    args = parser().parse_args(
        ["--env", "production", "--stacks", "spark-batch,foundation", "--allow-replace", "x", "--plan-only"]
    )
    assert isinstance(args, argparse.Namespace)
    assert args.env == "production" and args.plan_only and args.allow_replace == ["x"]


# --- recovery, against moto --------------------------------------------------------------


TAGS = [{"Key": "environment", "Value": "production"}, {"Key": "stack", "Value": "spark-batch"}]


def _cluster(emr, name: str, tags=TAGS) -> str:
    return emr.run_job_flow(
        Name=name,
        ReleaseLabel="emr-7.5.0",
        Instances={
            "InstanceGroups": [
                {"InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1},
                {"InstanceRole": "CORE", "InstanceType": "r5.xlarge", "InstanceCount": 2},
            ],
            "KeepJobFlowAliveWhenNoSteps": True,
        },
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
        Tags=tags,
    )["JobFlowId"]


def _recorded(cluster_id: str, name: str, release: str = "emr-7.5.0", core: str = "r5.xlarge") -> dict:
    return {
        "id": cluster_id,
        "name": name,
        "release_label": release,
        "master_instance_group": [{"instance_type": "m5.xlarge"}],
        "core_instance_group": [{"instance_type": core}],
    }


@mock_aws
def test_a_tainted_cluster_that_runs_as_recorded_is_untainted_and_others_are_kept_tainted():
    emr = boto3.client("emr", region_name=REGION)
    running = _cluster(emr, "spark-batch-production-01")
    different = _cluster(emr, "spark-batch-operation-01")
    gone = _cluster(emr, "spark-batch-adhoc-01")
    emr.terminate_job_flows(JobFlowIds=[gone])
    state = [
        {
            "address": "aws_emr_cluster.p",
            "type": "aws_emr_cluster",
            "tainted": True,
            "values": _recorded(running, "spark-batch-production-01"),
        },
        {
            "address": "aws_emr_cluster.o",
            "type": "aws_emr_cluster",
            "tainted": True,
            "values": _recorded(different, "spark-batch-operation-01", core="r5.2xlarge"),
        },
        {
            "address": "aws_emr_cluster.a",
            "type": "aws_emr_cluster",
            "tainted": True,
            "values": _recorded(gone, "spark-batch-adhoc-01"),
        },
        {"address": "aws_emr_cluster.fine", "type": "aws_emr_cluster", "values": _recorded(running, "x")},
    ]
    untainted: list[str] = []
    findings = untaint_healthy(state, AwsView(REGION), untainted.append)
    assert untainted == ["aws_emr_cluster.p"]
    by_address = {f.address: f for f in findings}
    assert set(by_address) == {"aws_emr_cluster.p", "aws_emr_cluster.o", "aws_emr_cluster.a"}
    assert by_address["aws_emr_cluster.p"].action == "untainted"
    assert by_address["aws_emr_cluster.o"].action == "kept tainted"
    assert "core type r5.xlarge != r5.2xlarge" in by_address["aws_emr_cluster.o"].detail
    assert by_address["aws_emr_cluster.a"].action == "kept tainted"
    assert "TERMINAT" in by_address["aws_emr_cluster.a"].detail
    # A plan-only run changes nothing and says what a deploy would do.
    dry = untaint_healthy(state, AwsView(REGION), None)
    assert [f.action for f in dry if f.address == "aws_emr_cluster.p"] == ["would be untainted by a deploy"]


class _FleetEmr:
    """EMR as it answers for one fleet cluster (DescribeCluster, ListInstanceFleets), and as
    it refuses ListInstanceGroups for it. moto has no instance fleets in-process."""

    FLEETS = [
        {
            "Id": "if-M",
            "Name": "master",
            "InstanceFleetType": "MASTER",
            "Status": {"State": "RUNNING"},
            "InstanceTypeSpecifications": [{"InstanceType": "m5.xlarge"}, {"InstanceType": "r5.xlarge"}],
        },
        {
            "Id": "if-C",
            "Name": "core",
            "InstanceFleetType": "CORE",
            "Status": {"State": "PROVISIONING"},
            "InstanceTypeSpecifications": [{"InstanceType": "r5.2xlarge"}, {"InstanceType": "r5.xlarge"}],
        },
        {
            "Id": "if-T",
            "Name": "task",
            "InstanceFleetType": "TASK",
            "Status": {"State": "PROVISIONING"},
            "InstanceTypeSpecifications": [{"InstanceType": "m5.2xlarge"}, {"InstanceType": "r5.2xlarge"}],
        },
    ]

    def describe_cluster(self, ClusterId):
        return {
            "Cluster": {
                "Id": ClusterId,
                "Name": "spark-batch-flex-01",
                "ReleaseLabel": "emr-7.5.0",
                "InstanceCollectionType": "INSTANCE_FLEET",
                "Status": {"State": "STARTING"},
            }
        }

    def list_instance_fleets(self, ClusterId):
        return {"InstanceFleets": self.FLEETS}

    def list_instance_groups(self, ClusterId):
        raise AssertionError("EMR refuses ListInstanceGroups for a cluster that uses instance fleets")


def _fleet(*types: str) -> list[dict]:
    return [{"instance_type_configs": [{"instance_type": t} for t in types]}]


def test_a_fleet_cluster_and_its_task_fleet_are_read_through_their_fleets():
    aws = AwsView(REGION, client_factory=lambda service, region_name: _FleetEmr())
    cluster = {
        "id": "j-F",
        "name": "spark-batch-flex-01",
        "release_label": "emr-7.5.0",
        "master_instance_fleet": _fleet("r5.xlarge", "m5.xlarge"),
        "core_instance_fleet": _fleet("r5.xlarge", "r5.2xlarge"),
    }
    state = [
        {"address": "aws_emr_cluster.flex", "type": "aws_emr_cluster", "tainted": True, "values": cluster},
        {
            "address": "aws_emr_instance_fleet.task",
            "type": "aws_emr_instance_fleet",
            "tainted": True,
            "values": {"id": "if-T", "cluster_id": "j-F", **_fleet("r5.2xlarge", "m5.2xlarge")[0]},
        },
        {
            "address": "aws_emr_instance_fleet.other",
            "type": "aws_emr_instance_fleet",
            "tainted": True,
            "values": {"id": "if-T", "cluster_id": "j-F", **_fleet("r5.4xlarge")[0]},
        },
    ]
    untainted: list[str] = []
    findings = {f.address: f for f in untaint_healthy(state, aws, untainted.append)}
    assert untainted == ["aws_emr_cluster.flex", "aws_emr_instance_fleet.task"]
    assert findings["aws_emr_instance_fleet.other"].action == "kept tainted"
    assert "runs m5.2xlarge, r5.2xlarge, not r5.4xlarge" in findings["aws_emr_instance_fleet.other"].detail
    # A cluster whose core fleet runs other types than recorded is replaced, not kept.
    cluster["core_instance_fleet"] = _fleet("r5.4xlarge")
    [changed] = untaint_healthy(state[:1], aws, untainted.append)
    assert changed.action == "kept tainted" and "core fleet types r5.2xlarge, r5.xlarge != r5.4xlarge" in changed.detail
    # A task fleet a killed run created is imported as CLUSTER_ID/FLEET_ID.
    plan = {"resource_changes": [_create("aws_emr_instance_fleet", "task", {"cluster_id": "j-F", "name": "task"})]}
    imported: list[tuple[str, str]] = []
    adopt_orphans(plan, aws, "production", "spark-batch", lambda a, i: imported.append((a, i)))
    assert imported == [("aws_emr_instance_fleet.task", "j-F/if-T")]


def _create(rtype: str, name: str, after: dict) -> dict:
    return {
        "address": f"{rtype}.{name}",
        "type": rtype,
        "mode": "managed",
        "change": {"actions": ["create"], "after": after},
    }


@mock_aws
def test_resources_a_killed_run_created_are_imported_by_name_and_tags_only():
    emr = boto3.client("emr", region_name=REGION)
    ec2 = boto3.client("ec2", region_name=REGION)
    iam = boto3.client("iam", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    ours = _cluster(emr, "spark-batch-production-01")
    _cluster(
        emr,
        "spark-batch-operation-01",
        tags=[{"Key": "environment", "Value": "staging"}, {"Key": "stack", "Value": "spark-batch"}],
    )
    group = ec2.create_security_group(
        GroupName="production-spark-batch-master-managed",
        Description="d",
        VpcId=vpc,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": TAGS}],
    )["GroupId"]
    iam.create_role(RoleName="production-spark-batch-service", AssumeRolePolicyDocument="{}", Tags=TAGS)
    plan = {
        "resource_changes": [
            _create("aws_emr_cluster", "production", {"name": "spark-batch-production-01"}),
            _create("aws_emr_cluster", "operation", {"name": "spark-batch-operation-01"}),  # another env's
            _create("aws_security_group", "master", {"name": "production-spark-batch-master-managed", "vpc_id": vpc}),
            _create("aws_security_group", "slave", {"name": "production-spark-batch-slave-managed", "vpc_id": vpc}),
            _create("aws_iam_role", "service", {"name": "production-spark-batch-service"}),
            _create("aws_s3_object", "script", {"bucket": "b", "key": "k"}),
        ]
    }
    imported: list[tuple[str, str]] = []
    findings = adopt_orphans(plan, AwsView(REGION), "production", "spark-batch", lambda a, i: imported.append((a, i)))
    assert sorted(imported) == sorted(
        [
            ("aws_emr_cluster.production", ours),
            ("aws_security_group.master", group),
            ("aws_iam_role.service", "production-spark-batch-service"),
        ]
    )
    assert all(f.action == "imported" for f in findings)
    # Two of ours with one name: not guessed at.
    _cluster(emr, "spark-batch-production-01")
    findings = adopt_orphans(plan, AwsView(REGION), "production", "spark-batch", None)
    [ambiguous] = [f for f in findings if f.address == "aws_emr_cluster.production"]
    assert ambiguous.action == "ambiguous" and "2 candidates" in ambiguous.detail


# --- the CI workflows ------------------------------------------------------------------------


def _workflow(name: str) -> dict:
    import yaml

    from tests.conftest import ROOT

    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())


def test_the_deploy_workflow_deploys_per_environment_with_oidc_approval_and_no_cancel():
    from tests.conftest import ROOT

    workflow = _workflow("deploy.yml")
    text = (ROOT / ".github" / "workflows" / "deploy.yml").read_text()
    assert workflow[True]["push"]["branches"] == ["main"]  # YAML reads the key `on` as True
    assert workflow["permissions"]["id-token"] == "write"
    job = workflow["jobs"]["deploy"]
    assert job["environment"] == "${{ matrix.environment }}"  # the environment's protection rules
    assert job["concurrency"] == {"group": "deploy-${{ matrix.environment }}", "cancel-in-progress": False}
    assert job["strategy"]["max-parallel"] == 1
    steps = {s.get("name", s.get("uses", "")): s for s in job["steps"]}
    credentials = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("aws-actions/configure-aws"))
    assert "role-to-assume" in credentials["with"]
    assert "aws-access-key-id" not in text and "secrets." not in text  # no stored keys
    run = next(s["run"] for n, s in steps.items() if "Guarded deploy" in n)
    assert ".venv/bin/python -m deploy" in run and "--auto-approve" in run


def test_the_plan_review_workflow_reviews_terraforms_plan_where_credentials_exist():
    job = _workflow("plan-review.yml")["jobs"]["terraform-plan"]
    assert job["if"] == "vars.PLAN_REVIEW_ROLE_ARN != ''"
    run = next(s["run"] for s in job["steps"] if "run" in s and "python -m deploy" in s["run"])
    assert "--plan-only" in run and "--auto-approve" not in run


FAKE_TERRAFORM = """#!{python}
import signal, sys, time
count = []
def interrupted(signum, frame):
    count.append(signum)
    open({log!r}, "a").write("SIGINT\\n")
signal.signal(signal.SIGINT, interrupted)
print("Creating...", flush=True)
deadline = time.time() + 4
while time.time() < deadline:
    time.sleep(0.05)
sys.exit(1 if count else 0)
"""


def test_a_cancellation_reaches_terraform_as_one_graceful_interrupt(tmp_path, monkeypatch):
    # A CI runner signals every process of the job, several times within seconds; a second
    # interrupt would make Terraform stop at once and lose track of what it was creating.
    import io
    import os
    import signal
    import sys
    import threading

    from deploy.runner import Terraform, TerraformError

    log = tmp_path / "interrupts.log"
    fake = tmp_path / "terraform"
    fake.write_text(FAKE_TERRAFORM.format(python=sys.executable, log=str(log)))
    fake.chmod(0o755)
    monkeypatch.setenv("EMR_CDKTF_TERRAFORM", str(fake))

    def cancel() -> None:
        import time

        time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGTERM)

    before = signal.getsignal(signal.SIGTERM)
    threading.Thread(target=cancel).start()
    tf = Terraform(tmp_path, echo=io.StringIO())
    with pytest.raises(TerraformError):
        tf.run("apply")
    assert tf.interrupted
    assert log.read_text() == "SIGINT\n"  # one interrupt, passed on as SIGINT
    assert signal.getsignal(signal.SIGTERM) is before  # the deploy's own handling is back
