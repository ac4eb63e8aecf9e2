"""assets/bootstrap/assign_private_ip.py run as a process against moto, the metadata
stand-in and a real network namespace (see conftest.py for what is faked and why).

moto ignores ``AllowReassignment`` and lets two interfaces hold one address; the proxy in
conftest.py adds AWS's behaviour (move with the flag, ``PrivateIpAddressInUse`` without it),
so a run that forgot the flag fails here as it would on AWS.
"""

from __future__ import annotations

import subprocess
from types import SimpleNamespace

import pytest

from tests.bootstrap.conftest import (
    ASSIGN,
    FOREIGN_HELD,
    MASTER_IP,
    PYTHON,
    RESERVED_BLOCK,
    SUBNET_CIDR,
    emr_node,
)

FIXED_IP = RESERVED_BLOCK[0]


def eni_args(node, ip=FIXED_IP):
    return ("--ip", ip, "--reservation-eni", node.reservation_eni_id)


@pytest.fixture(scope="module")
def eni_mode_twice(moto_ec2, moto_url, tmp_path_factory, require_aws_cli, netns_skip_reason):
    """The guide's flow on one primary node, run twice; EC2 and OS state after each run."""
    if netns_skip_reason:
        pytest.skip(netns_skip_reason)
    with emr_node(moto_ec2, moto_url, tmp_path_factory.mktemp("eni-mode"),
                  with_netns=True) as node:
        runs = []
        for _ in range(2):
            node.proxy.calls.clear()
            result = node.run(ASSIGN, *eni_args(node))
            runs.append(SimpleNamespace(
                result=result,
                actions=node.proxy.actions(),
                master_ips=node.ips(node.eni_id),
                reservation_ips=node.ips(node.reservation_eni_id),
                addresses=node.addresses(),
                nat_rules=node.nat_rules(),
            ))
        yield SimpleNamespace(node=node, first=runs[0], second=runs[1],
                              metadata_reads=len(node.imds.reads),
                              tokenless_reads=node.imds.tokenless_reads)


def test_moves_fixed_ip_from_reservation_eni_to_master_interface(eni_mode_twice):
    first = eni_mode_twice.first
    assert first.result.returncode == 0, first.result.log
    assert FIXED_IP in first.master_ips
    assert FIXED_IP not in first.reservation_ips
    assert set(RESERVED_BLOCK[1:]) <= set(first.reservation_ips)  # the rest stays reserved


def test_adds_fixed_ip_to_interface_found_by_mac_with_subnet_prefix(eni_mode_twice):
    # No interface override is set: the script finds fx0 by the MAC metadata reports.
    prefix = SUBNET_CIDR.split("/")[1]
    assert eni_mode_twice.first.addresses == [f"{MASTER_IP}/24", f"{FIXED_IP}/{prefix}"]


def test_adds_dnat_to_primary_ip_for_remote_and_local_traffic(eni_mode_twice):
    assert eni_mode_twice.first.nat_rules == [
        f"-A PREROUTING -d {FIXED_IP}/32 -j DNAT --to-destination {MASTER_IP}",
        f"-A OUTPUT -d {FIXED_IP}/32 -j DNAT --to-destination {MASTER_IP}",
    ]


def test_every_metadata_read_carries_a_session_token(eni_mode_twice):
    assert eni_mode_twice.metadata_reads > 0
    assert eni_mode_twice.tokenless_reads == 0


def test_second_run_makes_no_aws_call(eni_mode_twice):
    second = eni_mode_twice.second
    assert second.result.returncode == 0, second.result.log
    assert second.actions == []


def test_second_run_leaves_ec2_and_os_state_as_the_first_left_it(eni_mode_twice):
    first, second = eni_mode_twice.first, eni_mode_twice.second
    assert (second.master_ips, second.reservation_ips, second.addresses, second.nat_rules) == (
        first.master_ips, first.reservation_ips, first.addresses, first.nat_rules)


def test_second_run_says_nothing_changed(eni_mode_twice):
    log = eni_mode_twice.second.result.log
    assert "nothing changed" in log
    assert "added" not in log


def test_cidr_mode_assigns_a_free_ip_without_reassignment(node_ns):
    free_ip = "10.20.1.40"
    result = node_ns.run(ASSIGN, "--ip", free_ip)
    assert result.returncode == 0, result.log
    assert free_ip in node_ns.ips(node_ns.eni_id)
    [(_, params)] = [c for c in node_ns.proxy.calls if c[0] == "AssignPrivateIpAddresses"]
    assert "AllowReassignment" not in params


def test_accepts_the_address_already_on_the_interface_with_another_prefix(node_ns):
    # amazon-ec2-net-utils may add a secondary IP by itself, as a /32.
    node_ns.in_netns("ip", "addr", "add", f"{FIXED_IP}/32", "dev", "fx0")
    result = node_ns.run(ASSIGN, *eni_args(node_ns))
    assert result.returncode == 0, result.log
    assert node_ns.addresses() == [f"{MASTER_IP}/24", f"{FIXED_IP}/32"]


def test_waits_until_metadata_shows_the_assigned_ip(node_ns):
    node_ns.imds.hidden[FIXED_IP] = 3  # the first three reads after the assignment
    result = node_ns.run(ASSIGN, *eni_args(node_ns))
    assert result.returncode == 0, result.log
    assert result.log.count("waiting") == 3
    assert f"{FIXED_IP}/24" in node_ns.addresses()


def test_fails_when_metadata_never_shows_the_ip(node):
    node.imds.hidden[FIXED_IP] = 10**6
    result = node.run(ASSIGN, *eni_args(node), "--wait-timeout", "0.3")
    assert result.returncode == 1
    assert f"metadata still does not show {FIXED_IP}" in result.log


def test_refuses_an_ip_outside_the_subnet(node):
    result = node.run(ASSIGN, *eni_args(node, ip="10.20.2.10"))
    assert result.returncode == 1
    assert f"10.20.2.10 is outside this node's subnet {SUBNET_CIDR}" in result.log
    assert node.proxy.actions() == []


@pytest.mark.parametrize("ip", ["10.20.1.0", "10.20.1.3", "10.20.1.255"])
def test_refuses_an_address_aws_reserves(node, ip):
    result = node.run(ASSIGN, *eni_args(node, ip=ip))
    assert result.returncode == 1
    assert "one of the five addresses AWS reserves" in result.log
    assert node.proxy.actions() == []


@pytest.mark.parametrize("mode", ["eni", "cidr"])
def test_refuses_an_ip_held_by_an_interface_that_is_not_the_reservation(node, mode):
    args = eni_args(node, ip=FOREIGN_HELD) if mode == "eni" else ("--ip", FOREIGN_HELD)
    result = node.run(ASSIGN, *args)
    assert result.returncode == 1
    assert f"{FOREIGN_HELD} is held by {node.foreign_eni_id}" in result.log
    assert FOREIGN_HELD in node.ips(node.foreign_eni_id)
    assert "AssignPrivateIpAddresses" not in node.proxy.actions()


def test_gives_up_when_throttling_persists(node):
    # The retry loop is shared code (identical in both scripts, see test_shared_code.py).
    node.proxy.throttle["AssignPrivateIpAddresses"] = 1000
    result = node.run(ASSIGN, *eni_args(node))
    assert result.returncode == 1
    assert node.proxy.actions().count("AssignPrivateIpAddresses") == 6  # bounded attempts
    assert "FAILED: aws ec2 assign-private-ip-addresses failed" in result.log
    assert "RequestLimitExceeded" in result.log


def test_does_nothing_on_a_node_that_is_not_primary(node):
    node.write_info({"isMaster": False, "instanceGroupId": "ig-CORE"})
    result = node.run(ASSIGN, *eni_args(node))
    assert result.returncode == 0, result.log
    assert "not the primary node" in result.log
    assert (node.imds.reads, node.proxy.actions()) == ([], [])


def test_fails_when_no_info_file_tells_the_node_role(node):
    node.write_info(None, None)
    result = node.run(ASSIGN, *eni_args(node))
    assert result.returncode == 1
    assert "instance.json not found" in result.log


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ip", "10.20.1.300"], "--ip '10.20.1.300' is not an IPv4 address"),
        (["--ip", FIXED_IP, "--reservation-eni", "i-0abc"], "--reservation-eni 'i-0abc'"),
        (["--reservation-eni", "eni-0123456789abcdef0"], "the following arguments are required: --ip"),
    ],
)
def test_rejects_bad_arguments_before_doing_anything(args, message):
    result = subprocess.run([PYTHON, str(ASSIGN), *args], capture_output=True, text=True,
                            env={"EMR_BOOTSTRAP_IMDS_ENDPOINT": "http://127.0.0.1:9"})
    assert result.returncode == 2
    assert message in result.stderr
