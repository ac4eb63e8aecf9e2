"""Finding a cluster by name or id and reading its instance groups (shared by status and rotation).

Contracts with the stacks (``SpotTaskGroupPair`` and the cluster construct):

- the cluster's EMR name (and ``Name`` tag) is its purpose name, e.g.
  ``spark-batch-production-01``; an id (``j-...``) is accepted as well;
- instance groups are named ``master``, ``core``, ``task-spot-static-a``,
  ``task-spot-static-b`` and optionally ``task-spot-dynamic``; the static pair is found by
  these names and the *active* static group is the one whose requested count is > 0;
- a cluster with a fixed master IP carries the tag ``fixed-private-ip`` = the IP.

After Terraform replaces a group (a new bid or instance type), EMR keeps the old one
under the same name at 0 instances until the cluster ends: it cannot be deleted. Of
several groups with one name, the *live* one is the group Terraform manages (its id in
the stack's state, ``ops.state``), or else the newest that has not ended; the others
are *leftovers*, shown by ``status`` and ignored by the rotation (guide tip T8).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from emr_constructs.model.contract import (  # noqa: F401
    DYNAMIC_GROUP,
    FIXED_IP_TAG,
    STATIC_A,
    STATIC_B,
    STATIC_PAIR,
)
from ops.errors import Refused

# Instance-group states of a group that is gone or going (never the live group of a name).
ENDED_GROUP_STATES = ("TERMINATING", "TERMINATED", "SHUTTING_DOWN", "ENDED")
ACTIVE_CLUSTER_STATES = ("STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING")
ENDED_CLUSTER_STATES = ("TERMINATING", "TERMINATED", "TERMINATED_WITH_ERRORS")
CLUSTER_ID = re.compile(r"^j-[0-9A-Z]{1,64}$", re.ASCII)
# Instance states of instances that exist (or are coming); list_instances also returns
# terminated instances for weeks.
LIVE_INSTANCE_STATES = ("AWAITING_FULFILLMENT", "PROVISIONING", "BOOTSTRAPPING", "RUNNING")


@dataclass(frozen=True)
class Cluster:
    id: str
    name: str
    state: str
    tags: Mapping[str, str]
    subnet_id: str | None = None
    release: str | None = None
    # EMR's InstanceCollectionType: INSTANCE_GROUP or INSTANCE_FLEET (fixed for the cluster's life).
    collection: str = "INSTANCE_GROUP"

    @property
    def fixed_ip(self) -> str | None:
        return self.tags.get(FIXED_IP_TAG)

    @property
    def uses_fleets(self) -> bool:
        return self.collection == "INSTANCE_FLEET"


@dataclass(frozen=True)
class Group:
    id: str
    name: str
    role: str
    market: str
    instance_type: str
    bid_price: str | None
    requested: int
    running: int
    state: str
    state_reason: str = ""
    created: datetime | None = None

    @property
    def settled(self) -> bool:
        """RUNNING with every requested instance running: no resize in flight."""
        return self.state == "RUNNING" and self.running == self.requested


@dataclass(frozen=True)
class Instance:
    ec2_id: str
    group_id: str
    state: str
    created: datetime | None


def _pages(call, key: str, **kwargs) -> list[dict[str, Any]]:
    """Follow EMR's ``Marker`` pagination (plain loop, so a fake client needs no paginator)."""
    items: list[dict[str, Any]] = []
    marker = None
    while True:
        page = call(**kwargs, **({"Marker": marker} if marker else {}))
        items.extend(page.get(key, []))
        marker = page.get("Marker")
        if not marker:
            return items


def describe_cluster(emr, cluster_id: str) -> Cluster:
    from botocore.exceptions import ClientError

    try:
        raw = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("InvalidRequestException", "ResourceNotFoundException"):
            raise Refused(
                f"unknown cluster id {cluster_id!r} in this account/region "
                f"({exc.response['Error'].get('Message', '')}). Check --region/--profile, or pass the cluster name."
            ) from None
        raise
    return Cluster(
        id=raw["Id"],
        name=raw.get("Name", ""),
        state=raw["Status"]["State"],
        tags={t["Key"]: t["Value"] for t in raw.get("Tags", [])},
        subnet_id=(raw.get("Ec2InstanceAttributes") or {}).get("Ec2SubnetId") or None,
        release=raw.get("ReleaseLabel"),
        collection=raw.get("InstanceCollectionType") or "INSTANCE_GROUP",
    )


def find_cluster(emr, ref: str) -> Cluster:
    """The cluster named ``ref`` (EMR name or ``Name`` tag) in an active state, or by id.

    Several clusters may share a name over time (a replaced cluster stays TERMINATED for
    two months); the active one is meant. Refuses when none or several are active.
    """
    if CLUSTER_ID.fullmatch(ref):
        return describe_cluster(emr, ref)
    active = _pages(emr.list_clusters, "Clusters", ClusterStates=list(ACTIVE_CLUSTER_STATES))
    matches = [c for c in active if c.get("Name") == ref]
    if not matches:
        # The EMR name and the Name tag normally agree; fall back to the tag for clusters
        # created or renamed outside this project.
        tagged = [describe_cluster(emr, c["Id"]) for c in active]
        matches = [{"Id": c.id} for c in tagged if c.tags.get("Name") == ref]
    if len(matches) > 1:
        ids = ", ".join(sorted(m["Id"] for m in matches))
        raise Refused(f"several active clusters are named {ref!r} ({ids}); pass the id of the one you mean.")
    if not matches:
        ended = [
            c
            for c in _pages(emr.list_clusters, "Clusters", ClusterStates=list(ENDED_CLUSTER_STATES))
            if c.get("Name") == ref
        ]
        hint = (
            f" Ended clusters with that name: {', '.join(sorted(c['Id'] for c in ended))} (pass an id to inspect one)."
            if ended
            else " Check the name, --region and --profile."
        )
        raise Refused(f"no active cluster named {ref!r} (states {', '.join(ACTIVE_CLUSTER_STATES)}).{hint}")
    return describe_cluster(emr, matches[0]["Id"])


def list_groups(emr, cluster_id: str) -> list[Group]:
    groups = []
    for g in _pages(emr.list_instance_groups, "InstanceGroups", ClusterId=cluster_id):
        status = g.get("Status", {})
        groups.append(
            Group(
                id=g["Id"],
                name=g.get("Name", ""),
                role=g.get("InstanceGroupType", ""),
                market=g.get("Market", ""),
                instance_type=g.get("InstanceType", ""),
                bid_price=g.get("BidPrice"),
                requested=int(g.get("RequestedInstanceCount", 0)),
                running=int(g.get("RunningInstanceCount", 0)),
                state=status.get("State", "UNKNOWN"),
                state_reason=(status.get("StateChangeReason") or {}).get("Message", "") or "",
                created=(status.get("Timeline") or {}).get("CreationDateTime"),
            )
        )
    return groups


def list_live_instances(emr, cluster_id: str) -> list[Instance]:
    raw = _pages(emr.list_instances, "Instances", ClusterId=cluster_id, InstanceStates=list(LIVE_INSTANCE_STATES))
    instances = []
    for i in raw:
        status = i.get("Status", {})
        state = status.get("State", "")
        if state not in LIVE_INSTANCE_STATES:
            continue
        instances.append(
            Instance(
                ec2_id=i.get("Ec2InstanceId", ""),
                # A fleet cluster's nodes name their fleet instead of a group.
                group_id=i.get("InstanceGroupId") or i.get("InstanceFleetId", ""),
                state=state,
                created=(status.get("Timeline") or {}).get("CreationDateTime"),
            )
        )
    return instances


@dataclass(frozen=True)
class GroupsByName:
    """Every group of a cluster sorted into the live group of each name and the leftovers.

    ``found_by`` says how the live groups were told apart from the leftovers, for the
    operator: the Terraform state's name, or "newest" when no state was available.
    """

    live: Mapping[str, Group]
    leftovers: tuple[Group, ...]
    found_by: str
    ambiguous: Mapping[str, tuple[Group, ...]]

    def leftovers_of(self, name: str) -> tuple[Group, ...]:
        return tuple(g for g in self.leftovers if g.name == name)


def sort_groups(groups: list[Group], managed=None) -> GroupsByName:
    """Pick the live group of each name: the one whose id Terraform manages (``managed``:
    ``ops.state.ManagedGroups`` or None), else the newest that has not ended. Groups of a
    name that stay tied (no state, same creation time) are ``ambiguous``."""
    managed_ids = set(managed.ids) if managed is not None else set()
    by_name: dict[str, list[Group]] = {}
    for g in groups:
        by_name.setdefault(g.name, []).append(g)
    live: dict[str, Group] = {}
    leftovers: list[Group] = []
    ambiguous: dict[str, tuple[Group, ...]] = {}
    used_state = used_newest = False
    for name, same in by_name.items():
        candidates = [g for g in same if g.state not in ENDED_GROUP_STATES]
        leftovers += [g for g in same if g.state in ENDED_GROUP_STATES]
        if not candidates:
            continue
        chosen = None
        if len(candidates) == 1:
            chosen = candidates[0]
        else:
            in_state = [g for g in candidates if g.id in managed_ids]
            if len(in_state) == 1:
                chosen, used_state = in_state[0], True
            else:
                dated = sorted(
                    (g for g in candidates if g.created is not None), key=lambda g: g.created or datetime.min
                )
                if len(dated) == len(candidates) and dated[-1].created != dated[-2].created:
                    chosen, used_newest = dated[-1], True
        if chosen is None:
            ambiguous[name] = tuple(candidates)
            continue
        live[name] = chosen
        leftovers += [g for g in candidates if g is not chosen]
    if used_state and used_newest:
        found_by = f"Terraform state {managed.source}, else the newest group"
    elif used_state:
        found_by = f"Terraform state {managed.source}"
    elif used_newest:
        found_by = "the newest group of each name" + (
            f" ({managed.source} lists none of them)" if managed is not None else " (no Terraform state given)"
        )
    else:
        found_by = ""
    return GroupsByName(live=live, leftovers=tuple(leftovers), found_by=found_by, ambiguous=ambiguous)


@dataclass(frozen=True)
class StaticPair:
    a: Group
    b: Group
    leftovers: tuple[Group, ...] = ()
    found_by: str = ""

    @property
    def groups(self) -> tuple[Group, Group]:
        return (self.a, self.b)

    @property
    def active(self) -> list[Group]:
        return [g for g in self.groups if g.requested > 0]

    def other(self, group: Group) -> Group:
        return self.b if group.name == self.a.name else self.a

    def by_name(self, name: str) -> Group:
        return self.a if name == self.a.name else self.b

    @property
    def larger(self) -> Group:
        """The group requesting more instances (A on a tie): the one to replace when both are active."""
        return self.a if self.a.requested >= self.b.requested else self.b


def static_pair(cluster: Cluster, groups: list[Group], managed=None) -> StaticPair:
    """The live static groups A and B (see ``sort_groups``) and the leftovers of both names."""
    sorted_groups = sort_groups(groups, managed)
    problems = []
    for name in STATIC_PAIR:
        if name in sorted_groups.ambiguous:
            tied = sorted_groups.ambiguous[name]
            problems.append(
                f"{len(tied)} instance groups named {name!r} ({', '.join(g.id for g in tied)}) and nothing tells "
                "which one Terraform manages (no Terraform state lists one of them, and they have the same "
                "creation time); pass the stack's state with --state"
            )
        elif name not in sorted_groups.live:
            problems.append(f"0 instance groups named {name!r} that have not ended")
    if problems:
        names = ", ".join(sorted(g.name for g in groups)) or "none"
        raise Refused(
            f"cluster {cluster.name} ({cluster.id}) has no usable static Spot pair: "
            + "; ".join(problems)
            + f". Its instance groups: {names}. The pair is created by SpotTaskGroupPair."
        )
    leftovers = tuple(g for g in sorted_groups.leftovers if g.name in STATIC_PAIR)
    return StaticPair(
        a=sorted_groups.live[STATIC_A],
        b=sorted_groups.live[STATIC_B],
        leftovers=leftovers,
        found_by=sorted_groups.found_by if leftovers else "",
    )
