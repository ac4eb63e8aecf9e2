"""A small cdktf app for the review tests: EMR clusters built from a plain data dict.

The test repository's ``main.py`` reads ``clusters.json`` and calls ``build``; the
per-argument tests call ``build`` in-process on variants of the same dict. It is built
with the project's real constructs (EmrSecurityGroups, EmrRoles, BootstrapAssets,
EmrCluster, SpotTaskGroupPair), so the review is tested on the JSON users get. A few
arguments of docs/design.md's replace list are fixed by the constructs on purpose (the group
names ``master``/``core``, on-demand master, the role ARNs, ``visible_to_all_users``); the
data file changes those through ``overrides`` (``add_override`` on the synthesized
resource), which is what a hand edit of the construct would produce.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING

from environments.schema import READ_ONLY, READ_WRITE

if TYPE_CHECKING:
    from cdktf import TerraformStack
    from constructs import Construct

# The provider bindings take seconds to import: they load inside build(), so collecting the
# review tests (which import base_data/write_scripts from here) stays cheap.

STACK = "analytics"
PURPOSE = "spark-batch"

BASE_DATA: dict = {
    "region": "ap-northeast-2",
    "account_id": "123456789012",
    "vpc_id": "vpc-0a1b2c3d4e5f60718",
    "bootstrap_bucket": "example-emr-bootstrap-assets",
    "log_bucket": "example-emr-logs",
    "data_bucket": "example-data-lake",
    "data_access": READ_ONLY,
    "subnets": ["subnet-0a1b2c3d4e5f60701", "subnet-0a1b2c3d4e5f60702"],
    "office_ingress": [{"port": 18080, "cidr": "10.30.0.0/20", "description": "Spark History UI for the office"}],
    # (construct path below the stack, attribute, value): edits the constructs do not expose.
    "overrides": [
        # Frozen by operators (guide T3): bootstrap changes are not applied to it.
        ["batch-dev-01/cluster", "lifecycle.ignore_changes", ["bootstrap_action"]],
    ],
    "clusters": [
        {
            "name": "batch-prod-01",
            "protected": True,
            "release_label": "emr-7.1.0",
            "applications": ["Hadoop", "Spark"],
            "configurations": {"spark-defaults": {"spark.executor.memory": "4g"}},
            "subnet": 0,
            "key_name": None,
            "ebs_root_volume_size": 32,
            "step_concurrency_level": 1,
            "auto_termination_idle": None,
            "tags": {"team": "data"},
            "bootstrap": [{"script": "tag-instance.sh", "args": ["--role-suffix"]}],
            "master": {"type": "m5.xlarge", "count": 1, "ebs_size": 64},
            "core": {"type": "r5.xlarge", "count": 2, "ebs_size": 128, "bid_price": None},
            # Spot: static A active with 2 instances, B idle (1 at creation), dynamic 1.
            "spot": {
                "type": "r5.xlarge",
                "active_count": 2,
                "bid_price": "0.24",
                "ebs_size": 64,
                "dynamic_type": "m5.xlarge",
                "dynamic_bid_price": "0.19",
            },
        },
        {
            "name": "batch-dev-01",
            "protected": False,
            "release_label": "emr-7.1.0",
            "applications": ["Hadoop", "Spark"],
            "configurations": {},
            "subnet": 0,
            "key_name": None,
            "ebs_root_volume_size": None,
            "step_concurrency_level": 1,
            "auto_termination_idle": 3600,
            "tags": {"team": "data"},
            "bootstrap": [{"script": "tag-instance.sh", "args": ["--role-suffix"]}],
            "master": {"type": "m5.xlarge", "count": 1, "ebs_size": 64},
            "core": {"type": "m5.xlarge", "count": 1, "ebs_size": 64, "bid_price": None},
            "spot": None,
        },
    ],
}

SCRIPTS = {
    "tag-instance.sh": "#!/bin/bash\n# appends -MASTER/-CORE/-TASK to the Name tag\nset -euo pipefail\necho tag\n",
    "fixed-ip.sh": "#!/bin/bash\n# assigns the master's fixed private IP\nset -euo pipefail\necho ip\n",
}


def base_data() -> dict:
    return copy.deepcopy(BASE_DATA)


def write_scripts(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in SCRIPTS.items():
        (folder / name).write_text(text)


def _find(stack: Construct, path: str) -> Construct:
    node = stack
    for part in path.split("/"):
        node = node.node.find_child(part)
    return node


def build(scope: Construct, data: dict, scripts_dir: Path, stack_name: str = STACK) -> TerraformStack:
    from cdktf import TerraformStack
    from cdktf_cdktf_provider_aws.provider import AwsProvider

    from emr_constructs.bootstrap_assets import BootstrapAssets
    from emr_constructs.emr_cluster import EmrCluster
    from emr_constructs.iam_roles import EmrRoles
    from emr_constructs.model.cluster_spec import ClusterSpec, InstanceGroupSpec
    from emr_constructs.model.ebs import EbsSpec
    from emr_constructs.security_groups import EmrSecurityGroups, IngressRule
    from emr_constructs.spot_task_groups import SpotGroupSpec, SpotTaskGroupPair

    stack = TerraformStack(scope, stack_name)
    AwsProvider(stack, "aws", region=data["region"])
    security_groups = EmrSecurityGroups(
        stack,
        "security-groups",
        vpc_id=data["vpc_id"],
        name_prefix=stack_name,
        master_ingress=tuple(IngressRule(r["description"], r["port"], cidr=r["cidr"]) for r in data["office_ingress"]),
    )
    roles = EmrRoles(stack, "roles", name_prefix=stack_name, account_id=data["account_id"], region=data["region"])
    grant = roles.grant_read_write if data["data_access"] == READ_WRITE else roles.grant_read
    grant(data["data_bucket"], sid="Data")
    roles.grant_bootstrap_read(data["bootstrap_bucket"], f"bootstrap/{PURPOSE}/")
    assets = BootstrapAssets(
        stack, "bootstrap-assets", directory=scripts_dir, bucket_name=data["bootstrap_bucket"], purpose=PURPOSE
    )

    for c in data["clusters"]:
        m, k = c["master"], c["core"]
        spec = ClusterSpec(
            name=c["name"],
            release_label=c["release_label"],
            applications=c["applications"],
            master=InstanceGroupSpec(m["type"], m["count"], EbsSpec.gp3(m["ebs_size"])),
            core=InstanceGroupSpec(k["type"], k["count"], EbsSpec.gp3(k["ebs_size"]), bid_price=k["bid_price"]),
            allow_spot_core=k["bid_price"] is not None,
            configurations=c["configurations"],
            bootstrap_actions=tuple(assets.action(b["script"], args=b["args"]) for b in c["bootstrap"]),
            auto_termination_idle_seconds=c["auto_termination_idle"],
            step_concurrency_level=c["step_concurrency_level"],
            protected=c["protected"],
            key_name=c["key_name"],
            ebs_root_volume_size=c["ebs_root_volume_size"],
            tags=c["tags"],
        )
        cluster = EmrCluster(
            stack,
            spec=spec,
            purpose=PURPOSE,
            subnet_id=data["subnets"][c["subnet"]],
            security_groups=security_groups,
            roles=roles,
            log_bucket=data["log_bucket"],
        )
        spot = c["spot"]
        if spot:
            static = SpotGroupSpec(spot["type"], EbsSpec.gp3(spot["ebs_size"]), bid_price=spot["bid_price"])
            SpotTaskGroupPair(
                stack,
                f"{c['name']}-spot",
                cluster=cluster,
                region=data["region"],
                static_a=static,
                static_b=static,
                active_count=spot["active_count"],
                dynamic=SpotGroupSpec(spot["dynamic_type"], bid_price=spot["dynamic_bid_price"]),
            )
    for path, attribute, value in data["overrides"]:
        _find(stack, path).add_override(attribute, value)
    return stack
