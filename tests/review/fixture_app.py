"""A small cdktf app for the review tests: EMR clusters built from a plain data dict.

The test repository's ``main.py`` reads ``clusters.json`` and calls ``build``; the
per-argument tests call ``build`` in-process on variants of the same dict. It uses the
provider's own resource classes with the shapes the project's constructs synthesize
(cluster address = cluster name, content-hashed bootstrap keys
``bootstrap/<purpose>/<stem>-<sha256:16><suffix>`` uploaded from a TerraformAsset, task
groups ``task-spot-static-a``/``-b``/``task-spot-dynamic``, described security-group
rules, JSON role policies), so every argument of DESIGN.md's replace list can be
changed on its own.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

from cdktf import AssetType, TerraformAsset, TerraformResourceLifecycle, TerraformStack
from cdktf_cdktf_provider_aws.emr_cluster import (
    EmrCluster,
    EmrClusterAutoTerminationPolicy,
    EmrClusterBootstrapAction,
    EmrClusterCoreInstanceGroup,
    EmrClusterCoreInstanceGroupEbsConfig,
    EmrClusterEc2Attributes,
    EmrClusterMasterInstanceGroup,
    EmrClusterMasterInstanceGroupEbsConfig,
)
from cdktf_cdktf_provider_aws.emr_instance_group import EmrInstanceGroup, EmrInstanceGroupEbsConfig
from cdktf_cdktf_provider_aws.iam_instance_profile import IamInstanceProfile
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.provider import AwsProvider
from cdktf_cdktf_provider_aws.s3_object import S3Object
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

STACK = "analytics"
PURPOSE = "spark-batch"

BASE_DATA: dict = {
    "region": "ap-northeast-2",
    "bucket": "example-emr-bootstrap-assets",
    "subnets": ["subnet-0a1b2c3d4e5f60701", "subnet-0a1b2c3d4e5f60702"],
    "security_groups": {
        "master-managed": [],
        "slave-managed": [],
        "master-additional": [
            {"port": 18080, "cidr": "10.30.0.0/20", "description": "Spark History UI for the office"},
        ],
        "slave-additional": [],
        "service-access": [],
    },
    "instance_policy": [
        {"sid": "ReadData", "actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::example-data-lake/*"]},
        {"sid": "ListData", "actions": ["s3:ListBucket"], "resources": ["arn:aws:s3:::example-data-lake"]},
    ],
    "clusters": [
        {
            "name": "batch-prod-01",
            "protected": True,
            "release_label": "emr-7.1.0",
            "applications": ["Hadoop", "Spark"],
            "configurations": {"spark-defaults": {"spark.executor.memory": "4g"},
                               "hdfs-site": {"dfs.replication": "2"}},
            "log_uri": "s3://example-emr-logs/emr/batch-prod-01/",
            "service_role": "emr-service",
            "instance_profile": "emr-instance",
            "subnet": 0,
            "key_name": None,
            "ebs_root_volume_size": 32,
            "step_concurrency_level": 1,
            "auto_termination_idle": None,
            "visible_to_all_users": True,
            "tags": {"team": "data"},
            "ignore_changes": ["step"],
            "bootstrap": [{"script": "tag-instance.sh", "args": ["--role-suffix"]}],
            "master": {"name": "master", "type": "m5.xlarge", "count": 1, "ebs_size": 64},
            "core": {"name": "core", "type": "r5.xlarge", "count": 2, "ebs_size": 128,
                     "autoscaling_policy": None, "bid_price": None},
            "tasks": [
                {"name": "task-spot-static-a", "type": "r5.xlarge", "count": 2, "bid_price": "0.24", "ebs_size": 64},
                {"name": "task-spot-static-b", "type": "r5.xlarge", "count": 0, "bid_price": "0.24", "ebs_size": 64},
                {"name": "task-spot-dynamic", "type": "m5.xlarge", "count": 1, "bid_price": "0.19", "ebs_size": 64},
            ],
        },
        {
            "name": "batch-dev-01",
            "protected": False,
            "release_label": "emr-7.1.0",
            "applications": ["Hadoop", "Spark"],
            "configurations": {"hdfs-site": {"dfs.replication": "1"}},
            "log_uri": "s3://example-emr-logs/emr/batch-dev-01/",
            "service_role": "emr-service",
            "instance_profile": "emr-instance",
            "subnet": 0,
            "key_name": None,
            "ebs_root_volume_size": None,
            "step_concurrency_level": 1,
            "auto_termination_idle": 3600,
            "visible_to_all_users": True,
            "tags": {"team": "data"},
            # Frozen by operators (guide T3): bootstrap changes are not applied to it.
            "ignore_changes": ["step", "bootstrap_action"],
            "bootstrap": [{"script": "tag-instance.sh", "args": ["--role-suffix"]}],
            "master": {"name": "master", "type": "m5.xlarge", "count": 1, "ebs_size": 64},
            "core": {"name": "core", "type": "m5.xlarge", "count": 1, "ebs_size": 64,
                     "autoscaling_policy": None, "bid_price": None},
            "tasks": [],
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


def _configurations(configs: dict) -> str:
    return json.dumps([{"Classification": c, "Properties": dict(sorted(p.items()))}
                       for c, p in sorted(configs.items())], sort_keys=True)


def build(scope: Construct, data: dict, scripts_dir: Path, stack_name: str = STACK) -> TerraformStack:
    stack = TerraformStack(scope, stack_name)
    AwsProvider(stack, "aws", region=data["region"])

    groups = {}
    for sg_name, ingress in data["security_groups"].items():
        sg = SecurityGroup(stack, f"sg-{sg_name}", name=f"{stack_name}-{sg_name}", description=f"EMR {sg_name}",
                           vpc_id="vpc-0a1b2c3d4e5f60718", revoke_rules_on_delete=True)
        sg.override_logical_id(sg_name)
        groups[sg_name] = sg
        for rule in ingress:
            r = VpcSecurityGroupIngressRule(
                stack, f"{sg_name}-in-{rule['port']}", security_group_id=sg.id, ip_protocol="tcp",
                from_port=rule["port"], to_port=rule["port"], cidr_ipv4=rule["cidr"], description=rule["description"])
            r.override_logical_id(f"{sg_name}_ingress_{rule['port']}")

    role = IamRole(stack, "instance-role", name=f"{stack_name}-emr-instance", assume_role_policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }))
    IamInstanceProfile(stack, "instance-profile", name=f"{stack_name}-emr-instance", role=role.name)
    IamRolePolicy(stack, "instance-policy", name="data-access", role=role.id, policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": s["sid"], "Effect": "Allow", "Action": s["actions"], "Resource": s["resources"]}
                      for s in data["instance_policy"]],
    }, sort_keys=True))

    objects = {}
    for path in sorted(Path(scripts_dir).iterdir()):
        content = path.read_bytes()
        key = f"bootstrap/{PURPOSE}/{path.stem}-{hashlib.sha256(content).hexdigest()[:16]}{path.suffix}"
        asset = TerraformAsset(stack, f"asset-{path.name}", path=str(path.resolve()), type=AssetType.FILE)
        obj = S3Object(stack, f"object-{path.name}", bucket=data["bucket"], key=key, source=asset.path,
                       lifecycle=TerraformResourceLifecycle(create_before_destroy=True))
        obj.override_logical_id(f"bootstrap_{path.stem}")
        objects[path.name] = obj

    for c in data["clusters"]:
        m, k = c["master"], c["core"]
        cluster = EmrCluster(
            stack, c["name"],
            name=c["name"],
            release_label=c["release_label"],
            applications=c["applications"],
            configurations_json=_configurations(c["configurations"]),
            log_uri=c["log_uri"],
            service_role=c["service_role"],
            keep_job_flow_alive_when_no_steps=True,
            termination_protection=c["protected"],
            step_concurrency_level=c["step_concurrency_level"],
            ebs_root_volume_size=c["ebs_root_volume_size"],
            visible_to_all_users=c["visible_to_all_users"],
            auto_termination_policy=(EmrClusterAutoTerminationPolicy(idle_timeout=c["auto_termination_idle"])
                                     if c["auto_termination_idle"] else None),
            bootstrap_action=[
                EmrClusterBootstrapAction(name=b["script"], path=f"s3://{objects[b['script']].bucket}/{objects[b['script']].key}",
                                          args=b["args"])
                for b in c["bootstrap"]],
            ec2_attributes=EmrClusterEc2Attributes(
                subnet_id=data["subnets"][c["subnet"]],
                instance_profile=c["instance_profile"],
                key_name=c["key_name"],
                emr_managed_master_security_group=groups["master-managed"].id,
                emr_managed_slave_security_group=groups["slave-managed"].id,
                additional_master_security_groups=groups["master-additional"].id,
                additional_slave_security_groups=groups["slave-additional"].id,
                service_access_security_group=groups["service-access"].id,
            ),
            master_instance_group=EmrClusterMasterInstanceGroup(
                name=m["name"], instance_type=m["type"], instance_count=m["count"], bid_price=m.get("bid_price"),
                ebs_config=[EmrClusterMasterInstanceGroupEbsConfig(size=m["ebs_size"], type="gp3", iops=3000,
                                                                   throughput=125, volumes_per_instance=1)]),
            core_instance_group=EmrClusterCoreInstanceGroup(
                name=k["name"], instance_type=k["type"], instance_count=k["count"], bid_price=k["bid_price"],
                autoscaling_policy=k["autoscaling_policy"],
                ebs_config=[EmrClusterCoreInstanceGroupEbsConfig(size=k["ebs_size"], type="gp3", iops=3000,
                                                                 throughput=125, volumes_per_instance=1)]),
            tags={**c["tags"], "Name": c["name"]},
            lifecycle=TerraformResourceLifecycle(ignore_changes=c["ignore_changes"],
                                                 prevent_destroy=True if c["protected"] else None),
        )
        cluster.override_logical_id(c["name"])
        for t in c["tasks"]:
            group = EmrInstanceGroup(
                stack, f"{c['name']}-{t['name']}", cluster_id=cluster.id, name=t["name"], instance_type=t["type"],
                instance_count=t["count"], bid_price=t["bid_price"],
                ebs_config=[EmrInstanceGroupEbsConfig(size=t["ebs_size"], type="gp3", volumes_per_instance=1)])
            group.override_logical_id(f"{c['name']}_{t['name']}")
    return stack
