"""What an interrupted deploy leaves behind, and how the next deploy takes it back.

An EMR cluster takes 10+ minutes to start, so a deploy stopped in the middle (a cancelled
CI job, a lost runner) is an everyday event, and it leaves one of two things:

* **Tainted resources.** Terraform stopped gracefully: the cluster was created, but the
  provider was still waiting for it to run, so the state marks it *tainted* and the next
  plan replaces it. For a protected cluster that replacement cannot even be planned
  (``prevent_destroy``), and for any other it throws away a cluster that is starting
  fine. ``untaint_healthy`` asks EMR how the cluster really is: starting or running, with
  the name, release and instance types the state records, it is untainted and kept; failed
  or gone, it stays tainted and the plan replaces it under the same guard as any
  replacement.
* **Orphans.** Terraform was killed before it wrote a resource it had created to the
  state. The next plan would create it again: a second cluster with the same name beside
  the first, or a failure on a security group or role name that already exists.
  ``adopt_orphans`` looks up each resource the plan would create by the name the code
  gives it, carrying this stack's and environment's tags, and imports the one it finds.

Both print what they did; neither touches a resource of another stack or environment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from emr_constructs.model.contract import ENVIRONMENT_TAG, STACK_TAG

EMR_CLUSTER = "aws_emr_cluster"
EMR_INSTANCE_GROUP = "aws_emr_instance_group"
EMR_INSTANCE_FLEET = "aws_emr_instance_fleet"
EMR_NODES = (EMR_CLUSTER, EMR_INSTANCE_GROUP, EMR_INSTANCE_FLEET)
# EMR's own words (DescribeCluster / ListInstanceGroups / ListInstanceFleets): alive and on
# its way, or there. Groups and fleets share the states that matter here.
CLUSTER_ALIVE = ("STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING")
GROUP_ALIVE = ("PROVISIONING", "BOOTSTRAPPING", "RUNNING", "RESIZING")
# DescribeCluster's InstanceCollectionType: a cluster runs instance groups or instance
# fleets, never both, and EMR refuses ListInstanceGroups for a fleet cluster.
FLEET_CLUSTER = "INSTANCE_FLEET"
# How EMR lists a cluster's task nodes of each kind: the call, its list key, its type key.
_NODE_LISTS = {
    EMR_INSTANCE_GROUP: ("list_instance_groups", "InstanceGroups", "InstanceGroupType"),
    EMR_INSTANCE_FLEET: ("list_instance_fleets", "InstanceFleets", "InstanceFleetType"),
}


@dataclass(frozen=True)
class Finding:
    address: str
    action: str  # "untainted", "kept tainted", "imported", "ambiguous"
    detail: str

    def line(self) -> str:
        return f"{self.address}: {self.action} ({self.detail})"


class AwsView:
    """The few read-only AWS calls recovery needs (boto3, region of the stack)."""

    def __init__(self, region: str, client_factory: Callable[..., Any] | None = None) -> None:
        if client_factory is None:
            import boto3

            def client_factory(service: str, region_name: str) -> Any:
                return boto3.client(service, region_name=region_name)  # type: ignore[call-overload]

        self._factory = client_factory
        self.region = region
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._factory(service, region_name=self.region)
        return self._clients[service]


# --- tainted resources ---------------------------------------------------------------------


def _first(value: Any) -> dict:
    if isinstance(value, list):
        return value[0] if value and isinstance(value[0], dict) else {}
    return value if isinstance(value, dict) else {}


def _fleet_types(fleet: dict) -> list[str]:
    """The instance types of a fleet as EMR lists it (InstanceTypeSpecifications)."""
    return sorted(str(t.get("InstanceType")) for t in fleet.get("InstanceTypeSpecifications") or [])


def _recorded_fleet_types(recorded: Any) -> list[str]:
    """The instance types of a fleet as the state records it (instance_type_configs)."""
    return sorted(str(t.get("instance_type")) for t in _first(recorded).get("instance_type_configs") or [])


def _cluster_mismatches(recorded: dict, cluster: dict, nodes: list[dict]) -> list[str]:
    """What differs between the cluster the state records (what was asked for) and the one
    EMR runs: the arguments that would replace it anyway. ``nodes`` are its instance
    groups or, for a fleet cluster, its instance fleets."""
    out = []
    if cluster.get("Name") != recorded.get("name"):
        out.append(f"name {cluster.get('Name')!r} != {recorded.get('name')!r}")
    if cluster.get("ReleaseLabel") != recorded.get("release_label"):
        out.append(f"release {cluster.get('ReleaseLabel')!r} != {recorded.get('release_label')!r}")
    if cluster.get("InstanceCollectionType") == FLEET_CLUSTER:
        fleets = {f.get("InstanceFleetType"): f for f in nodes}
        for role in ("MASTER", "CORE"):
            want = _recorded_fleet_types(recorded.get(f"{role.lower()}_instance_fleet"))
            have = _fleet_types(fleets.get(role) or {})
            if want and have and want != have:
                out.append(f"{role.lower()} fleet types {', '.join(have)} != {', '.join(want)}")
        return out
    by_role = {g.get("InstanceGroupType"): g for g in nodes}
    for role, key in (("MASTER", "master_instance_group"), ("CORE", "core_instance_group")):
        wanted = _first(recorded.get(key)).get("instance_type")
        running = (by_role.get(role) or {}).get("InstanceType")
        if wanted and running and wanted != running:
            out.append(f"{role.lower()} type {running} != {wanted}")
    return out


def untaint_healthy(resources: Iterable[dict], aws: AwsView, untaint: Callable[[str], None] | None) -> list[Finding]:
    """Untaint every tainted EMR cluster, task group and task fleet that EMR reports alive and as
    recorded; leave the others tainted (the plan replaces them) and say why. Without
    ``untaint`` (a plan-only run changes no state) say what a deploy would do."""
    findings = []
    emr = None
    for resource in resources:
        if not resource.get("tainted") or resource.get("type") not in EMR_NODES:
            continue
        emr = emr or aws.client("emr")
        address, values = resource["address"], resource.get("values") or {}
        if resource["type"] == EMR_CLUSTER:
            state, detail = _cluster_state(emr, values)
        else:
            state, detail = _node_state(emr, values, resource["type"])
        if state == "alive" and untaint is None:
            findings.append(Finding(address, "would be untainted by a deploy", detail))
        elif state == "alive" and untaint is not None:
            untaint(address)
            findings.append(Finding(address, "untainted", detail + "; kept instead of replaced"))
        else:
            findings.append(Finding(address, "kept tainted", detail + "; the plan replaces it"))
    return findings


def _cluster_state(emr: Any, values: dict) -> tuple[str, str]:
    cluster_id = values.get("id")
    try:
        cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
    except Exception as exc:  # noqa: BLE001 - a cluster EMR does not know is not alive
        return "gone", f"EMR does not know {cluster_id}: {exc}"
    status = (cluster.get("Status") or {}).get("State", "?")
    if status not in CLUSTER_ALIVE:
        reason = ((cluster.get("Status") or {}).get("StateChangeReason") or {}).get("Message")
        return "failed", f"{cluster_id} is {status}" + (f": {reason}" if reason else "")
    if cluster.get("InstanceCollectionType") == FLEET_CLUSTER:
        nodes = emr.list_instance_fleets(ClusterId=cluster_id).get("InstanceFleets") or []
    else:
        nodes = emr.list_instance_groups(ClusterId=cluster_id).get("InstanceGroups") or []
    mismatches = _cluster_mismatches(values, cluster, nodes)
    if mismatches:
        return "different", f"{cluster_id} is {status} but not as recorded: {'; '.join(mismatches)}"
    return "alive", f"{cluster_id} is {status}, as recorded"


def _node_types(kind: str, node: dict) -> list[str]:
    """The instance types of a task group or fleet as EMR lists it."""
    return [str(node.get("InstanceType"))] if kind == EMR_INSTANCE_GROUP else _fleet_types(node)


def _recorded_node_types(kind: str, values: dict) -> list[str]:
    """The instance types of a task group or fleet as the state records it."""
    return [str(values.get("instance_type"))] if kind == EMR_INSTANCE_GROUP else _recorded_fleet_types(values)


def _node_state(emr: Any, values: dict, kind: str) -> tuple[str, str]:
    """How EMR runs a task group or task fleet the state records."""
    call, key, _type_key = _NODE_LISTS[kind]
    cluster_id, node_id = values.get("cluster_id"), values.get("id")
    try:
        nodes = getattr(emr, call)(ClusterId=cluster_id).get(key) or []
    except Exception as exc:  # noqa: BLE001
        return "gone", f"EMR does not know cluster {cluster_id}: {exc}"
    node = next((n for n in nodes if n.get("Id") == node_id), None)
    if node is None:
        return "gone", f"{node_id} is not a {'group' if kind == EMR_INSTANCE_GROUP else 'fleet'} of {cluster_id}"
    status = (node.get("Status") or {}).get("State", "?")
    if status not in GROUP_ALIVE:
        return "failed", f"{node_id} is {status}"
    want, have = _recorded_node_types(kind, values), _node_types(kind, node)
    if sorted(want) != sorted(have):
        return "different", f"{node_id} runs {', '.join(have)}, not {', '.join(want)}"
    return "alive", f"{node_id} is {status}, as recorded"


# --- orphans ---------------------------------------------------------------------------------


def _tagged(tags: Any, environment: str, stack: str) -> bool:
    if isinstance(tags, list):  # [{"Key": ..., "Value": ...}]
        tags = {t.get("Key"): t.get("Value") for t in tags}
    tags = tags or {}
    return tags.get(ENVIRONMENT_TAG) == environment and tags.get(STACK_TAG) == stack


def _find_cluster(aws: AwsView, after: dict, env: str, stack: str) -> list[str]:
    emr = aws.client("emr")
    found = []
    for page in emr.get_paginator("list_clusters").paginate(ClusterStates=list(CLUSTER_ALIVE)):
        for summary in page.get("Clusters") or []:
            if summary.get("Name") != after.get("name"):
                continue
            cluster = emr.describe_cluster(ClusterId=summary["Id"])["Cluster"]
            if _tagged(cluster.get("Tags"), env, stack):
                found.append(summary["Id"])
    return found


def _find_security_group(aws: AwsView, after: dict, env: str, stack: str) -> list[str]:
    if not after.get("name") or not after.get("vpc_id"):
        return []
    groups = aws.client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [after["name"]]}, {"Name": "vpc-id", "Values": [after["vpc_id"]]}]
    )["SecurityGroups"]
    return [g["GroupId"] for g in groups if _tagged(g.get("Tags"), env, stack)]


def _find_role(aws: AwsView, after: dict, env: str, stack: str) -> list[str]:
    iam = aws.client("iam")
    try:
        role = iam.get_role(RoleName=after.get("name"))["Role"]
    except iam.exceptions.NoSuchEntityException:
        return []
    tags = iam.list_role_tags(RoleName=role["RoleName"]).get("Tags")
    return [role["RoleName"]] if _tagged(tags, env, stack) else []


def _find_instance_profile(aws: AwsView, after: dict, env: str, stack: str) -> list[str]:
    iam = aws.client("iam")
    try:
        profile = iam.get_instance_profile(InstanceProfileName=after.get("name"))["InstanceProfile"]
    except iam.exceptions.NoSuchEntityException:
        return []
    return [profile["InstanceProfileName"]] if _tagged(profile.get("Tags"), env, stack) else []


def _find_security_configuration(aws: AwsView, after: dict, env: str, stack: str) -> list[str]:
    emr = aws.client("emr")
    try:
        emr.describe_security_configuration(Name=after.get("name"))
    except emr.exceptions.InvalidRequestException:
        return []
    # No tags on a security configuration: its name carries the environment and stack.
    return [str(after["name"])]


def _task_node_finder(kind: str) -> Callable[[AwsView, dict, str, str], list[str]]:
    """A finder for a task group or task fleet: the cluster's TASK node of that name, alive.
    The provider imports either as CLUSTER_ID/NODE_ID."""
    call, key, type_key = _NODE_LISTS[kind]

    def find(aws: AwsView, after: dict, env: str, stack: str) -> list[str]:
        cluster_id = after.get("cluster_id")
        if not isinstance(cluster_id, str) or not cluster_id.startswith("j-"):
            return []
        nodes = getattr(aws.client("emr"), call)(ClusterId=cluster_id).get(key) or []
        return [
            f"{cluster_id}/{n['Id']}"
            for n in nodes
            if n.get("Name") == after.get("name")
            and n.get(type_key) == "TASK"
            and (n.get("Status") or {}).get("State") in GROUP_ALIVE
        ]

    return find


def _rule_matches(rule: dict, after: dict) -> bool:
    def same(key: str, have: Any) -> bool:
        want = after.get(key)
        return (want in (None, "")) == (have in (None, "")) and (want in (None, "") or str(want) == str(have))

    return (
        str(rule.get("IpProtocol")) == str(after.get("ip_protocol"))
        and same("from_port", rule.get("FromPort") if rule.get("IpProtocol") != "-1" else None)
        and same("to_port", rule.get("ToPort") if rule.get("IpProtocol") != "-1" else None)
        and same("cidr_ipv4", rule.get("CidrIpv4"))
        and same("referenced_security_group_id", (rule.get("ReferencedGroupInfo") or {}).get("GroupId"))
        and same("prefix_list_id", rule.get("PrefixListId"))
    )


def _rule_finder(egress: bool) -> Callable[[AwsView, dict, str, str], list[str]]:
    def find(aws: AwsView, after: dict, env: str, stack: str) -> list[str]:
        group = after.get("security_group_id")
        if not isinstance(group, str) or not group.startswith("sg-"):
            return []
        rules = aws.client("ec2").describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])
        return [
            r["SecurityGroupRuleId"]
            for r in rules.get("SecurityGroupRules") or []
            if bool(r.get("IsEgress")) == egress and _rule_matches(r, after)
        ]

    return find


def _legacy_rule_id(after: dict) -> str | None:
    """The import id of an ``aws_security_group_rule`` (the provider's
    ``SGID_TYPE_PROTOCOL_FROM_TO_SOURCE`` form), when the plan knows every part of it."""
    parts = [after.get(k) for k in ("security_group_id", "type", "protocol", "from_port", "to_port")]
    if any(p in (None, "") for p in parts) or not str(parts[0]).startswith("sg-"):
        return None
    if after.get("self"):
        source = "self"
    elif after.get("source_security_group_id"):
        source = str(after["source_security_group_id"])
        if not source.startswith("sg-"):
            return None
    elif after.get("cidr_blocks"):
        source = "_".join(after["cidr_blocks"])
    else:
        return None
    protocol = "all" if str(parts[2]) == "-1" else str(parts[2])
    return "_".join([str(parts[0]), str(parts[1]), protocol, str(parts[3]), str(parts[4]), source])


def _find_legacy_rule(aws: AwsView, after: dict, env: str, stack: str) -> list[str]:
    rule_id = _legacy_rule_id(after)
    if rule_id is None:
        return []
    group = aws.client("ec2").describe_security_groups(GroupIds=[after["security_group_id"]])["SecurityGroups"][0]
    permissions = group.get("IpPermissionsEgress" if after.get("type") == "egress" else "IpPermissions") or []
    protocol = str(after.get("protocol"))
    protocol = "-1" if protocol == "all" else protocol
    for permission in permissions:
        if str(permission.get("IpProtocol")) != protocol:
            continue
        if protocol != "-1" and (permission.get("FromPort"), permission.get("ToPort")) != (
            after.get("from_port"),
            after.get("to_port"),
        ):
            continue
        sources = {p.get("GroupId") for p in permission.get("UserIdGroupPairs") or []}
        cidrs = {r.get("CidrIp") for r in permission.get("IpRanges") or []}
        if after.get("self") and after["security_group_id"] in sources:
            return [rule_id]
        if after.get("source_security_group_id") in sources:
            return [rule_id]
        if after.get("cidr_blocks") and set(after["cidr_blocks"]) <= cidrs:
            return [rule_id]
    return []


# Resource types a deploy creates and how to find one already there by what the code names.
# S3 objects, role policies and policy attachments are not here: creating them again
# overwrites the same thing, so an orphan of theirs cannot exist.
FINDERS: dict[str, Callable[[AwsView, dict, str, str], list[str]]] = {
    EMR_CLUSTER: _find_cluster,
    EMR_INSTANCE_GROUP: _task_node_finder(EMR_INSTANCE_GROUP),
    EMR_INSTANCE_FLEET: _task_node_finder(EMR_INSTANCE_FLEET),
    "aws_security_group": _find_security_group,
    "aws_security_group_rule": _find_legacy_rule,
    "aws_vpc_security_group_ingress_rule": _rule_finder(egress=False),
    "aws_vpc_security_group_egress_rule": _rule_finder(egress=True),
    "aws_iam_role": _find_role,
    "aws_iam_instance_profile": _find_instance_profile,
    "aws_emr_security_configuration": _find_security_configuration,
}


def _known(after: dict, unknown: dict) -> dict:
    """The planned values Terraform knows before apply (top level)."""
    return {k: v for k, v in after.items() if unknown.get(k) is not True and v is not None}


def adopt_orphans(
    plan: dict,
    aws: AwsView,
    environment: str,
    stack: str,
    import_: Callable[[str, str], None] | None,
    fill: Callable[[str, dict], list[str]] | None = None,
) -> list[Finding]:
    """Import every resource the plan would create that already exists, left by a killed
    deploy of this stack. More than one candidate is not guessed at: reported instead.
    Without ``import_`` (plan-only) say what a deploy would import. ``fill`` completes an
    imported resource's state with what the run asked for (``Terraform.fill_imported``).
    The import itself is ordered before the completion, and both before the next plan."""
    findings = []
    for rc in plan.get("resource_changes") or []:
        change = rc.get("change") or {}
        finder = FINDERS.get(rc.get("type", ""))
        if finder is None or rc.get("mode") == "data" or change.get("actions") != ["create"]:
            continue
        after = change.get("after") or {}
        found = finder(aws, after, environment, stack)
        if len(found) == 1 and import_ is None:
            findings.append(Finding(rc["address"], "would be imported by a deploy", f"{found[0]} exists already"))
        elif len(found) == 1 and import_ is not None:
            import_(rc["address"], found[0])
            if fill is not None:
                filled = fill(rc["address"], _known(after, change.get("after_unknown") or {}))
                if filled:
                    findings.append(
                        Finding(
                            rc["address"],
                            "completed",
                            "as the run asked: " + ", ".join(filled) + " (import leaves them empty)",
                        )
                    )
            findings.append(Finding(rc["address"], "imported", f"{found[0]} exists already, left by an earlier run"))
        elif len(found) > 1:
            findings.append(
                Finding(
                    rc["address"],
                    "ambiguous",
                    f"{len(found)} candidates ({', '.join(found)}): remove the extra ones, then deploy again",
                )
            )
    return findings
