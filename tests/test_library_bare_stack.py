"""EmrCluster and SpotTaskGroup as a library: composed on a bare TerraformStack, with no
PurposeStack, settings file or example environment in between.

What a user of the construct library gets when they build their own stack: the roles and
security groups are the library's own constructs, the cluster and task groups are wired
to them, and every address derives from the names given here (tip T3). One app is
synthesized once for the whole session (``bare``) and every test reads its JSON.
"""

from __future__ import annotations

import json

import pytest

from emr_constructs.model.cluster_spec import BootstrapAction, ClusterSpec, InstanceGroupSpec, ManagedScalingSpec
from emr_constructs.model.contract import DYNAMIC_GROUP, FIXED_IP_TAG, STATIC_A, STATIC_B
from emr_constructs.model.ebs import EbsSpec
from emr_constructs.model.errors import EmrConfigError
from emr_constructs.model.fleet_spec import ClusterSubnet, FleetInstanceType, InstanceFleetSpec
from emr_constructs.model.pricing import bid_price, load_price_table

REGION = "us-east-1"
ACCOUNT = "210987654321"
SUBNET = "subnet-0bare0000000000001"
LOGS = "bare-logs"
ASSETS = "bare-assets"
PLAIN = "plain-01"
GUARDED = "guarded-01"
SPOTTY = "spotty-01"
FLEET = "fleet-01"
VPC = "vpc-0123456789abcdef0"
FLEET_SUBNETS = ("subnet-0bare0000000000001", "subnet-0bare0000000000002")

# Builds stacks in this process (the provider bindings are imported).
pytestmark = pytest.mark.synth


class BareApp:
    """The parsed stack plus the Python objects that built it."""

    def __init__(self) -> None:
        from cdktf import App, TerraformStack, Testing
        from cdktf_cdktf_provider_aws.provider import AwsProvider

        from emr_constructs.emr_cluster import EmrCluster
        from emr_constructs.fixed_ip import use_fixed_ip
        from emr_constructs.iam_roles import EmrRoles
        from emr_constructs.instance_fleet import TaskInstanceFleet
        from emr_constructs.node_role_tags import tag_nodes_with_role
        from emr_constructs.security_groups import EmrSecurityGroups
        from emr_constructs.spot_task_groups import SpotGroupSpec, SpotTaskGroup, SpotTaskGroupPair

        app: App = Testing.app()
        stack = TerraformStack(app, "bare")
        AwsProvider(stack, "aws", region=REGION)
        roles = EmrRoles(stack, "roles", name_prefix="bare", account_id=ACCOUNT, region=REGION)
        groups = EmrSecurityGroups(stack, "sgs", vpc_id=VPC, name_prefix="bare")
        common = dict(purpose="library", subnet_id=SUBNET, security_groups=groups, roles=roles, log_bucket=LOGS)

        self.plain = EmrCluster(
            stack,
            spec=ClusterSpec(
                name=PLAIN,
                release_label="emr-7.5.0",
                applications=("hadoop", "SPARK"),
                master=InstanceGroupSpec("m5.xlarge"),
                core=InstanceGroupSpec("r5.xlarge", instance_count=2),
            ),
            **common,
        )

        self.guarded = EmrCluster(
            stack,
            spec=ClusterSpec(
                name=GUARDED,
                release_label="emr-7.5.0",
                applications=("Hadoop", "Trino"),
                master=InstanceGroupSpec("m5.xlarge"),
                core=InstanceGroupSpec("r5.2xlarge", instance_count=4, ebs=EbsSpec.gp2_for_iops(3000)),
                managed_scaling=ManagedScalingSpec(minimum=4, maximum=12, maximum_core=6),
                frozen=True,
                protected=True,
                tags={"team": "data"},
            ),
            log_prefix="logs/guarded/",
            **common,
        )
        use_fixed_ip(
            self.guarded,
            ip="10.0.0.10",
            region=REGION,
            account_id=ACCOUNT,
            subnet_id=SUBNET,
            action=BootstrapAction(
                "fixed-ip", ASSETS, "bootstrap/library/assign_private_ip.py", args=("--ip", "10.0.0.10")
            ),
        )
        tag_nodes_with_role(
            self.guarded,
            region=REGION,
            account_id=ACCOUNT,
            action=BootstrapAction("role-tags", ASSETS, "bootstrap/library/tag_instance_role.py"),
        )

        self.spotty = EmrCluster(
            stack,
            spec=ClusterSpec(
                name=SPOTTY,
                release_label="emr-7.5.0",
                applications=("Hadoop", "Spark"),
                master=InstanceGroupSpec("m5.xlarge"),
                core=InstanceGroupSpec("r5.xlarge"),
            ),
            **common,
        )
        self.pair = SpotTaskGroupPair(
            stack,
            "spot",
            cluster=self.spotty,
            region=REGION,
            active_count=5,
            active="b",
            static_a=SpotGroupSpec("r5.xlarge"),
            static_b=SpotGroupSpec("r5.2xlarge"),
            dynamic=SpotGroupSpec("m5.xlarge", bid_price="0.15"),
        )
        self.single = SpotTaskGroup(
            stack,
            cluster=self.plain,
            group_name="task-adhoc",
            spec=SpotGroupSpec("r5.xlarge", ebs=EbsSpec.gp3(200, iops=4000)),
            region=REGION,
            instance_count=3,
            bid_factor="0.5",
        )
        # A fleet cluster: EMR picks one of two subnets, types by weight, Spot task fleet.
        self.fleet = EmrCluster(
            stack,
            spec=ClusterSpec(
                name=FLEET,
                release_label="emr-7.5.0",
                applications=("Hadoop", "Spark"),
                master=InstanceFleetSpec((FleetInstanceType("m5.xlarge"),), target_on_demand_capacity=1),
                core=InstanceFleetSpec(
                    (FleetInstanceType("r5.xlarge", weighted_capacity=2), FleetInstanceType("r5.2xlarge", 4)),
                    target_on_demand_capacity=16,
                ),
                managed_scaling=ManagedScalingSpec(minimum=16, maximum=64, maximum_core=32),
                protected=True,
            ),
            purpose="library",
            subnets=tuple(ClusterSubnet(s, VPC) for s in FLEET_SUBNETS),
            security_groups=groups,
            roles=roles,
            log_bucket=LOGS,
            region=REGION,
        )
        self.task_fleet = TaskInstanceFleet(
            stack,
            cluster=self.fleet,
            region=REGION,
            spec=InstanceFleetSpec(
                (FleetInstanceType("r5.2xlarge", 4), FleetInstanceType("m5.4xlarge", 4, bid_price="0.50")),
                target_spot_capacity=8,
                bid_factor="0.6",
                spot_timeout_minutes=30,
                spot_timeout_action="TERMINATE_CLUSTER",
            ),
        )
        self.doc = json.loads(Testing.synth(stack))

    def resources(self, rtype: str) -> dict:
        return self.doc["resource"].get(rtype, {})

    def instance_policy(self) -> dict:
        (policy,) = (p for p in self.resources("aws_iam_role_policy").values() if "instance" in p["name"])
        return json.loads(policy["policy"])


@pytest.fixture(scope="session")
def bare() -> BareApp:
    return BareApp()


def _statement(policy: dict, sid: str) -> dict:
    return next(s for s in policy["Statement"] if s["Sid"] == sid)


# --------------------------------------------------------------------------- EmrCluster


def test_every_cluster_address_is_its_name(bare):
    assert set(bare.resources("aws_emr_cluster")) == {PLAIN, GUARDED, SPOTTY, FLEET}
    assert set(bare.resources("aws_emr_managed_scaling_policy")) == {
        f"{GUARDED}_managed-scaling",
        f"{FLEET}_managed-scaling",
    }
    assert {f"{PLAIN}_cluster_id", f"{GUARDED}_ssh", f"{SPOTTY}_spark_history_url"} <= set(bare.doc["output"])


def test_a_plain_cluster_is_written_in_emrs_own_shape(bare):
    cluster = bare.resources("aws_emr_cluster")[PLAIN]
    assert cluster["applications"] == ["Hadoop", "Spark"]
    assert cluster["log_uri"] == f"s3://{LOGS}/emr/library/{PLAIN}/"
    assert cluster["ec2_attributes"]["subnet_id"] == SUBNET
    assert cluster["master_instance_group"]["name"] == "master"
    assert cluster["core_instance_group"]["ebs_config"] == [
        {"iops": 3000, "size": 64, "throughput": 125, "type": "gp3", "volumes_per_instance": 1}
    ]
    assert json.loads(cluster["configurations_json"]) == [
        {"Classification": "hdfs-site", "Properties": {"dfs.replication": "1"}}
    ]
    assert cluster["lifecycle"] == {"ignore_changes": ["step"]}
    assert cluster["termination_protection"] is False
    assert cluster["tags"]["purpose"] == "library"


def test_a_frozen_protected_cluster_ignores_the_console_and_cannot_be_destroyed(bare):
    cluster = bare.resources("aws_emr_cluster")[GUARDED]
    assert cluster["termination_protection"] is True
    assert cluster["lifecycle"]["prevent_destroy"] is True
    assert cluster["lifecycle"]["ignore_changes"] == [
        "step",
        "core_instance_group[0].instance_count",
        "core_instance_group[0].autoscaling_policy",
        "step_concurrency_level",
        "auto_termination_policy",
    ]
    scaling = bare.resources("aws_emr_managed_scaling_policy")[f"{GUARDED}_managed-scaling"]
    assert scaling["lifecycle"] == {"ignore_changes": ["compute_limits"]}
    assert scaling["compute_limits"][0]["maximum_core_capacity_units"] == 6
    # gp2 sized from the IOPS wanted (T5), replication from the core count (T7).
    assert cluster["core_instance_group"]["ebs_config"] == [{"size": 1000, "type": "gp2", "volumes_per_instance": 1}]
    assert json.loads(cluster["configurations_json"])[0]["Properties"] == {"dfs.replication": "2"}


def test_fixed_ip_and_role_tags_are_wired_through_the_cluster_hooks(bare):
    cluster = bare.resources("aws_emr_cluster")[GUARDED]
    assert [a["name"] for a in cluster["bootstrap_action"]] == ["fixed-ip", "role-tags"]
    assert cluster["bootstrap_action"][0]["path"] == f"s3://{ASSETS}/bootstrap/library/assign_private_ip.py"
    assert cluster["tags"][FIXED_IP_TAG] == "10.0.0.10"
    assert bare.doc["output"][f"{GUARDED}_trino_url"]["value"] == "http://10.0.0.10:8889"
    assert bare.doc["output"][f"{GUARDED}_ssh"]["value"] == "ssh hadoop@10.0.0.10"
    policy = bare.instance_policy()
    assign = _statement(policy, "FixedIpAssignInSubnet")
    assert assign["Condition"] == {"ArnEquals": {"ec2:Subnet": f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/{SUBNET}"}}
    assert _statement(policy, "RoleTagsWriteName")["Condition"]["StringEquals"] == {
        "aws:ResourceTag/purpose": "library"
    }


def test_the_instance_role_may_write_each_log_prefix_and_read_the_bootstrap_folder(bare):
    resources = {r for s in bare.instance_policy()["Statement"] for r in s["Resource"]}
    assert f"arn:aws:s3:::{LOGS}/emr/library/*" in resources
    assert f"arn:aws:s3:::{LOGS}/logs/guarded/*" in resources
    assert f"arn:aws:s3:::{ASSETS}/bootstrap/library/*" in resources


# --------------------------------------------------------------------------- SpotTaskGroup


def test_a_pair_starts_the_active_side_full_and_the_idle_side_at_one(bare):
    groups = bare.resources("aws_emr_instance_group")
    a, b = groups[f"{SPOTTY}_{STATIC_A}"], groups[f"{SPOTTY}_{STATIC_B}"]
    assert (a["instance_count"], b["instance_count"]) == (1, 5)
    assert (a["instance_type"], b["instance_type"]) == ("r5.xlarge", "r5.2xlarge")
    for group in (a, b, groups[f"{SPOTTY}_{DYNAMIC_GROUP}"]):
        assert group["cluster_id"] == "${aws_emr_cluster.spotty-01.id}"
        assert group["lifecycle"] == {"ignore_changes": ["instance_count"]}
    assert groups[f"{SPOTTY}_{DYNAMIC_GROUP}"]["bid_price"] == "0.15"


def test_bids_come_from_the_price_table_times_the_factor(bare):
    table = load_price_table()
    groups = bare.resources("aws_emr_instance_group")
    assert groups[f"{SPOTTY}_{STATIC_A}"]["bid_price"] == bid_price("r5.xlarge", REGION, table=table)
    single = groups[f"{PLAIN}_task-adhoc"]
    assert single["bid_price"] == bid_price("r5.xlarge", REGION, factor="0.5", table=table)
    assert single["bid_price"] == bare.single.bid_price
    assert (single["name"], single["instance_count"]) == ("task-adhoc", 3)
    # aws_emr_instance_group has no throughput argument: it is left out, not sent.
    assert single["ebs_config"] == [{"iops": 4000, "size": 200, "type": "gp3", "volumes_per_instance": 1}]


def test_task_group_names_are_reserved_per_cluster(bare):
    assert bare.spotty.task_group_names == (DYNAMIC_GROUP, STATIC_A, STATIC_B)
    assert bare.plain.task_group_names == ("task-adhoc",)
    with pytest.raises(EmrConfigError, match="'task-spot-static-a' is already used on this cluster"):
        bare.spotty.register_task_group(STATIC_A)
    with pytest.raises(EmrConfigError, match="'core' is already used"):
        bare.plain.register_task_group("core")


# --------------------------------------------------------------------------- instance fleets


def test_a_fleet_cluster_writes_fleets_and_every_subnet_instead_of_groups(bare):
    cluster = bare.resources("aws_emr_cluster")[FLEET]
    assert "master_instance_group" not in cluster and "core_instance_group" not in cluster
    assert cluster["ec2_attributes"]["subnet_ids"] == list(FLEET_SUBNETS)
    assert "subnet_id" not in cluster["ec2_attributes"]
    master, core = cluster["master_instance_fleet"], cluster["core_instance_fleet"]
    assert (master["name"], master["target_on_demand_capacity"], master["target_spot_capacity"]) == ("master", 1, 0)
    assert [(c["instance_type"], c["weighted_capacity"]) for c in core["instance_type_configs"]] == [
        ("r5.xlarge", 2),
        ("r5.2xlarge", 4),
    ]
    # On-demand core bids nothing (T6); fleet EBS has no throughput argument.
    assert all("bid_price" not in c for c in core["instance_type_configs"])
    assert core["instance_type_configs"][0]["ebs_config"] == [
        {"iops": 3000, "size": 64, "type": "gp3", "volumes_per_instance": 1}
    ]
    assert core["launch_specifications"]["spot_specification"] == [
        {
            "allocation_strategy": "price-capacity-optimized",
            "timeout_action": "SWITCH_TO_ON_DEMAND",
            "timeout_duration_minutes": 20,
        }
    ]
    # T7 from the fewest core nodes: 16 units / 4 per r5.2xlarge = 4 nodes -> EMR's 2.
    assert bare.fleet.dfs_replication == 2
    assert '"dfs.replication":"2"' in cluster["configurations_json"]


def test_managed_scaling_owns_the_core_fleet_capacity(bare):
    """Every core_instance_fleet argument forces a new cluster in the provider: the
    capacities EMR changes must be ignored, or the next plan replaces the cluster."""
    cluster = bare.resources("aws_emr_cluster")[FLEET]
    assert cluster["lifecycle"]["ignore_changes"] == [
        "step",
        "core_instance_fleet[0].target_on_demand_capacity",
        "core_instance_fleet[0].target_spot_capacity",
    ]
    assert cluster["lifecycle"]["prevent_destroy"] is True
    limits = bare.resources("aws_emr_managed_scaling_policy")[f"{FLEET}_managed-scaling"]["compute_limits"]
    assert limits[0]["unit_type"] == "InstanceFleetUnits"
    fleet = bare.resources("aws_emr_instance_fleet")[f"{FLEET}_task"]
    assert fleet["lifecycle"]["ignore_changes"] == ["target_on_demand_capacity", "target_spot_capacity"]


def test_the_task_fleet_bids_from_the_price_table_and_keeps_an_explicit_bid(bare):
    table = load_price_table()
    fleet = bare.resources("aws_emr_instance_fleet")[f"{FLEET}_task"]
    assert fleet["cluster_id"] == f"${{aws_emr_cluster.{FLEET}.id}}"
    bids = {c["instance_type"]: c["bid_price"] for c in fleet["instance_type_configs"]}
    assert bids == {"r5.2xlarge": bid_price("r5.2xlarge", REGION, factor="0.6", table=table), "m5.4xlarge": "0.50"}
    assert bare.task_fleet.bids == bids
    assert (fleet["name"], fleet["target_on_demand_capacity"], fleet["target_spot_capacity"]) == ("task", 0, 8)
    assert fleet["launch_specifications"]["spot_specification"][0]["timeout_action"] == "TERMINATE_CLUSTER"


def test_groups_and_fleets_never_meet_on_one_cluster(bare):
    from emr_constructs.instance_fleet import TaskInstanceFleet

    with pytest.raises(EmrConfigError, match="uses instance fleets.*TaskInstanceFleet"):
        bare.fleet.register_task_group("task-adhoc")
    spec = InstanceFleetSpec((FleetInstanceType("r5.xlarge"),), target_spot_capacity=1)
    with pytest.raises(EmrConfigError, match="uses instance groups: a task fleet needs master and core fleets"):
        TaskInstanceFleet(bare.plain, cluster=bare.plain, spec=spec, region=REGION)
    with pytest.raises(EmrConfigError, match="already has a task fleet: EMR allows one per cluster"):
        TaskInstanceFleet(bare.fleet, cluster=bare.fleet, spec=spec, region=REGION)
