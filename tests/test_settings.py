"""Environment settings: the example loads; bad files fail with every problem listed."""

from __future__ import annotations

import textwrap

import pytest

from environments.settings import (
    ENVIRONMENT_VARIABLE,
    SettingsError,
    environment_path,
    load_environment,
    load_settings,
)

GOOD = textwrap.dedent(
    """
    name = "prod"
    region = "ap-northeast-2"
    account_id = "210987654321"
    vpc_id = "vpc-0123456789abcdef0"
    vpc_cidr = "10.40.0.0/16"
    admin_cidrs = ["10.40.250.0/28"]
    office_cidrs = ["192.168.0.0/20"]

    [[private_subnets]]
    id = "subnet-0123456789abcdef0"
    cidr = "10.40.1.0/24"
    availability_zone = "ap-northeast-2a"

    [buckets]
    logs = "prod-emr-logs"
    bootstrap_assets = "prod-emr-bootstrap"
    data = "prod-data-lake"
    """
)


def write(tmp_path, text, name="env.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def problems(tmp_path, text):
    with pytest.raises(SettingsError) as info:
        load_settings(write(tmp_path, text))
    return info.value.problems, str(info.value)


def test_example_environment_is_the_default(monkeypatch):
    monkeypatch.delenv(ENVIRONMENT_VARIABLE, raising=False)
    settings = load_environment()
    assert settings.name == "example"
    assert settings.region == "ap-northeast-2"
    assert settings.state_bucket is None
    assert all(s.cidr.startswith("10.20.") for s in settings.private_subnets)


def test_environment_variable_selects_another_file(tmp_path, monkeypatch):
    path = write(tmp_path, GOOD, "prod.toml")
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(path))
    assert environment_path() == path
    settings = load_environment()
    assert settings.name == "prod"
    assert settings.account_id == "210987654321"


def test_settings_are_frozen(settings):
    with pytest.raises(AttributeError):
        settings.region = "us-east-1"


def test_state_bucket_is_optional_and_read(tmp_path):
    settings = load_settings(write(tmp_path, GOOD + '\n[state]\nbucket = "prod-terraform-state"\n'))
    assert settings.state_bucket == "prod-terraform-state"


def test_unknown_and_missing_keys_are_all_reported(tmp_path):
    text = GOOD.replace('account_id = "210987654321"\n', "").replace("[buckets]", 'colour = "blue"\n[buckets]')
    text = text.replace('data = "prod-data-lake"', 'data = "prod-data-lake"\nlog = "typo"')
    found, message = problems(tmp_path, text)
    assert "account_id: missing; add it to the file: twelve digits" in found
    assert any(p.startswith("private_subnets[0].colour: unknown key") for p in found)
    assert any(p.startswith("buckets.log: unknown key") for p in found)
    assert len(found) == 3
    assert "env.toml" in message


def test_malformed_ids_and_cidrs_name_key_value_and_rule(tmp_path):
    text = (
        GOOD.replace("vpc-0123456789abcdef0", "vpc-XYZ")
        .replace("subnet-0123456789abcdef0", "subnet-12")
        .replace('vpc_cidr = "10.40.0.0/16"', 'vpc_cidr = "10.40.0.0/33"')
        .replace('office_cidrs = ["192.168.0.0/20"]', 'office_cidrs = ["192.168.0.1/20"]')
    )
    found, _ = problems(tmp_path, text)
    assert any(p.startswith("vpc_id = 'vpc-XYZ': vpc- followed by") for p in found)
    assert any(p.startswith("private_subnets[0].id = 'subnet-12': subnet- followed by") for p in found)
    assert any(p.startswith("vpc_cidr = '10.40.0.0/33': expected an IPv4 CIDR") for p in found)
    assert any(p.startswith("office_cidrs[0] = '192.168.0.1/20': expected an IPv4 CIDR") for p in found)


def test_subnet_outside_the_vpc_is_refused(tmp_path):
    found, _ = problems(tmp_path, GOOD.replace('cidr = "10.40.1.0/24"', 'cidr = "10.41.1.0/24"'))
    assert found == ["private_subnets[0].cidr = '10.41.1.0/24': must lie inside vpc_cidr 10.40.0.0/16"]


def test_whole_internet_is_never_an_admin_or_office_range(tmp_path):
    found, _ = problems(tmp_path, GOOD.replace('["10.40.250.0/28"]', '["0.0.0.0/0"]'))
    assert found == ["admin_cidrs[0] = '0.0.0.0/0': the whole internet is never allowed; name the office or VPN range"]


def test_availability_zone_must_belong_to_the_region(tmp_path):
    found, _ = problems(tmp_path, GOOD.replace('"ap-northeast-2a"', '"us-east-1a"'))
    assert found == [
        "private_subnets[0].availability_zone = 'us-east-1a': an availability zone of region ap-northeast-2, e.g. ap-northeast-2a"
    ]


def test_bucket_names_follow_s3_rules(tmp_path):
    found, _ = problems(tmp_path, GOOD.replace('"prod-emr-logs"', '"Prod_Logs"'))
    assert len(found) == 1 and found[0].startswith("buckets.logs = 'Prod_Logs': an S3 bucket name")


def test_unknown_environment_names_the_available_ones(monkeypatch):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "nope")
    with pytest.raises(SettingsError) as info:
        load_environment()
    assert "environments available: example" in str(info.value)


def test_invalid_toml_is_reported(tmp_path):
    found, _ = problems(tmp_path, "name = ")
    assert found[0].startswith("not valid TOML")


FIXED = """
[fixed_ips]
mode = "eni"
subnet = "subnet-0123456789abcdef0"

[fixed_ips.masters]
"spark-batch-production-01" = "10.40.1.16"
"""


def test_fixed_ips_are_read_as_cluster_to_address(tmp_path):
    settings = load_settings(write(tmp_path, GOOD + FIXED))
    assert settings.fixed_ips.mode == "eni"
    assert settings.fixed_ip_of("spark-batch-production-01") == "10.40.1.16"
    assert settings.fixed_ip_of("spark-stream-01") is None


def test_fixed_ips_subnet_mode_and_address_are_checked(tmp_path):
    text = (
        (GOOD + FIXED)
        .replace('mode = "eni"', 'mode = "elastic"')
        .replace('subnet = "subnet-0123456789abcdef0"', 'subnet = "subnet-0fffffffffffffff0"')
        .replace('"10.40.1.16"', '"10.40.1.300"')
    )
    found, _ = problems(tmp_path, text)
    assert found == [
        "fixed_ips.mode = 'elastic': one of eni, cidr",
        "fixed_ips.subnet = 'subnet-0fffffffffffffff0': one of the private_subnets ids (subnet-0123456789abcdef0)",
        "fixed_ips.masters.spark-batch-production-01 = '10.40.1.300': an IPv4 address inside fixed_ips.subnet",
    ]


def test_every_missing_key_says_what_to_write(tmp_path):
    text = "state = {}\nfixed_ips = {}\nbuckets = {}\n[[private_subnets]]\n"
    found, _ = problems(tmp_path, text)
    missing = [p for p in found if ": missing; add it to the file: " in p]
    assert len(missing) == len(found) == 16  # fixed_ips.mode is optional (default cidr)
    assert (
        "private_subnets[0].cidr: missing; add it to the file: an IPv4 CIDR block with no host bits set, "
        "e.g. 10.20.0.0/16, inside vpc_cidr" in found
    )
    assert (
        "state.bucket: missing; add it to the file: an S3 bucket name: 3-63 lower-case letters, digits "
        "and '-', no dots" in found
    )
    assert all(p.split(": missing; add it to the file: ")[1].strip() for p in missing)


def test_availability_zone_needs_its_zone_letter(tmp_path):
    found, _ = problems(tmp_path, GOOD.replace('"ap-northeast-2a"', '"ap-northeast-2"'))
    assert found == [
        "private_subnets[0].availability_zone = 'ap-northeast-2': an availability zone of region "
        "ap-northeast-2, e.g. ap-northeast-2a"
    ]


def test_local_zone_of_the_region_is_accepted(tmp_path):
    text = GOOD.replace('region = "ap-northeast-2"', 'region = "us-west-2"').replace(
        '"ap-northeast-2a"', '"us-west-2-lax-1a"'
    )
    assert load_settings(write(tmp_path, text)).subnet().availability_zone == "us-west-2-lax-1a"


def test_a_cidr_listed_twice_is_refused_with_both_positions(tmp_path):
    found, _ = problems(
        tmp_path,
        GOOD.replace(
            'office_cidrs = ["192.168.0.0/20"]', 'office_cidrs = ["192.168.0.0/20", "10.1.0.0/16", "192.168.0.0/20"]'
        ),
    )
    assert found == ["office_cidrs[2] = '192.168.0.0/20': already listed as office_cidrs[0]; list each block once"]


SECOND_SUBNET = """
[[private_subnets]]
id = "subnet-0123456789abcdef1"
cidr = "10.40.1.128/25"
availability_zone = "ap-northeast-2c"
"""


def test_overlapping_private_subnets_are_refused(tmp_path):
    found, _ = problems(tmp_path, GOOD.replace("[buckets]", SECOND_SUBNET + "\n[buckets]"))
    assert found == [
        "private_subnets[1].cidr = '10.40.1.128/25': overlaps private_subnets[0].cidr 10.40.1.0/24; "
        "subnets of one VPC never overlap: check for a copied line"
    ]


def test_fixed_master_ip_outside_its_subnet_names_the_key_and_the_subnet(tmp_path):
    found, _ = problems(tmp_path, (GOOD + FIXED).replace('"10.40.1.16"', '"10.40.2.16"'))
    assert found == [
        "fixed_ips.masters.spark-batch-production-01 = '10.40.2.16': an IPv4 address inside "
        "fixed_ips.subnet (10.40.1.0/24)"
    ]
