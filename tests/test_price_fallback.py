"""First run in a region without prices: bids from the reference region, reported.

The shipped price table holds only prices that were read (ap-northeast-2, us-east-1); a new
environment in any other commercial region must still synthesize, with each Spot bid taken
from us-east-1 and every such bid named in a note with the refresh command.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from emr_constructs.model import catalog
from emr_constructs.model.pricing import (
    REFERENCE_REGION,
    PriceError,
    load_price_table,
    spot_bid,
)
from environments.settings import ENVIRONMENTS_DIR, parse_settings

TABLE = load_price_table()


def test_every_commercial_region_can_bid_for_every_reference_type():
    for region in catalog.commercial_regions():
        for itype in TABLE.prices[REFERENCE_REGION]:
            bid = spot_bid(itype, region)
            own = TABLE.has_price(region, itype)
            assert bid.fallback is not own
            priced = region if own else REFERENCE_REGION
            expected = (TABLE.price(priced, itype).ec2 * Decimal("0.8")).quantize(Decimal("0.01"))
            assert Decimal(bid.price) == max(expected, Decimal("0.01"))


def test_a_priced_region_never_uses_the_fallback():
    bid = spot_bid("r5.xlarge", "ap-northeast-2")
    assert (bid.price, bid.fallback) == ("0.24", False)


@pytest.mark.parametrize("region", ["cn-north-1", "us-gov-west-1"])
def test_other_partitions_get_no_fallback_and_are_told_to_refresh(region):
    with pytest.raises(PriceError, match=f"prices refresh --region {region}"):
        spot_bid("r5.xlarge", region)


def test_a_type_priced_nowhere_names_the_refresh_not_a_fallback():
    with pytest.raises(PriceError, match="prices refresh --region eu-west-1 --instance-types r6g.xlarge"):
        spot_bid("r6g.xlarge", "eu-west-1")


def test_first_synth_in_an_unpriced_region_works_and_reports_each_fallback(tmp_path):
    import tomllib

    from stacks.app import build_app, price_fallback_notes

    text = (ENVIRONMENTS_DIR / "example.toml").read_text().replace("ap-northeast-2", "eu-west-1")
    settings = parse_settings(tomllib.loads(text), "eu-west-1.toml")
    app = build_app(settings, outdir=str(tmp_path))
    notes = price_fallback_notes(app)
    app.synth()
    doc = json.loads((tmp_path / "stacks" / "spark-batch" / settings.name / "cdk.tf.json").read_text())
    assert doc["provider"]["aws"][0]["region"] == "eu-west-1"
    groups = doc["resource"]["aws_emr_instance_group"]
    assert groups, "the spark-batch stack has Spot task groups"
    for name, group in groups.items():
        reference = TABLE.price(REFERENCE_REGION, group["instance_type"]).ec2
        factor = Decimal("0.9") if name.endswith("task-spot-dynamic") else Decimal("0.8")
        assert Decimal(group["bid_price"]) == (reference * factor).quantize(Decimal("0.01")), name
        assert any(
            f"bid_price {group['bid_price']} from the us-east-1 on-demand price of {group['instance_type']}" in n
            for n in notes
        ), notes
    assert "python -m ops prices refresh --region eu-west-1 --instance-types m5.4xlarge r5.2xlarge" in notes[-1]


def test_the_plan_review_flags_costs_of_an_unpriced_region_with_the_refresh_command():
    from review.emr import Cluster, Group, cost, default_price_lookup

    lookup, problem = default_price_lookup()
    cluster = Cluster(
        stack="spark-batch",
        address="aws_emr_cluster.x",
        name="x",
        region="eu-west-1",
        groups=(
            Group("master", "master", "m5.xlarge", 1, None),
            Group("task", "task-spot-dynamic", "r5.2xlarge", 1, "0.45"),
        ),
        protection=(),
        config={},
    )
    result = cost(cluster, lookup, problem)
    assert result.total is None
    reasons = " ".join(result.unknown_reasons)
    assert "in region = 'eu-west-1'" in reasons and "prices refresh --region eu-west-1" in reasons
