"""Spot task instance groups: SpotTaskGroup and SpotTaskGroupPair (guide tips T8 and
"bid price").

T8: when a Spot group shrinks, EMR removes the instances it can drain fastest, not the
oldest, and old Spot instances are reclaimed more often. So a cluster runs two static Spot
task groups, ``task-spot-static-a`` and ``task-spot-static-b``: one active with N
instances, the other idle; the operations command renews every Spot instance by growing
the idle side and shrinking the active one to 0. An optional ``task-spot-dynamic`` group
takes ad-hoc work (N-day backfills) and is resized by hand. Each side may use its own
instance type (diversification across Spot pools).

Instance counts belong to the operations command and the operators: every group has
``lifecycle.ignore_changes = ["instance_count"]``, so a plan never undoes a rotation.

Creation and provider issue 38837: ``aws_emr_instance_group`` sends ``InstanceCount = 1``
when ``instance_count`` is 0 (the provider reads the value with ``GetOk``, which treats 0
as unset), so a group "created with 0" starts one instance. Because the count is then
ignored, Terraform would never take it back to 0 and the plan would have hidden a running
Spot instance. Decision: the idle side is declared with ``instance_count = 1``, which is
exactly what EMR launches, so the plan shows the truth and the cost; that one instance also
proves at creation that the idle side's Spot pool and bid work. The first rotation (or
``ops`` resizing the idle side to 0) removes it. For the same reason no group may be
created with fewer than 1 instance.

Bid price: on-demand price x factor (default 0.8) from the checked-in price table
(``emr_constructs.model.pricing``), rounded half-up to cents on the exact decimal product
(r5.xlarge 0.304 x 0.8 = 0.2432 -> "0.24"). An explicit ``bid_price`` string is accepted
after validation (at least 0.01, at most two decimals).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.emr_instance_group import EmrInstanceGroup, EmrInstanceGroupEbsConfig
from constructs import Construct

from emr_constructs.emr_cluster import EmrCluster
from emr_constructs.model import validation
from emr_constructs.model.contract import DYNAMIC_GROUP, IDLE_SIDE_COUNT, STATIC_A, STATIC_B
from emr_constructs.model.ebs import EbsSpec, no_throughput_block_problems
from emr_constructs.model.errors import EmrConfigError
from emr_constructs.model.pricing import DEFAULT_BID_FACTOR, Bid, PriceError, PriceTable, check_bid_price, spot_bid

DYNAMIC = DYNAMIC_GROUP
SIDES = {"a": STATIC_A, "b": STATIC_B}
_GROUP_NAME = re.compile(r"^task-[a-z0-9]+(-[a-z0-9]+)*$", re.ASCII)


@dataclass(frozen=True)
class SpotGroupSpec:
    """One Spot task group's hardware: ``instance_type`` (required), ``ebs`` (default gp3
    64 GiB, 3000 IOPS, 125 MiB/s; gp3 throughput must stay 125 because
    aws_emr_instance_group has no throughput argument), ``bid_price`` (default: computed
    from the price table)."""

    instance_type: str
    ebs: EbsSpec = EbsSpec()
    bid_price: str | None = None


def _group_problems(where: str, spec: SpotGroupSpec, count, region: str, factor, table) -> tuple[list[str], Bid | None]:
    p: list[str] = []
    bid = None
    if not isinstance(spec, SpotGroupSpec):
        return [f"{where} = {spec!r}: expected a SpotGroupSpec"], None
    type_problem = validation.instance_type_problem(spec.instance_type)
    if type_problem:
        p.append(f"{where}.instance_type = {spec.instance_type!r}: {type_problem}")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        p.append(
            f"{where} instance_count = {count!r}: at least 1 at creation. The provider launches one "
            "instance for a group created with 0 (provider issue 38837) and the count is then ignored, so "
            "0 would hide a running instance; shrink to 0 afterwards with the ops command"
        )
    p.extend(no_throughput_block_problems(spec.ebs, f"{where}.ebs", "aws_emr_instance_group"))
    if spec.bid_price is not None:
        problem = check_bid_price(spec.bid_price)
        if problem:
            p.append(f"{where}.{problem}")
        else:
            bid = Bid(instance_type=spec.instance_type, region=region, price=spec.bid_price, priced_region=region)
    elif not p:
        try:
            bid = spot_bid(spec.instance_type, region, factor=factor, table=table)
        except PriceError as exc:
            p.append(f"{where}: {exc}")
    return p, bid


class SpotTaskGroup(Construct):
    """One Spot task instance group on an EmrCluster, with ``ignore_changes`` on its count.

    Inputs (keyword-only):
      cluster: the EmrCluster (required).
      group_name: the instance group's name, ``task-...`` (required; also the construct id
        and part of the address ``aws_emr_instance_group.<cluster>_<group_name>``).
      spec: SpotGroupSpec (required).
      instance_count: count at creation, at least 1 (default 1); ignored afterwards.
      region: region whose on-demand price is used for the bid (required).
      bid_factor: share of the on-demand price, in (0, 1] (default 0.8).
      price_table: PriceTable (default: the checked-in table).

    Attributes: ``group_name``, ``group_id`` (token), ``bid_price``, ``instance_type``,
    ``resource``.
    """

    def __init__(
        self,
        scope: Construct,
        *,
        cluster: EmrCluster,
        group_name: str,
        spec: SpotGroupSpec,
        region: str,
        instance_count: int = 1,
        bid_factor: Decimal | str | float = DEFAULT_BID_FACTOR,
        price_table: PriceTable | None = None,
    ) -> None:
        problems, bid = _group_problems(group_name, spec, instance_count, region, bid_factor, price_table)
        if not isinstance(group_name, str) or not _GROUP_NAME.fullmatch(group_name):
            problems.insert(
                0, f"group_name = {group_name!r}: 'task-' followed by lower-case words joined by '-', e.g. {STATIC_A!r}"
            )
        if problems:
            raise EmrConfigError(f"SpotTaskGroup {cluster.name}/{group_name}", problems)
        assert bid is not None, "_group_problems gives a bid whenever it finds no problem"
        cluster.register_task_group(group_name)
        super().__init__(scope, group_name)
        self.group_name = group_name
        self.instance_type = spec.instance_type
        self.bid_price = bid.price
        # True when the region has no price in the table and the reference region's was used.
        self.bid_fallback: Bid | None = bid if bid.fallback else None
        ebs = spec.ebs.terraform()
        ebs.pop("throughput", None)
        self.resource = EmrInstanceGroup(
            self,
            "group",
            cluster_id=cluster.cluster_id,
            name=group_name,
            instance_type=spec.instance_type,
            instance_count=instance_count,
            bid_price=bid.price,
            ebs_config=[EmrInstanceGroupEbsConfig(**ebs)],
            lifecycle=TerraformResourceLifecycle(ignore_changes=["instance_count"]),
        )
        self.resource.override_logical_id(f"{cluster.name}_{group_name}")
        cluster.task_groups[group_name] = self.resource
        self.group_id: str = self.resource.id


class SpotTaskGroupPair(Construct):
    """Static Spot task groups A and B (one active, one idle) plus an optional dynamic
    group (guide tip T8).

    Inputs (keyword-only):
      cluster: the EmrCluster (required).
      region: region for bid prices (required).
      static_a, static_b: SpotGroupSpec per side (required; types may differ).
      active: ``"a"`` or ``"b"``, the side that starts with ``active_count`` (default "a").
      active_count: instances on the active side at creation, at least 1 (required).
      dynamic: SpotGroupSpec for ``task-spot-dynamic`` (default None: no dynamic group).
      dynamic_count: its count at creation, at least 1 (default 1).
      bid_factor: share of on-demand, (0, 1] (default 0.8).
      price_table: PriceTable (default: the checked-in table).

    The idle side is created with 1 instance (see the module docstring).

    Attributes: ``static_a``, ``static_b``, ``dynamic`` (SpotTaskGroup or None),
    ``groups`` (name -> SpotTaskGroup), ``active``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster: EmrCluster,
        region: str,
        static_a: SpotGroupSpec,
        static_b: SpotGroupSpec,
        active_count: int,
        active: str = "a",
        dynamic: SpotGroupSpec | None = None,
        dynamic_count: int = 1,
        bid_factor: Decimal | str | float = DEFAULT_BID_FACTOR,
        price_table: PriceTable | None = None,
    ) -> None:
        problems: list[str] = []
        if not isinstance(active, str) or active not in SIDES:
            problems.append(f"active = {active!r}: 'a' or 'b', the side that starts with active_count instances")
        specs = {"a": static_a, "b": static_b}
        plan = [
            (group, specs[side], active_count if side == active else IDLE_SIDE_COUNT) for side, group in SIDES.items()
        ]
        if dynamic is not None:
            plan.append((DYNAMIC, dynamic, dynamic_count))
        for name, spec, count in plan:
            problems.extend(_group_problems(name, spec, count, region, bid_factor, price_table)[0])
        if problems:
            raise EmrConfigError(f"SpotTaskGroupPair {cluster.name}/{id}", problems)
        super().__init__(scope, id)
        self.active = active
        self.groups: dict[str, SpotTaskGroup] = {
            name: SpotTaskGroup(
                self,
                cluster=cluster,
                group_name=name,
                spec=spec,
                region=region,
                instance_count=count,
                bid_factor=bid_factor,
                price_table=price_table,
            )
            for name, spec, count in plan
        }
        self.static_a = self.groups[STATIC_A]
        self.static_b = self.groups[STATIC_B]
        self.dynamic = self.groups.get(DYNAMIC)
