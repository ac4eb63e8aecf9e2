"""``prices refresh`` through botocore's Stubber (moto has no Price List API).

The stubbed GetProducts responses have the real shape: ``PriceList`` is a list of JSON
*strings*, each a whole product document (product attributes, OnDemand and Reserved
terms, price dimensions with ``pricePerUnit.USD`` as a 10-decimal string), as the Price
List API returns them. Stubber checks every request against the expected parameters
(service code, filters, pagination token) and every response against the API model.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from botocore.stub import Stubber

from emr_constructs.model.pricing import PRICE_TABLE_PATH, bid_price, load_price_table
from ops.cli import main
from ops.errors import EXIT_ACCESS, EXIT_FAILED, EXIT_OK, EXIT_REFUSED
from ops.prices import ec2_filters, emr_filters
from ops.runtime import Runtime

REGION = "ap-northeast-2"
TODAY = datetime(2026, 12, 1, 8, 30, tzinfo=timezone.utc)
USAGE_PREFIX = {"ap-northeast-2": "APN2-", "us-east-1": ""}
LOCATION = {"ap-northeast-2": "Asia Pacific (Seoul)", "us-east-1": "US East (N. Virginia)"}


def _sku(*parts: str) -> str:
    return hashlib.sha1("/".join(parts).encode()).hexdigest()[:16].upper()


def _dimension(sku: str, term: str, usd: str, description: str) -> dict:
    rate = f"{sku}.{term}.6YS6EN2CT7"
    return {
        rate: {
            "unit": "Hrs",
            "endRange": "Inf",
            "description": description,
            "appliesTo": [],
            "rateCode": rate,
            "beginRange": "0",
            "pricePerUnit": {"USD": f"{Decimal(usd):.10f}"},
        }
    }


def ec2_item(instance_type: str, region: str, usd: str, *, variant: str = "") -> str:
    """One AmazonEC2 PriceList entry as the API returns it: a JSON string."""
    sku = _sku("ec2", instance_type, region, variant)
    doc = {
        "product": {
            "productFamily": "Compute Instance",
            "attributes": {
                "capacitystatus": "Used",
                "currentGeneration": "Yes",
                "instanceFamily": "Memory optimized",
                "instanceType": instance_type,
                "licenseModel": "No License required",
                "location": LOCATION[region],
                "locationType": "AWS Region",
                "marketoption": "OnDemand",
                "operatingSystem": "Linux",
                "operation": "RunInstances",
                "preInstalledSw": "NA",
                "processorArchitecture": "64-bit",
                "regionCode": region,
                "servicecode": "AmazonEC2",
                "servicename": "Amazon Elastic Compute Cloud",
                "tenancy": "Shared",
                "usagetype": f"{USAGE_PREFIX[region]}BoxUsage:{instance_type}",
                "vcpu": "4",
            },
            "sku": sku,
        },
        "serviceCode": "AmazonEC2",
        "terms": {
            "OnDemand": {
                f"{sku}.JRTCKXETXF": {
                    "priceDimensions": _dimension(
                        sku, "JRTCKXETXF", usd, f"${Decimal(usd)} per On Demand Linux {instance_type} Instance Hour"
                    ),
                    "sku": sku,
                    "effectiveDate": "2026-11-01T00:00:00Z",
                    "offerTermCode": "JRTCKXETXF",
                    "termAttributes": {},
                }
            },
            # A reserved price must never be taken for the on-demand one.
            "Reserved": {
                f"{sku}.4NA7Y494T4": {
                    "priceDimensions": _dimension(
                        sku,
                        "4NA7Y494T4",
                        str(Decimal(usd) * Decimal("0.62")),
                        f"Linux/UNIX (Amazon VPC), {instance_type} reserved instance applied",
                    ),
                    "sku": sku,
                    "effectiveDate": "2026-11-01T00:00:00Z",
                    "offerTermCode": "4NA7Y494T4",
                    "termAttributes": {
                        "LeaseContractLength": "1yr",
                        "OfferingClass": "standard",
                        "PurchaseOption": "No Upfront",
                    },
                }
            },
        },
        "version": "20261120150000",
        "publicationDate": "2026-11-20T15:00:00Z",
    }
    return json.dumps(doc)


def emr_item(instance_type: str, region: str, usd: str) -> str:
    """One ElasticMapReduce PriceList entry (the EMR fee) as a JSON string."""
    sku = _sku("emr", instance_type, region)
    doc = {
        "product": {
            "productFamily": "Elastic Map Reduce Instance",
            "attributes": {
                "instanceFamily": "Memory optimized",
                "instanceType": instance_type,
                "location": LOCATION[region],
                "locationType": "AWS Region",
                "operation": "",
                "regionCode": region,
                "servicecode": "ElasticMapReduce",
                "servicename": "Amazon EMR",
                "softwareType": "EMR",
                "usagetype": f"{USAGE_PREFIX[region]}BoxUsage:{instance_type}",
            },
            "sku": sku,
        },
        "serviceCode": "ElasticMapReduce",
        "terms": {
            "OnDemand": {
                f"{sku}.JRTCKXETXF": {
                    "priceDimensions": _dimension(
                        sku, "JRTCKXETXF", usd, f"${Decimal(usd)} per hour for EMR {instance_type}"
                    ),
                    "sku": sku,
                    "effectiveDate": "2026-11-01T00:00:00Z",
                    "offerTermCode": "JRTCKXETXF",
                    "termAttributes": {},
                }
            }
        },
        "version": "20261120150000",
        "publicationDate": "2026-11-20T15:00:00Z",
    }
    return json.dumps(doc)


class Prices:
    def __init__(self, tmp_path: Path):
        self.client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
        self.stub = Stubber(self.client)
        self.table = tmp_path / "on_demand_prices.json"
        shutil.copyfile(PRICE_TABLE_PATH, self.table)

    def expect(self, service: str, filters, pages: list[list[str]]):
        for n, items in enumerate(pages):
            params = {"ServiceCode": service, "Filters": filters, "FormatVersion": "aws_v1"}
            if n:
                params["NextToken"] = f"token-{n}"
            response = {"FormatVersion": "aws_v1", "PriceList": items}
            if n < len(pages) - 1:
                response["NextToken"] = f"token-{n + 1}"
            self.stub.add_response("get_products", response, params)

    def expect_type(self, instance_type: str, ec2_usd: str, emr_usd: str, region: str = REGION):
        self.expect("AmazonEC2", ec2_filters(instance_type, region), [[ec2_item(instance_type, region, ec2_usd)]])
        self.expect(
            "ElasticMapReduce", emr_filters(instance_type, region), [[emr_item(instance_type, region, emr_usd)]]
        )

    def run(self, *argv: str):
        out, err = io.StringIO(), io.StringIO()
        with self.stub:
            code = main(
                ["prices", "refresh", *argv, "--table", str(self.table)],
                clients=SimpleNamespace(pricing=self.client, emr=None, ec2=None),
                runtime=Runtime(now=lambda: TODAY, out=out),
                err=err,
            )
        return code, out.getvalue(), err.getvalue()


@pytest.fixture
def prices(tmp_path) -> Prices:
    return Prices(tmp_path)


def expected_bid(on_demand: str, factor: str = "0.8") -> str:
    return str((Decimal(on_demand) * Decimal(factor)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def test_refreshed_price_round_trips_into_the_bid_price(prices):
    prices.expect_type("r5.xlarge", "0.3375", "0.067")
    code, _, err = prices.run("--region", REGION, "--instance-types", "r5.xlarge")
    assert code == EXIT_OK, err
    table = load_price_table(prices.table)
    assert bid_price("r5.xlarge", REGION, table=table) == expected_bid("0.3375")
    assert table.price(REGION, "r5.xlarge").emr == Decimal("0.067")
    prices.stub.assert_no_pending_responses()


def test_refresh_records_source_and_date(prices):
    prices.expect_type("r5.xlarge", "0.304", "0.063")
    prices.run("--region", REGION, "--instance-types", "r5.xlarge")
    raw = json.loads(prices.table.read_text())
    entry = raw["prices"][REGION]["r5.xlarge"]
    assert entry["retrieved"] == "2026-12-01" and entry["source"] == "price-list-api"
    assert raw["sources"]["price-list-api"].startswith("AWS Price List API (pricing:GetProducts)")


def test_refresh_of_one_type_keeps_the_others_source_and_date(prices):
    before = json.loads(prices.table.read_text())
    prices.expect_type("r5.xlarge", "0.304", "0.063")
    prices.run("--region", REGION, "--instance-types", "r5.xlarge")
    after = json.loads(prices.table.read_text())
    untouched = [(r, t) for r, types in before["prices"].items() for t in types if (r, t) != (REGION, "r5.xlarge")]
    assert untouched
    for region, itype in untouched:
        assert after["prices"][region][itype] == before["prices"][region][itype]
    # Sources still used by some price stay described.
    assert set(after["sources"]) == {e["source"] for types in after["prices"].values() for e in types.values()}


def test_prices_are_stored_as_plain_decimals(prices):
    prices.expect_type("r5.xlarge", "10", "0.063")  # the API sends "10.0000000000"
    prices.run("--region", REGION, "--instance-types", "r5.xlarge")
    entry = json.loads(prices.table.read_text())["prices"][REGION]["r5.xlarge"]
    assert (entry["ec2"], entry["emr"]) == ("10", "0.063")


def test_default_instance_types_are_those_already_in_the_table_for_the_region(prices):
    before = load_price_table(prices.table)
    types = sorted(before.prices[REGION])
    new = {t: str(before.price(REGION, t).ec2 + Decimal("0.001")) for t in types}
    for t in types:
        prices.expect_type(t, new[t], str(before.price(REGION, t).emr))
    code, _, err = prices.run("--region", REGION)
    assert code == EXIT_OK, err
    after = load_price_table(prices.table)
    assert {t: str(after.price(REGION, t).ec2) for t in types} == new
    assert after.prices["us-east-1"] == before.prices["us-east-1"]


def test_new_instance_type_is_added(prices):
    prices.expect_type("r6g.xlarge", "0.2438", "0.061")
    prices.run("--region", REGION, "--instance-types", "r6g.xlarge")
    table = load_price_table(prices.table)
    assert bid_price("r6g.xlarge", REGION, table=table) == expected_bid("0.2438")
    assert "r5.xlarge" in table.prices[REGION]


def test_every_page_is_read(prices):
    prices.expect("AmazonEC2", ec2_filters("r5.xlarge", REGION), [[], [], [ec2_item("r5.xlarge", REGION, "0.31")]])
    prices.expect("ElasticMapReduce", emr_filters("r5.xlarge", REGION), [[emr_item("r5.xlarge", REGION, "0.063")]])
    code, _, err = prices.run("--region", REGION, "--instance-types", "r5.xlarge")
    assert code == EXIT_OK, err
    assert load_price_table(prices.table).price(REGION, "r5.xlarge").ec2 == Decimal("0.31")
    prices.stub.assert_no_pending_responses()


def test_report_shows_old_and_new_prices_and_the_bid(prices):
    prices.expect_type("r5.xlarge", "0.3375", "0.063")
    _, out, _ = prices.run("--region", REGION, "--instance-types", "r5.xlarge")
    line = next(line for line in out.splitlines() if line.strip().startswith("r5.xlarge"))
    assert line.split() == ["r5.xlarge", "0.304", "->", "0.3375", "0.063", expected_bid("0.3375")]


# --- failures leave the table byte-identical -----------------------------------------


def test_ambiguous_prices_fail_and_leave_the_table_untouched(prices):
    before = prices.table.read_bytes()
    items = [ec2_item("r5.xlarge", REGION, "0.304"), ec2_item("r5.xlarge", REGION, "0.333", variant="other")]
    prices.expect("AmazonEC2", ec2_filters("r5.xlarge", REGION), [items])
    code, _, err = prices.run("--region", REGION, "--instance-types", "r5.xlarge")
    assert code == EXIT_FAILED
    assert "r5.xlarge in ap-northeast-2, AmazonEC2: ambiguous" in err
    assert _sku("ec2", "r5.xlarge", REGION, "other") in err
    assert "was not changed" in err
    assert prices.table.read_bytes() == before


def test_missing_price_fails_and_leaves_the_table_untouched(prices):
    before = prices.table.read_bytes()
    prices.expect("AmazonEC2", ec2_filters("r5.xlarge", REGION), [[]])
    code, _, err = prices.run("--region", REGION, "--instance-types", "r5.xlarge")
    assert code == EXIT_FAILED
    assert "r5.xlarge in ap-northeast-2, AmazonEC2: no on-demand price in the Price List" in err
    assert prices.table.read_bytes() == before


def test_one_failing_type_among_several_changes_nothing(prices):
    before = prices.table.read_bytes()
    prices.expect_type("m5.xlarge", "0.3", "0.05")
    prices.expect("AmazonEC2", ec2_filters("r5.xlarge", REGION), [[ec2_item("r5.xlarge", REGION, "0.31")]])
    prices.expect("ElasticMapReduce", emr_filters("r5.xlarge", REGION), [[]])
    code, _, err = prices.run("--region", REGION, "--instance-types", "m5.xlarge", "r5.xlarge")
    assert code == EXIT_FAILED
    assert "r5.xlarge in ap-northeast-2, EMR fee: no on-demand price" in err
    assert prices.table.read_bytes() == before


def test_access_denied_exits_3_and_leaves_the_table_untouched(prices):
    before = prices.table.read_bytes()
    prices.stub.add_client_error("get_products", service_error_code="AccessDeniedException", http_status_code=400)
    code, _, err = prices.run("--region", REGION, "--instance-types", "r5.xlarge")
    assert code == EXIT_ACCESS
    assert "access denied: pricing:GetProducts" in err
    assert prices.table.read_bytes() == before


def test_bad_region_and_instance_type_are_refused_before_any_call(prices):
    code, _, err = prices.run("--region", "seoul", "--instance-types", "r5 xlarge")
    assert code == EXIT_REFUSED
    assert "--region 'seoul'" in err and "--instance-types 'r5 xlarge'" in err


def test_region_without_types_needs_instance_types(prices):
    code, _, err = prices.run("--region", "eu-west-1")
    assert code == EXIT_REFUSED
    assert "no instance types for eu-west-1" in err and "--instance-types" in err


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        '{"prices": {}}',
        '{"sources": {}, "prices": []}',
        '{"sources": {}, "prices": {"ap-northeast-2": {"r5.xlarge": {"ec2": "1", "emr": "0.1"}}}}',
        '{"sources": {}, "prices": {"ap-northeast-2": {"r5.xlarge": {"ec2": "1", "emr": "0.1", "source": "x", "retrieved": "d"}}}}',
    ],
)
def test_unreadable_table_is_refused_and_left_as_is(prices, content):
    prices.table.write_text(content)
    code, _, err = prices.run("--region", REGION, "--instance-types", "r5.xlarge")
    assert code == EXIT_REFUSED
    assert f"price table {prices.table}" in err and "--table PATH" in err
    assert prices.table.read_text() == content


def test_refreshed_table_round_trips_into_a_synthesized_bid_price(prices, settings, synth_stack):
    """The table `prices refresh` writes is the one the stacks read: a Spot pair built from
    it carries the bid computed from the refreshed on-demand price."""
    from emr_constructs.model.cluster_spec import ClusterSpec, InstanceGroupSpec
    from emr_constructs.model.ebs import EbsSpec
    from emr_constructs.spot_task_groups import SpotGroupSpec, SpotTaskGroupPair
    from stacks.clusters import declared
    from stacks.purpose import PurposeStack

    for instance_type, on_demand, fee in (("r5.xlarge", "0.3375", "0.067"), ("m5.xlarge", "0.2500", "0.048")):
        prices.expect_type(instance_type, on_demand, fee)
        code, _, err = prices.run("--region", REGION, "--instance-types", instance_type)
        assert code == EXIT_OK, err
    table = load_price_table(prices.table)

    def cluster_with_spot_pair(stack):
        cluster = stack.add_cluster(
            ClusterSpec(
                name="spark-batch-prices-01",
                release_label="emr-7.5.0",
                applications=("Spark",),
                master=InstanceGroupSpec("m5.xlarge"),
                core=InstanceGroupSpec("r5.xlarge", ebs=EbsSpec.gp3(64)),
            )
        )
        SpotTaskGroupPair(
            cluster,
            "spot-task-groups",
            cluster=cluster,
            region=REGION,
            static_a=SpotGroupSpec("r5.xlarge"),
            static_b=SpotGroupSpec("m5.xlarge"),
            active_count=2,
            price_table=table,
        )
        return cluster

    doc = synth_stack(
        lambda app: PurposeStack(app, declared("spark-batch"), settings=settings, clusters=(cluster_with_spot_pair,))
    )
    bids = {g["name"]: g["bid_price"] for g in doc["resource"]["aws_emr_instance_group"].values()}
    assert bids == {"task-spot-static-a": expected_bid("0.3375"), "task-spot-static-b": expected_bid("0.2500")}
    assert bids["task-spot-static-a"] == "0.27"


def test_an_endpoint_without_the_price_list_api_gets_a_clear_error_not_its_html(moto, tmp_path):
    # The sandbox's stand-in (moto) has no Price List API and answers with an HTML 500 page.
    from botocore.config import Config

    table = tmp_path / "prices.json"
    shutil.copy(PRICE_TABLE_PATH, table)
    before = table.read_bytes()
    pricing = boto3.client(
        "pricing",
        region_name="us-east-1",
        endpoint_url=moto.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )
    result = moto.run(
        "prices",
        "refresh",
        "--region",
        "ap-northeast-2",
        "--table",
        str(table),
        clients=SimpleNamespace(pricing=pricing),
    )
    assert result.code == EXIT_FAILED
    assert f"the endpoint {moto.endpoint} (AWS_ENDPOINT_URL) answered pricing:GetProducts with HTTP 500" in result.err
    assert "unset AWS_ENDPOINT_URL" in result.err
    assert "<html" not in result.err.lower()
    assert table.read_bytes() == before
