"""FixedIpReservation (guide tip T4): refused inputs, and what the foundation stack reserves."""

from __future__ import annotations

import dataclasses

import pytest

from emr_constructs.fixed_ip import FixedIp, FixedIpError, validate_fixed_ips

SUBNET = "10.20.1.0/24"


def problems(*pairs, mode="eni", masters=None):
    return validate_fixed_ips(
        subnet_cidr=SUBNET, mode=mode, master_counts=masters,
        assignments=[FixedIp(cluster=c, ip=ip) for c, ip in pairs],
    )


def test_a_contiguous_owned_block_is_accepted():
    assert problems(("a-01", "10.20.1.16"), ("b-01", "10.20.1.17"), ("c-01", "10.20.1.18")) == []


def test_ip_outside_the_subnet_is_refused():
    (p,) = problems(("a-01", "10.20.2.16"))
    assert "ip lies outside the subnet 10.20.1.0/24" in p and "10.20.2.16" in p


@pytest.mark.parametrize("ip", ["10.20.1.0", "10.20.1.1", "10.20.1.2", "10.20.1.3", "10.20.1.255"])
def test_addresses_aws_reserves_are_refused(ip):
    found = problems(("a-01", ip))
    assert any("AWS reserves the first four and the last address of 10.20.1.0/24" in p for p in found)


def test_non_contiguous_block_is_refused():
    (p,) = problems(("a-01", "10.20.1.16"), ("b-01", "10.20.1.18"))
    assert p.startswith("the block 10.20.1.16-10.20.1.18 is not contiguous (gaps after 10.20.1.16..10.20.1.18)")


def test_the_same_ip_twice_is_refused():
    (p,) = problems(("a-01", "10.20.1.16"), ("b-01", "10.20.1.16"))
    assert "the same IP is listed twice (also for 'a-01')" in p


def test_a_cluster_with_two_ips_is_refused():
    (p,) = problems(("a-01", "10.20.1.16"), ("a-01", "10.20.1.17"))
    assert p == "cluster 'a-01' has 2 IPs (10.20.1.16, 10.20.1.17): a master takes exactly one"


def test_an_ip_with_no_owner_is_refused():
    (p,) = problems(("a-01", "10.20.1.16"), ("", "10.20.1.17"))
    assert "an IP with no owner" in p and "10.20.1.17" in p


def test_fixed_ip_on_a_three_master_cluster_is_refused_with_the_reason():
    (p,) = problems(("a-01", "10.20.1.16"), masters={"a-01": 3})
    assert "runs 3 master nodes" in p and "after a failover" in p


def test_cidr_mode_needs_an_aligned_block():
    (p,) = problems(("a-01", "10.20.1.17"), ("b-01", "10.20.1.18"), mode="cidr")
    assert "mode = 'cidr' needs the block to be one CIDR" in p
    assert problems(*[(f"c-0{i}", f"10.20.1.{16 + i}") for i in range(4)], mode="cidr") == []


def test_eni_holder_address_must_not_be_aws_reserved():
    (p,) = problems(("a-01", "10.20.1.4"))
    assert "just below the block (10.20.1.3)" in p


def test_every_problem_is_reported_at_once(synth_stack):
    from emr_constructs.fixed_ip import FixedIpReservation

    with pytest.raises(FixedIpError) as info:
        synth_stack(lambda app: _stack_with(app, FixedIpReservation, [
            FixedIp("a-01", "10.20.9.9"), FixedIp("b-01", "10.20.1.255"), FixedIp("c-01", "bogus"),
        ]))
    assert len(info.value.problems) == 3
    assert str(info.value).startswith("FixedIpReservation reserved: 3 problem(s)")


def _stack_with(app, cls, assignments, mode="eni"):
    from cdktf import TerraformStack

    stack = TerraformStack(app, "t")
    cls(stack, "reserved", subnet_id="subnet-0a1b2c3d4e5f60701", subnet_cidr=SUBNET,
        assignments=assignments, mode=mode)
    return stack


def test_foundation_reserves_the_block_on_a_holding_interface(synth, settings):
    (eni,) = synth.resources("foundation", "aws_network_interface").values()
    assert eni["subnet_id"] == settings.fixed_ips.subnet_id
    assert eni["private_ip_list_enabled"] is True
    # The interface's own primary address sits just below the block and never moves.
    assert eni["private_ip_list"] == ["10.20.1.15", "10.20.1.16", "10.20.1.17", "10.20.1.18", "10.20.1.19"]
    assert eni["lifecycle"]["ignore_changes"] == ["private_ips", "private_ips_count", "private_ip_list"]
    assert "never attach" in eni["description"]


def test_cidr_mode_makes_an_explicit_subnet_reservation(synth_stack, settings):
    from stacks.foundation import FoundationStack

    cidr = dataclasses.replace(settings, fixed_ips=dataclasses.replace(settings.fixed_ips, mode="cidr"))
    doc = synth_stack(lambda app: FoundationStack(app, settings=cidr))
    assert "aws_network_interface" not in doc["resource"]
    (reservation,) = doc["resource"]["aws_ec2_subnet_cidr_reservation"].values()
    assert reservation["cidr_block"] == "10.20.1.16/30"
    assert reservation["reservation_type"] == "explicit"
    assert reservation["subnet_id"] == settings.fixed_ips.subnet_id
