"""Bad environment files fed to ``main.py`` (a subprocess per case, ~0.2 s: the settings
phase runs before the provider import). Grouped by class of mistake; each case asserts
exit 2, the key and value in the message, no traceback and no output folder."""

from __future__ import annotations

import pytest

from tests.badinput.support import (
    EXAMPLE,
    Case,
    assert_refused,
    edited,
    kv,
    run_main,
    set_key,
    top,
    value_repr,
)

# The text keys of the file, each with a valid value's line as it appears in example.toml:
# (key as written, key as the message names it, occurrence in the file).
TEXT_KEYS = [
    ("name", "name", 0),
    ("region", "region", 0),
    ("account_id", "account_id", 0),
    ("vpc_id", "vpc_id", 0),
    ("id", "private_subnets[0].id", 0),
    ("availability_zone", "private_subnets[1].availability_zone", 1),
    ("logs", "buckets.logs", 0),
    ("bootstrap_assets", "buckets.bootstrap_assets", 0),
    ("data", "buckets.data", 0),
]
VALID = {
    "name": "example",
    "region": "ap-northeast-2",
    "account_id": "123456789012",
    "vpc_id": "vpc-0a1b2c3d4e5f60718",
    "id": "subnet-0a1b2c3d4e5f60701",
    "availability_zone": "ap-northeast-2c",
    "logs": "example-emr-logs",
    "bootstrap_assets": "example-emr-bootstrap-assets",
    "data": "example-data-lake",
}
# Control characters, invisible characters, look-alikes and wrong types, on every text key.
TEXT_VARIANTS = [
    ("trailing-newline", lambda v: f'"{v}\\n"'),
    ("leading-tab", lambda v: f'"\\t{v}"'),
    ("zero-width-space", lambda v: f'"{v[:3]}\\u200b{v[3:]}"'),
    ("fullwidth-letter", lambda v: f'"{v[:-1]}\\uff41"'),
    ("integer", lambda v: "12"),
    ("empty", lambda v: '""'),
]

CASES: list[Case] = []


def case(cls, name, make, *expect):
    CASES.append(Case(cls, name, make, tuple(expect)))


for key, shown, nth in TEXT_KEYS:
    for variant, literal_of in TEXT_VARIANTS:
        literal = literal_of(VALID[key])
        case("text-bypass", f"{shown}-{variant}", edited(key, literal, nth), kv(shown, literal))

# The same variants on the text values of the security and per-purpose tables: list elements
# and table values are checked by the same anchored rules as the top-level keys.
SECURITY_TEXT_KEYS = [
    # (key as written, a valid value, key as the message names it, is the value a list element)
    ("bootstrap_writers", "arn:aws:iam::123456789012:role/emr-cdktf-deploy", "security.bootstrap_writers[0]", True),
    ("glue_databases", "analytics", "purposes.service-presto.glue_databases[0]", True),
    ("prefix", "raw/", "purposes.spark-batch.data[0].prefix", False),
    ("access", "read-only", "purposes.spark-batch.data[0].access", False),
]
for key, valid, shown, in_list in SECURITY_TEXT_KEYS:
    for variant, literal_of in TEXT_VARIANTS[:4]:
        literal = literal_of(valid)
        written = f"[{literal}]" if in_list else literal
        case("text-bypass", f"{shown}-{variant}", edited(key, written), f"{shown} = {value_repr(literal)}")

# --- value rules of single keys ----------------------------------------------------------------
for literal in [
    '"12345678901"',
    '"1234567890123"',
    '"12345678901a"',
    '"\\u0661\\u0662\\u0663\\u0664\\u0665\\u0666\\u0667\\u0668\\u0669\\u0660\\u0661\\u0662"',
    '"123 456 789 012"',
    "123456789012",
]:
    case("account-id", literal, edited("account_id", literal), kv("account_id", literal))
for literal in [
    '"Example"',
    '"ex_ample"',
    '"-example"',
    '"example-"',
    '"ex--ample"',
    '"' + "e" * 32 + '"',
    '"1example"',
    '"assets"',  # cdktf's folder beside each environment's folder under cdktf.out/stacks/<stack>/
]:
    case("environment-name", literal, edited("name", literal), kv("name", literal))
for literal in ['"xx-fake-9"', '"eu-west-9"', '"EU-WEST-1"', '"ap-northeast-2 "', '"us-east-01"', '"moon-base-1"']:
    case("region", literal, edited("region", literal), kv("region", literal))
for key, literal, shown in [
    ("vpc_id", '"vpc-0A1B2C3D4E5F60718"', "vpc_id"),
    ("vpc_id", '"vpc-0a1b2c3d4"', "vpc_id"),
    ("id", '"subnet-0a1b2c3d4e5f6070"', "private_subnets[0].id"),
    ("availability_zone", '"ap-northeast-1a"', "private_subnets[0].availability_zone"),
    ("availability_zone", '"ap-northeast-2"', "private_subnets[0].availability_zone"),
]:
    case("resource-id", f"{shown}={literal}", edited(key, literal), kv(shown, literal))

# --- S3 bucket names ------------------------------------------------------------------------------
for key, literal, reason in [
    ("logs", '"xn--example-logs"', "a prefix S3 reserves"),
    ("data", '"sthree-data"', "a prefix S3 reserves"),
    ("bootstrap_assets", '"amzn-s3-demo-bootstrap"', "a prefix S3 reserves"),
    ("logs", '"example-logs-s3alias"', "a suffix S3 reserves"),
    ("data", '"example-data--ol-s3"', "a suffix S3 reserves"),
    ("bootstrap_assets", '"example-bootstrap--x-s3"', "a suffix S3 reserves"),
    ("data", '"example-data--table-s3"', "a suffix S3 reserves"),
    ("logs", '"192.168.10.20"', "contains '.'"),
    ("logs", '"example..logs"', "contains '.'"),
    ("data", '"example.data"', "contains '.'"),
    ("data", '"Example-Data"', "an S3 bucket name"),
    ("data", '"ab"', "an S3 bucket name"),
    ("data", '"' + "d" * 64 + '"', "an S3 bucket name"),
    ("bootstrap_assets", '"-bootstrap"', "an S3 bucket name"),
    ("bootstrap_assets", '"bootstrap-"', "an S3 bucket name"),
    ("logs", '"example_logs"', "an S3 bucket name"),
]:
    case("bucket-name", f"{key}={literal}", edited(key, literal), kv(f"buckets.{key}", literal), reason)
case(
    "bucket-name",
    "state.bucket=xn--",
    lambda: EXAMPLE + '\n[state]\nbucket = "xn--state"\n',
    kv("state.bucket", '"xn--state"'),
    "a prefix S3 reserves",
)
case("bucket-name", "state.bucket=int", lambda: EXAMPLE + "\n[state]\nbucket = 7\n", kv("state.bucket", "7"))

# --- lists of names in the security and per-purpose tables: a list, each name once --------------
WRITER = '"arn:aws:iam::123456789012:role/emr-cdktf-deploy"'
case(
    "name-list",
    "bootstrap_writers-empty",
    edited("bootstrap_writers", "[]"),
    "security.bootstrap_writers = []",
    "a non-empty list",
)
case(
    "name-list",
    "bootstrap_writers-twice",
    edited("bootstrap_writers", f"[{WRITER}, {WRITER}]"),
    f"security.bootstrap_writers[1] = {value_repr(WRITER)}",
    "list each principal once",
)
case(
    "name-list",
    "glue_databases-string",
    edited("glue_databases", '"analytics"'),
    "purposes.service-presto.glue_databases = 'analytics'",
    "a list of Glue database names",
)
case(
    "name-list",
    "glue_databases-twice",
    edited("glue_databases", '["analytics", "analytics"]'),
    "purposes.service-presto.glue_databases[1] = 'analytics'",
    "list each database once",
)
case(
    "name-list",
    "glue_databases-wildcard",
    edited("glue_databases", '["analytics_*"]'),
    "purposes.service-presto.glue_databases[0] = 'analytics_*'",
    "no wildcards",
)
case(
    "name-list",
    "open_uis-string",
    lambda: EXAMPLE.replace('# open_uis = ["spark-history"]', 'open_uis = "spark-history"'),
    "purposes.spark-batch.open_uis = 'spark-history'",
    "a list of web UI names",
)
case(
    "name-list",
    "open_uis-twice",
    lambda: EXAMPLE.replace('# open_uis = ["spark-history"]', 'open_uis = ["spark-history", "spark-history"]'),
    "purposes.spark-batch.open_uis[1] = 'spark-history'",
    "list each UI once",
)

# --- settings that must differ --------------------------------------------------------------------
BOOT, LOGS, DATA = '"example-emr-bootstrap-assets"', '"example-emr-logs"', '"example-data-lake"'
case(
    "must-differ",
    "data=bootstrap",
    edited("data", BOOT),
    kv("buckets.data", BOOT),
    "the same bucket as buckets.bootstrap_assets",
)
case(
    "must-differ",
    "logs=bootstrap",
    edited("logs", BOOT),
    "the same bucket as buckets.logs",
    kv("buckets.bootstrap_assets", BOOT),
)
case("must-differ", "logs=data", edited("logs", DATA), kv("buckets.data", DATA), "the same bucket as buckets.logs")
for literal, other in [(DATA, "buckets.data"), (LOGS, "buckets.logs"), (BOOT, "buckets.bootstrap_assets")]:
    case(
        "must-differ",
        f"state={other}",
        lambda literal=literal: EXAMPLE + f"\n[state]\nbucket = {literal}\n",
        kv("state.bucket", literal),
        f"the same bucket as {other}",
    )
case(
    "must-differ",
    "admin=vpc",
    edited("admin_cidrs", '["10.20.0.0/16"]'),
    "admin_cidrs[0] = '10.20.0.0/16'",
    "the same block as vpc_cidr",
)
case(
    "must-differ",
    "office=subnet",
    edited("office_cidrs", '["10.20.2.0/24"]'),
    "office_cidrs[0] = '10.20.2.0/24'",
    "private subnet subnet-0a1b2c3d4e5f60702",
)
case(
    "must-differ",
    "subnet-ids",
    edited("id", '"subnet-0a1b2c3d4e5f60701"', 1),
    "private_subnets[1].id = 'subnet-0a1b2c3d4e5f60701'",
    "each subnet is listed once",
)
case(
    "must-differ",
    "subnet-overlap",
    edited("cidr", '"10.20.1.128/25"', 1),
    "private_subnets[1].cidr = '10.20.1.128/25'",
    "overlaps private_subnets[0].cidr",
)
case(
    "must-differ",
    "admin-twice",
    edited("admin_cidrs", '["10.20.250.0/28", "10.20.250.0/28"]'),
    "admin_cidrs[1] = '10.20.250.0/28'",
    "already listed as admin_cidrs[0]",
)

# --- network rules --------------------------------------------------------------------------------
HALVES = '["0.0.0.0/1", "128.0.0.0/1"]'
QUARTERS = '["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2"]'
TWO_SLASH_8 = '["11.0.0.0/8", "12.0.0.0/8"]'
SPLIT_9S = '["11.0.0.0/9", "11.128.0.0/9", "12.0.0.0/9"]'
ACK = "allow_public_cidrs = true"
for key in ("admin_cidrs", "office_cidrs"):
    case("network", f"{key}-halves", edited(key, HALVES), kv(key, HALVES), "more than one /8")
    case(
        "network",
        f"{key}-halves-acknowledged",
        lambda key=key: top(set_key(EXAMPLE, key, HALVES), ACK),
        kv(key, HALVES),
        "more than one /8",
    )
    case(
        "network",
        f"{key}-quarters-acknowledged",
        lambda key=key: top(set_key(EXAMPLE, key, QUARTERS), ACK),
        kv(key, QUARTERS),
        "more than one /8",
    )
    case(
        "network",
        f"{key}-two-slash-8",
        lambda key=key: top(set_key(EXAMPLE, key, TWO_SLASH_8), ACK),
        kv(key, TWO_SLASH_8),
        "more than one /8",
    )
    case(
        "network",
        f"{key}-split-slash-9s",
        lambda key=key: top(set_key(EXAMPLE, key, SPLIT_9S), ACK),
        kv(key, SPLIT_9S),
        "more than one /8",
    )
    case(
        "network",
        f"{key}-public-unacknowledged",
        edited(key, '["203.0.114.0/24"]'),
        f"{key}[0] = '203.0.114.0/24'",
        "allow_public_cidrs = true",
    )
    case(
        "network",
        f"{key}-whole-internet",
        edited(key, '["0.0.0.0/0"]'),
        f"{key}[0] = '0.0.0.0/0'",
        "the whole internet is never allowed",
    )
    case("network", f"{key}-ipv6-internet", edited(key, '["::/0"]'), f"{key}[0] = '::/0'", "IPv4")
    case("network", f"{key}-host-bits", edited(key, '["10.30.0.1/20"]'), f"{key}[0] = '10.30.0.1/20'", "no host bits")
    case("network", f"{key}-integer", edited(key, "[10]"), f"{key}[0] = 10", "expected text")
    case(
        "network",
        f"{key}-newline",
        edited(key, '["10.30.0.0/20\\n"]'),
        f"{key}[0] = '10.30.0.0/20\\n'",
        "control or non-printable",
    )
    case(
        "network",
        f"{key}-fullwidth-digit",
        edited(key, '["\\uff11\\uff10.30.0.0/20"]'),
        kv(f"{key}[0]", '"\\uff11\\uff10.30.0.0/20"'),
        "non-ASCII",
    )
    case("network", f"{key}-empty-list", edited(key, "[]"), f"{key} = []", "non-empty list")
    case("network", f"{key}-not-a-list", edited(key, '"10.30.0.0/20"'), f"{key} = '10.30.0.0/20'", "non-empty list")
case(
    "network",
    "acknowledgement-not-boolean",
    lambda: top(EXAMPLE, 'allow_public_cidrs = "yes"'),
    "allow_public_cidrs = 'yes'",
    "true or false",
)
case("network", "vpc-cidr-slash-33", edited("vpc_cidr", '"10.20.0.0/33"'), "vpc_cidr = '10.20.0.0/33'")
case("network", "vpc-cidr-too-large", edited("vpc_cidr", '"10.0.0.0/8"'), "vpc_cidr = '10.0.0.0/8'", "/16 to /28")
case(
    "network",
    "subnet-cidr-too-small",
    edited("cidr", '"10.20.1.0/29"'),
    "private_subnets[0].cidr = '10.20.1.0/29'",
    "/16 to /28",
)
case("network", "vpc-cidr-leading-zero", edited("vpc_cidr", '"010.20.0.0/16"'), "vpc_cidr = '010.20.0.0/16'")

# --- structure of the file ----------------------------------------------------------------------
case("structure", "unknown-top-key", lambda: top(EXAMPLE, 'regoin = "eu-west-1"'), "regoin: unknown key")
case("structure", "missing-key", lambda: EXAMPLE.replace('account_id = "123456789012"\n', ""), "account_id: missing")
case(
    "structure",
    "buckets-not-a-table",
    lambda: EXAMPLE.replace("[buckets]\n", "[buckets_old]\n").replace(
        'name = "example"\n', 'name = "example"\nbuckets = "example-emr-logs"\n'
    ),
    "buckets = 'example-emr-logs'",
)
case(
    "structure",
    "subnet-outside-vpc",
    edited("cidr", '"10.21.1.0/24"'),
    "private_subnets[0].cidr = '10.21.1.0/24'",
    "must lie inside vpc_cidr",
)
case(
    "structure",
    "unknown-subnet-key",
    lambda: EXAMPLE.replace('cidr = "10.20.1.0/24"\n', 'cidr = "10.20.1.0/24"\nzone = "a"\n'),
    "private_subnets[0].zone: unknown key",
)
case(
    "structure",
    "fixed-ip-integer",
    edited('"spark-batch-production-01"', "168100112"),
    "fixed_ips.masters.spark-batch-production-01 = 168100112",
    "quoted string",
)
case(
    "structure",
    "fixed-ip-newline",
    edited('"spark-batch-production-01"', '"10.20.1.16\\n"'),
    "fixed_ips.masters.spark-batch-production-01 = '10.20.1.16\\n'",
)
case(
    "structure",
    "fixed-ip-cluster-newline",
    lambda: EXAMPLE.replace('"spark-batch-production-01" = ', '"spark-batch-production-01\\n" = '),
    "cluster name 'spark-batch-production-01\\n'",
    "control or non-printable",
)
case(
    "structure",
    "fixed-ip-subnet-list",
    edited("subnet", '["subnet-0a1b2c3d4e5f60701"]'),
    "fixed_ips.subnet = ['subnet-0a1b2c3d4e5f60701']",
)
case("structure", "fixed-ip-mode-list", edited("mode", '["eni"]'), "fixed_ips.mode = ['eni']")
case(
    "structure",
    "date-instead-of-text",
    edited("name", "2026-11-30"),
    "name = datetime.date(2026, 11, 30)",
    "expected text",
)
case("structure", "table-instead-of-text", edited("region", '{ code = "eu-west-1" }'), "region = {'code': 'eu-west-1'}")
case("structure", "invalid-toml", lambda: EXAMPLE.replace('name = "example"', 'name = "example'), "not valid TOML")

# --- adoption tables (ids of existing resources) -----------------------------------------------------
for where, key, literal in [
    ("security_groups", "master-managed", '"sg-0123456789abcdef0\\n"'),
    ("security_groups", "slave-managed", '"sg-0123456789abcdef\\uff10"'),
    ("roles", "instance", '"acme-spark-batch-emr-instance\\n"'),
    ("clusters", '"spark-batch-production-01"', '"j-2AXXXXXXGAPLF\\n"'),
]:
    shown_key = key.strip('"')
    case(
        "adoption-id",
        f"{where}.{shown_key}",
        lambda where=where, key=key, literal=literal: EXAMPLE + f"\n[adopt.spark-batch.{where}]\n{key} = {literal}\n",
        kv(f"adopt.spark-batch.{where}.{shown_key}", literal),
    )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_settings_are_refused(case, tmp_path):
    result, out = run_main(tmp_path, text=case.make())
    assert_refused(result, out, case.expect)
    assert "environment settings; nothing was synthesized" in result.stderr


# --- the environment file itself ------------------------------------------------------------------
def _dir(tmp_path):
    (tmp_path / "envdir.toml").mkdir()
    return {"env_value": str(tmp_path / "envdir.toml")}


FILE_CASES = [
    Case("env-file", "empty-variable", lambda tmp: {"env_value": ""}, ("EMR_CDKTF_ENV = ''", "set but empty")),
    Case("env-file", "blank-variable", lambda tmp: {"env_value": "  "}, ("EMR_CDKTF_ENV = '  '", "set but empty")),
    Case("env-file", "directory", _dir, ("envdir.toml", "is a directory")),
    Case(
        "env-file", "missing-path", lambda tmp: {"env_value": str(tmp / "nope.toml")}, ("nope.toml", "file not found")
    ),
    Case("env-file", "missing-name", lambda tmp: {"env_value": "prdo"}, ("prdo.toml", "file not found", "example")),
    Case("env-file", "name-with-newline", lambda tmp: {"env_value": "prod\n"}, ("EMR_CDKTF_ENV = 'prod\\n'",)),
    Case(
        "env-file",
        "name-with-wildcard",
        lambda tmp: {"env_value": "pr*d"},
        ("EMR_CDKTF_ENV = 'pr*d'", "not an environment name"),
    ),
    Case(
        "env-file", "utf-16", lambda tmp: {"text": EXAMPLE.encode("utf-16")}, ("env.toml", "UTF-16", "save it as UTF-8")
    ),
    Case(
        "env-file",
        "latin-1",
        lambda tmp: {"text": EXAMPLE.replace("# Example", "# Exämple").encode("latin-1")},
        ("env.toml", "not UTF-8", "line 1"),
    ),
    Case("env-file", "nul-bytes", lambda tmp: {"text": EXAMPLE.encode() + b"\x00\x00"}, ("env.toml", "NUL")),
    Case("env-file", "binary", lambda tmp: {"text": bytes(range(256))}, ("env.toml",)),
]


@pytest.mark.parametrize("case", FILE_CASES, ids=[c.id for c in FILE_CASES])
def test_bad_environment_files_are_refused(case, tmp_path):
    result, out = run_main(tmp_path, **case.make(tmp_path))
    assert_refused(result, out, case.expect)


def test_a_utf8_byte_order_mark_is_tolerated(tmp_path):
    """A BOM (Windows editors) is dropped: the file parses; shown with a second mistake so
    the run stops in the settings phase, reporting only that mistake."""
    text = set_key(EXAMPLE, "account_id", '"1234"')
    result, out = run_main(tmp_path, text=b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert_refused(result, out, ("account_id = '1234'",))
    assert "1 problem(s)" in result.stderr and "TOML" not in result.stderr


def test_debug_variable_shows_the_traceback(tmp_path):
    result, out = run_main(tmp_path, env_value="", extra_env={"EMR_CDKTF_DEBUG": "1"})
    assert result.returncode == 2 and "Traceback" in result.stderr
    assert not out.exists()


def test_admin_and_office_ranges_together_stay_within_one_slash_8(tmp_path):
    """Each list alone is a /8; both open ports on the masters' group, so together they are
    refused in the settings phase, not later by EmrSecurityGroups."""
    text = top(set_key(set_key(EXAMPLE, "admin_cidrs", '["11.0.0.0/8"]'), "office_cidrs", '["12.0.0.0/8"]'), ACK)
    result, out = run_main(tmp_path, text=text)
    assert_refused(result, out, ("admin_cidrs + office_cidrs = ['11.0.0.0/8', '12.0.0.0/8']", "more than one /8"))
