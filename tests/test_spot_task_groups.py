"""SpotTaskGroupPair and SpotTaskGroup (tip T8) and Spot bid prices."""

from __future__ import annotations

from decimal import Decimal

import pytest

from emr_constructs.model.cluster_spec import ClusterSpec, InstanceGroupSpec
from emr_constructs.model.ebs import EbsSpec
from emr_constructs.model.errors import EmrConfigError
from emr_constructs.model.pricing import load_price_table

REGION = "ap-northeast-2"
CLUSTER = "spark-batch-spot-01"


def base_spec() -> ClusterSpec:
    return ClusterSpec(
        name=CLUSTER,
        release_label="emr-7.5.0",
        applications=("Hadoop", "Spark"),
        master=InstanceGroupSpec("m5.xlarge"),
        core=InstanceGroupSpec("r5.xlarge", instance_count=2),
    )


@pytest.fixture(scope="module")
def build(synth_stack, settings):
    """Synthesize a spark-batch stack whose only cluster gets the task groups ``attach``
    adds; return its aws_emr_instance_group resources."""
    from stacks.clusters import declared
    from stacks.purpose import PurposeStack

    def _build(attach):
        def define(stack):
            cluster = stack.add_cluster(base_spec())
            attach(cluster, stack)

        doc = synth_stack(lambda app: PurposeStack(app, declared("spark-batch"), settings=settings, clusters=(define,)))
        return doc["resource"].get("aws_emr_instance_group", {})

    return _build


def refusal(settings, attach) -> str:
    from cdktf import Testing

    from stacks.clusters import declared
    from stacks.purpose import PurposeStack

    def define(stack):
        attach(stack.add_cluster(base_spec()), stack)

    with pytest.raises(EmrConfigError) as exc:
        PurposeStack(Testing.app(), declared("spark-batch"), settings=settings, clusters=(define,))
    return str(exc.value)


def pair(cluster, stack, **kw):
    from emr_constructs.spot_task_groups import SpotGroupSpec, SpotTaskGroupPair

    args = dict(
        cluster=cluster,
        region=REGION,
        static_a=SpotGroupSpec("r5.2xlarge"),
        static_b=SpotGroupSpec("m5.4xlarge"),
        active_count=6,
    )
    args.update(kw)
    return SpotTaskGroupPair(cluster, "spot-task-groups", **args)


def test_pair_creates_static_a_and_b_named_by_the_ops_contract(build):
    from emr_constructs.spot_task_groups import STATIC_A, STATIC_B

    groups = build(pair)
    assert sorted(groups) == [f"{CLUSTER}_{STATIC_A}", f"{CLUSTER}_{STATIC_B}"]
    for name in (STATIC_A, STATIC_B):
        group = groups[f"{CLUSTER}_{name}"]
        assert group["name"] == name
        assert group["cluster_id"] == f"${{aws_emr_cluster.{CLUSTER}.id}}"


def test_active_side_gets_the_count_and_idle_side_is_created_with_one(build):
    from emr_constructs.spot_task_groups import STATIC_A, STATIC_B

    groups = build(lambda c, s: pair(c, s, active="b", active_count=5))
    assert groups[f"{CLUSTER}_{STATIC_B}"]["instance_count"] == 5
    # Provider issue 38837: a group created with 0 launches 1 anyway; say so in the plan.
    assert groups[f"{CLUSTER}_{STATIC_A}"]["instance_count"] == 1


def test_instance_counts_are_ignored_on_all_three_groups(build):
    from emr_constructs.spot_task_groups import DYNAMIC, SpotGroupSpec

    groups = build(lambda c, s: pair(c, s, dynamic=SpotGroupSpec("r5.xlarge"), dynamic_count=2))
    assert len(groups) == 3 and groups[f"{CLUSTER}_{DYNAMIC}"]["instance_count"] == 2
    for group in groups.values():
        assert group["lifecycle"] == {"ignore_changes": ["instance_count"]}


def test_each_side_has_its_own_instance_type_and_bid(build):
    from emr_constructs.spot_task_groups import STATIC_A, STATIC_B

    groups = build(pair)
    table = load_price_table()
    for name, itype in ((STATIC_A, "r5.2xlarge"), (STATIC_B, "m5.4xlarge")):
        group = groups[f"{CLUSTER}_{name}"]
        on_demand = table.price(REGION, itype).ec2
        assert group["instance_type"] == itype
        assert Decimal(group["bid_price"]) == (on_demand * Decimal("0.8")).quantize(Decimal("0.01"))


@pytest.mark.parametrize(
    "itype,factor,expected",
    [
        ("r5.xlarge", "0.8", "0.24"),  # the guide's example: 0.304 x 0.8 = 0.2432
        ("m5.xlarge", "0.8", "0.19"),  # 0.236 x 0.8 = 0.1888
        ("c5.2xlarge", "0.8", "0.31"),  # 0.384 x 0.8 = 0.3072
        ("r5.4xlarge", "0.8", "0.97"),  # 1.216 x 0.8 = 0.9728
        ("m5.2xlarge", "0.5", "0.24"),  # 0.472 x 0.5 = 0.236
        ("r5.xlarge", "1", "0.30"),  # 0.304 x 1 = 0.304: at most the on-demand price
    ],
)
def test_bid_price_table(build, itype, factor, expected):
    from emr_constructs.spot_task_groups import DYNAMIC, SpotGroupSpec, SpotTaskGroup

    groups = build(
        lambda c, s: SpotTaskGroup(
            c, cluster=c, group_name=DYNAMIC, region=REGION, spec=SpotGroupSpec(itype), bid_factor=factor
        )
    )
    assert groups[f"{CLUSTER}_{DYNAMIC}"]["bid_price"] == expected


def test_explicit_bid_price_is_used_as_given(build):
    from emr_constructs.spot_task_groups import STATIC_B, SpotGroupSpec

    groups = build(lambda c, s: pair(c, s, static_b=SpotGroupSpec("m5.4xlarge", bid_price="0.50")))
    assert groups[f"{CLUSTER}_{STATIC_B}"]["bid_price"] == "0.50"


def test_unpriced_instance_type_names_how_to_add_the_price(settings):
    from emr_constructs.spot_task_groups import SpotGroupSpec

    message = refusal(settings, lambda c, s: pair(c, s, static_a=SpotGroupSpec("r6g.xlarge")))
    assert "r6g.xlarge" in message and "prices refresh" in message and "bid_price" in message


def test_made_up_instance_type_is_refused_as_unknown_not_unpriced(settings):
    from emr_constructs.spot_task_groups import SpotGroupSpec

    message = refusal(settings, lambda c, s: pair(c, s, static_a=SpotGroupSpec("x9.huge")))
    assert "instance_type = 'x9.huge': not a known EC2 instance type" in message
    assert "prices refresh" not in message


@pytest.mark.parametrize("bid", ["0.001", "0.005", "abc", "0.123"])
def test_invalid_explicit_bid_is_refused(settings, bid):
    from emr_constructs.spot_task_groups import SpotGroupSpec

    message = refusal(settings, lambda c, s: pair(c, s, static_a=SpotGroupSpec("r5.xlarge", bid_price=bid)))
    assert f"bid_price = {bid!r}" in message


@pytest.mark.parametrize("factor", ["0", "-0.1", "1.01"])
def test_bid_factor_outside_zero_to_one_is_refused(settings, factor):
    message = refusal(settings, lambda c, s: pair(c, s, bid_factor=factor))
    assert f"bid factor = {factor!r}" in message


def test_group_created_with_zero_instances_is_refused_with_the_reason(settings):
    message = refusal(settings, lambda c, s: pair(c, s, active_count=0))
    assert "instance_count = 0" in message and "38837" in message


def test_unknown_active_side_is_refused(settings):
    assert "active = 'c'" in refusal(settings, lambda c, s: pair(c, s, active="c"))


def test_gp3_throughput_on_a_task_group_is_refused(settings):
    from emr_constructs.spot_task_groups import SpotGroupSpec

    message = refusal(
        settings,
        lambda c, s: pair(c, s, static_a=SpotGroupSpec("r5.xlarge", ebs=EbsSpec.gp3(200, iops=4000, throughput=500))),
    )
    assert "no throughput argument" in message


def test_two_groups_of_the_same_name_on_one_cluster_are_refused(settings):
    from emr_constructs.spot_task_groups import DYNAMIC, SpotGroupSpec, SpotTaskGroup

    def twice(cluster, stack):
        for _ in range(2):
            SpotTaskGroup(stack, cluster=cluster, group_name=DYNAMIC, region=REGION, spec=SpotGroupSpec("r5.xlarge"))

    assert "already used on this cluster" in refusal(settings, twice)


def test_production_batch_cluster_runs_the_pair_and_operation_cluster_a_dynamic_group(synth):
    groups = synth.resources("spark-batch", "aws_emr_instance_group")
    assert sorted(groups) == [
        "spark-batch-operation-01_task-spot-dynamic",
        "spark-batch-production-01_task-spot-static-a",
        "spark-batch-production-01_task-spot-static-b",
    ]
    assert groups["spark-batch-production-01_task-spot-static-a"]["instance_count"] == 6
    assert groups["spark-batch-production-01_task-spot-static-b"]["instance_count"] == 1
    assert not synth.resources("spark-stream", "aws_emr_instance_group")
