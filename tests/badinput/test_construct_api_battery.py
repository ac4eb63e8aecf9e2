"""Bad inputs given to the construct library's public API, in process under one provider
import per session. Each case builds what it needs in a fresh stack (``setup``), then makes
the bad call (``act``); it must raise the library's error type naming the argument and the
value, and the stack must synthesize exactly as before the call (nothing was added)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from emr_constructs.model.pricing import PRICE_TABLE_PATH
from tests.badinput.support import Case

R = "arn:aws:iam::123456789012:role/spark-batch-instance"


@pytest.fixture(scope="session")
def api():
    """The provider import, paid once: the construct classes and a stack factory."""
    from cdktf import TerraformStack, Testing

    from emr_constructs.assets_bucket import AssetsBucket
    from emr_constructs.bootstrap_assets import BootstrapAssets
    from emr_constructs.iam_roles import EmrRoles
    from emr_constructs.model.errors import ConstructInputError
    from emr_constructs.model.pricing import PriceError
    from emr_constructs.security_configuration import EmrSecurityConfiguration
    from emr_constructs.security_groups import EmrSecurityGroups, IngressRule

    class Api:
        pass

    a = Api()
    a.Testing, a.TerraformStack = Testing, TerraformStack
    a.AssetsBucket, a.BootstrapAssets, a.EmrRoles = AssetsBucket, BootstrapAssets, EmrRoles
    a.EmrSecurityConfiguration, a.EmrSecurityGroups, a.IngressRule = (
        EmrSecurityConfiguration,
        EmrSecurityGroups,
        IngressRule,
    )
    a.errors = (ConstructInputError, PriceError)
    return a


def roles(a, stack):
    return a.EmrRoles(
        stack, "roles", name_prefix="example-spark-batch", account_id="123456789012", region="ap-northeast-2"
    )


def sgs(**kw):
    def act(a, stack, _):
        args = dict(vpc_id="vpc-0a1b2c3d4e5f60718", name_prefix="example-spark-batch")
        args.update(kw)
        rules = {k: [a.IngressRule(**r) for r in v] for k, v in args.pop("rules", {}).items()}
        a.EmrSecurityGroups(stack, "sgs", **args, **rules)

    return act


def rule(cidr, description="SSH from the admins", port=22, **kw):
    return dict(description=description, from_port=port, cidr=cidr, **kw)


CASES: list[Case] = []


def case(cls, name, act, *expect, setup=None):
    CASES.append(Case(cls, name, (setup, act), tuple(expect)))


# --- EmrSecurityGroups: network rules and text --------------------------------------------------
for arg in ("master_ingress", "slave_ingress"):
    case(
        "sg-network",
        f"{arg}-halves",
        sgs(rules={arg: [rule("0.0.0.0/1"), rule("128.0.0.0/1")]}, allow_public_sources=True),
        f"{arg}: cidr blocks ['0.0.0.0/1', '128.0.0.0/1']",
        "more than one /8",
    )
    case(
        "sg-network",
        f"{arg}-quarters",
        sgs(rules={arg: [rule(f"{q}.0.0.0/2") for q in (0, 64, 128, 192)]}, allow_public_sources=True),
        f"{arg}: cidr blocks",
        "more than one /8",
    )
    case(
        "sg-network",
        f"{arg}-public-unacknowledged",
        sgs(rules={arg: [rule("8.8.8.0/24")]}),
        f"{arg}[0] ('SSH from the admins'): cidr = '8.8.8.0/24'",
        "allow_public_sources=True",
    )
    case(
        "sg-network",
        f"{arg}-ipv6-global-quarter",
        sgs(rules={arg: [rule("2000::/5")]}, allow_public_sources=True),
        f"{arg}: cidr blocks ['2000::/5']",
        "public IPv6",
    )
    case(
        "sg-network",
        f"{arg}-ipv6-public-unacknowledged",
        sgs(rules={arg: [rule("2600:1f18::/32")]}),
        f"{arg}[0] ('SSH from the admins'): cidr = '2600:1f18::/32'",
        "public address range",
    )
    case(
        "sg-network",
        f"{arg}-whole-internet",
        sgs(rules={arg: [rule("0.0.0.0/0")]}),
        f"{arg}[0] ('SSH from the admins'): cidr = '0.0.0.0/0'",
        "whole internet",
    )
case(
    "sg-network",
    "split-across-ports",
    sgs(
        rules={"master_ingress": [rule("11.0.0.0/8"), rule("12.0.0.0/8", "Spark UI", 18080)]}, allow_public_sources=True
    ),
    "master_ingress: cidr blocks ['11.0.0.0/8', '12.0.0.0/8']",
    "more than one /8",
)
case("sg-network", "acknowledgement-not-bool", sgs(allow_public_sources="yes"), "allow_public_sources = 'yes'")
case("sg-text", "vpc-id-newline", sgs(vpc_id="vpc-0a1b2c3d4e5f60718\n"), "vpc_id = 'vpc-0a1b2c3d4e5f60718\\n'")
case(
    "sg-text", "name-prefix-newline", sgs(name_prefix="example-spark-batch\n"), "name_prefix = 'example-spark-batch\\n'"
)
case("sg-text", "name-prefix-fullwidth", sgs(name_prefix="example-ｓpark"), "name_prefix = 'example-ｓpark'")
case(
    "sg-text",
    "description-newline",
    sgs(rules={"master_ingress": [rule("10.30.0.0/20", "SSH\n")]}),
    "description = 'SSH\\n'",
)
case(
    "sg-text",
    "source-group-fullwidth-digit",
    sgs(
        rules={
            "master_ingress": [
                dict(description="from peers", from_port=22, source_security_group_id="sg-0123456789abcdef０")
            ]
        }
    ),
    "source_security_group_id = 'sg-0123456789abcdef０'",
)
case("sg-text", "cidr-integer", sgs(rules={"master_ingress": [rule(167772160)]}), "cidr = 167772160")
case("sg-text", "tag-key-newline", sgs(tags={"team\n": "data"}), "tags key 'team\\n'")
case("sg-text", "tag-value-control", sgs(tags={"team": "data\x00"}), "tags['team'] = 'data\\x00'")
case("sg-text", "tag-aws-prefix", sgs(tags={"aws:owner": "me"}), "tags key 'aws:owner'", "reserved")

# --- EmrRoles: constructor and grants ------------------------------------------------------------
for name, kw, expect in [
    ("account-newline", {"account_id": "123456789012\n"}, "account_id = '123456789012\\n'"),
    ("account-fullwidth", {"account_id": "１２３４５６７８９０１２"}, "account_id = '１２３４５６７８９０１２'"),
    ("account-arabic-indic", {"account_id": "١٢٣٤٥٦٧٨٩٠١٢"}, "account_id = '١٢٣٤٥٦٧٨٩٠١٢'"),
    ("account-int", {"account_id": 123456789012}, "account_id = 123456789012"),
    ("region-made-up", {"region": "xx-fake-9"}, "region = 'xx-fake-9': not a known AWS region"),
    ("region-newline", {"region": "ap-northeast-2\n"}, "region = 'ap-northeast-2\\n'"),
    ("name-prefix-newline", {"name_prefix": "example\n"}, "name_prefix = 'example\\n'"),
]:

    def act(a, stack, _, kw=kw):
        args = dict(name_prefix="example-spark-batch", account_id="123456789012", region="ap-northeast-2")
        args.update(kw)
        a.EmrRoles(stack, "roles", **args)

    case("iam-roles", name, act, expect)

for name, actions, resources, expect in [
    ("passrole-star", ["iam:PassRole"], ["*"], "iam:PassRole on resource '*'"),
    (
        "passrole-role-wildcard",
        ["iam:PassRole"],
        ["arn:aws:iam::123456789012:role/*"],
        "iam:PassRole on resource 'arn:aws:iam::123456789012:role/*'",
    ),
    (
        "passrole-question-mark",
        ["iam:PassRole"],
        ["arn:aws:iam::123456789012:role/spark-?"],
        "iam:PassRole on resource 'arn:aws:iam::123456789012:role/spark-?'",
    ),
    ("kms-decrypt-star", ["kms:Decrypt"], ["*"], "kms:Decrypt on resource '*'"),
    (
        "kms-key-wildcard",
        ["kms:Decrypt", "kms:GenerateDataKey"],
        ["arn:aws:kms:ap-northeast-2:123456789012:key/*"],
        "kms:Decrypt, kms:GenerateDataKey on resource 'arn:aws:kms:ap-northeast-2:123456789012:key/*'",
    ),
    ("iam-createrole-star", ["iam:CreateRole"], ["*"], "iam:CreateRole on resource '*'"),
    ("iam-mixed-with-ec2", ["ec2:CreateTags", "iam:PassRole"], ["*"], "iam:PassRole on resource '*'"),
    ("iam-uppercase-service", ["IAM:PassRole"], ["*"], "IAM:PassRole"),
    ("s3-star", ["s3:GetObject"], ["*"], "s3:GetObject on resource '*'"),
    (
        "action-newline",
        ["ec2:CreateTags\n"],
        ["arn:aws:ec2:ap-northeast-2:123456789012:instance/*"],
        "action 'ec2:CreateTags\\n'",
    ),
    ("action-wildcard", ["iam:*"], [R], "action 'iam:*'"),
]:

    def act(a, stack, r, actions=actions, resources=resources):
        r.add_statement(sid="Extra", actions=actions, resources=resources)

    case("iam-statement", name, act, expect, setup=roles)


def _bad_sid(a, stack, r):
    r.add_statement(
        sid="Extra\n", actions=["ec2:CreateTags"], resources=["arn:aws:ec2:ap-northeast-2:123456789012:instance/*"]
    )


case("iam-statement", "sid-newline", _bad_sid, "sid = 'Extra\\n'", setup=roles)
for method, bucket, prefix, expect in [
    ("grant_read_write", "xn--data", "", "bucket = 'xn--data': starts with 'xn--'"),
    ("grant_read_write", "data-s3alias", "", "bucket = 'data-s3alias': ends with '-s3alias'"),
    ("grant_read", "example-data\n", "", "bucket = 'example-data\\n'"),
    ("grant_read", "10.1.2.3", "", "bucket = '10.1.2.3': is formatted as an IP address"),
    ("grant_read", "exa..mple", "", "bucket = 'exa..mple': contains '..'"),
    ("grant_read", "example-data", "raw/\n", "prefix = 'raw/\\n'"),
    ("grant_read_write", "example-data", "/raw/", "prefix = '/raw/'"),
    ("grant_read_write", "*", "", "bucket = '*'"),
]:

    def act(a, stack, r, method=method, bucket=bucket, prefix=prefix):
        getattr(r, method)(bucket, prefix)

    case("iam-grant", f"{method}-{bucket!r}-{prefix!r}", act, expect, setup=roles)

# --- buckets and other named resources --------------------------------------------------------------
for name, kw, expect in [
    ("reserved-prefix", {"bucket_name": "sthree-assets"}, "bucket_name = 'sthree-assets'"),
    ("reserved-suffix", {"bucket_name": "assets--x-s3"}, "bucket_name = 'assets--x-s3'"),
    ("newline", {"bucket_name": "example-assets\n"}, "bucket_name = 'example-assets\\n'"),
    ("log-bucket-mrap", {"access_log_bucket": "example-logs.mrap"}, "access_log_bucket = 'example-logs.mrap'"),
    (
        "logs-into-itself",
        {"access_log_bucket": "example-assets"},
        "access_log_bucket = 'example-assets': the bucket itself",
    ),
    ("log-prefix-wildcard", {"access_log_prefix": "logs/*"}, "access_log_prefix = 'logs/*'"),
]:

    def act(a, stack, _, kw=kw):
        args = dict(bucket_name="example-assets", access_log_bucket="example-logs")
        args.update(kw)
        a.AssetsBucket(stack, "assets", **args)

    case("bucket-construct", f"AssetsBucket-{name}", act, expect)
for name, kw, expect in [
    ("bucket-uppercase", {"bucket_name": "Example_Assets"}, "bucket_name = 'Example_Assets'"),
    ("bucket-xn", {"bucket_name": "xn--assets"}, "bucket_name = 'xn--assets'"),
    ("purpose-newline", {"purpose": "spark-batch\n"}, "purpose = 'spark-batch\\n'"),
]:

    def act(a, stack, _, kw=kw):
        from stacks.purpose import BOOTSTRAP_DIR

        args = dict(directory=BOOTSTRAP_DIR, bucket_name="example-assets", purpose="spark-batch")
        args.update(kw)
        a.BootstrapAssets(stack, "bootstrap", **args)

    case("bucket-construct", f"BootstrapAssets-{name}", act, expect)
case(
    "name-construct",
    "security-configuration-newline",
    lambda a, stack, _: a.EmrSecurityConfiguration(stack, "sc", name="example-emr\n"),
    "name = 'example-emr\\n'",
)
case(
    "name-construct",
    "security-configuration-fullwidth",
    lambda a, stack, _: a.EmrSecurityConfiguration(stack, "sc", name="ｅxample"),
    "name = 'ｅxample'",
)


# --- EmrCluster placement of instance fleets ----------------------------------------------------------
def _fleet_cluster_parts(a, stack):
    from emr_constructs.model.cluster_spec import ClusterSpec
    from emr_constructs.model.fleet_spec import FleetInstanceType, InstanceFleetSpec

    spec = ClusterSpec(
        name="battery-fleet-01",
        release_label="emr-7.5.0",
        applications=("Hadoop", "Spark"),
        master=InstanceFleetSpec((FleetInstanceType("m5.xlarge"),), target_on_demand_capacity=1),
        core=InstanceFleetSpec((FleetInstanceType("r5.xlarge"),), target_on_demand_capacity=2),
    )
    groups = a.EmrSecurityGroups(stack, "sgs", vpc_id="vpc-0a1b2c3d4e5f60718", name_prefix="example-spark-batch")
    return spec, groups, roles(a, stack)


def _fleet_cluster(subnets):
    def act(a, stack, parts):
        from emr_constructs.emr_cluster import EmrCluster
        from emr_constructs.model.fleet_spec import ClusterSubnet

        spec, groups, r = parts
        EmrCluster(
            stack,
            spec=spec,
            purpose="spark-batch",
            subnets=tuple(ClusterSubnet(*s) for s in subnets),
            security_groups=groups,
            roles=r,
            log_bucket="logs",
            region="ap-northeast-2",
        )

    return act


_TWO_SUBNETS = ("subnet-0a1b2c3d4e5f60701", "subnet-0a1b2c3d4e5f60702")


def _multi_subnet_fleet_cluster(a, stack):
    from emr_constructs.emr_cluster import EmrCluster
    from emr_constructs.model.fleet_spec import ClusterSubnet

    spec, groups, r = _fleet_cluster_parts(a, stack)
    return EmrCluster(
        stack,
        spec=spec,
        purpose="spark-batch",
        subnets=tuple(ClusterSubnet(s, "vpc-0a1b2c3d4e5f60718") for s in _TWO_SUBNETS),
        security_groups=groups,
        roles=r,
        log_bucket="logs",
        region="ap-northeast-2",
    )


def _fixed_ip_on_two_subnets(a, stack, cluster):
    from emr_constructs.fixed_ip import use_fixed_ip
    from emr_constructs.model.cluster_spec import BootstrapAction

    use_fixed_ip(
        cluster,
        ip="10.20.1.16",
        action=BootstrapAction("fixed-ip", "assets", "bootstrap/spark-batch/assign_private_ip.py"),
        region="ap-northeast-2",
        account_id="123456789012",
        subnet_id=_TWO_SUBNETS[0],
    )


case(
    "fleet-placement",
    "subnet-of-another-vpc",
    _fleet_cluster(
        [("subnet-0a1b2c3d4e5f60701", "vpc-0a1b2c3d4e5f60718"), ("subnet-0ffffffffffffff01", "vpc-0fffffffffffffff0")]
    ),
    "subnets[1] = 'subnet-0ffffffffffffff01' is in 'vpc-0fffffffffffffff0'",
    "security groups' VPC",
    setup=_fleet_cluster_parts,
)
case(
    "fleet-placement",
    "fixed-ip-on-a-multi-subnet-fleet",
    _fixed_ip_on_two_subnets,
    "a fixed master IP pins the master to the subnet that holds the address",
    setup=_multi_subnet_fleet_cluster,
)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_construct_api_refuses(case, api):
    setup, act = case.make
    app = api.Testing.app()
    stack = api.TerraformStack(app, "battery")
    target = setup(api, stack) if setup else None
    before = json.loads(api.Testing.synth(stack))
    with pytest.raises(api.errors) as info:
        act(api, stack, target)
    message = str(info.value)
    for text in case.expect:
        assert text in message, message
    assert "Traceback" not in message
    assert json.loads(api.Testing.synth(stack)) == before, "the refused call added something to the stack"


# --- pure functions: prices and bids (no provider needed) -----------------------------------------
PRICE_CASES = [
    ("factor-decimal-nan", dict(factor=Decimal("NaN")), "bid factor = Decimal('NaN'): must be greater than 0"),
    ("factor-decimal-snan", dict(factor=Decimal("sNaN")), "bid factor = Decimal('sNaN'): must be greater than 0"),
    ("factor-decimal-inf", dict(factor=Decimal("Infinity")), "bid factor = Decimal('Infinity')"),
    ("factor-float-nan", dict(factor=float("nan")), "bid factor = nan"),
    ("factor-float-inf", dict(factor=float("-inf")), "bid factor = -inf"),
    ("factor-text-nan", dict(factor="NaN"), "bid factor = 'NaN'"),
    ("factor-arabic-digits", dict(factor="٠.٨"), "bid factor = '٠.٨'"),
    ("factor-bool", dict(factor=True), "bid factor = True"),
    ("made-up-region", dict(region="xx-fake-9"), "region = 'xx-fake-9': not a known AWS region"),
    ("made-up-type", dict(instance_type="r5.huge"), "instance_type = 'r5.huge': not a known EC2 instance type"),
    ("unpriced-china", dict(region="cn-north-1"), "prices refresh --region cn-north-1"),
]


@pytest.mark.parametrize("name,kwargs,expect", PRICE_CASES, ids=[f"pricing:{c[0]}" for c in PRICE_CASES])
def test_bid_prices_refuse(name, kwargs, expect):
    from emr_constructs.model.pricing import PriceError, bid_price

    before = PRICE_TABLE_PATH.read_bytes()
    args = {"instance_type": "r5.xlarge", "region": "ap-northeast-2", **kwargs}
    with pytest.raises(PriceError) as info:
        bid_price(args.pop("instance_type"), args.pop("region"), **args)
    assert expect in str(info.value)
    if "not a known" in expect:
        assert "prices refresh" not in str(info.value), "a refresh cannot price a region or type that does not exist"
    assert PRICE_TABLE_PATH.read_bytes() == before


EXPLICIT_BIDS = [
    (0.24, "bid_price = 0.24: a number (float), not text"),
    (1, "bid_price = 1: a number (int), not text"),
    (Decimal("0.24"), "bid_price = Decimal('0.24'): a number (Decimal)"),
    ("0.24\n", "bid_price = '0.24\\n'"),
    (" 0.24", "bid_price = ' 0.24'"),
    ("٠.٢٤", "bid_price = '٠.٢٤'"),
    ("NaN", "bid_price = 'NaN'"),
    ("Infinity", "bid_price = 'Infinity'"),
    ("1e-1", "bid_price = '1e-1'"),
    ("0.245", "bid_price = '0.245': at most two decimals"),
]


@pytest.mark.parametrize("value,expect", EXPLICIT_BIDS, ids=[f"bid:{v!r}" for v, _ in EXPLICIT_BIDS])
def test_explicit_bid_prices_refuse(value, expect):
    from emr_constructs.model.pricing import check_bid_price

    problem = check_bid_price(value)
    assert problem is not None and expect in problem
