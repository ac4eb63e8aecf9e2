"""Instance fleets: what a master, core or task fleet is made of, and every rule its
inputs must meet (guide tips T5, T6, T7 and "bid price").

A fleet lists up to 5 instance types (30 when an allocation strategy is given), each
with a weighted capacity (the units one instance of that type counts for), and target
capacities in those units, on-demand and Spot. EMR picks the types and, with several
subnets, the Availability Zone. Limits encoded here are the EMR API reference's
(``InstanceTypeConfig``, ``InstanceFleetConfig``, ``SpotProvisioningSpecification``):

* at most 5 instance type configurations per fleet without an allocation strategy, at
  most 30 with one;
* ``WeightedCapacity`` is 1 on the master fleet and at least 1 on core and task fleets;
* the master fleet has a target capacity of exactly 1 (one of on-demand or Spot);
* the Spot provisioning timeout is 5-1440 minutes; its action ``SWITCH_TO_ON_DEMAND``
  or ``TERMINATE_CLUSTER``;
* Spot allocation strategies ``capacity-optimized``, ``price-capacity-optimized``,
  ``capacity-optimized-prioritized``, ``lowest-price``, ``diversified``; on-demand
  ``lowest-price`` or ``prioritized``.

The guide's tips hold as for instance groups:

T5  EBS from ``EbsSpec``; the provider's fleet ``ebs_config`` has no throughput argument,
    so gp3 volumes keep EMR's 125 MiB/s (a different figure is refused).
T6  The master fleet is on-demand; Spot capacity on core only with ``allow_spot_core``.
T7  ``dfs.replication`` comes from the fewest core nodes the core capacity can be met
    with (units / the largest weighted capacity, rounded up), so HDFS never asks for
    more copies than there can be nodes.
Bid price: each type's Spot bid is its on-demand price x the fleet's ``bid_factor``
    from the checked-in price table (``emr_constructs.model.pricing``), as for task groups; an
    explicit ``bid_price`` string is accepted after validation.

Pure Python (no cdktf import), like ``cluster_spec``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from emr_constructs.model import validation
from emr_constructs.model.ebs import EbsSpec, no_throughput_block_problems
from emr_constructs.model.pricing import DEFAULT_BID_FACTOR, PriceError, PriceTable, check_bid_price, spot_bid

SPOT_ALLOCATION_STRATEGIES = (
    "price-capacity-optimized",
    "capacity-optimized",
    "capacity-optimized-prioritized",
    "lowest-price",
    "diversified",
)
ON_DEMAND_ALLOCATION_STRATEGIES = ("lowest-price", "prioritized")
SPOT_TIMEOUT_ACTIONS = ("SWITCH_TO_ON_DEMAND", "TERMINATE_CLUSTER")
SPOT_TIMEOUT_MINUTES = (5, 1440)
MAX_TYPES = 5
MAX_TYPES_WITH_STRATEGY = 30

MASTER_FLEET = "master"
CORE_FLEET = "core"
TASK_FLEET = "task"


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class FleetInstanceType:
    """One instance type a fleet may launch. ``weighted_capacity``: the units one
    instance counts for (default 1; master fleets must use 1). ``ebs`` default: gp3 64
    GiB, 3000 IOPS, 125 MiB/s (throughput must stay 125: see the module docstring).
    ``bid_price``: explicit Spot bid in USD (default: on-demand x the fleet's bid factor)."""

    instance_type: str
    weighted_capacity: int = 1
    ebs: EbsSpec = field(default_factory=EbsSpec)
    bid_price: str | None = None


@dataclass(frozen=True)
class InstanceFleetSpec:
    """A master, core or task instance fleet.

    instance_types: FleetInstanceType entries (1-5, or up to 30 with an allocation
        strategy), each type once. Required.
    target_on_demand_capacity / target_spot_capacity: units; default 0 each. The master
        fleet needs exactly 1 on-demand unit; core at least 1 unit (Spot only with
        ``allow_spot_core``).
    allocation_strategy: Spot allocation strategy, default ``price-capacity-optimized``;
        None writes no launch specifications (EMR's defaults; at most 5 types, and the
        Spot timeout settings below are not sent).
    on_demand_allocation_strategy: ``lowest-price`` (default) or ``prioritized``; written
        with the Spot strategy.
    spot_timeout_minutes: 5-1440, default 20: how long EMR tries for Spot capacity at
        launch before ``spot_timeout_action``.
    spot_timeout_action: ``SWITCH_TO_ON_DEMAND`` (default: capacity over price) or
        ``TERMINATE_CLUSTER``.
    bid_factor: share of the on-demand price each type bids, in (0, 1]; default 0.8.
    """

    instance_types: Sequence[FleetInstanceType]
    target_on_demand_capacity: int = 0
    target_spot_capacity: int = 0
    allocation_strategy: str | None = "price-capacity-optimized"
    on_demand_allocation_strategy: str = "lowest-price"
    spot_timeout_minutes: int = 20
    spot_timeout_action: str = "SWITCH_TO_ON_DEMAND"
    bid_factor: Decimal | str | float = DEFAULT_BID_FACTOR

    # -- rules ---------------------------------------------------------------------------

    def _types(self) -> list[FleetInstanceType]:
        return [t for t in self.instance_types if isinstance(t, FleetInstanceType)] if self._is_list() else []

    def _is_list(self) -> bool:
        return isinstance(self.instance_types, (list, tuple))

    def problems(self, role: str) -> list[str]:
        """What every fleet needs: its instance types, capacities and launch settings."""
        where = f"{role}_fleet"
        p: list[str] = []
        if not self._is_list() or not self.instance_types:
            return [
                f"{where}.instance_types = {self.instance_types!r}: give 1-{MAX_TYPES} FleetInstanceType entries "
                "(a list or tuple)"
            ]
        limit = MAX_TYPES_WITH_STRATEGY if self.allocation_strategy is not None else MAX_TYPES
        if len(self.instance_types) > limit:
            p.append(
                f"{where}.instance_types: {len(self.instance_types)} types; EMR allows at most {limit} per fleet"
                + (
                    f" without an allocation strategy ({MAX_TYPES_WITH_STRATEGY} with one): set allocation_strategy"
                    if self.allocation_strategy is None
                    else ""
                )
            )
        seen: set[str] = set()
        for i, t in enumerate(self.instance_types):
            at = f"{where}.instance_types[{i}]"
            if not isinstance(t, FleetInstanceType):
                p.append(f"{at} = {t!r}: expected a FleetInstanceType")
                continue
            if (problem := validation.instance_type_problem(t.instance_type)) is not None:
                p.append(f"{at}.instance_type = {t.instance_type!r}: {problem}")
            elif t.instance_type in seen:
                p.append(f"{at}.instance_type = {t.instance_type!r}: listed twice; give each type once")
            seen.add(t.instance_type)
            if not _is_count(t.weighted_capacity) or t.weighted_capacity < 1:
                p.append(
                    f"{at}.weighted_capacity = {t.weighted_capacity!r}: a whole number of at least 1 (the units "
                    "one instance of this type counts for)"
                )
            p.extend(no_throughput_block_problems(t.ebs, f"{at}.ebs", "an instance fleet's ebs_config"))
            if t.bid_price is not None and (problem := check_bid_price(t.bid_price)):
                p.append(f"{at}.{problem}")
        for attr in ("target_on_demand_capacity", "target_spot_capacity"):
            value = getattr(self, attr)
            if not _is_count(value) or value < 0:
                p.append(f"{where}.{attr} = {value!r}: a whole number of units, 0 or more")
        p.extend(self._launch_problems(where))
        return p

    def _launch_problems(self, where: str) -> list[str]:
        p: list[str] = []
        if self.allocation_strategy is not None and self.allocation_strategy not in SPOT_ALLOCATION_STRATEGIES:
            p.append(
                f"{where}.allocation_strategy = {self.allocation_strategy!r}: one of "
                f"{', '.join(SPOT_ALLOCATION_STRATEGIES)}, or None for EMR's defaults"
            )
        if self.on_demand_allocation_strategy not in ON_DEMAND_ALLOCATION_STRATEGIES:
            p.append(
                f"{where}.on_demand_allocation_strategy = {self.on_demand_allocation_strategy!r}: one of "
                f"{', '.join(ON_DEMAND_ALLOCATION_STRATEGIES)}"
            )
        low, high = SPOT_TIMEOUT_MINUTES
        if not _is_count(self.spot_timeout_minutes) or not low <= self.spot_timeout_minutes <= high:
            p.append(
                f"{where}.spot_timeout_minutes = {self.spot_timeout_minutes!r}: EMR allows {low}-{high} minutes "
                "(5 minutes to 24 hours)"
            )
        if self.spot_timeout_action not in SPOT_TIMEOUT_ACTIONS:
            p.append(
                f"{where}.spot_timeout_action = {self.spot_timeout_action!r}: one of {', '.join(SPOT_TIMEOUT_ACTIONS)}"
            )
        return p

    def master_problems(self) -> list[str]:
        """The master fleet: exactly one on-demand unit, every weighted capacity 1 (T6)."""
        p: list[str] = []
        if self.target_spot_capacity != 0:
            p.append(
                f"master_fleet.target_spot_capacity = {self.target_spot_capacity!r}: the master is always "
                "on-demand (losing it loses the cluster); use target_on_demand_capacity = 1"
            )
        if self.target_on_demand_capacity != 1:
            p.append(
                f"master_fleet.target_on_demand_capacity = {self.target_on_demand_capacity!r}: the master fleet "
                "has exactly one node (target capacity 1)"
            )
        for i, t in enumerate(self._types()):
            if t.weighted_capacity != 1:
                p.append(
                    f"master_fleet.instance_types[{i}].weighted_capacity = {t.weighted_capacity!r}: EMR requires 1 "
                    "on the master fleet"
                )
        return p

    def core_problems(self, *, allow_spot_core: bool) -> list[str]:
        """The core fleet: at least one unit; Spot units only when explicitly allowed (T6)."""
        p: list[str] = []
        od, spot = self.target_on_demand_capacity, self.target_spot_capacity
        if _is_count(od) and _is_count(spot) and od + spot < 1:
            p.append(
                "core_fleet: target_on_demand_capacity + target_spot_capacity = 0: at least 1 unit (HDFS and the "
                "YARN application masters run on core nodes)"
            )
        if _is_count(spot) and spot > 0 and not allow_spot_core:
            p.append(
                f"core_fleet.target_spot_capacity = {spot}: Spot on core is refused because the YARN application "
                "master of every job runs on core nodes, so a Spot reclaim fails whole jobs and loses HDFS blocks "
                "(guide tip T6). Put Spot capacity in the task fleet, or pass allow_spot_core=True for a test cluster"
            )
        return p

    # -- derived figures -----------------------------------------------------------------

    @property
    def target_units(self) -> int | None:
        """Total target capacity in units, or None when a target is not a whole number."""
        od, spot = self.target_on_demand_capacity, self.target_spot_capacity
        return od + spot if _is_count(od) and _is_count(spot) else None

    def fewest_nodes(self) -> int | None:
        """The fewest instances that meet the target: units / largest weight, rounded up
        (guide tip T7 counts core nodes this way)."""
        units = self.target_units
        weights = [t.weighted_capacity for t in self._types() if _is_count(t.weighted_capacity)]
        if units is None or units < 1 or not weights or max(weights) < 1:
            return None
        return math.ceil(units / max(weights))

    def bids(self, role: str, region: str | None, table: PriceTable | None) -> tuple[dict[str, str | None], list[str]]:
        """The Spot bid of each type (``None`` where none is written) and the problems
        computing them. The master fleet never bids; a core fleet bids only when it has
        Spot capacity; a task fleet always does (managed scaling may add Spot units)."""
        types = self._types()
        wants_bid = role == TASK_FLEET or (
            role == CORE_FLEET and _is_count(self.target_spot_capacity) and self.target_spot_capacity > 0
        )
        if not wants_bid:
            return {t.instance_type: None for t in types}, []
        out: dict[str, str | None] = {}
        p: list[str] = []
        for i, t in enumerate(types):
            if t.bid_price is not None:
                out[t.instance_type] = t.bid_price
                continue
            if region is None:
                p.append(
                    f"{role}_fleet.instance_types[{i}] ({t.instance_type}): its Spot bid comes from the on-demand "
                    "price of the cluster's region; pass region=... to EmrCluster / TaskInstanceFleet or give bid_price"
                )
                continue
            try:
                out[t.instance_type] = spot_bid(t.instance_type, region, factor=self.bid_factor, table=table).price
            except PriceError as exc:
                p.append(f"{role}_fleet.instance_types[{i}]: {exc}")
        return out, p

    def terraform(self, name: str, bids: dict[str, str | None]) -> dict:
        """The fleet as the provider takes it (``master_instance_fleet``,
        ``core_instance_fleet`` or ``aws_emr_instance_fleet`` arguments), in snake_case."""
        configs = []
        for t in self._types():
            ebs = t.ebs.terraform()
            ebs.pop("throughput", None)
            config: dict = {
                "instance_type": t.instance_type,
                "weighted_capacity": t.weighted_capacity,
                "ebs_config": [ebs],
            }
            if bids.get(t.instance_type) is not None:
                config["bid_price"] = bids[t.instance_type]
            configs.append(config)
        out: dict = {
            "name": name,
            "instance_type_configs": configs,
            "target_on_demand_capacity": self.target_on_demand_capacity,
            "target_spot_capacity": self.target_spot_capacity,
        }
        if self.allocation_strategy is not None:
            out["launch_specifications"] = {
                "on_demand_specification": [{"allocation_strategy": self.on_demand_allocation_strategy}],
                "spot_specification": [
                    {
                        "allocation_strategy": self.allocation_strategy,
                        "timeout_action": self.spot_timeout_action,
                        "timeout_duration_minutes": self.spot_timeout_minutes,
                    }
                ],
            }
        return out


@dataclass(frozen=True)
class ClusterSubnet:
    """A subnet a fleet cluster may launch in, with the VPC it belongs to (checked against
    the security groups' VPC: EMR refuses subnets of another VPC only at launch)."""

    id: str
    vpc_id: str


def subnet_problems(subnets: Sequence[object], vpc_id: object, *, uses_fleets: bool) -> list[str]:
    """Subnets of a cluster: fleets only, each a ClusterSubnet of the security groups' VPC,
    no subnet twice."""
    if not subnets:
        return []
    if not uses_fleets:
        return [
            f"subnets = {list(subnets)!r}: several subnets need instance fleets (EMR picks one of them at launch); "
            "a cluster of instance groups runs in one subnet_id"
        ]
    p: list[str] = []
    ids: list[str] = []
    for i, s in enumerate(subnets):
        if not isinstance(s, ClusterSubnet):
            p.append(f"subnets[{i}] = {s!r}: expected a ClusterSubnet(id, vpc_id)")
            continue
        ids.append(s.id)
        if isinstance(vpc_id, str) and "${" not in vpc_id and s.vpc_id != vpc_id:
            p.append(
                f"subnets[{i}] = {s.id!r} is in {s.vpc_id!r}, but the cluster's security groups are in {vpc_id!r}: "
                "every subnet must be in the security groups' VPC"
            )
    if len(set(ids)) != len(ids):
        p.append(f"subnets: {ids!r} lists a subnet twice")
    return p
