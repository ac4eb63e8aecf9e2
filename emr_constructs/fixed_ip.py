"""FixedIpReservation: a block of contiguous private IPs kept for EMR masters (guide tip T4).

The guide gives every master a fixed private IP, so YARN RM, Spark History, Trino and SSH
keep one address across cluster replacements, and reserves the block beforehand so no
other instance takes the addresses. Two ways to reserve:

``eni`` (the guide's way)
    An unattached network interface holds the block as secondary IPs. Its own primary
    address is the one just below the block (a primary address can never move to another
    interface), so the block itself stays movable. The master's
    bootstrap action (``assets/bootstrap/assign_private_ip.py``) moves its IP off this
    interface with ``AllowReassignment``. Terraform ignores ``private_ips`` afterwards, so
    it never fights the masters that took their address. When a cluster is destroyed its
    address is released to the subnet (it does not return to the interface) until the next
    master takes it again; see the README, "Fixed master IPs".

``cidr``
    ``aws_ec2_subnet_cidr_reservation`` with ``reservation_type = "explicit"``: AWS assigns
    no address of the block automatically, only an explicit ``AssignPrivateIpAddresses``
    does. No window after a cluster is destroyed; the block must then be a CIDR.

Which cluster gets which IP is an explicit mapping from cluster name to address; the
construct id of everything derives from names, never list positions.

This module reads no files and no environment: the stack passes the subnet and mapping.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Sequence

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.data_aws_network_interface import (
    DataAwsNetworkInterface,
    DataAwsNetworkInterfaceFilter,
)
from cdktf_cdktf_provider_aws.ec2_subnet_cidr_reservation import Ec2SubnetCidrReservation
from cdktf_cdktf_provider_aws.network_interface import NetworkInterface
from constructs import Construct

from emr_constructs.cluster_spec import BootstrapAction
from emr_constructs.contract import FIXED_IP_TAG
from emr_constructs.errors import ConstructInputError, EmrConfigError
from emr_constructs.iam_roles import regional_arn

if TYPE_CHECKING:
    from emr_constructs.emr_cluster import EmrCluster

MODES = ("eni", "cidr")
# Tag on the holding interface; purpose stacks find it by this tag (no cross-stack state).
HOLDER_TAG = "emr-cdktf:fixed-ip-reservation"


def three_master_problem(cluster: str, master_count: int) -> str | None:
    """Why a multi-master cluster cannot take a fixed IP (None when it can)."""
    if master_count == 1:
        return None
    return (
        f"cluster {cluster!r} asks for a fixed IP but runs {master_count} master nodes: the bootstrap action "
        "moves the address to the one primary node, and after a failover EMR's new primary would not "
        "have it; use one master, or reach the cluster through its HA endpoints instead"
    )
_CLUSTER_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$", re.ASCII)


class FixedIpError(ConstructInputError):
    """Every problem found in a fixed-IP reservation or its owners."""


@dataclass(frozen=True)
class FixedIp:
    """One reserved address and the cluster whose master takes it."""

    cluster: str
    ip: str


def validate_fixed_ips(
    *,
    subnet_cidr: str,
    assignments: Sequence[FixedIp],
    mode: str = "eni",
    master_counts: Mapping[str, int] | None = None,
) -> list[str]:
    """Every problem with a reservation, as messages naming the value and what is allowed.

    ``master_counts`` (cluster name -> master node count) lets the cluster side refuse a
    fixed IP on a three-master cluster.
    """
    problems: list[str] = []
    if mode not in MODES:
        problems.append(f"mode = {mode!r}: allowed modes are {', '.join(MODES)}")
    try:
        subnet = ipaddress.IPv4Network(subnet_cidr, strict=True)
    except ValueError:
        return problems + [f"subnet_cidr = {subnet_cidr!r}: expected an IPv4 CIDR block such as 10.20.1.0/24"]
    if not assignments:
        problems.append("assignments = []: give at least one FixedIp(cluster=..., ip=...)")
        return problems

    # AWS keeps the network address, the next three (router, DNS, future use) and the
    # broadcast address of every subnet.
    aws_reserved = {subnet.network_address + i for i in range(4)} | {subnet.broadcast_address}
    seen_ips: dict[ipaddress.IPv4Address, str] = {}
    ips_of: dict[str, list[str]] = {}
    good: list[ipaddress.IPv4Address] = []
    for a in assignments:
        where = f"FixedIp(cluster={a.cluster!r}, ip={a.ip!r})"
        if not a.cluster:
            problems.append(f"{where}: an IP with no owner; name the cluster whose master takes it, or drop the IP")
        elif not _CLUSTER_NAME.fullmatch(a.cluster):
            problems.append(f"{where}: cluster must be a cluster name (lower-case letters, digits, '-')")
        try:
            ip = ipaddress.IPv4Address(a.ip)
        except ValueError:
            problems.append(f"{where}: ip is not an IPv4 address")
            continue
        if ip not in subnet:
            problems.append(f"{where}: ip lies outside the subnet {subnet}; pick one inside it")
            continue
        if ip in aws_reserved:
            problems.append(
                f"{where}: AWS reserves the first four and the last address of {subnet} "
                f"({', '.join(str(r) for r in sorted(aws_reserved))}); pick another"
            )
            continue
        if ip in seen_ips:
            problems.append(f"{where}: the same IP is listed twice (also for {seen_ips[ip]!r})")
            continue
        seen_ips[ip] = a.cluster
        good.append(ip)
        if a.cluster:
            ips_of.setdefault(a.cluster, []).append(a.ip)

    for cluster, ips in sorted(ips_of.items()):
        if len(ips) > 1:
            problems.append(f"cluster {cluster!r} has {len(ips)} IPs ({', '.join(ips)}): a master takes exactly one")

    if good and mode == "eni":
        holder = min(good) - 1
        if holder in aws_reserved or holder in seen_ips:
            problems.append(
                f"mode = 'eni': the holding interface's own primary address is the one just below the block "
                f"({holder}), which AWS reserves in {subnet}; start the block at {subnet.network_address + 5} or later"
            )
    if good:
        ordered = sorted(good)
        gaps = [f"{a}..{b}" for a, b in zip(ordered, ordered[1:]) if int(b) - int(a) != 1]
        if gaps:
            problems.append(
                f"the block {ordered[0]}-{ordered[-1]} is not contiguous (gaps after {', '.join(gaps)}); "
                "reserve consecutive addresses"
            )
        if mode == "cidr" and not gaps:
            nets = list(ipaddress.summarize_address_range(ordered[0], ordered[-1]))
            if len(nets) != 1:
                problems.append(
                    f"mode = 'cidr' needs the block to be one CIDR, but {ordered[0]}-{ordered[-1]} is "
                    f"{', '.join(map(str, nets))}; align the block (e.g. 4 addresses starting at a multiple of 4) "
                    "or use mode = 'eni'"
                )

    for cluster, count in sorted((master_counts or {}).items()):
        if cluster in ips_of and (problem := three_master_problem(cluster, count)):
            problems.append(problem)
    return problems


class FixedIpReservation(Construct):
    """Reserves contiguous private IPs in one subnet for EMR masters.

    Inputs (keyword-only):
      subnet_id: the subnet the masters run in (required).
      subnet_cidr: that subnet's CIDR, to check the addresses (required).
      assignments: FixedIp(cluster, ip) entries; every IP has exactly one owner and every
        cluster at most one IP; together they form a contiguous block (required).
      mode: ``"eni"`` (default, the guide's way) or ``"cidr"`` (explicit subnet CIDR
        reservation; the block must be a CIDR).
      name: name prefix for tags and the description; default the construct id.
      security_group_ids: for ``eni`` mode, groups for the holding interface; default
        none given, which leaves the VPC default group on an interface that is never
        attached to an instance.

    Attributes: ``mode``, ``subnet_id``, ``prefix_length``, ``ip_of`` (cluster -> IP),
    ``network_interface_id`` and ``holder_ip`` (the interface's own primary address,
    just below the block) in ``eni`` mode, ``cidr_block`` in ``cidr`` mode (else None).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        subnet_id: str,
        subnet_cidr: str,
        assignments: Sequence[FixedIp],
        mode: str = "eni",
        name: str | None = None,
        security_group_ids: Sequence[str] = (),
    ) -> None:
        problems = validate_fixed_ips(subnet_cidr=subnet_cidr, assignments=assignments, mode=mode)
        if problems:
            raise FixedIpError(f"FixedIpReservation {id}", problems)
        super().__init__(scope, id)
        name = name or id
        ordered = sorted(assignments, key=lambda a: ipaddress.IPv4Address(a.ip))
        self.mode = mode
        self.subnet_id = subnet_id
        self.prefix_length = ipaddress.IPv4Network(subnet_cidr).prefixlen
        self.ip_of = {a.cluster: a.ip for a in assignments}
        self.network_interface_id: str | None = None
        self.holder_ip: str | None = None
        self.cidr_block: str | None = None
        owners = ", ".join(f"{a.ip}={a.cluster}" for a in ordered)
        if mode == "eni":
            self.holder_ip = str(ipaddress.IPv4Address(ordered[0].ip) - 1)
            eni = NetworkInterface(
                self, "holder",
                subnet_id=subnet_id,
                # In sequence: the first is the interface's own primary address, which
                # never moves; the block follows as movable secondary addresses.
                private_ip_list_enabled=True,
                private_ip_list=[self.holder_ip, *(a.ip for a in ordered)],
                security_groups=list(security_group_ids) or None,
                description=f"{name}: reserved EMR master IPs, never attach ({owners})"[:255],
                tags={"Name": f"{name}-fixed-ip-reservation", HOLDER_TAG: name},
                # Masters take their address away with AllowReassignment; Terraform must
                # not put it back (and so take it from a running master).
                lifecycle=TerraformResourceLifecycle(
                    ignore_changes=["private_ips", "private_ips_count", "private_ip_list"]),
            )
            self.network_interface_id = eni.id
        else:
            first = ipaddress.IPv4Address(ordered[0].ip)
            (block,) = ipaddress.summarize_address_range(first, ipaddress.IPv4Address(ordered[-1].ip))
            self.cidr_block = str(block)
            Ec2SubnetCidrReservation(
                self, "explicit",
                subnet_id=subnet_id,
                cidr_block=self.cidr_block,
                reservation_type="explicit",
                description=f"{name}: EMR master IPs ({owners})"[:255],
            )


class ReservedIpHolder(Construct):
    """Finds the holding interface of an ``eni``-mode reservation from another stack.

    A data source filtered by the holder's tag and subnet: the purpose stacks need the
    interface id for the bootstrap action, and a lookup keeps stacks independent of each
    other's state backends. Deploy the foundation stack first.

    Attribute: ``network_interface_id`` (token, known at plan time).
    """

    def __init__(self, scope: Construct, id: str, *, name: str, subnet_id: str) -> None:
        super().__init__(scope, id)
        found = DataAwsNetworkInterface(
            self, "holder",
            filter=[
                DataAwsNetworkInterfaceFilter(name=f"tag:{HOLDER_TAG}", values=[name]),
                DataAwsNetworkInterfaceFilter(name="subnet-id", values=[subnet_id]),
            ],
        )
        self.network_interface_id: str = found.id


def use_fixed_ip(cluster: EmrCluster, *, ip: str, action: BootstrapAction, region: str, account_id: str,
                 subnet_id: str, ssh_user: str = "hadoop") -> None:
    """Give ``cluster``'s master the fixed private IP ``ip`` (guide tip T4).

    ``action`` runs ``assign_private_ip.py`` with the IP (and, in ``eni`` mode, the
    reservation interface). It runs before every other bootstrap action: EMR runs them
    in order and stops at the first failure, so no other action runs on a master that
    will not get its address, and later actions may rely on it. The instance role may
    then find who holds the address (``ec2:DescribeNetworkInterfaces``, which has no
    resource-level permissions) and assign it to an interface of the cluster's subnet
    only (``ec2:Subnet``). The cluster is tagged ``fixed-private-ip`` (read by ``ops
    status``), its UI outputs move to the IP, and an ``ssh`` output gives the login line.
    """
    problem = three_master_problem(cluster.name, cluster.spec.master.instance_count)
    if problem:
        raise EmrConfigError(f"EmrCluster {cluster.name!r}", [problem])
    cluster.add_bootstrap_action(action, first=True)
    cluster.roles.add_statement(
        sid="FixedIpFindHolder", actions=["ec2:DescribeNetworkInterfaces"], resources=["*"])
    cluster.roles.add_statement(
        sid="FixedIpAssignInSubnet",
        actions=["ec2:AssignPrivateIpAddresses"],
        resources=[regional_arn("ec2", region, account_id, "network-interface/*")],
        conditions={"StringEquals": {"ec2:Subnet": regional_arn("ec2", region, account_id, f"subnet/{subnet_id}")}},
    )
    cluster.add_tag(FIXED_IP_TAG, ip)
    cluster.set_ui_host(ip)
    cluster.add_output("ssh", f"ssh {ssh_user}@{ip}", "SSH to the master on its fixed private IP")
