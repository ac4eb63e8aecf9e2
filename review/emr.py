"""EMR views of a plan diff: clusters with their instance groups, the replacement guard,
and the estimated hourly cost (guide tips T3, T6, T8 and "bid price").

Cost model (per cluster, USD per hour, from emr_constructs.model.pricing's table for the
region of the stack's AWS provider): master and core instances at the on-demand EC2
price plus the EMR fee; task groups at their Spot bid cap (``bid_price``) plus the EMR
fee, or on-demand when they have no bid. It is an upper bound for Spot (the bid is the
maximum price) and ignores EBS, data transfer and autoscaling beyond the configured
counts. A price that cannot be found makes the cluster's figure "unknown" with the
reason; it never raises.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from review import fleets, rules
from review.plan import PlanDiff, Resolver, ResourceChange, Side, split_address

_CLUSTER_REF = re.compile(r"\$\{aws_emr_cluster\.([A-Za-z0-9_\-]+)\.id\}")


@dataclass(frozen=True)
class Group:
    """An instance group, or an instance fleet (``fleet`` set: ``instance_type`` lists the
    types with their weights, ``count`` is the target capacity in units)."""

    role: str  # master | core | task
    name: str
    instance_type: Any
    count: int
    bid_price: str | None
    fleet: fleets.FleetCapacity | None = None


def _fleet_group(role: str, name: str, capacity: fleets.FleetCapacity) -> Group:
    return Group(role, name, capacity.types_text(), capacity.units, None, capacity)


@dataclass(frozen=True)
class Cluster:
    stack: str
    address: str
    name: str
    region: str | None
    groups: tuple[Group, ...]
    protection: tuple[str, ...]  # why it is protected: prevent_destroy, termination_protection
    config: dict


def _block(config: dict, key: str) -> dict:
    value = config.get(key)
    if isinstance(value, list):
        value = value[0] if value and isinstance(value[0], dict) else {}
    return value if isinstance(value, dict) else {}


def _count(value: Any, default: int = 1) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def protection(config: dict) -> tuple[str, ...]:
    reasons = []
    if (config.get("lifecycle") or {}).get("prevent_destroy") is True:
        reasons.append("lifecycle.prevent_destroy")
    if config.get("termination_protection") is True:
        reasons.append("termination_protection")
    return tuple(reasons)


def clusters(
    side: Side, resolver: Resolver, overrides: dict[tuple[str, str], dict | None] | None = None
) -> dict[tuple[str, str], Cluster]:
    """Every aws_emr_cluster of a side with its master, core and task groups.

    ``overrides`` maps (stack, address) to a resolved config to use instead of the
    side's own (the head as applied, see ``effective_head``)."""
    overrides = overrides or {}
    out: dict[tuple[str, str], Cluster] = {}
    for stack_name, stack in side.stacks.items():
        resources = stack.resources()
        tasks: dict[str, list[Group]] = {}
        for address, raw in resources.items():
            rtype = split_address(address)[0]
            if rtype not in (rules.EMR_INSTANCE_GROUP, rules.EMR_INSTANCE_FLEET):
                continue
            m = _CLUSTER_REF.search(str(raw.get("cluster_id", "")))
            config = overrides.get((stack_name, address)) or resolver.resolve(stack_name, raw)
            owner = f"aws_emr_cluster.{m.group(1)}" if m else ""
            task_fleet = fleets.capacity(config) if rtype == rules.EMR_INSTANCE_FLEET else None
            if task_fleet is not None:
                name = str(config.get("name") or split_address(address)[1])
                tasks.setdefault(owner, []).append(_fleet_group("task", name, task_fleet))
                continue
            group = Group(
                "task",
                str(config.get("name") or split_address(address)[1]),
                config.get("instance_type"),
                _count(config.get("instance_count")),
                config.get("bid_price"),
            )
            tasks.setdefault(f"aws_emr_cluster.{m.group(1)}" if m else "", []).append(group)
        for address, raw in resources.items():
            if split_address(address)[0] != rules.EMR_CLUSTER:
                continue
            config = overrides.get((stack_name, address)) or resolver.resolve(stack_name, raw)
            groups = []
            for role in ("master", "core"):
                fleet = fleets.capacity(config.get(f"{role}_instance_fleet"))
                if fleet is not None:
                    name = str(_block(config, f"{role}_instance_fleet").get("name") or role)
                    groups.append(_fleet_group(role, name, fleet))
                    continue
                block = _block(config, f"{role}_instance_group")
                if block:
                    groups.append(
                        Group(
                            role,
                            str(block.get("name") or role),
                            block.get("instance_type"),
                            _count(block.get("instance_count")),
                            block.get("bid_price"),
                        )
                    )
            groups.extend(sorted(tasks.get(address, []), key=lambda g: g.name))
            out[(stack_name, address)] = Cluster(
                stack_name,
                address,
                str(config.get("name", split_address(address)[1])),
                stack.region(raw.get("provider")),
                tuple(groups),
                protection(config),
                config,
            )
    return out


def effective_head(plan: PlanDiff) -> dict[tuple[str, str], Cluster]:
    """Head clusters as Terraform would leave them: changes in ignore_changes not applied."""
    overrides = {
        (c.stack, c.address): c.effective_after()
        for s in plan.stacks
        for c in [*s.changes, *s.inert]  # inert: only ignored (or meta) differences
        if c.action == "changed" and any(a.ignored for a in c.attrs)
    }
    return clusters(plan.head, plan.head_resolver, overrides)


# --- replacement guard -------------------------------------------------------------


@dataclass(frozen=True)
class GuardHit:
    cluster: Cluster  # as in the base
    outcome: str  # "replaced" | "destroyed"
    causes: tuple[str, ...]  # attribute paths that replace it, or why it is destroyed
    allowed: bool
    # Why the change cannot succeed even when allowed: the protection itself stops it.
    blockers: tuple[str, ...] = ()
    # Unprotected as it runs, protected again by the replacing change itself.
    reprotected: bool = False

    @property
    def blocks(self) -> bool:
        return bool(self.blockers) or not self.allowed


PREVENT_DESTROY_BLOCKS = (
    "the code keeps `lifecycle.prevent_destroy`: `terraform plan` stops with `Error: Instance cannot be destroyed`"
)
TERMINATION_PROTECTION_BLOCKS = (
    "the running cluster has `termination_protection` on: EMR refuses to terminate it, "
    "and a replacement destroys the old cluster with its current settings, so switching "
    "protection off in the same change is too late (the provider documents that "
    "`termination_protection = false` must be applied before a destroy)"
)


# The protection a re-protecting change gives the cluster (see guard).
REPROTECTED = "lifecycle.prevent_destroy in the replacing change"


def _prevents_destroy(config: Any) -> bool:
    return isinstance(config, dict) and (config.get("lifecycle") or {}).get("prevent_destroy") is True


def protection_blockers(base_config: dict, head_config: dict | None) -> tuple[str, ...]:
    """Why Terraform cannot destroy a protected cluster whatever ``--allow-replace`` says:
    ``prevent_destroy`` is read from the code being planned (head; a resource removed
    from the code has none), termination protection from the cluster as it runs (base)."""
    out = []
    if _prevents_destroy(head_config):
        out.append(PREVENT_DESTROY_BLOCKS)
    if base_config.get("termination_protection") is True:
        out.append(TERMINATION_PROTECTION_BLOCKS)
    return tuple(out)


def guard(plan: PlanDiff, allow: set[str]) -> list[GuardHit]:
    """Protected clusters of the base that the head would replace or destroy."""
    base_clusters = clusters(plan.base, plan.base_resolver)
    changes = {(c.stack, c.moved_from or c.address): c for c in cluster_changes_of(plan)}
    hits = []
    for key, cluster in sorted(base_clusters.items()):
        change = changes.get(key)
        if change is None:
            continue
        if not cluster.protection:
            # Unprotected as it runs, but the replacing change puts `prevent_destroy` back:
            # Terraform reads it from the code being planned and refuses to destroy the old
            # cluster ("re-protect in the replacing change" cannot work).
            if change.replaced and _prevents_destroy(change.after):
                hits.append(
                    GuardHit(
                        replace(cluster, protection=(REPROTECTED,)),
                        "replaced",
                        tuple(a.path for a in change.attrs if a.replaces),
                        cluster.name in allow or cluster.address in allow,
                        (PREVENT_DESTROY_BLOCKS,),
                        reprotected=True,
                    )
                )
            continue
        causes: tuple[str, ...]
        if change.action == "removed":
            stack_gone = plan.stack(cluster.stack).status == "removed"
            outcome = "destroyed"
            causes = ("its stack is removed",) if stack_gone else ("the resource is removed from the code",)
            head_config = None
        elif change.replaced:
            outcome, causes = "replaced", tuple(a.path for a in change.attrs if a.replaces)
            head_config = change.after
        else:
            continue
        allowed = cluster.name in allow or cluster.address in allow
        hits.append(GuardHit(cluster, outcome, causes, allowed, protection_blockers(cluster.config, head_config)))
    return hits


def unprotected(plan: PlanDiff) -> list[Cluster]:
    """Clusters protected in the base whose protection the head drops (in place): after
    this change lands, the guard no longer stands between them and a replacement."""
    base_clusters = clusters(plan.base, plan.base_resolver)
    head_clusters = clusters(plan.head, plan.head_resolver)
    replaced = {(c.stack, c.address) for c in cluster_changes_of(plan) if c.replaced}
    return [
        c
        for key, c in sorted(base_clusters.items())
        if c.protection and key in head_clusters and not head_clusters[key].protection and key not in replaced
    ]


def cluster_changes_of(plan: PlanDiff) -> list[ResourceChange]:
    """Every aws_emr_cluster difference of the plan, in any stack (inert ones too: a
    script change a cluster ignores must still say so)."""
    return [c for s in plan.stacks for c in [*s.changes, *s.inert] if c.rtype == rules.EMR_CLUSTER]


def unmatched_allowances(hits: list[GuardHit], allow: set[str]) -> list[str]:
    used = {h.cluster.name for h in hits} | {h.cluster.address for h in hits}
    return sorted(allow - used)


# --- cost ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CostLine:
    group: Group
    unit: Decimal | None  # USD per instance-hour
    subtotal: Decimal | None
    basis: str  # "on-demand", "bid cap", or why it is unknown


@dataclass(frozen=True)
class Cost:
    lines: tuple[CostLine, ...]
    problems: tuple[str, ...] = field(default=())

    @property
    def total(self) -> Decimal | None:
        if self.problems or any(line.subtotal is None for line in self.lines):
            return None
        return sum((line.subtotal for line in self.lines if line.subtotal is not None), Decimal(0))

    @property
    def unknown_reasons(self) -> list[str]:
        return list(self.problems) + [
            f"{ln.group.role} `{ln.group.name}`: {ln.basis}" for ln in self.lines if ln.subtotal is None
        ]


PriceLookup = Callable[[str, str], Any]  # (region, instance_type) -> object with .ec2, .emr


def default_price_lookup() -> tuple[PriceLookup | None, str | None]:
    """The project's price table, or the reason it cannot be used."""
    try:
        from emr_constructs.model.pricing import load_price_table
    except ImportError as exc:
        return None, f"price table module not importable: {exc}"
    try:
        table = load_price_table()
    except Exception as exc:  # noqa: BLE001 -- PriceError and anything a broken table raises: reported, never raised
        return None, f"price table unreadable: {exc}"
    return table.price, None


def cost(cluster: Cluster, lookup: PriceLookup | None, lookup_problem: str | None = None) -> Cost:
    if lookup is None:
        return Cost((), (lookup_problem or "no price table",))
    if not cluster.region:
        return Cost((), ("the stack's aws provider block names no region",))
    lines = []
    for group in cluster.groups:
        if group.count == 0:
            lines.append(CostLine(group, None, Decimal(0), "0 units" if group.fleet else "0 instances"))
            continue
        if group.fleet is not None:
            total, basis = fleets.hourly_cost(group.fleet, cluster.region, lookup)
            lines.append(CostLine(group, total / group.count if total is not None else None, total, basis))
            continue
        if (
            not isinstance(group.instance_type, str)
            or group.instance_type.startswith("<")
            or "${" in group.instance_type
        ):
            lines.append(
                CostLine(group, None, None, f"instance type {group.instance_type!r} is not known before apply")
            )
            continue
        try:
            price = lookup(cluster.region, group.instance_type)
        except Exception as exc:  # noqa: BLE001 -- PriceError: no price for that type/region; shown as unknown
            lines.append(CostLine(group, None, None, str(exc)))
            continue
        if group.role == "task" and group.bid_price:
            try:
                bid = Decimal(str(group.bid_price))
            except InvalidOperation:
                lines.append(CostLine(group, None, None, f"bid_price = {group.bid_price!r} is not a number"))
                continue
            unit, basis = bid + price.emr, f"bid cap {bid} + EMR fee {price.emr}"
        else:
            unit, basis = price.ec2 + price.emr, f"on-demand {price.ec2} + EMR fee {price.emr}"
        lines.append(CostLine(group, unit, unit * group.count, basis))
    return Cost(tuple(lines))


def money(value: Decimal | None) -> str:
    if value is None:
        return "unknown"
    return f"${value.quantize(Decimal('0.001'))}/h"


def signed_money(value: Decimal) -> str:
    q = value.quantize(Decimal("0.001"))
    return f"{'+' if q > 0 else ('−' if q < 0 else '±')}${abs(q)}/h"


# --- Spot capacity of replaced task groups (guide tip T8) --------------------------------


@dataclass(frozen=True)
class GroupSwap:
    """A task group the change replaces or removes, and what that does to its capacity."""

    stack: str
    cluster: str  # cluster name
    address: str
    name: str
    kind: str  # "static" | "dynamic" | "task"
    before: Group
    after: Group | None  # None: removed
    with_cluster: bool  # the cluster itself is replaced or destroyed
    create_before_destroy: bool
    count_ignored: bool  # instance_count is in ignore_changes (a rotation or hand resize is undone)


def _kind(name: str) -> str:
    return "static" if "-static-" in name else "dynamic" if name.endswith("-dynamic") else "task"


def _task_group(config: dict, address: str) -> Group:
    return Group(
        "task",
        str(config.get("name") or split_address(address)[1]),
        config.get("instance_type"),
        _count(config.get("instance_count")),
        config.get("bid_price"),
    )


def group_swaps(plan: PlanDiff) -> list[GroupSwap]:
    """Task groups replaced or removed by the change, with their base and head capacity
    (head as Terraform builds it: a replacement takes the count from the code)."""
    base_clusters = clusters(plan.base, plan.base_resolver)
    names = {key: c.name for key, c in base_clusters.items()}
    cluster_change = {(c.stack, c.moved_from or c.address): c for c in cluster_changes_of(plan)}
    out = []
    for stack in plan.stacks:
        for change in stack.by_type(rules.EMR_INSTANCE_GROUP):
            if change.action == "added" or (change.action == "changed" and not change.replaced):
                continue
            raw_before = plan.base.stacks[stack.name].resources().get(change.moved_from or change.address, {})
            m = _CLUSTER_REF.search(str(raw_before.get("cluster_id", "")))
            cluster_key = (stack.name, f"aws_emr_cluster.{m.group(1)}") if m else None
            cc = cluster_change.get(cluster_key) if cluster_key else None
            before = _task_group(change.before or {}, change.address)
            after = _task_group(change.effective_after() or {}, change.address) if change.after else None
            head_raw = (
                plan.head.stacks[stack.name].resources().get(change.address, {})
                if stack.name in plan.head.stacks
                else {}
            )
            lifecycle = head_raw.get("lifecycle") or raw_before.get("lifecycle") or {}
            ignored = lifecycle.get("ignore_changes") or []
            out.append(
                GroupSwap(
                    stack.name,
                    names.get(cluster_key, "?") if cluster_key else "?",
                    change.address,
                    before.name,
                    _kind(before.name),
                    before,
                    after,
                    with_cluster=cc is not None and (cc.action == "removed" or cc.replaced),
                    create_before_destroy=(
                        change.terraform_actions == ("create", "delete")
                        if change.terraform_actions is not None
                        else lifecycle.get("create_before_destroy") is True and change.after is not None
                    ),
                    count_ignored=ignored == "all" or "instance_count" in ignored,
                )
            )
    return out
