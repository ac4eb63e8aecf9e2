"""The review knows instance fleets: which fleet changes replace the cluster or the task
fleet and which resize in place, capacity in units with its cost, and the guard for
protected clusters. Each case edits the example's synthesized spark-batch stack (its
fleet cluster spark-batch-flex-01) the way a pull request would, and reviews it.

Terraform's own plan judges the same edits in tests/terraform/review_truth.py."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from review import emr
from review.plan import diff, side_from_docs
from review.report import render

STACK = "spark-batch"
FLEX = "spark-batch-flex-01"
TASK = f"aws_emr_instance_fleet.{FLEX}_task"


@pytest.fixture(scope="module")
def base(synth):
    return synth[STACK]


def review(base, edit, allow=()):
    head = copy.deepcopy(base)
    edit(head["resource"])
    plan = diff(side_from_docs("base", {STACK: base}), side_from_docs("head", {STACK: head}))
    return plan, render(plan, allow=set(allow)).markdown


def change(plan, address):
    return next(c for s in plan.stacks for c in s.changes if c.address == address)


def test_a_task_fleet_target_capacity_is_resized_in_place(base):
    def edit(r):
        r["aws_emr_instance_fleet"][f"{FLEX}_task"]["target_spot_capacity"] = 40

    plan, report = review(base, edit)
    c = change(plan, TASK)
    assert c.action == "changed" and not c.replaced
    assert "#### fleet `task`" in report and "in place" in report
    assert "| `spark-batch-flex-01` | task `task` |" in report
    assert "24 units → **40 units**" in report


def test_a_type_added_to_the_task_fleet_replaces_the_fleet_not_the_cluster(base):
    def edit(r):
        configs = r["aws_emr_instance_fleet"][f"{FLEX}_task"]["instance_type_configs"]
        configs.append({**configs[0], "instance_type": "c5.2xlarge", "bid_price": "0.30", "weighted_capacity": 1})

    plan, report = review(base, edit)
    assert change(plan, TASK).replaced
    assert all(c.address != f"aws_emr_cluster.{FLEX}" for s in plan.stacks for c in s.changes)
    assert "**replaces the fleet**" in report
    assert "Replacing a fleet resizes the old one to 0 and adds a new one." in report


def test_any_change_to_the_core_fleet_replaces_the_cluster(base):
    """Every argument of core_instance_fleet is ForceNew in the provider, the allocation
    strategy and the target capacities included."""

    def strategy(r):
        spot = r["aws_emr_cluster"][FLEX]["core_instance_fleet"]["launch_specifications"]["spot_specification"]
        spot[0]["allocation_strategy"] = "capacity-optimized"

    def capacity(r):
        r["aws_emr_cluster"][FLEX]["core_instance_fleet"]["target_on_demand_capacity"] = 12

    for edit, path in (
        (strategy, "core_instance_fleet.launch_specifications.spot_specification.allocation_strategy"),
        (capacity, "core_instance_fleet.target_on_demand_capacity"),
    ):
        plan, report = review(base, edit)
        c = change(plan, f"aws_emr_cluster.{FLEX}")
        assert c.replaced, path
        assert any(a.path.startswith(path.rsplit(".", 1)[0]) and a.replaces for a in c.attrs), [a.path for a in c.attrs]
        assert "**replaces the cluster**" in report


def test_the_guard_stops_a_fleet_change_that_replaces_a_protected_cluster(base):
    protected = copy.deepcopy(base)
    cluster = protected["resource"]["aws_emr_cluster"][FLEX]
    cluster["termination_protection"] = True
    cluster["lifecycle"]["prevent_destroy"] = True

    def edit(r):
        r["aws_emr_cluster"][FLEX]["master_instance_fleet"]["instance_type_configs"][0]["instance_type"] = "m5.2xlarge"

    plan, _ = review(protected, edit)
    (hit,) = emr.guard(plan, set())
    assert hit.cluster.name == FLEX and hit.outcome == "replaced" and hit.blocks
    assert any(cause.startswith("master_instance_fleet") for cause in hit.causes)


def test_fleet_capacity_is_priced_per_unit_at_the_dearest_type(base):
    from emr_constructs.model.pricing import load_price_table

    table = load_price_table()
    side = side_from_docs("base", {STACK: base})
    from review.plan import Resolver

    cluster = emr.clusters(side, Resolver(side))[(STACK, f"aws_emr_cluster.{FLEX}")]
    roles = {(g.role, g.name): g for g in cluster.groups}
    assert set(roles) == {("master", "master"), ("core", "core"), ("task", "task")}
    task = roles[("task", "task")]
    assert (task.count, task.fleet.spot_units, task.fleet.on_demand_units) == (24, 24, 0)
    cost = emr.cost(cluster, table.price)
    line = next(ln for ln in cost.lines if ln.group is task)
    region = cluster.region
    per_unit = max((Decimal(bid) + table.price(region, t).emr) / w for t, w, bid in task.fleet.types if bid is not None)
    assert line.subtotal == per_unit * 24
    core = next(ln for ln in cost.lines if ln.group.role == "core")
    core_unit = max((table.price(region, t).ec2 + table.price(region, t).emr) / w for t, w, _ in core.group.fleet.types)
    assert core.subtotal == core_unit * 8
    assert cost.total is not None and cost.total > 0
