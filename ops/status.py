"""``status CLUSTER``: instance groups, the active static Spot group, and the fixed IP's holder;
for a cluster of instance fleets, each fleet's provisioned versus target units, on-demand
and Spot (``ops.fleets``).

Implements the read side of guide tips T4 (fixed master IP) and T8 (static Spot pair):
an operator sees at a glance which static group is active, how old its instances are
(old Spot instances are the ones reclaimed most, so age says when to rotate), whether
a rotation is half-done, and whether the master really holds the fixed IP.

Fixed IP holder, from ``ec2:DescribeNetworkInterfaces`` filtered on
``addresses.private-ip-address`` (primary and secondary addresses) in the cluster's subnet:

- an ENI attached to the cluster's master instance: good;
- an ENI attached to nothing: the reservation still holds the IP, so the master has not
  taken it (bootstrap action not run yet, or failed);
- an ENI attached to another instance: conflict, something else uses the master's IP;
- no ENI: nobody holds it, the master has not taken it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from botocore.exceptions import ClientError

from emr_constructs.model.contract import local_state_file, s3_state_key
from ops.aws import translate
from ops.cluster import (
    DYNAMIC_GROUP,
    FIXED_IP_TAG,
    STATIC_PAIR,
    Cluster,
    Group,
    GroupsByName,
    Instance,
    find_cluster,
    list_groups,
    list_live_instances,
    sort_groups,
    static_pair,
)
from ops.errors import AccessProblem, Refused
from ops.fleets import fleet_rows, list_fleets
from ops.rotation import IDLE_SIDE_COUNT, ROTATION_TAG, Marker, leftover_lines
from ops.runtime import Runtime, format_duration
from ops.state import ManagedGroups, find_managed_groups

ROLE_ORDER = {"MASTER": 0, "CORE": 1, "TASK": 2}


@dataclass(frozen=True)
class FixedIpHolder:
    verdict: str  # "master", "reservation", "conflict", "nobody", "none", "unknown"
    text: str


def fixed_ip_holder(ec2, cluster: Cluster, instances: list[Instance], master_group_ids: set[str]) -> FixedIpHolder:
    ip = cluster.fixed_ip
    if not ip:
        return FixedIpHolder("none", f"no fixed IP (the cluster has no {FIXED_IP_TAG} tag)")
    filters = [{"Name": "addresses.private-ip-address", "Values": [ip]}]
    if cluster.subnet_id:
        filters.append({"Name": "subnet-id", "Values": [cluster.subnet_id]})
    try:
        enis = ec2.describe_network_interfaces(Filters=filters)["NetworkInterfaces"]
    except ClientError as exc:
        problem = translate(exc)
        if isinstance(problem, AccessProblem):
            return FixedIpHolder("unknown", f"{ip}: cannot check, {problem}")
        raise
    masters = {i.ec2_id for i in instances if i.group_id in master_group_ids}
    if not enis:
        return FixedIpHolder(
            "nobody",
            f"{ip}: held by nobody. The master has not taken it: check the fixed-IP bootstrap action's log "
            "on the master (/var/log/bootstrap-actions/) and its ec2:AssignPrivateIpAddresses permission.",
        )
    lines = []
    verdicts = []
    for eni in enis:
        attached_to = (eni.get("Attachment") or {}).get("InstanceId")
        desc = f"{eni['NetworkInterfaceId']}" + (f" ({eni['Description']})" if eni.get("Description") else "")
        if attached_to and attached_to in masters:
            verdicts.append("master")
            lines.append(f"{ip}: held by the master {attached_to} on {desc}. OK.")
        elif not attached_to:
            verdicts.append("reservation")
            lines.append(
                f"{ip}: still held by the unattached ENI {desc}, i.e. the reservation: the master has not "
                "taken it (bootstrap action not run yet or failed; see /var/log/bootstrap-actions/ on the master)."
            )
        else:
            verdicts.append("conflict")
            lines.append(
                f"{ip}: CONFLICT, held by {desc} attached to {attached_to}, which is not this cluster's master "
                f"({', '.join(sorted(masters)) or 'unknown'}). Free the IP there, then re-run the fixed-IP bootstrap."
            )
    verdict = "conflict" if "conflict" in verdicts else ("master" if "master" in verdicts else verdicts[0])
    return FixedIpHolder(verdict, "\n  ".join(lines))


def _ages(instances: list[Instance], rt: Runtime) -> str:
    created = sorted(i.created for i in instances if i.created is not None)
    if not created:
        return "-"
    now = rt.now()
    oldest, newest = now - created[0], now - created[-1]
    if len(created) == 1:
        return format_duration(oldest.total_seconds())
    return f"oldest {format_duration(oldest.total_seconds())}, newest {format_duration(newest.total_seconds())}"


def render_status(emr, ec2, ref: str, rt: Runtime, *, state: str | None = None, s3=None) -> None:
    """``state``: the stack's Terraform state (path or s3://...; default: the local state
    found from the cluster's tags), which tells live groups from leftovers."""
    cluster = find_cluster(emr, ref)
    if cluster.uses_fleets:
        _render_fleet_status(emr, ec2, cluster, rt)
        return
    managed = find_managed_groups(cluster.id, cluster.tags, state=state, s3_client=s3)
    all_groups = list_groups(emr, cluster.id)
    sorted_groups = sort_groups(all_groups, managed)
    leftover_ids = {g.id for g in sorted_groups.leftovers}
    # Live group first, then its leftovers, newest first.
    groups = sorted(
        all_groups,
        key=lambda g: (
            ROLE_ORDER.get(g.role, 9),
            g.name,
            g.id in leftover_ids,
            -(g.created.timestamp() if g.created else 0),
        ),
    )
    instances = list_live_instances(emr, cluster.id)
    by_group: dict[str, list[Instance]] = {}
    for i in instances:
        by_group.setdefault(i.group_id, []).append(i)

    header = f"Cluster {cluster.name} ({cluster.id})  state {cluster.state}"
    if cluster.release:
        header += f"  release {cluster.release}"
    rt.say(header)
    rows = [("GROUP", "ROLE", "MARKET", "TYPE", "BID", "REQ", "RUN", "STATE", "INSTANCE AGES")]
    for g in groups:
        rows.append(
            (
                g.name,
                g.role,
                g.market,
                g.instance_type,
                g.bid_price or "-",
                str(g.requested),
                str(g.running),
                g.state + (" leftover" if g.id in leftover_ids else ""),
                _ages(by_group.get(g.id, []), rt),
            )
        )
    _say_table(rt, rows, right=(5, 6))

    rt.say(_static_pair_line(cluster, groups, managed))
    _leftover_section(emr, cluster, sorted_groups, managed, rt)
    if not any(g.name == DYNAMIC_GROUP for g in groups):
        rt.say(f"Dynamic task group: none ({DYNAMIC_GROUP} not present)")
    master_ids = {g.id for g in groups if g.role == "MASTER"}
    rt.say("Fixed IP: " + fixed_ip_holder(ec2, cluster, instances, master_ids).text)


def _say_table(rt: Runtime, rows: Sequence[tuple[str, ...]], right: tuple[int, ...] = ()) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        cells = [c.rjust(w) if k in right else c.ljust(w) for k, (c, w) in enumerate(zip(r, widths, strict=False))]
        rt.say("  " + "  ".join(cells) + "  " + r[-1])


def _render_fleet_status(emr, ec2, cluster: Cluster, rt: Runtime) -> None:
    """A fleet cluster: each fleet's provisioned versus target units, on-demand and Spot."""
    fleets = list_fleets(emr, cluster.id)
    instances = list_live_instances(emr, cluster.id)
    header = f"Cluster {cluster.name} ({cluster.id})  state {cluster.state}"
    if cluster.release:
        header += f"  release {cluster.release}"
    rt.say(header + "  instance fleets")
    _say_table(rt, fleet_rows(fleets, instances, lambda nodes: _ages(nodes, rt)), right=(2, 3, 4))
    rt.say("Units: provisioned/target per market. Spot rotation: not used with fleets (EMR picks types and instances).")
    master_ids = {f.id for f in fleets if f.role == "MASTER"}
    rt.say("Fixed IP: " + fixed_ip_holder(ec2, cluster, instances, master_ids).text)


def _leftover_section(
    emr, cluster: Cluster, sorted_groups: GroupsByName, managed: ManagedGroups | None, rt: Runtime
) -> None:
    if sorted_groups.leftovers:
        rt.say(
            f"Leftover groups: {len(sorted_groups.leftovers)} (a deploy replaced them; live groups found by "
            f"{sorted_groups.found_by or 'their state'}):"
        )
        for line in leftover_lines(emr, cluster, sorted_groups.leftovers):
            rt.say(f"  {line}")
    for name, tied in sorted(sorted_groups.ambiguous.items()):
        rt.say(
            f"Several live-looking groups named {name} ({', '.join(g.id for g in tied)}): nothing tells which "
            "one Terraform manages; pass the stack's state with --state"
        )
    if sorted_groups.leftovers and managed is None:
        rt.say(
            f"  (no Terraform state read: pass --state {local_state_file('<environment>', '<stack>')} or "
            f"--state s3://BUCKET/{s3_state_key('<environment>', '<stack>')} to tell them apart by id)"
        )


def _static_pair_line(cluster: Cluster, groups: list[Group], managed: ManagedGroups | None = None) -> str:
    try:
        pair = static_pair(cluster, groups, managed)
    except Refused:
        present = [g.name for g in groups if g.name in STATIC_PAIR]
        return f"Static Spot pair: not present (found {', '.join(present) or 'neither group'})"
    tag = cluster.tags.get(ROTATION_TAG)
    if tag is not None:
        marker = Marker.parse(tag)
        what = (
            f"{marker.old} -> {marker.new}, target {marker.target}, started {marker.started}"
            if marker
            else f"unreadable tag {tag!r}"
        )
        return (
            f"Static Spot pair: ROTATION IN PROGRESS ({what}); run `python -m ops rotate-spot "
            f"{cluster.name or cluster.id}` to see the next step"
        )
    active = pair.active
    if len(active) == 1:
        g = active[0]
        idle = pair.other(g)
        return (
            f"Static Spot pair: {g.name} is active ({g.requested} requested, {g.running} running); "
            f"{idle.name} is idle" + (f" but still has {idle.running} running" if idle.running else "")
        )
    if not active:
        return "Static Spot pair: neither group is active (both requested 0)"
    return (
        f"Static Spot pair: BOTH active ({pair.a.name} {pair.a.requested}, {pair.b.name} {pair.b.requested}) "
        "without a rotation in progress"
        + (
            " (a new cluster starts its idle side with 1 instance); "
            if min(pair.a.requested, pair.b.requested) == IDLE_SIDE_COUNT
            else "; "
        )
        + (
            f"`python -m ops rotate-spot {cluster.name or cluster.id}` replaces {pair.larger.name}"
            if min(pair.a.requested, pair.b.requested) == IDLE_SIDE_COUNT
            else f"rotate with `python -m ops rotate-spot {cluster.name or cluster.id} --from {pair.larger.name}`"
        )
    )
