"""On-demand price table and Spot bid prices (guide tip "bid price", T8).

Pure Python: no cdktf import, so the ops command (``ops prices refresh``) reads and
rewrites the same table the stacks use. The table is a checked-in JSON file in which every
price carries its source (a key of ``sources``) and retrieval date, so a refresh of one
region or a few types never re-dates the rest; prices are kept as decimal strings so no
float rounding creeps into a bid.

Bid price = on-demand price x factor (default 0.8), rounded to cents half-up on the exact
decimal product (r5.xlarge 0.304 x 0.8 = 0.2432 -> "0.24"; 0.125 x 1 -> "0.13"). This is
the guide's ``format("%.2f", ...)`` without binary-float surprises on ties.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Mapping

PRICE_TABLE_PATH = Path(__file__).resolve().parent / "data" / "on_demand_prices.json"
DEFAULT_BID_FACTOR = Decimal("0.8")
MIN_BID = Decimal("0.01")
CENT = Decimal("0.01")


class PriceError(ValueError):
    """A price that cannot be computed or a table that cannot be read."""


@dataclass(frozen=True)
class InstancePrice:
    """Hourly USD prices of one instance type in one region, with where and when they were
    read: ``source`` is a key of ``PriceTable.sources``, ``retrieved`` an ISO date."""

    ec2: Decimal
    emr: Decimal
    source: str = ""
    retrieved: str = ""

    @property
    def total(self) -> Decimal:
        return self.ec2 + self.emr


@dataclass(frozen=True)
class PriceTable:
    """On-demand prices per region and instance type. Every price carries its own source
    and date, so refreshing one region (or a few types) never re-dates the others."""

    currency: str
    sources: Mapping[str, str] = field(default_factory=dict)
    prices: Mapping[str, Mapping[str, InstancePrice]] = field(default_factory=dict)

    def price(self, region: str, instance_type: str) -> InstancePrice:
        by_type = self.prices.get(region)
        if by_type is None or instance_type not in by_type:
            known = ", ".join(sorted(by_type)) if by_type else "none"
            raise PriceError(
                f"no on-demand price for instance_type = {instance_type!r} in region = {region!r} "
                f"(types priced there: {known}). Add it with "
                f"`.venv/bin/python -m ops prices refresh --region {region} --instance-types {instance_type}` "
                f"or pass bid_price explicitly (a string such as \"0.24\")."
            )
        return by_type[instance_type]

    def with_prices(self, region: str, prices: Mapping[str, InstancePrice], *, source_key: str, source: str,
                    retrieved: str) -> "PriceTable":
        """A copy with ``prices`` for ``region`` replaced, each stamped with the source and date."""
        merged = {r: dict(t) for r, t in self.prices.items()}
        merged.setdefault(region, {}).update({
            itype: replace(p, source=source_key, retrieved=retrieved) for itype, p in prices.items()
        })
        used = {p.source for by_type in merged.values() for p in by_type.values()}
        sources = {k: v for k, v in {**self.sources, source_key: source}.items() if k in used}
        return PriceTable(currency=self.currency, sources=sources, prices=merged)


def _decimal(value, where: str) -> Decimal:
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise PriceError(f"{where} = {value!r}: expected a decimal number") from None
    if not d.is_finite() or d < 0:
        raise PriceError(f"{where} = {value!r}: expected a non-negative decimal number")
    return d


def load_price_table(path: str | os.PathLike | None = None) -> PriceTable:
    path = Path(path or PRICE_TABLE_PATH)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise PriceError(f"cannot read price table {path}: {exc}") from None
    shape = (f"price table {path}: expected {{'currency', 'sources': {{key: description}}, 'prices': "
             "{region: {instance type: {ec2, emr, source, retrieved}}}}")
    if not isinstance(raw, dict) or not isinstance(raw.get("sources"), dict) or not isinstance(raw.get("prices"), dict):
        raise PriceError(shape)
    sources = raw["sources"]
    try:
        prices = {
            region: {
                itype: InstancePrice(
                    ec2=_decimal(p.get("ec2"), f"{region}.{itype}.ec2"),
                    emr=_decimal(p.get("emr"), f"{region}.{itype}.emr"),
                    source=p["source"], retrieved=p["retrieved"],
                )
                for itype, p in by_type.items()
            }
            for region, by_type in raw["prices"].items()
        }
    except (AttributeError, KeyError, TypeError):
        raise PriceError(shape) from None
    unknown = sorted({p.source for t in prices.values() for p in t.values()} - set(sources))
    if unknown:
        raise PriceError(f"price table {path}: prices name sources not described under 'sources': {', '.join(unknown)}")
    return PriceTable(currency=raw.get("currency", "USD"), sources=sources, prices=prices)


def dump_price_table(table: PriceTable, path: str | os.PathLike | None = None) -> Path:
    """Write the table deterministically (sorted keys) and atomically (temp file + rename),
    so a failed refresh never leaves a half-written table."""
    path = Path(path or PRICE_TABLE_PATH)
    doc = {
        "currency": table.currency,
        "sources": dict(sorted(table.sources.items())),
        "prices": {
            region: {
                itype: {"ec2": str(p.ec2), "emr": str(p.emr), "source": p.source, "retrieved": p.retrieved}
                for itype, p in sorted(by_type.items())
            }
            for region, by_type in sorted(table.prices.items())
        },
    }
    text = json.dumps(doc, indent=2, sort_keys=True) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def bid_price(
    instance_type: str,
    region: str,
    *,
    factor: Decimal | float | str = DEFAULT_BID_FACTOR,
    table: PriceTable | None = None,
) -> str:
    """Spot bid (maximum price) for one instance type: on-demand x factor, two decimals."""
    factor_d = _decimal(factor, "bid factor") if not isinstance(factor, Decimal) else factor
    if not (Decimal(0) < factor_d <= Decimal(1)):
        raise PriceError(
            f"bid factor = {factor!r}: must be greater than 0 and at most 1 "
            "(a share of the on-demand price; 0.8 bids 80%)"
        )
    table = table or load_price_table()
    on_demand = table.price(region, instance_type).ec2
    bid = (on_demand * factor_d).quantize(CENT, rounding=ROUND_HALF_UP)
    if bid < MIN_BID:
        raise PriceError(
            f"bid price for {instance_type} in {region} = {on_demand} x {factor_d} = {bid}: "
            f"below the minimum {MIN_BID}; raise the factor or pass bid_price explicitly"
        )
    return f"{bid:.2f}"


def check_bid_price(value: str) -> str | None:
    """Return a problem description for an explicit bid price, or None when it is valid."""
    try:
        d = Decimal(value)
    except (InvalidOperation, TypeError):
        return f"bid_price = {value!r}: expected a decimal string such as \"0.24\""
    if not d.is_finite() or d < MIN_BID:
        return f"bid_price = {value!r}: must be at least {MIN_BID} (USD per hour)"
    if d != d.quantize(CENT):
        return f"bid_price = {value!r}: at most two decimals (EMR takes cents)"
    return None
