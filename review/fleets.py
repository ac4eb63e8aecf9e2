"""Instance fleets in the review: capacity in units and its cost (guide tip "bid price").

A fleet is read from a cluster's ``master_instance_fleet`` / ``core_instance_fleet`` or
from an ``aws_emr_instance_fleet``. Its capacity is in units (each instance type counts
``weighted_capacity`` units), on-demand and Spot. Which fleet arguments replace what is
data in ``review.rules`` (every argument of the cluster's fleet blocks replaces the
cluster; a task fleet's target capacities change in place, the rest replaces the fleet).

Cost (USD per hour, an upper bound, from the same price table as instance groups): EMR
picks the types, so each unit is priced at the dearest type per unit of weight:
on-demand units at (on-demand EC2 + EMR fee) / weight, Spot units at (bid cap + EMR fee)
/ weight, or at the on-demand price when a type has no bid. With ``SWITCH_TO_ON_DEMAND``
Spot units may launch on-demand, which the bound already covers when the bid is below
on-demand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

# (instance type, weighted capacity, bid price or None)
FleetType = tuple[Any, int, str | None]


@dataclass(frozen=True)
class FleetCapacity:
    """What a fleet may launch and how many units it targets."""

    types: tuple[FleetType, ...]
    on_demand_units: int
    spot_units: int
    allocation_strategy: str | None = None

    @property
    def units(self) -> int:
        return self.on_demand_units + self.spot_units

    def types_text(self) -> str:
        return ", ".join(f"{t}×{w}" for t, w, _ in self.types) or "—"

    def market_text(self) -> str:
        strategy = f", {self.allocation_strategy}" if self.allocation_strategy else ""
        return f"fleet: {self.on_demand_units} on-demand + {self.spot_units} Spot units{strategy}"


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _list(value: Any) -> list:
    if isinstance(value, dict):
        return [value]
    return value if isinstance(value, list) else []


def capacity(block: Any) -> FleetCapacity | None:
    """A fleet's capacity from its configuration (a cluster's fleet block, or an
    aws_emr_instance_fleet), or None when ``block`` is no fleet."""
    block = _list(block)
    if not block or not isinstance(block[0], dict):
        return None
    fleet = block[0]
    types = tuple(
        (c.get("instance_type"), max(_int(c.get("weighted_capacity"), 1), 1), c.get("bid_price") or None)
        for c in _list(fleet.get("instance_type_configs"))
        if isinstance(c, dict)
    )
    spot: Any = next(
        (s for ls in _list(fleet.get("launch_specifications")) for s in _list(ls.get("spot_specification"))),
        {},
    )
    return FleetCapacity(
        types,
        _int(fleet.get("target_on_demand_capacity")),
        _int(fleet.get("target_spot_capacity")),
        spot.get("allocation_strategy") if isinstance(spot, dict) else None,
    )


def hourly_cost(fleet: FleetCapacity, region: str, lookup: Callable[[str, str], Any]) -> tuple[Decimal | None, str]:
    """(upper-bound USD per hour, basis) of a fleet, or (None, why it is unknown)."""
    if fleet.units == 0:
        return Decimal(0), "0 units"
    od_rate: Decimal | None = None
    spot_rate: Decimal | None = None
    for instance_type, weight, bid in fleet.types:
        if not isinstance(instance_type, str) or "${" in instance_type or instance_type.startswith("<"):
            return None, f"instance type {instance_type!r} is not known before apply"
        try:
            price = lookup(region, instance_type)
        except Exception as exc:  # noqa: BLE001 -- PriceError: no price for that type/region; shown as unknown
            return None, str(exc)
        on_demand = (price.ec2 + price.emr) / weight
        try:
            spot = (Decimal(str(bid)) + price.emr) / weight if bid else on_demand
        except InvalidOperation:
            return None, f"bid_price = {bid!r} is not a number"
        od_rate = on_demand if od_rate is None else max(od_rate, on_demand)
        spot_rate = spot if spot_rate is None else max(spot_rate, spot)
    if od_rate is None or spot_rate is None:
        return None, "the fleet lists no instance type"
    total = od_rate * fleet.on_demand_units + spot_rate * fleet.spot_units
    basis = (
        f"{fleet.on_demand_units} on-demand units at ≤ {od_rate.quantize(Decimal('0.0001'))} + "
        f"{fleet.spot_units} Spot units at ≤ {spot_rate.quantize(Decimal('0.0001'))} per unit-hour "
        "(dearest type per unit, EMR fee included)"
    )
    return total, basis
