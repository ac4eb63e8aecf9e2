"""On-demand price table and Spot bid prices (guide tip "bid price", T8).

Pure Python: no cdktf import, so the ops command (``ops prices refresh``) reads and
rewrites the same table the stacks use. The table is a checked-in JSON file in which every
price carries its source (a key of ``sources``) and retrieval date, so a refresh of one
region or a few types never re-dates the rest; prices are kept as decimal strings so no
float rounding creeps into a bid.

Bid price = on-demand price x factor (default 0.8), rounded to cents half-up on the exact
decimal product (r5.xlarge 0.304 x 0.8 = 0.2432 -> "0.24"; 0.125 x 1 -> "0.13"). This is
the guide's ``format("%.2f", ...)`` without binary-float surprises on ties.

Regions without prices in the table (first run in a new region): the table ships only
prices that were actually read (see ``sources``); nothing is invented per region. So that
the first ``make synth`` in any commercial region works, a commercial region with no price
for an instance type falls back to the price of ``REFERENCE_REGION`` (us-east-1, one of the
lowest-priced regions, so the bid is usually at or below what the region's own price would
give: Spot requests may wait longer, the bid never rises above the reference). Every such
bid is reported (``Bid.fallback``; main.py prints a note, the plan review flags it) until
``python -m ops prices refresh --region <region>`` stores the region's own prices. Other
partitions (China, GovCloud) price differently and get no fallback: their message asks for
the refresh.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Mapping

from emr_constructs.model.errors import ConstructInputError

PRICE_TABLE_PATH = Path(__file__).resolve().parent / "data" / "on_demand_prices.json"
REFERENCE_REGION = "us-east-1"
DEFAULT_BID_FACTOR = Decimal("0.8")
MIN_BID = Decimal("0.01")
CENT = Decimal("0.01")


class PriceError(ConstructInputError):
    """A price that cannot be computed or a table that cannot be read.

    A ConstructInputError with one problem, so whatever reports bad construct input
    (main.py, the app build) reports it too. Its text is that problem alone: callers embed
    it in their own message (``SpotTaskGroup``, ``python -m ops refresh-prices``)."""

    def __init__(self, problem: str, *, subject: str = "prices") -> None:
        super().__init__(subject, [problem], outcome="no price was computed")

    def __str__(self) -> str:
        return self.problems[0]


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
            from emr_constructs.model import catalog

            known = ", ".join(sorted(by_type)) if by_type else "none"
            if region not in catalog.known_regions():
                raise PriceError(
                    f"no on-demand price in region = {region!r}: not a known AWS region; "
                    f"use a region code such as {REFERENCE_REGION}"
                )
            if instance_type not in catalog.known_instance_types():
                raise PriceError(
                    f"no on-demand price for instance_type = {instance_type!r}: not a known EC2 instance type; "
                    "use a type such as r5.xlarge"
                )
            raise PriceError(
                f"no on-demand price for instance_type = {instance_type!r} in region = {region!r} "
                f"(types priced there: {known}). Add it with "
                f"`.venv/bin/python -m ops prices refresh --region {region} --instance-types {instance_type}` "
                f'or pass bid_price explicitly (a string such as "0.24").'
            )
        return by_type[instance_type]

    def has_price(self, region: str, instance_type: str) -> bool:
        return instance_type in self.prices.get(region, {})

    def with_prices(
        self, region: str, prices: Mapping[str, InstancePrice], *, source_key: str, source: str, retrieved: str
    ) -> "PriceTable":
        """A copy with ``prices`` for ``region`` replaced, each stamped with the source and date."""
        merged = {r: dict(t) for r, t in self.prices.items()}
        merged.setdefault(region, {}).update(
            {itype: replace(p, source=source_key, retrieved=retrieved) for itype, p in prices.items()}
        )
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
    shape = (
        f"price table {path}: expected {{'currency', 'sources': {{key: description}}, 'prices': "
        "{region: {instance type: {ec2, emr, source, retrieved}}}}"
    )
    if not isinstance(raw, dict) or not isinstance(raw.get("sources"), dict) or not isinstance(raw.get("prices"), dict):
        raise PriceError(shape)
    sources = raw["sources"]
    try:
        prices = {
            region: {
                itype: InstancePrice(
                    ec2=_decimal(p.get("ec2"), f"{region}.{itype}.ec2"),
                    emr=_decimal(p.get("emr"), f"{region}.{itype}.emr"),
                    source=p["source"],
                    retrieved=p["retrieved"],
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


@dataclass(frozen=True)
class Bid:
    """A computed Spot bid: ``price`` (two decimals), from the on-demand price of
    ``priced_region`` (the region itself, or REFERENCE_REGION when ``fallback``)."""

    instance_type: str
    region: str
    price: str
    priced_region: str

    @property
    def fallback(self) -> bool:
        return self.priced_region != self.region


def _factor(factor) -> Decimal:
    """The bid factor as a finite Decimal in (0, 1], or PriceError with the usual message."""
    usual = (
        f"bid factor = {factor!r}: must be greater than 0 and at most 1 (a share of the on-demand price; 0.8 bids 80%)"
    )
    if isinstance(factor, bool) or not isinstance(factor, (Decimal, int, float, str)):
        raise PriceError(usual)
    try:
        d = factor if isinstance(factor, Decimal) else Decimal(str(factor).strip())
    except InvalidOperation:
        raise PriceError(usual) from None
    if isinstance(factor, str) and not _PLAIN_DECIMAL.fullmatch(factor):
        raise PriceError(usual)
    # NaN and infinities compare with an exception (sNaN) or never hold: check first.
    if not d.is_finite() or not (Decimal(0) < d <= Decimal(1)):
        raise PriceError(usual)
    return d


def spot_bid(
    instance_type: str,
    region: str,
    *,
    factor: Decimal | float | str = DEFAULT_BID_FACTOR,
    table: PriceTable | None = None,
) -> Bid:
    """Spot bid (maximum price) for one instance type: on-demand x factor, two decimals;
    a commercial region missing from the table uses REFERENCE_REGION (see module doc)."""
    factor_d = _factor(factor)
    table = table or load_price_table()
    priced_region = region
    if not table.has_price(region, instance_type):
        from emr_constructs.model import catalog

        if (
            region in catalog.commercial_regions()
            and region != REFERENCE_REGION
            and table.has_price(REFERENCE_REGION, instance_type)
        ):
            priced_region = REFERENCE_REGION
    on_demand = table.price(priced_region, instance_type).ec2
    bid = (on_demand * factor_d).quantize(CENT, rounding=ROUND_HALF_UP)
    if bid < MIN_BID:
        raise PriceError(
            f"bid price for {instance_type} in {region} = {on_demand} x {factor_d} = {bid}: "
            f"below the minimum {MIN_BID}; raise the factor or pass bid_price explicitly"
        )
    return Bid(instance_type=instance_type, region=region, price=f"{bid:.2f}", priced_region=priced_region)


def bid_price(
    instance_type: str,
    region: str,
    *,
    factor: Decimal | float | str = DEFAULT_BID_FACTOR,
    table: PriceTable | None = None,
) -> str:
    """Spot bid (maximum price) for one instance type: on-demand x factor, two decimals."""
    return spot_bid(instance_type, region, factor=factor, table=table).price


_PLAIN_DECIMAL = re.compile(r"\s*[0-9]+(?:\.[0-9]+)?\s*|\s*\.[0-9]+\s*", re.ASCII)
_BID_TEXT = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)


def check_bid_price(value: str) -> str | None:
    """Return a problem description for an explicit bid price, or None when it is valid."""
    if isinstance(value, (float, int, Decimal)) and not isinstance(value, bool):
        return (
            f"bid_price = {value!r}: a number ({type(value).__name__}), not text; give the price as a "
            f'decimal string such as "0.24" (a float cannot hold most prices exactly)'
        )
    if not isinstance(value, str) or not _BID_TEXT.fullmatch(value):
        return f'bid_price = {value!r}: expected a decimal string such as "0.24" (ASCII digits, no spaces)'
    d = Decimal(value)
    if d < MIN_BID:
        return f"bid_price = {value!r}: must be at least {MIN_BID} (USD per hour)"
    if d != d.quantize(CENT):
        return f"bid_price = {value!r}: at most two decimals (EMR takes cents)"
    return None
