"""``prices refresh``: on-demand EC2 Linux prices and the EMR fee from the AWS Price List API.

Feeds the guide's bid-price rule (Spot bid = on-demand price x 0.8, two decimals): the
stacks compute bids from ``emr_constructs/model/data/on_demand_prices.json`` through
``emr_constructs.model.pricing``; this command rewrites that table from the source of record.

Queries (``pricing:GetProducts`` on the us-east-1 endpoint, all pages):

- EC2: ServiceCode ``AmazonEC2``, TERM_MATCH ``instanceType``, ``regionCode``,
  ``operatingSystem=Linux``, ``tenancy=Shared``, ``preInstalledSw=NA``,
  ``capacitystatus=Used``;
- EMR fee: ServiceCode ``ElasticMapReduce``, TERM_MATCH ``softwareType=EMR``,
  ``instanceType``, ``regionCode``.

Each ``PriceList`` entry is a JSON document (a string, as AWS returns it); the hourly
USD price is ``terms.OnDemand.*.priceDimensions.*.pricePerUnit.USD``. Exactly one
distinct positive price must come back per instance type and service: none, several
different ones, or an unreadable entry is an error naming the instance type (and SKUs),
and then the table is not touched at all. The new table is written atomically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from emr_constructs.model.pricing import (
    PRICE_TABLE_PATH,
    InstancePrice,
    PriceError,
    PriceTable,
    bid_price,
    dump_price_table,
    load_price_table,
)
from ops.errors import OperationFailed, Refused
from ops.runtime import Runtime

SOURCE_KEY = "price-list-api"
SOURCE = (
    "AWS Price List API (pricing:GetProducts): Amazon EC2 on-demand, Linux, shared tenancy, "
    "no pre-installed software, capacitystatus Used; Amazon EMR fee (softwareType EMR); "
    "read by `python -m ops prices refresh`"
)


def _term_match(**terms: str) -> list[dict[str, str]]:
    return [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in terms.items()]


def ec2_filters(instance_type: str, region: str) -> list[dict[str, str]]:
    return _term_match(
        instanceType=instance_type,
        regionCode=region,
        operatingSystem="Linux",
        tenancy="Shared",
        preInstalledSw="NA",
        capacitystatus="Used",
    )


def emr_filters(instance_type: str, region: str) -> list[dict[str, str]]:
    return _term_match(softwareType="EMR", instanceType=instance_type, regionCode=region)


class PriceProblem(Exception):
    pass


def _plain(d: Decimal) -> Decimal:
    """``0.3040000000`` -> ``0.304`` without ever turning into exponent notation (``1E+1``)."""
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return Decimal(text)


def on_demand_prices(price_list_item: str) -> list[Decimal]:
    """The hourly USD on-demand prices of one PriceList entry (a JSON string)."""
    try:
        doc = json.loads(price_list_item)
        on_demand = doc.get("terms", {}).get("OnDemand", {})
        prices = []
        for term in on_demand.values():
            for dim in term.get("priceDimensions", {}).values():
                usd = dim.get("pricePerUnit", {}).get("USD")
                if usd is None:
                    raise PriceProblem(f"price dimension {dim.get('rateCode', '?')} has no USD price")
                if dim.get("unit") not in (None, "Hrs"):
                    raise PriceProblem(
                        f"price dimension {dim.get('rateCode', '?')} is per {dim.get('unit')!r}, not per hour"
                    )
                prices.append(Decimal(usd))
        return prices
    except (json.JSONDecodeError, AttributeError, InvalidOperation, TypeError) as exc:
        raise PriceProblem(f"unreadable PriceList entry ({type(exc).__name__}: {exc})") from None


def fetch_price(pricing, service: str, filters: list[dict[str, str]], what: str) -> Decimal:
    found: dict[Decimal, list[str]] = {}
    for page in pricing.get_paginator("get_products").paginate(
        ServiceCode=service, Filters=filters, FormatVersion="aws_v1"
    ):
        for item in page.get("PriceList", []):
            try:
                sku = json.loads(item).get("product", {}).get("sku", "?")
            except (json.JSONDecodeError, AttributeError):
                sku = "?"
            for price in on_demand_prices(item):
                found.setdefault(_plain(price), []).append(sku)
    positive = {p: skus for p, skus in found.items() if p > 0}
    if not positive:
        detail = " (only zero prices)" if found else ""
        raise PriceProblem(f"{what}: no on-demand price in the Price List{detail}")
    if len(positive) > 1:
        listed = "; ".join(f"{p} USD/h (SKU {', '.join(sorted(set(s)))})" for p, s in sorted(positive.items()))
        raise PriceProblem(f"{what}: ambiguous, several different on-demand prices: {listed}")
    return next(iter(positive))


@dataclass(frozen=True)
class Change:
    instance_type: str
    old: InstancePrice | None
    new: InstancePrice


@dataclass(frozen=True)
class Refresh:
    """What ``refresh_prices`` wrote: the table (as written) at ``path`` and the types it repriced."""

    path: Path
    table: PriceTable
    changes: list[Change]


def refresh_prices(
    pricing,
    *,
    region: str,
    instance_types: list[str] | None,
    table_path: str | Path | None,
    rt: Runtime,
) -> Refresh:
    from emr_constructs.model.validation import instance_type_problem, region_problem

    problems = []
    if (problem := region_problem(region)) is not None:
        problems.append(f"--region {region!r}: {problem}")
    for t in instance_types or []:
        if (problem := instance_type_problem(t)) is not None:
            problems.append(f"--instance-types {t!r}: {problem}")
    if problems:
        raise Refused("; ".join(problems))
    path = Path(table_path) if table_path else PRICE_TABLE_PATH
    try:
        table = load_price_table(path)
    except PriceError as exc:
        raise Refused(f"{exc}. Pass --table PATH to a valid price table.") from None
    current = table.prices.get(region, {})
    types = sorted(set(instance_types)) if instance_types else sorted(current)
    if not types:
        raise Refused(
            f"the price table {path} has no instance types for {region}; name them with "
            f"--instance-types (e.g. --instance-types r5.xlarge m5.xlarge)."
        )
    prices: dict[str, InstancePrice] = {}
    failures = []
    for t in types:
        try:
            ec2 = fetch_price(pricing, "AmazonEC2", ec2_filters(t, region), f"{t} in {region}, AmazonEC2")
            emr = fetch_price(pricing, "ElasticMapReduce", emr_filters(t, region), f"{t} in {region}, EMR fee")
        except PriceProblem as exc:
            failures.append(str(exc))
            continue
        prices[t] = InstancePrice(ec2=ec2, emr=emr)
    if failures:
        raise OperationFailed(
            f"price refresh failed; {path} was not changed:\n  - "
            + "\n  - ".join(failures)
            + "\nCheck the instance type names and region (the Price List only has types offered there)."
        )
    new_table = table.with_prices(
        region,
        prices,
        source_key=SOURCE_KEY,
        source=SOURCE,
        retrieved=rt.now().date().isoformat(),
    )
    dump_price_table(new_table, path)
    return Refresh(path, new_table, [Change(t, current.get(t), prices[t]) for t in types])


def report(refresh: Refresh, *, region: str, rt: Runtime) -> None:
    path, table, changes = refresh.path, refresh.table, refresh.changes
    retrieved = sorted({table.price(region, c.instance_type).retrieved for c in changes})
    rt.say(f"Rewrote {path} ({region}, retrieved {', '.join(retrieved)}):")
    rows = [("TYPE", "EC2 USD/h", "EMR USD/h", "SPOT BID x0.8")]
    for c in changes:

        def cell(old, new):
            return str(new) if old is None or old == new else f"{old} -> {new}"

        rows.append(
            (
                c.instance_type,
                cell(c.old.ec2 if c.old else None, c.new.ec2),
                cell(c.old.emr if c.old else None, c.new.emr),
                bid_price(c.instance_type, region, table=table),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        rt.say("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
