"""Instance fleets in the operations CLI: ``status`` of a fleet cluster, and why
``rotate-spot`` does not apply to it (guide tip T8).

A fleet cluster has no instance groups: EMR answers ``ListInstanceGroups`` on it with an
error. Its master, core and task capacity are fleets (``ListInstanceFleets``), each with a
target and a provisioned capacity in units, on-demand and Spot, and instances of the types
EMR picked (``ListInstances`` names each node's ``InstanceFleetId``).

The A/B rotation renews a Spot group's instances because EMR removes the instances it can
drain fastest when a group shrinks (T8). A fleet has no groups to alternate: EMR picks the
types and the instances, and refills reclaimed Spot capacity from whichever of the fleet's
types and pools has it. ``REFUSE_ROTATION`` says what to do instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ops.cluster import Cluster, Instance, _pages

ROLE_ORDER = {"MASTER": 0, "CORE": 1, "TASK": 2}

REFUSE_ROTATION = (
    "{cluster} uses instance fleets: rotate-spot alternates the static Spot task groups A and B of an "
    "instance-group cluster, and a fleet has no groups to alternate (EMR picks the instance types and "
    "the instances, and replaces reclaimed Spot capacity itself from the fleet's types). To renew the "
    "task fleet's Spot instances, resize it down and up again: `aws emr modify-instance-fleet "
    "--cluster-id {cluster_id} --instance-fleet InstanceFleetId={fleet},TargetSpotCapacity=0`, then "
    "back to its target; to widen the Spot pools it draws from, add instance types to the task fleet "
    "in stacks/clusters.py (that replaces the task fleet: review the change)."
)


@dataclass(frozen=True)
class Fleet:
    id: str
    name: str
    role: str
    types: tuple[tuple[str, int], ...]  # (instance type, weighted capacity)
    target_on_demand: int
    target_spot: int
    provisioned_on_demand: int
    provisioned_spot: int
    state: str
    allocation_strategy: str | None
    created: datetime | None = None

    @property
    def short(self) -> bool:
        """Less capacity provisioned than targeted (Spot shortage, or a resize in flight)."""
        return self.provisioned_on_demand < self.target_on_demand or self.provisioned_spot < self.target_spot


def list_fleets(emr, cluster_id: str) -> list[Fleet]:
    fleets = []
    for f in _pages(emr.list_instance_fleets, "InstanceFleets", ClusterId=cluster_id):
        status = f.get("Status") or {}
        spot = ((f.get("LaunchSpecifications") or {}).get("SpotSpecification")) or {}
        fleets.append(
            Fleet(
                id=f["Id"],
                name=f.get("Name", ""),
                role=f.get("InstanceFleetType", ""),
                types=tuple(
                    (s.get("InstanceType", ""), int(s.get("WeightedCapacity") or 1))
                    for s in f.get("InstanceTypeSpecifications") or []
                ),
                target_on_demand=int(f.get("TargetOnDemandCapacity") or 0),
                target_spot=int(f.get("TargetSpotCapacity") or 0),
                provisioned_on_demand=int(f.get("ProvisionedOnDemandCapacity") or 0),
                provisioned_spot=int(f.get("ProvisionedSpotCapacity") or 0),
                state=status.get("State", "UNKNOWN"),
                allocation_strategy=spot.get("AllocationStrategy"),
                created=(status.get("Timeline") or {}).get("CreationDateTime"),
            )
        )
    return sorted(fleets, key=lambda f: (ROLE_ORDER.get(f.role, 9), f.name))


def fleet_rows(fleets: list[Fleet], instances: list[Instance], ages) -> list[tuple[str, ...]]:
    """The status table of a fleet cluster: provisioned versus target units, on-demand and
    Spot, the types a fleet may launch and the ages of its instances."""
    by_fleet: dict[str, list[Instance]] = {}
    for i in instances:
        by_fleet.setdefault(i.group_id, []).append(i)
    rows: list[tuple[str, ...]] = [
        ("FLEET", "ROLE", "ON-DEMAND", "SPOT", "NODES", "STATE", "TYPES (units each)", "INSTANCE AGES")
    ]
    for f in fleets:
        rows.append(
            (
                f.name,
                f.role,
                f"{f.provisioned_on_demand}/{f.target_on_demand}",
                f"{f.provisioned_spot}/{f.target_spot}",
                str(len(by_fleet.get(f.id, []))),
                f.state + (" SHORT" if f.short else ""),
                ", ".join(f"{t}×{w}" for t, w in f.types)
                + (f" ({f.allocation_strategy})" if f.allocation_strategy else ""),
                ages(by_fleet.get(f.id, [])),
            )
        )
    return rows


def refuse_rotation_text(cluster: Cluster, fleets: list[Fleet]) -> str:
    task = next((f for f in fleets if f.role == "TASK"), None)
    return REFUSE_ROTATION.format(
        cluster=cluster.name or cluster.id, cluster_id=cluster.id, fleet=task.id if task else "<task fleet id>"
    )
