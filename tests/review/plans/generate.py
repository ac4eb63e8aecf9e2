"""Real Terraform plans for the --plan tests, without AWS: each scenario is a stack
configuration (Terraform JSON, as cdktf writes it) and a state that says what runs;
``terraform plan -refresh=false`` compares them offline (no API call: nothing is read
from AWS, so there is no drift here) and ``terraform show -json`` writes
``<scenario>.plan.json`` beside this file, with the configuration as ``cdk.tf.json`` in
``<scenario>/``.

Run: ``.venv/bin/python tests/review/plans/generate.py`` (needs terraform and the aws
provider in a filesystem mirror; set TF_PLUGIN_MIRROR if it is not found).
test_tfplan.py checks that the committed plans are what Terraform says today whenever
terraform is available.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROVIDER_VERSION = "5.100.0"
PROVIDER = 'provider["registry.terraform.io/hashicorp/aws"]'
REPLICATION = '[{"Classification":"hdfs-site","Properties":{"dfs.replication":"%d"}}]'

CLUSTER_CONFIG = {
    "name": "spark-batch-production-01",
    "release_label": "emr-7.5.0",
    "applications": ["Hadoop", "Spark"],
    "service_role": "emr-service",
    "termination_protection": False,
    "configurations_json": REPLICATION % 2,
    "ec2_attributes": {"instance_profile": "emr-profile", "subnet_id": "subnet-0a1b2c3d4e5f60701"},
    "master_instance_group": {"instance_type": "m5.xlarge", "instance_count": 1},
    "core_instance_group": {"instance_type": "r5.xlarge", "instance_count": 4},
    "tags": {"team": "data"},
}
GROUP_CONFIG = {
    "cluster_id": "${aws_emr_cluster.spark-batch-production-01.id}",
    "name": "task-spot-static-a",
    "instance_type": "r5.xlarge",
    "instance_count": 6,
    "bid_price": "0.20",
    "lifecycle": {"ignore_changes": ["instance_count"]},
}
DYNAMIC_CONFIG = {
    **GROUP_CONFIG,
    "name": "task-spot-dynamic",
    "instance_type": "m5.xlarge",
    "instance_count": 1,
    "bid_price": "0.15",
}


def cluster_state(config: dict, **live) -> dict:
    """The state of a cluster created from ``config``, then changed by ``live``."""
    core = {
        **config["core_instance_group"],
        "id": "ig-CORE",
        "name": "",
        "bid_price": "",
        "ebs_config": [],
        "autoscaling_policy": "",
    }
    core.update(live.pop("core", {}))
    return {
        "id": "j-1A2B3C4D5E6F7",
        "arn": "arn:aws:elasticmapreduce:us-east-1:123456789012:cluster/j-1A2B3C4D5E6F7",
        "name": config["name"],
        "release_label": config["release_label"],
        "applications": config["applications"],
        "service_role": config["service_role"],
        "termination_protection": config["termination_protection"],
        "visible_to_all_users": True,
        "keep_job_flow_alive_when_no_steps": True,
        "step_concurrency_level": 1,
        "scale_down_behavior": "TERMINATE_AT_TASK_COMPLETION",
        "cluster_state": "WAITING",
        "master_public_dns": "ip-10-20-1-16.ec2.internal",
        "ebs_root_volume_size": None,
        "configurations_json": config["configurations_json"],
        "ec2_attributes": [
            {
                **config["ec2_attributes"],
                "subnet_ids": [config["ec2_attributes"]["subnet_id"]],
                "emr_managed_master_security_group": "sg-0aaa",
                "emr_managed_slave_security_group": "sg-0bbb",
                "additional_master_security_groups": "",
                "additional_slave_security_groups": "",
                "key_name": "",
                "service_access_security_group": "",
            }
        ],
        "master_instance_group": [
            {**config["master_instance_group"], "id": "ig-MASTER", "name": "", "bid_price": "", "ebs_config": []}
        ],
        "core_instance_group": [core],
        "tags": dict(config["tags"]),
        "tags_all": dict(config["tags"]),
        "bootstrap_action": [],
        "step": [],
        "log_uri": "",
        "log_encryption_kms_key_id": "",
        "security_configuration": "",
        "autoscaling_role": "",
        "custom_ami_id": "",
        "kerberos_attributes": [],
        "auto_termination_policy": [],
        "placement_group_config": [],
        "master_instance_fleet": [],
        "core_instance_fleet": [],
        "os_release_label": "",
        "unhealthy_node_replacement": False,
        **live,
    }


def group_state(config: dict, gid: str, **live) -> dict:
    return {
        "id": gid,
        "cluster_id": "j-1A2B3C4D5E6F7",
        "name": config["name"],
        "instance_type": config["instance_type"],
        "instance_count": config["instance_count"],
        "bid_price": config["bid_price"],
        "running_instance_count": config["instance_count"],
        "status": "RUNNING",
        "ebs_optimized": False,
        "ebs_config": [],
        "autoscaling_policy": "",
        "configurations_json": "",
        **live,
    }


def _frozen(config: dict) -> dict:
    return {**copy.deepcopy(config), "lifecycle": {"ignore_changes": ["core_instance_group[0].instance_count"]}}


def scenarios() -> dict[str, tuple[dict, dict]]:
    """name -> (resources of the configuration, state resources by address)."""
    out = {}
    # 1. A frozen cluster (core count in ignore_changes) resized to 5 from the console; the
    #    code goes 4 -> 3, which moves dfs.replication 2 -> 1 (replaces the cluster).
    head = _frozen(CLUSTER_CONFIG)
    head["core_instance_group"]["instance_count"] = 3
    head["configurations_json"] = REPLICATION % 1
    out["frozen-core-count"] = (
        {"aws_emr_cluster": {"spark-batch-production-01": head}},
        {
            "aws_emr_cluster.spark-batch-production-01": cluster_state(
                _frozen(CLUSTER_CONFIG), core={"instance_count": 5}
            )
        },
    )
    # 2. A Spot bid change on static A, whose live count (3, after a rotation) differs
    #    from the code's 6; the dynamic group is untouched.
    out["spot-bid"] = (
        {
            "aws_emr_cluster": {"spark-batch-production-01": copy.deepcopy(CLUSTER_CONFIG)},
            "aws_emr_instance_group": {
                "spark-batch-production-01_task-spot-static-a": {**GROUP_CONFIG, "bid_price": "0.22"},
                "spark-batch-production-01_task-spot-dynamic": copy.deepcopy(DYNAMIC_CONFIG),
            },
        },
        {
            "aws_emr_cluster.spark-batch-production-01": cluster_state(CLUSTER_CONFIG),
            "aws_emr_instance_group.spark-batch-production-01_task-spot-static-a": group_state(
                GROUP_CONFIG, "ig-TASKA", instance_count=3, running_instance_count=3
            ),
            "aws_emr_instance_group.spark-batch-production-01_task-spot-dynamic": group_state(
                DYNAMIC_CONFIG, "ig-TASKD"
            ),
        },
    )
    # 3. In place: core count 4 -> 5 on a Terraform-managed cluster, and a tag.
    head = copy.deepcopy(CLUSTER_CONFIG)
    head["core_instance_group"]["instance_count"] = 5
    head["tags"] = {"team": "data", "owner": "platform"}
    out["core-count-in-place"] = (
        {"aws_emr_cluster": {"spark-batch-production-01": head}},
        {"aws_emr_cluster.spark-batch-production-01": cluster_state(CLUSTER_CONFIG)},
    )
    # 4. A release upgrade of a cluster running with termination protection; the code
    #    already dropped protection (so `terraform plan` succeeds, and the apply would not).
    out["protected-upgrade"] = (
        {
            "aws_emr_cluster": {
                "spark-batch-production-01": {**copy.deepcopy(CLUSTER_CONFIG), "release_label": "emr-7.6.0"}
            }
        },
        {
            "aws_emr_cluster.spark-batch-production-01": cluster_state(
                {**CLUSTER_CONFIG, "termination_protection": True}
            )
        },
    )
    # 5. create_before_destroy on a task group (to keep Spot capacity during a swap) and a
    #    release upgrade of its cluster: Terraform extends create_before_destroy to the
    #    cluster the group depends on.
    out["task-group-create-before-destroy"] = (
        {
            "aws_emr_cluster": {
                "spark-batch-production-01": {**copy.deepcopy(CLUSTER_CONFIG), "release_label": "emr-7.6.0"}
            },
            "aws_emr_instance_group": {
                "spark-batch-production-01_task-spot-static-a": {
                    **GROUP_CONFIG,
                    "lifecycle": {"ignore_changes": ["instance_count"], "create_before_destroy": True},
                }
            },
        },
        {
            "aws_emr_cluster.spark-batch-production-01": cluster_state(CLUSTER_CONFIG),
            "aws_emr_instance_group.spark-batch-production-01_task-spot-static-a": group_state(
                GROUP_CONFIG, "ig-TASKA"
            ),
        },
    )
    # 6. The same create_before_destroy group with only a new bid: the cluster stays, the
    #    new group is created before the old one is resized to 0.
    out["task-group-create-before-destroy-bid"] = (
        {
            "aws_emr_cluster": {"spark-batch-production-01": copy.deepcopy(CLUSTER_CONFIG)},
            "aws_emr_instance_group": {
                "spark-batch-production-01_task-spot-static-a": {
                    **GROUP_CONFIG,
                    "bid_price": "0.22",
                    "lifecycle": {"ignore_changes": ["instance_count"], "create_before_destroy": True},
                }
            },
        },
        {
            "aws_emr_cluster.spark-batch-production-01": cluster_state(CLUSTER_CONFIG),
            "aws_emr_instance_group.spark-batch-production-01_task-spot-static-a": group_state(
                GROUP_CONFIG, "ig-TASKA"
            ),
        },
    )
    return out


def _mirror() -> Path:
    if os.environ.get("TF_PLUGIN_MIRROR"):
        return Path(os.environ["TF_PLUGIN_MIRROR"])
    for root in (Path("/opt"), Path.home(), Path("/usr/local/share")):
        for found in root.glob(f"**/registry.terraform.io/hashicorp/aws/{PROVIDER_VERSION}"):
            return found.parent.parent.parent.parent
    raise SystemExit("no filesystem mirror with hashicorp/aws " + PROVIDER_VERSION + "; set TF_PLUGIN_MIRROR")


def plan(name: str, resources: dict, state: dict, work: Path, mirror: Path) -> dict:
    folder = work / name
    folder.mkdir(parents=True)
    doc = {
        "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": PROVIDER_VERSION}}},
        "provider": {"aws": [{"region": "us-east-1"}]},
        "resource": resources,
    }
    (folder / "cdk.tf.json").write_text(json.dumps(doc, indent=2))
    # Offline: fake keys, no account lookup; the stack's own file stays as cdktf would write it.
    (folder / "zz_override.tf.json").write_text(
        json.dumps(
            {
                "provider": {
                    "aws": [
                        {
                            "access_key": "offline",
                            "secret_key": "offline",
                            "skip_credentials_validation": True,
                            "skip_requesting_account_id": True,
                            "skip_metadata_api_check": True,
                        }
                    ]
                }
            }
        )
    )
    resources_state = []
    for address, attributes in state.items():
        rtype, rname = address.split(".", 1)
        resources_state.append(
            {
                "mode": "managed",
                "type": rtype,
                "name": rname,
                "provider": PROVIDER,
                "instances": [
                    {
                        "schema_version": 0,
                        "attributes": attributes,
                        "sensitive_attributes": [],
                        **(
                            {"dependencies": ["aws_emr_cluster.spark-batch-production-01"]}
                            if rtype != "aws_emr_cluster"
                            else {}
                        ),
                    }
                ],
            }
        )
    (folder / "terraform.tfstate").write_text(
        json.dumps(
            {
                "version": 4,
                "terraform_version": "1.11.0",
                "serial": 1,
                "lineage": "00000000-0000-0000-0000-000000000000",
                "outputs": {},
                "resources": resources_state,
            },
            indent=1,
        )
    )
    cli = work / "cli.tfrc"
    cli.write_text(
        f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n'
        '    include = ["registry.terraform.io/*/*"]\n  }\n'
        '  direct { exclude = ["registry.terraform.io/*/*"] }\n}\n'
    )
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(cli), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    for args in (["init", "-input=false"], ["plan", "-refresh=false", "-input=false", "-out", "p.tfplan"]):
        result = subprocess.run(
            ["terraform", *args, "-no-color"], cwd=folder, env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise SystemExit(f"{name}: terraform {args[0]} failed:\n{result.stdout}\n{result.stderr}")
    shown = subprocess.run(
        ["terraform", "show", "-json", "p.tfplan"], cwd=folder, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(shown.stdout)


def generate(target: Path = HERE) -> list[Path]:
    mirror = _mirror()
    written = []
    with tempfile.TemporaryDirectory(prefix="review-plans-") as work:
        for name, (resources, state) in scenarios().items():
            result = plan(name, resources, state, Path(work), mirror)
            result.pop("timestamp", None)
            stack = target / name
            stack.mkdir(exist_ok=True)
            shutil.copy(Path(work) / name / "cdk.tf.json", stack / "cdk.tf.json")
            path = stack / "plan.json"
            path.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
            written.append(path)
    return written


if __name__ == "__main__":
    for p in generate(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(p)
