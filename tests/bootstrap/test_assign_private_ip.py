"""assets/bootstrap/assign_private_ip.py run as a process against moto, the metadata
stand-in and real network namespaces (see conftest.py for what is faked and why).

moto ignores ``AllowReassignment``, lets two interfaces hold one address and unassigns an
address an interface does not hold; the proxy in conftest.py adds AWS's behaviour, so a run
that relied on moto's leniency fails here as it would on AWS. Connectivity is checked for
real: a client in another namespace connects to a listener bound to the master's primary
IP, through the fixed IP.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.bootstrap.conftest import (
    ASSIGN,
    FOREIGN_HELD,
    MASTER_IP,
    PYTHON,
    RESERVED_BLOCK,
    SUBNET_CIDR,
    aws_cli_dir,
    emr_node,
)

FIXED_IP = RESERVED_BLOCK[0]


FREE_IP = "10.20.1.40"  # held by nobody: what cidr mode assigns


@pytest.fixture
def node(node_ns):
    """Every run of this script starts with its preflight, which reads the node's network
    (``ip``, the firewall): so even runs that stop early get a namespace of their own."""
    return node_ns


def eni_args(node, ip=FIXED_IP):
    return ("--ip", ip, "--reservation-eni", node.reservation_eni_id)


def assign_calls(node):
    return [params for action, params in node.proxy.calls if action == "AssignPrivateIpAddresses"]


@pytest.fixture(scope="module")
def eni_mode_twice(moto_ec2, moto_url, tmp_path_factory, require_aws_cli, netns_skip_reason):
    """The guide's flow on one primary node, run twice; EC2 and OS state after each run."""
    if netns_skip_reason:
        pytest.skip(netns_skip_reason)
    with emr_node(moto_ec2, moto_url, tmp_path_factory.mktemp("eni-mode"), with_netns=True) as node:
        runs = []
        for _ in range(2):
            node.proxy.calls.clear()
            result = node.run(ASSIGN, *eni_args(node))
            with node.listener():
                reached = (node.reach(FIXED_IP), node.reach(FIXED_IP, from_client=False))
            runs.append(
                SimpleNamespace(
                    result=result,
                    actions=node.proxy.actions(),
                    calls=list(node.proxy.calls),
                    master_ips=node.ips(node.eni_id),
                    reservation_ips=node.ips(node.reservation_eni_id),
                    addresses=node.addresses(),
                    nat_rules=node.nat_rules(),
                    reached=reached,
                    unit=(node.systemd_dir / "emr-fixed-ip.service").read_text(),
                )
            )
        yield SimpleNamespace(
            node=node,
            first=runs[0],
            second=runs[1],
            metadata_reads=len(node.imds.reads),
            tokenless_reads=node.imds.tokenless_reads,
        )


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


def test_dnat_to_primary_ip_lives_in_its_own_chain_jumped_to_first(eni_mode_twice):
    assert eni_mode_twice.first.nat_rules == [
        "-A PREROUTING -j EMR_FIXED_IP",
        "-A OUTPUT -j EMR_FIXED_IP",
        f"-A EMR_FIXED_IP -d {FIXED_IP}/32 -j DNAT --to-destination {MASTER_IP}",
    ]


def test_a_service_bound_to_the_primary_ip_answers_on_the_fixed_ip(eni_mode_twice):
    # From another host of the subnet (PREROUTING) and from the master itself (OUTPUT).
    assert eni_mode_twice.first.reached == ("RM", "RM")
    assert eni_mode_twice.second.reached == ("RM", "RM")


def test_takes_the_ip_off_the_reservation_first_and_never_reassigns(eni_mode_twice):
    node, calls = eni_mode_twice.node, eni_mode_twice.first.calls
    writes = [
        (action, params["NetworkInterfaceId"][0]) for action, params in calls if action.endswith("PrivateIpAddresses")
    ]
    assert writes == [
        ("UnassignPrivateIpAddresses", node.reservation_eni_id),
        ("AssignPrivateIpAddresses", node.eni_id),
    ]
    assert not any("AllowReassignment" in params for _, params in calls)


def test_every_metadata_read_carries_a_session_token(eni_mode_twice):
    assert eni_mode_twice.metadata_reads > 0
    assert eni_mode_twice.tokenless_reads == 0


def test_second_run_makes_no_aws_call(eni_mode_twice):
    second = eni_mode_twice.second
    assert second.result.returncode == 0, second.result.log
    assert second.actions == []


def test_second_run_leaves_ec2_and_os_state_as_the_first_left_it(eni_mode_twice):
    first, second = eni_mode_twice.first, eni_mode_twice.second
    assert (second.master_ips, second.reservation_ips, second.addresses, second.nat_rules, second.unit) == (
        first.master_ips,
        first.reservation_ips,
        first.addresses,
        first.nat_rules,
        first.unit,
    )


def test_second_run_says_nothing_changed(eni_mode_twice):
    log = eni_mode_twice.second.result.log
    assert "nothing changed" in log
    assert "added" not in log


def test_cidr_mode_assigns_a_free_ip_without_reassignment(node_ns):
    result = node_ns.run(ASSIGN, "--ip", FREE_IP)
    assert result.returncode == 0, result.log
    assert FREE_IP in node_ns.ips(node_ns.eni_id)
    [params] = assign_calls(node_ns)
    assert "AllowReassignment" not in params
    assert "UnassignPrivateIpAddresses" not in node_ns.proxy.actions()


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


def test_gives_up_when_throttling_persists(node_ns):
    # The retry loop is shared code (identical in both scripts, see test_shared_code.py).
    node_ns.proxy.throttle["AssignPrivateIpAddresses"] = 1000
    result = node_ns.run(ASSIGN, "--ip", FREE_IP)
    assert result.returncode == 1
    assert node_ns.proxy.actions().count("AssignPrivateIpAddresses") == 6  # bounded attempts
    assert "FAILED: aws ec2 assign-private-ip-addresses failed" in result.log
    assert "RequestLimitExceeded" in result.log


def test_a_failed_assignment_gives_the_address_back_to_the_reservation(node_ns):
    node_ns.proxy.throttle["AssignPrivateIpAddresses"] = 6  # every attempt, not the give-back
    result = node_ns.run(ASSIGN, *eni_args(node_ns))
    assert result.returncode == 1
    assert f"the address was given back to the reservation ENI {node_ns.reservation_eni_id}" in result.log
    assert FIXED_IP in node_ns.ips(node_ns.reservation_eni_id)
    assert FIXED_IP not in node_ns.ips(node_ns.eni_id)


# ----------------------------------------------------------------- race with another master


def test_never_takes_the_ip_another_master_took_after_the_look(node_ns):
    # Between the script's look (the reservation ENI holds the IP) and its move, another
    # cluster's master takes the address. It must keep it.
    def another_master_takes_it(_params):
        node_ns.ec2.unassign_private_ip_addresses(
            NetworkInterfaceId=node_ns.reservation_eni_id, PrivateIpAddresses=[FIXED_IP]
        )
        node_ns.ec2.assign_private_ip_addresses(
            NetworkInterfaceId=node_ns.foreign_eni_id, PrivateIpAddresses=[FIXED_IP]
        )

    node_ns.proxy.hooks["UnassignPrivateIpAddresses"] = another_master_takes_it
    result = node_ns.run(ASSIGN, *eni_args(node_ns))
    assert result.returncode == 1
    assert f"the reservation ENI {node_ns.reservation_eni_id} no longer holds {FIXED_IP}" in result.log
    assert f"now held by {node_ns.foreign_eni_id}" in result.log
    assert FIXED_IP in node_ns.ips(node_ns.foreign_eni_id)
    assert FIXED_IP not in node_ns.ips(node_ns.eni_id)
    assert assign_calls(node_ns) == []


# ----------------------------------------------------------------- replacement overlap


def old_master_holding(node, ip):
    """A running instance of the subnet (a replaced cluster's master) holding ``ip``."""
    from tests.bootstrap.conftest import _any_image_id

    node.ec2.unassign_private_ip_addresses(NetworkInterfaceId=node.reservation_eni_id, PrivateIpAddresses=[ip])
    old = node.ec2.run_instances(
        ImageId=_any_image_id(node.ec2), MinCount=1, MaxCount=1, SubnetId=node.subnet_id, PrivateIpAddress="10.20.1.60"
    )["Instances"][0]
    eni = old["NetworkInterfaces"][0]["NetworkInterfaceId"]
    node.ec2.assign_private_ip_addresses(NetworkInterfaceId=eni, PrivateIpAddresses=[ip])
    return old["InstanceId"], eni


def test_waits_while_the_old_master_shuts_down_then_takes_the_ip(node_ns):
    old_instance, old_eni = old_master_holding(node_ns, FIXED_IP)
    node_ns.proxy.instance_states[old_instance] = "shutting-down"
    looks = []

    def terminates_after_three_looks(_params):
        looks.append(1)
        if len(looks) == 3:  # EC2 releases the old master's interface
            node_ns.ec2.unassign_private_ip_addresses(NetworkInterfaceId=old_eni, PrivateIpAddresses=[FIXED_IP])
            node_ns.proxy.instance_states[old_instance] = "terminated"

    node_ns.proxy.hooks["DescribeNetworkInterfaces"] = terminates_after_three_looks
    result = node_ns.run(ASSIGN, *eni_args(node_ns), "--holder-wait", "30")
    assert result.returncode == 0, result.log
    assert result.log.count(f"instance {old_instance}, which is shutting down: waiting") == 2
    assert FIXED_IP in node_ns.ips(node_ns.eni_id)
    [params] = assign_calls(node_ns)
    assert "AllowReassignment" not in params


def test_gives_up_when_the_old_master_shuts_down_too_long(node):
    old_instance, old_eni = old_master_holding(node, FIXED_IP)
    node.proxy.instance_states[old_instance] = "shutting-down"
    result = node.run(ASSIGN, *eni_args(node), "--holder-wait", "0.3")
    assert result.returncode == 1
    assert f"still held by {old_eni} of instance {old_instance}, which has been shutting down" in result.log
    assert FIXED_IP in node.ips(old_eni)
    assert assign_calls(node) == []


def test_refuses_at_once_an_ip_a_running_instance_holds(node):
    old_instance, old_eni = old_master_holding(node, FIXED_IP)
    result = node.run(ASSIGN, *eni_args(node), "--holder-wait", "30")
    assert result.returncode == 1
    assert f"{FIXED_IP} is held by {old_eni} (instance {old_instance})" in result.log
    assert "waiting" not in result.log
    assert FIXED_IP in node.ips(old_eni)


# ----------------------------------------------------------------- reboots


def tool_path(tmp_path: Path, **tools: str) -> str:
    """A PATH with the AWS CLI, coreutils and exactly ``tools`` (name -> real program):
    the node's firewall tooling, whatever this machine has installed."""
    shims = tmp_path / "sbin"
    shims.mkdir(exist_ok=True)
    for name, program in {"ip": "/usr/sbin/ip", **tools}.items():
        (shims / name).symlink_to(program)
    return os.pathsep.join([aws_cli_dir(), str(shims), "/usr/bin", "/bin"])


FIREWALLS = {
    # Amazon Linux 2 (EMR 6.x): iptables, legacy backend.
    "iptables-legacy": {"iptables": "/usr/sbin/iptables-legacy"},
    # iptables over nf_tables (AL2023's iptables-nft, Debian's default).
    "iptables-nft": {"iptables": "/usr/sbin/iptables-nft"},
    # AL2023 with nftables only: no iptables at all.
    "nft-only": {"nft": "/usr/sbin/nft"},
}


def firewall_available(tools):
    missing = [p for p in tools.values() if not os.path.exists(p)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")


@pytest.mark.parametrize("firewall", sorted(FIREWALLS))
def test_after_a_reboot_the_fixed_ip_answers_again(node_ns, tmp_path, firewall):
    firewall_available(FIREWALLS[firewall])
    node_ns.env_extra["PATH"] = tool_path(tmp_path, **FIREWALLS[firewall])
    first = node_ns.run(ASSIGN, *eni_args(node_ns))
    assert first.returncode == 0, first.log
    with node_ns.listener():
        assert node_ns.reach(FIXED_IP) == "RM"
        node_ns.reboot_os()  # EMR does not run bootstrap actions again after this
        assert node_ns.reach(FIXED_IP) != "RM"
        node_ns.proxy.calls.clear()
        boot = node_ns.boot()
        assert boot.returncode == 0, boot.log
        assert (node_ns.reach(FIXED_IP), node_ns.reach(FIXED_IP, from_client=False)) == ("RM", "RM")
    assert node_ns.proxy.actions() == []  # the boot run changes nothing in AWS
    assert "re-applied" in boot.log
    again = node_ns.boot()
    assert again.returncode == 0 and "already in place" in again.log, again.log


def test_installs_an_enabled_oneshot_unit_after_network_online(node_ns):
    result = node_ns.run(ASSIGN, *eni_args(node_ns))
    assert result.returncode == 0, result.log
    unit = node_ns.unit()
    assert (unit["Type"], unit["RemainAfterExit"]) == ("oneshot", "yes")
    assert unit["After"] == unit["Wants"] == "network-online.target"
    assert unit["WantedBy"] == "multi-user.target"
    enabled = node_ns.systemd_dir / "multi-user.target.wants" / "emr-fixed-ip.service"
    assert enabled.resolve() == (node_ns.systemd_dir / "emr-fixed-ip.service").resolve()
    # The unit runs a copy of the script (EMR deletes its bootstrap download), at boot.
    command = unit["ExecStart"].split()
    assert command[1] == str(node_ns.install_dir / "assign_private_ip.py")
    assert (node_ns.install_dir / "assign_private_ip.py").read_text() == ASSIGN.read_text()
    assert command[2:5] == ["--boot", "--ip", FIXED_IP]


def test_boot_run_never_takes_back_an_address_ec2_moved_away(node_ns):
    assert node_ns.run(ASSIGN, *eni_args(node_ns)).returncode == 0
    node_ns.ec2.unassign_private_ip_addresses(NetworkInterfaceId=node_ns.eni_id, PrivateIpAddresses=[FIXED_IP])
    node_ns.reboot_os()
    node_ns.proxy.calls.clear()
    boot = node_ns.boot()
    assert boot.returncode == 1
    assert f"at boot: {FIXED_IP} is no longer assigned to this node's interface" in boot.log
    assert node_ns.proxy.actions() == []
    assert node_ns.addresses() == [f"{MASTER_IP}/24"]


# ----------------------------------------------------------------- owning the rules


def test_an_older_dnat_rule_for_the_same_ip_no_longer_wins(node_ns):
    stale = ["-d", f"{FIXED_IP}/32", "-j", "DNAT", "--to-destination", "10.20.1.99"]
    for chain in ("PREROUTING", "OUTPUT"):
        node_ns.in_netns("iptables", "-w", "-t", "nat", "-A", chain, *stale)
    result = node_ns.run(ASSIGN, *eni_args(node_ns))
    assert result.returncode == 0, result.log
    with node_ns.listener():
        assert (node_ns.reach(FIXED_IP), node_ns.reach(FIXED_IP, from_client=False)) == ("RM", "RM")
    rules = node_ns.nat_rules()
    assert rules.index("-A PREROUTING -j EMR_FIXED_IP") < rules.index(
        f"-A PREROUTING -d {FIXED_IP}/32 -j DNAT --to-destination 10.20.1.99"
    )


def test_the_exact_rules_older_versions_wrote_are_removed_and_every_other_rule_kept(node_ns):
    # Versions before the EMR_FIXED_IP chain appended the DNAT to PREROUTING and OUTPUT.
    nat = ("iptables", "-w", "-t", "nat")
    legacy = ["-d", f"{FIXED_IP}/32", "-j", "DNAT", "--to-destination", MASTER_IP]
    others = [
        ["-d", f"{FIXED_IP}/32", "-j", "DNAT", "--to-destination", "10.20.1.99"],  # another target
        ["-d", "10.20.1.11/32", "-j", "DNAT", "--to-destination", MASTER_IP],  # another address
        ["-d", f"{FIXED_IP}/32", "-p", "tcp", "-j", "DNAT", "--to-destination", MASTER_IP],  # narrower
    ]
    for hook in ("PREROUTING", "OUTPUT"):
        node_ns.in_netns(*nat, "-A", hook, *legacy)
        node_ns.in_netns(*nat, "-A", hook, *legacy)  # a run twice left two
        for other in others:
            node_ns.in_netns(*nat, "-A", hook, *other)
    result = node_ns.run(ASSIGN, *eni_args(node_ns))
    assert result.returncode == 0, result.log
    assert "removed the rule an older version wrote" in result.log
    rules = node_ns.nat_rules()
    for hook in ("PREROUTING", "OUTPUT"):
        assert f"-A {hook} {' '.join(legacy)}" not in rules
        kept = [r for r in rules if r.startswith(f"-A {hook} ") and r != f"-A {hook} -j EMR_FIXED_IP"]
        assert kept == [f"-A {hook} {' '.join(other)}" for other in others]
    with node_ns.listener():
        assert node_ns.reach(FIXED_IP) == "RM"
    again = node_ns.run(ASSIGN, *eni_args(node_ns))
    assert "removed the rule" not in again.log and node_ns.nat_rules() == rules


def test_a_tampered_chain_is_rebuilt_and_the_jump_put_first_again(node_ns):
    assert node_ns.run(ASSIGN, *eni_args(node_ns)).returncode == 0
    nat = ("iptables", "-w", "-t", "nat")
    node_ns.in_netns(*nat, "-A", "EMR_FIXED_IP", "-d", "10.20.1.11/32", "-j", "DNAT", "--to-destination", "10.20.1.99")
    node_ns.in_netns(*nat, "-D", "PREROUTING", "-j", "EMR_FIXED_IP")
    node_ns.in_netns(*nat, "-I", "OUTPUT", "1", "-d", f"{FIXED_IP}/32", "-j", "DNAT", "--to-destination", "10.20.1.99")
    result = node_ns.run(ASSIGN, *eni_args(node_ns))
    assert result.returncode == 0, result.log
    rules = node_ns.nat_rules()
    assert [r for r in rules if "EMR_FIXED_IP" in r] == [
        "-A PREROUTING -j EMR_FIXED_IP",
        "-A OUTPUT -j EMR_FIXED_IP",
        f"-A EMR_FIXED_IP -d {FIXED_IP}/32 -j DNAT --to-destination {MASTER_IP}",
    ]
    assert rules.index("-A OUTPUT -j EMR_FIXED_IP") < rules.index(
        f"-A OUTPUT -d {FIXED_IP}/32 -j DNAT --to-destination 10.20.1.99"
    )


def test_nft_table_is_rebuilt_whole_and_left_alone_when_current(node_ns, tmp_path):
    firewall_available(FIREWALLS["nft-only"])
    node_ns.env_extra["PATH"] = tool_path(tmp_path, **FIREWALLS["nft-only"])
    node_ns.in_netns(
        "nft",
        "add table ip emr_fixed_ip; add chain ip emr_fixed_ip prerouting "
        "{ type nat hook prerouting priority -110; }; add rule ip emr_fixed_ip "
        f"prerouting ip daddr {FIXED_IP} dnat to 10.20.1.99",
    )
    first = node_ns.run(ASSIGN, *eni_args(node_ns))
    assert first.returncode == 0, first.log
    assert "nft table emr_fixed_ip rebuilt" in first.log
    listing = node_ns.in_netns("nft", "list", "table", "ip", "emr_fixed_ip")
    assert "10.20.1.99" not in listing
    assert listing.count(f"ip daddr {FIXED_IP} dnat to {MASTER_IP}") == 2
    second = node_ns.run(ASSIGN, *eni_args(node_ns))
    assert "already DNATs" in second.log and "nothing changed" in second.log, second.log


# ----------------------------------------------------------------- preflight


def test_refuses_before_any_aws_change_when_no_firewall_is_installed(node_ns, tmp_path):
    node_ns.env_extra["PATH"] = tool_path(tmp_path)  # ip only: no iptables, no nft
    result = node_ns.run(ASSIGN, *eni_args(node_ns))
    assert result.returncode == 1
    assert "preflight: no firewall to write the DNAT rules with" in result.log
    assert "dnf install nftables" in result.log
    assert node_ns.proxy.actions() == []
    assert FIXED_IP in node_ns.ips(node_ns.reservation_eni_id)
    assert node_ns.addresses() == [f"{MASTER_IP}/24"]


def test_refuses_before_any_aws_change_when_the_chosen_firewall_is_missing(node_ns, tmp_path):
    node_ns.env_extra["PATH"] = tool_path(tmp_path, iptables="/usr/sbin/iptables")
    result = node_ns.run(ASSIGN, *eni_args(node_ns), "--firewall", "nft")
    assert result.returncode == 1
    assert "preflight: no firewall" in result.log and "nft:" in result.log
    assert node_ns.proxy.actions() == []


def test_refuses_before_any_aws_change_without_a_systemd_unit_folder(node_ns):
    node_ns.systemd_dir.rmdir()
    result = node_ns.run(ASSIGN, *eni_args(node_ns))
    assert result.returncode == 1
    assert f"no systemd unit folder {node_ns.systemd_dir}" in result.log
    assert node_ns.proxy.actions() == []


# ----------------------------------------------------------------- Python 3.7 (EMR 6.x)

PYTHON37 = "/root/.pyenv/versions/3.7.16/bin/python3.7"


@pytest.mark.skipif(
    not os.path.exists(os.environ.get("EMR_BOOTSTRAP_PYTHON37", PYTHON37)),
    reason="no Python 3.7 interpreter (set EMR_BOOTSTRAP_PYTHON37)",
)
def test_runs_under_python_3_7_the_python3_of_emr_6(node_ns):
    python = os.environ.get("EMR_BOOTSTRAP_PYTHON37", PYTHON37)
    result = node_ns.run(ASSIGN, *eni_args(node_ns), python=python)
    assert result.returncode == 0, result.log
    assert node_ns.unit()["ExecStart"].startswith(python + " ")
    with node_ns.listener():
        node_ns.reboot_os()
        boot = node_ns.boot()
        assert boot.returncode == 0, boot.log
        assert node_ns.reach(FIXED_IP) == "RM"


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
    result = subprocess.run(
        [PYTHON, str(ASSIGN), *args],
        capture_output=True,
        text=True,
        env={"EMR_BOOTSTRAP_IMDS_ENDPOINT": "http://127.0.0.1:9"},
    )
    assert result.returncode == 2
    assert message in result.stderr
