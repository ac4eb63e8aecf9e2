"""Finding a cluster by name or id and reading its instance groups (shared by status and rotation).

Contracts with the stacks (``SpotTaskGroupPair`` and the cluster construct):

- the cluster's EMR name (and ``Name`` tag) is its purpose name, e.g.
  ``spark-batch-production-01``; an id (``j-...``) is accepted as well;
- instance groups are named ``master``, ``core``, ``task-spot-static-a``,
  ``task-spot-static-b`` and optionally ``task-spot-dynamic``; the static pair is found by
  these names and the *active* static group is the one whose requested count is > 0;
- a cluster with a fixed master IP carries the tag ``fixed-private-ip`` = the IP.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from emr_constructs.contract import DYNAMIC_GROUP, FIXED_IP_TAG, STATIC_A, STATIC_B, STATIC_PAIR  # noqa: F401
from ops.errors import Refused

ACTIVE_CLUSTER_STATES = ("STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING")
ENDED_CLUSTER_STATES = ("TERMINATING", "TERMINATED", "TERMINATED_WITH_ERRORS")
CLUSTER_ID = re.compile(r"^j-[0-9A-Z]{1,64}$")
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

    @property
    def fixed_ip(self) -> str | None:
        return self.tags.get(FIXED_IP_TAG)


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
    )


def find_cluster(emr, ref: str) -> Cluster:
    """The cluster named ``ref`` (EMR name or ``Name`` tag) in an active state, or by id.

    Several clusters may share a name over time (a replaced cluster stays TERMINATED for
    two months); the active one is meant. Refuses when none or several are active.
    """
    if CLUSTER_ID.match(ref):
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
            c for c in _pages(emr.list_clusters, "Clusters", ClusterStates=list(ENDED_CLUSTER_STATES))
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
                group_id=i.get("InstanceGroupId", ""),
                state=state,
                created=(status.get("Timeline") or {}).get("CreationDateTime"),
            )
        )
    return instances


@dataclass(frozen=True)
class StaticPair:
    a: Group
    b: Group

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


def static_pair(cluster: Cluster, groups: list[Group]) -> StaticPair:
    by_name: dict[str, list[Group]] = {}
    for g in groups:
        by_name.setdefault(g.name, []).append(g)
    problems = []
    for name in STATIC_PAIR:
        found = by_name.get(name, [])
        if len(found) != 1:
            problems.append(f"{len(found)} instance groups named {name!r} (expected exactly 1)")
    if problems:
        names = ", ".join(sorted(g.name for g in groups)) or "none"
        raise Refused(
            f"cluster {cluster.name} ({cluster.id}) has no usable static Spot pair: "
            + "; ".join(problems)
            + f". Its instance groups: {names}. The pair is created by SpotTaskGroupPair."
        )
    return StaticPair(a=by_name[STATIC_A][0], b=by_name[STATIC_B][0])
