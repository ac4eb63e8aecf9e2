"""Which attribute changes replace an EMR cluster or instance group (guide tip T3).

The rules are data: one table per resource type, each row an attribute path (dots for
nested blocks, no list indexes: ``core_instance_group.instance_count``) and its effect.
A row covers the path itself and everything below it (``ec2_attributes`` covers
``ec2_attributes.subnet_id``); the longest matching row wins, so
``core_instance_group.instance_count`` (in place) beats ``core_instance_group`` (replaces).
An attribute no row matches is treated as replacing: for these two types almost every
argument is ForceNew, so the safe guess for an argument the table does not know yet is
the expensive one, and the report says it was a guess.

Sources: docs/design.md ("What replaces a cluster") and the provider schema
(terraform-provider-aws internal/service/emr/cluster.go and instance_group.go, AWS
provider 6.x, the version cdktf-cdktf-provider-aws 21.22.1 binds): attributes with
``ForceNew: true`` replace; the others are changed by ModifyCluster,
ModifyInstanceGroups, SetTerminationProtection, PutAutoTerminationPolicy,
PutAutoScalingPolicy or tagging.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

IN_PLACE = "in place"
REPLACES = "replaces"
META = "meta"

EMR_CLUSTER = "aws_emr_cluster"
EMR_INSTANCE_GROUP = "aws_emr_instance_group"
EMR_INSTANCE_FLEET = "aws_emr_instance_fleet"


@dataclass(frozen=True)
class Rule:
    path: str
    effect: str
    source: str


_FORCE_NEW = "provider schema: ForceNew"
_DESIGN = "docs/design.md + provider schema"
_UPDATE = "provider Update"

CLUSTER_RULES: tuple[Rule, ...] = (
    # docs/design.md: the replace list.
    Rule("name", REPLACES, _DESIGN),
    Rule("release_label", REPLACES, _DESIGN),
    Rule("applications", REPLACES, _DESIGN),
    Rule("bootstrap_action", REPLACES, _DESIGN),
    Rule("configurations", REPLACES, _DESIGN),
    Rule("configurations_json", REPLACES, _DESIGN),
    Rule("ec2_attributes", REPLACES, _DESIGN),
    Rule("service_role", REPLACES, _DESIGN),
    Rule("log_uri", REPLACES, _DESIGN),
    Rule("ebs_root_volume_size", REPLACES, _DESIGN),
    Rule("master_instance_group", REPLACES, _DESIGN),
    Rule("core_instance_group", REPLACES, _DESIGN),
    Rule("core_instance_group.instance_type", REPLACES, _DESIGN),
    Rule("core_instance_group.bid_price", REPLACES, _DESIGN),
    Rule("core_instance_group.ebs_config", REPLACES, _DESIGN),
    Rule("core_instance_group.name", REPLACES, _DESIGN),
    # Further ForceNew arguments of the provider schema.
    Rule("additional_info", REPLACES, _FORCE_NEW),
    Rule("autoscaling_role", REPLACES, _FORCE_NEW),
    Rule("custom_ami_id", REPLACES, _FORCE_NEW),
    Rule("keep_job_flow_alive_when_no_steps", REPLACES, _FORCE_NEW),
    Rule("kerberos_attributes", REPLACES, _FORCE_NEW),
    Rule("log_encryption_kms_key_id", REPLACES, _FORCE_NEW),
    Rule("master_instance_fleet", REPLACES, _FORCE_NEW),
    Rule("core_instance_fleet", REPLACES, _FORCE_NEW),
    Rule("placement_group_config", REPLACES, _FORCE_NEW),
    Rule("scale_down_behavior", REPLACES, _FORCE_NEW),
    Rule("security_configuration", REPLACES, _FORCE_NEW),
    Rule("step", REPLACES, _FORCE_NEW),
    # No EMR API changes the OS release of a running cluster.
    Rule("os_release_label", REPLACES, "no EMR API modifies it after launch"),
    # docs/design.md: the in-place list.
    Rule("core_instance_group.instance_count", IN_PLACE, _DESIGN),
    Rule("core_instance_group.autoscaling_policy", IN_PLACE, _DESIGN),
    Rule("step_concurrency_level", IN_PLACE, _DESIGN),
    Rule("termination_protection", IN_PLACE, _DESIGN),
    Rule("auto_termination_policy", IN_PLACE, _DESIGN),
    Rule("tags", IN_PLACE, _DESIGN),
    Rule("tags_all", IN_PLACE, _DESIGN),
    Rule("visible_to_all_users", IN_PLACE, _DESIGN),
    Rule("list_steps_states", IN_PLACE, _UPDATE),
    Rule("unhealthy_node_replacement", IN_PLACE, _UPDATE),
)

INSTANCE_GROUP_RULES: tuple[Rule, ...] = (
    Rule("bid_price", REPLACES, _DESIGN),
    Rule("instance_type", REPLACES, _DESIGN),
    Rule("name", REPLACES, _DESIGN),
    Rule("ebs_config", REPLACES, _DESIGN),
    Rule("cluster_id", REPLACES, _DESIGN),
    Rule("ebs_optimized", REPLACES, _FORCE_NEW),
    Rule("instance_count", IN_PLACE, _DESIGN),
    Rule("autoscaling_policy", IN_PLACE, _UPDATE),
    Rule("configurations_json", IN_PLACE, _UPDATE),
)

# aws_emr_instance_fleet (internal/service/emr/instance_fleet.go): everything but the
# target capacities is ForceNew; Update sends only the capacities (ModifyInstanceFleet).
# In the cluster, every argument of master_instance_fleet and core_instance_fleet is
# ForceNew, target capacities included (the rows above).
INSTANCE_FLEET_RULES: tuple[Rule, ...] = (
    Rule("cluster_id", REPLACES, _FORCE_NEW),
    Rule("name", REPLACES, _FORCE_NEW),
    Rule("instance_type_configs", REPLACES, _FORCE_NEW),
    Rule("launch_specifications", REPLACES, _FORCE_NEW),
    Rule("target_on_demand_capacity", IN_PLACE, _UPDATE),
    Rule("target_spot_capacity", IN_PLACE, _UPDATE),
)

RULES: dict[str, tuple[Rule, ...]] = {
    EMR_CLUSTER: CLUSTER_RULES,
    EMR_INSTANCE_GROUP: INSTANCE_GROUP_RULES,
    EMR_INSTANCE_FLEET: INSTANCE_FLEET_RULES,
}

# Every argument forces a new resource (the provider has no Update for the type).
EVERY_ARGUMENT = "*"

# ForceNew arguments of every other type the app uses (tests/review/test_rules_complete.py
# fails for a synthesized type without an entry). Their replacement matters on its own (a
# new subnet CIDR reservation, a new security configuration) and because it changes
# computed ids that EMR arguments reference (a replaced security group gives the cluster
# a new ``ec2_attributes`` value, which replaces the cluster). Read from the provider's
# schemas (terraform-provider-aws internal/service/<service>/<resource>.go: ``ForceNew:
# true``, or ``RequiresReplace`` plan modifiers for framework resources; a resource
# without an Update function replaces on every argument), AWS provider 5.100 / 6.x.
# Conditional ForceNew not listed: ``aws_network_interface.private_ips`` replaces only
# when the primary address leaves the set (CustomizeDiff ForceNewIf).
OTHER_FORCE_NEW: dict[str, tuple[str, ...]] = {
    "aws_security_group": ("name", "name_prefix", "vpc_id", "description"),
    "aws_vpc_security_group_ingress_rule": ("security_group_id",),
    "aws_vpc_security_group_egress_rule": ("security_group_id",),
    "aws_security_group_rule": (
        "type",
        "security_group_id",
        "protocol",
        "from_port",
        "to_port",
        "cidr_blocks",
        "ipv6_cidr_blocks",
        "prefix_list_ids",
        "source_security_group_id",
        "self",
    ),
    "aws_iam_role": ("name", "name_prefix", "path"),
    "aws_iam_instance_profile": ("name", "name_prefix", "path"),
    "aws_iam_role_policy": ("name", "name_prefix", "role"),
    "aws_iam_role_policy_attachment": (EVERY_ARGUMENT,),
    "aws_iam_policy": ("name", "name_prefix", "path", "description"),
    "aws_s3_object": ("bucket", "key"),
    "aws_s3_bucket": ("bucket", "bucket_prefix", "object_lock_enabled"),
    "aws_s3_bucket_lifecycle_configuration": ("bucket", "expected_bucket_owner"),
    "aws_s3_bucket_logging": ("bucket", "expected_bucket_owner"),
    "aws_s3_bucket_ownership_controls": ("bucket",),
    "aws_s3_bucket_policy": ("bucket",),
    "aws_s3_bucket_public_access_block": ("bucket",),
    "aws_s3_bucket_server_side_encryption_configuration": ("bucket", "expected_bucket_owner"),
    "aws_s3_bucket_versioning": ("bucket", "expected_bucket_owner"),
    "aws_emr_security_configuration": (EVERY_ARGUMENT,),
    "aws_emr_managed_scaling_policy": (EVERY_ARGUMENT,),
    # No Update: cidr_block, reservation_type, subnet_id and description all force a new
    # reservation (a fixed IP added or removed changes the description).
    "aws_ec2_subnet_cidr_reservation": (EVERY_ARGUMENT,),
    "aws_ec2_tag": ("resource_id", "key"),
    "aws_kms_key": ("customer_master_key_spec", "key_usage", "multi_region", "custom_key_store_id", "xks_key_id"),
    "aws_kms_alias": ("name", "name_prefix"),
    "aws_network_interface": ("subnet_id", "interface_type"),
}

# Attributes that are read back from AWS, never sent: a change in them is a consequence
# (of a replacement or of tags), not a cause.
_COMPUTED = frozenset({"id", "arn", "tags_all"})

# Terraform meta-arguments: changing them changes no attribute of the real resource.
META_ARGUMENTS = frozenset({"lifecycle", "depends_on", "provider", "count", "for_each", "provisioner", "connection"})

# Blocks with at most one item: synthesized as an object, but ``[0]`` in ignore_changes.
SINGLE_BLOCKS = frozenset(
    {
        "master_instance_group",
        "core_instance_group",
        "ec2_attributes",
        "auto_termination_policy",
        "kerberos_attributes",
        "master_instance_fleet",
        "core_instance_fleet",
    }
)

WHAT_IS_REPLACED = {EMR_CLUSTER: "cluster", EMR_INSTANCE_GROUP: "group", EMR_INSTANCE_FLEET: "fleet"}


# The provider marks ``bootstrap_action`` (the list) and each action's ``args`` ForceNew,
# but not an action's ``name`` or ``path``, and its Update sends nothing for them: a new
# script path on the same number of actions with the same args is planned as an in-place
# update that only rewrites the state. Source: terraform-provider-aws
# internal/service/emr/cluster.go (schema of "bootstrap_action"; resourceClusterUpdate);
# checked with terraform 1.11 + provider 5.100 (tests/terraform/test_review_truth.py).
BOOTSTRAP_STATE_ONLY = (
    "provider schema: `bootstrap_action` name/path are not ForceNew and Update does not "
    "send them: Terraform updates the state only, the running cluster keeps its old actions"
)


def _bootstrap_action_effect(before: Any, after: Any) -> tuple[str, str]:
    if not (isinstance(before, list) and isinstance(after, list)) or len(before) != len(after):
        return REPLACES, _DESIGN
    if any((b or {}).get("args") != (a or {}).get("args") for b, a in zip(before, after, strict=True)):
        return REPLACES, _DESIGN
    return IN_PLACE, BOOTSTRAP_STATE_ONLY


def classify(resource_type: str, path: str, before: Any = None, after: Any = None) -> tuple[str, str]:
    """(effect, source) of a change at ``path`` of a resource of ``resource_type``
    (``before``/``after``: the values, where the effect depends on them).

    EMR types get a verdict for every path. Other types get ``REPLACES`` for the
    arguments listed in ``OTHER_FORCE_NEW`` (every argument for ``EVERY_ARGUMENT``) and
    ``("", "")`` (no verdict) otherwise.
    """
    top = path.split(".", 1)[0]
    if top in META_ARGUMENTS:
        return META, "Terraform meta-argument"
    if resource_type == EMR_CLUSTER and path == "bootstrap_action":
        return _bootstrap_action_effect(before, after)
    rules = RULES.get(resource_type)
    if rules is None:
        for forced in OTHER_FORCE_NEW.get(resource_type, ()):
            if forced == EVERY_ARGUMENT and top not in _COMPUTED:
                return REPLACES, "provider: no Update, every argument forces a new resource"
            if path == forced or path.startswith(forced + "."):
                return REPLACES, _FORCE_NEW
        return "", ""
    best: Rule | None = None
    for rule in rules:
        covers = path == rule.path or path.startswith(rule.path + ".")
        if covers and (best is None or len(rule.path) > len(best.path)):
            best = rule
    if best is None:
        return REPLACES, "not in the rules table: assumed to force a new resource"
    return best.effect, best.source
