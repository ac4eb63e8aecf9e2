"""Adopting what a person made by hand, against the stand-in account with real Terraform.

With boto3, as a person does in the console or CLI: security groups (each gets AWS's
allow-all egress rule, as every group made outside Terraform does; moto adds it too), IAM roles and an
instance profile (most named as the app names them, one security group not), and an EMR
cluster with a task group. The environment names them under ``[adopt.spark-batch]``; the synthesized stack
imports them; ``terraform plan`` must keep (or update in place) every resource that
matches the code and replace only those that differ: the differently named group and the
hand-made cluster with its task group (EMR clusters are adopted blue/green,
docs/operations.md).
``python -m ops adoption-report`` must say so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools import standin as standin_module
from devtools.toolchain import TerraformFailed
from emr_constructs.model.layout import synthesized_stacks

REGION = "ap-northeast-2"
NAME = "adoptrun"
ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
EMR_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "elasticmapreduce.amazonaws.com"}}
    ],
}
EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ec2.amazonaws.com"}}],
}


def _synth(env_file: Path, outdir: Path) -> dict:
    from environments.settings import load_environment
    from stacks.app import build_app

    build_app(load_environment(str(env_file)), outdir=str(outdir)).synth()
    return json.loads((synthesized_stacks(outdir)["spark-batch"] / "cdk.tf.json").read_text())


@pytest.fixture(scope="module")
def adoption_plan(standin, toolchain, cli_config, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("adopt-standin")
    account = standin_module.create_account(standin, REGION, name=NAME)
    plain_env = workdir / "plain.toml"
    plain_env.write_text(account.environment_toml())
    # What the app would create, read from its own synthesis: a person following the
    # app's naming made these by hand before adopting the app.
    plain = _synth(plain_env, workdir / "plain")
    groups = {
        g["name"].removeprefix(f"{NAME}-spark-batch-"): g for g in plain["resource"]["aws_security_group"].values()
    }
    ec2, iam, emr = (standin.client(s, REGION) for s in ("ec2", "iam", "emr"))
    made: dict[str, str] = {}
    for key in ("master-managed", "slave-managed", "master-additional", "service-access"):
        made[key] = ec2.create_security_group(
            GroupName=groups[key]["name"], Description=groups[key]["description"], VpcId=account.vpc_id
        )["GroupId"]
    # Named the way the console's default does, not the app's way.
    made["slave-additional"] = ec2.create_security_group(
        GroupName="ElasticMapReduce-slave-extra", Description="made by hand", VpcId=account.vpc_id
    )["GroupId"]
    roles = {r["name"]: r for r in plain["resource"]["aws_iam_role"].values()}
    for role_name, trust in (
        (f"{NAME}-spark-batch-emr-service", EMR_TRUST),
        (f"{NAME}-spark-batch-emr-instance", EC2_TRUST),
    ):
        assert role_name in roles
        iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))
    profile = f"{NAME}-spark-batch-emr-instance"
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=f"{NAME}-spark-batch-emr-instance")
    cluster_id = emr.run_job_flow(
        Name="spark-batch-operation-01",
        ReleaseLabel="emr-6.15.0",
        ServiceRole=f"{NAME}-spark-batch-emr-service",
        JobFlowRole=profile,
        Applications=[{"Name": "Spark"}],
        Instances={
            "KeepJobFlowAliveWhenNoSteps": True,
            "Ec2SubnetId": account.subnets[0][0],
            "MasterInstanceType": "m5.xlarge",
            "SlaveInstanceType": "r5.xlarge",
            "InstanceCount": 3,
        },
    )["JobFlowId"]
    # Its task group, added by hand as the app defines spark-batch-operation-01's.
    dynamic = plain["resource"]["aws_emr_instance_group"]["spark-batch-operation-01_task-spot-dynamic"]
    group_id = emr.add_instance_groups(
        JobFlowId=cluster_id,
        InstanceGroups=[
            {
                "Name": dynamic["name"],
                "Market": "SPOT",
                "InstanceRole": "TASK",
                "BidPrice": dynamic["bid_price"],
                "InstanceType": dynamic["instance_type"],
                "InstanceCount": 1,
                "EbsConfiguration": {
                    "EbsBlockDeviceConfigs": [
                        {
                            "VolumeSpecification": {
                                "VolumeType": ebs["type"],
                                "SizeInGB": ebs["size"],
                                **({"Iops": ebs["iops"]} if "iops" in ebs else {}),
                            },
                            "VolumesPerInstance": ebs["volumes_per_instance"],
                        }
                        for ebs in dynamic["ebs_config"]
                    ]
                },
            }
        ],
    )["InstanceGroupIds"][0]

    adopt = "\n".join(
        [
            "[adopt.spark-batch.security_groups]",
            *(f'{key} = "{gid}"' for key, gid in made.items()),
            "[adopt.spark-batch.roles]",
            f'service = "{NAME}-spark-batch-emr-service"',
            f'instance = "{NAME}-spark-batch-emr-instance"',
            "[adopt.spark-batch]",
            f'instance_profile = "{profile}"',
            "[adopt.spark-batch.clusters]",
            f'"spark-batch-operation-01" = "{cluster_id}"',
            "[adopt.spark-batch.instance_groups]",
            f'"spark-batch-operation-01/task-spot-dynamic" = "{group_id}"',
        ]
    )
    env_file = workdir / "adopting.toml"
    env_file.write_text(account.environment_toml() + "\n" + adopt + "\n")
    _synth(env_file, workdir / "adopting")
    folders = synthesized_stacks(workdir / "adopting")
    stack_dir = folders["spark-batch"]
    deployment = standin_module.Deployment(toolchain, standin, workdir / "state", cli_config)
    # Deploy order as for any user: the foundation first (bootstrap bucket, KMS keys the
    # purpose stacks look up by alias); only the purpose stack adopts.
    foundation = deployment.terraform(folders["foundation"])
    foundation.init()
    foundation.apply()
    tf = deployment.terraform(stack_dir)
    tf.init()
    planfile = stack_dir / "adopt.tfplan"
    tf.plan(out=planfile)
    plan_json = workdir / "spark-batch.plan.json"
    plan_json.write_text(json.dumps(tf.show_json(planfile)))
    yield {
        "plan": plan_json,
        "made": made,
        "cluster": cluster_id,
        "group": group_id,
        "profile": profile,
        "tf": tf,
        "ec2": ec2,
    }


def _verdicts(plan_path: Path) -> dict[str, tuple[str, tuple[str, ...]]]:
    from ops.adoption import classify

    plan = json.loads(plan_path.read_text())
    return {
        a.import_id: (a.verdict, a.attributes) for a in (classify(c) for c in plan["resource_changes"]) if a is not None
    }


def test_every_named_resource_is_imported(adoption_plan):
    verdicts = _verdicts(adoption_plan["plan"])
    expected = {
        *adoption_plan["made"].values(),
        f"{NAME}-spark-batch-emr-service",
        f"{NAME}-spark-batch-emr-instance",
        adoption_plan["cluster"],
        f"{adoption_plan['cluster']}/{adoption_plan['group']}",
    }
    # the instance profile and the instance role share a name: both are imported by it
    assert set(verdicts) == expected


def test_what_matches_the_code_is_not_replaced(adoption_plan):
    verdicts = _verdicts(adoption_plan["plan"])
    made = adoption_plan["made"]
    for key in ("master-managed", "slave-managed", "master-additional", "service-access"):
        assert verdicts[made[key]][0] in ("KEPT", "UPDATED"), (key, verdicts[made[key]])
    assert verdicts[f"{NAME}-spark-batch-emr-service"][0] in ("KEPT", "UPDATED")
    assert verdicts[f"{NAME}-spark-batch-emr-instance"][0] in ("KEPT", "UPDATED")


def test_what_differs_is_shown_replaced_with_the_cause(adoption_plan):
    verdicts = _verdicts(adoption_plan["plan"])
    verdict, forced = verdicts[adoption_plan["made"]["slave-additional"]]
    assert verdict == "REPLACED" and "name" in forced
    verdict, forced = verdicts[adoption_plan["cluster"]]
    assert verdict == "REPLACED" and "release_label" in forced
    # the hand-added task group matches the code, but goes with its replaced cluster
    verdict, forced = verdicts[f"{adoption_plan['cluster']}/{adoption_plan['group']}"]
    assert verdict == "REPLACED" and forced == ("cluster_id",)


def _report(plan: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "-m", "ops", "adoption-report", str(plan), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ},
    )


def test_adoption_report_cli_on_the_real_plan(adoption_plan):
    result = _report(adoption_plan["plan"], "--fail-on-replace")
    print(result.stdout)  # the report a reviewer reads (pytest -s shows it)
    assert result.returncode == 1, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.endswith("3 REPLACED") and "adopted resource(s)" in first
    assert "Adopt this cluster blue/green instead" in result.stdout
    assert "A task group goes with its cluster" in result.stdout


def test_review_of_the_real_plan_marks_every_import(adoption_plan):
    # `python -m review --plan` on Terraform's own plan: what Terraform imports (its
    # `importing` marks) is the review's `imported` set, replaced or not.
    from review.tfplan import review_plans

    plan = json.loads(adoption_plan["plan"].read_text())
    terraform_imports = sorted(rc["address"] for rc in plan["resource_changes"] if rc["change"].get("importing"))
    assert len(terraform_imports) >= 8
    review = review_plans([f"spark-batch={adoption_plan['plan']}"], allow=set())
    verdicts = review.as_json()["environments"][""]["spark-batch"]
    assert verdicts["imported"] == terraform_imports
    assert f"**imported** (`{adoption_plan['cluster']}`)" in review.markdown


def test_aws_default_egress_rules_are_listed_and_their_commands_let_the_apply_through(adoption_plan):
    # Runs last: it applies part of the plan (the managed groups' egress rules).
    made, tf, ec2 = adoption_plan["made"], adoption_plan["tf"], adoption_plan["ec2"]
    result = _report(adoption_plan["plan"])
    assert result.returncode == 0, result.stderr
    rule_lines = [line for line in result.stdout.splitlines() if line.startswith("  RULE ")]
    commands = [line.strip() for line in result.stdout.splitlines() if "aws ec2 revoke-security-group-egress" in line]
    assert sorted(line.split("(existing ")[1].split(")")[0] for line in rule_lines) == sorted(made.values())
    for key in ("master-managed", "slave-managed"):
        line = next(line for line in rule_lines if made[key] in line)
        assert "InvalidPermission.Duplicate" in line, line
    for key in ("master-additional", "service-access", "slave-additional"):
        line = next(line for line in rule_lines if made[key] in line)
        assert "declares no allow-all egress" in line, line
    plan = json.loads(adoption_plan["plan"].read_text())
    managed_egress = [
        c["address"]
        for c in plan["resource_changes"]
        if c["type"] == "aws_vpc_security_group_egress_rule"
        and c["change"]["after"].get("ip_protocol") == "-1"
        and c["change"]["after"].get("security_group_id") in (made["master-managed"], made["slave-managed"])
    ]
    assert len(managed_egress) == 2
    targets = [f"-target={address}" for address in managed_egress]
    with pytest.raises(TerraformFailed) as failed:
        tf.apply(*targets)
    assert "InvalidPermission.Duplicate" in str(failed.value)

    # What the printed commands do, through boto3 (the stand-in has no aws CLI).
    for command in commands:
        assert command.endswith(f"--region {REGION}") and "IpProtocol=-1,IpRanges=[{CidrIp=0.0.0.0/0}]" in command
        group_id = command.split("--group-id ")[1].split()[0]
        ec2.revoke_security_group_egress(
            GroupId=group_id, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
        )
    tf.apply(*targets)
    for key in ("master-managed", "slave-managed"):
        rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [made[key]]}])
        egress = [r for r in rules["SecurityGroupRules"] if r["IsEgress"] and r.get("CidrIpv4") == "0.0.0.0/0"]
        assert [r["Description"] for r in egress] == [
            f"EMR managed: {key.split('-')[0]} egress, all traffic (EMR default; S3, EMR and other AWS endpoints)"
        ]
