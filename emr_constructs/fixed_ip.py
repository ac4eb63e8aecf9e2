"""Fixed master IPs (guide tip T4): the reservation and what a cluster needs to take its IP.

The guide gives every master a fixed private IP, so YARN RM, Spark History, Trino and SSH
keep one address across cluster replacements and reboots, and reserves the addresses
beforehand so no other instance takes them. ``FixedIpReservation`` reserves them in one of
two modes (the rules, and why ``cidr`` is the default, are in
``emr_constructs.model.fixed_ip_rules``, shared with the environment file's validation):

``cidr`` (default)
    ``aws_ec2_subnet_cidr_reservation`` with ``reservation_type = "explicit"``: AWS hands
    out no address of the block by itself, ever; only the master's explicit assignment
    takes one. The block may hold spare addresses for later clusters.

``eni`` (the guide's way)
    An unattached network interface holds every address from the lowest to the highest
    fixed IP (spares included) as secondary IPs; its own primary address is the one just
    below (a primary address never moves). A master's bootstrap action takes its address
    off the interface (unassign there, then assign to itself). Terraform ignores the
    interface's addresses afterwards, so it never fights the masters that took theirs; the
    interface records the range it was created with in a tag, and a postcondition fails
    the plan when the settings need a wider range, instead of showing an address as
    reserved that never would be.

``use_fixed_ip`` wires one cluster to its address: the bootstrap action first, the IAM
grants the node script needs (unassign on the reservation interface only), the tag ``ops
status`` reads, and the UI outputs on the fixed address.

Which cluster gets which IP is an explicit mapping from cluster name to address; the
construct id of everything derives from names, never list positions. This module reads no
files and no environment: the stack passes the subnet and mapping.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Sequence

from cdktf import Postcondition, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.data_aws_network_interface import (
    DataAwsNetworkInterface,
    DataAwsNetworkInterfaceFilter,
)
from cdktf_cdktf_provider_aws.ec2_subnet_cidr_reservation import Ec2SubnetCidrReservation
from cdktf_cdktf_provider_aws.network_interface import NetworkInterface
from constructs import Construct

from emr_constructs.iam_roles import regional_arn
from emr_constructs.model.cluster_spec import BootstrapAction
from emr_constructs.model.contract import FIXED_IP_TAG
from emr_constructs.model.errors import ConstructInputError, EmrConfigError
from emr_constructs.model.fixed_ip_rules import (
    DEFAULT_MODE,
    MODES,
    FixedIp,
    fixed_ip_problems,
    plan_reservation,
    three_master_problem,
)

if TYPE_CHECKING:
    from emr_constructs.emr_cluster import EmrCluster

__all__ = [
    "DEFAULT_MODE",
    "HOLDER_TAG",
    "MODES",
    "RANGE_TAG",
    "FixedIp",
    "FixedIpError",
    "FixedIpReservation",
    "ReservedIpHolder",
    "three_master_problem",
    "use_fixed_ip",
    "validate_fixed_ips",
]

# Tag on the holding interface; purpose stacks find it by this tag (no cross-stack state).
HOLDER_TAG = "emr-cdktf:fixed-ip-reservation"
# Tag on the holding interface: the address range it was created with ("first-last").
RANGE_TAG = "emr-cdktf:fixed-ip-range"


class FixedIpError(ConstructInputError):
    """Every problem found in a fixed-IP reservation or its owners."""


def validate_fixed_ips(
    *,
    subnet_cidr: str,
    assignments: Sequence[FixedIp],
    mode: str = DEFAULT_MODE,
    block: str | None = None,
    master_counts: Mapping[str, int] | None = None,
) -> list[str]:
    """Every problem with a reservation (see ``fixed_ip_rules.fixed_ip_problems``)."""
    return fixed_ip_problems(
        subnet_cidr=subnet_cidr, assignments=assignments, mode=mode, block=block, master_counts=master_counts
    )


class FixedIpReservation(Construct):
    """Reserves private IPs in one subnet for EMR masters.

    Inputs (keyword-only):
      subnet_id: the subnet the masters run in (required).
      subnet_cidr: that subnet's CIDR, to check the addresses (required).
      assignments: FixedIp(cluster, ip) entries; every IP has exactly one owner and every
        cluster at most one IP; gaps between them are allowed (required).
      mode: ``"cidr"`` (default: an explicit subnet CIDR reservation) or ``"eni"`` (a
        holding network interface, the guide's way).
      block: cidr mode only, the CIDR to reserve, spares included; default the smallest
        CIDR holding every fixed IP.
      name: name prefix for tags and the description; default the construct id.
      security_group_ids: for ``eni`` mode, groups for the holding interface; default
        none given, which leaves the VPC default group on an interface that is never
        attached to an instance.

    Attributes: ``mode``, ``subnet_id``, ``prefix_length``, ``ip_of`` (cluster -> IP),
    ``spares`` (reserved addresses no cluster owns), ``network_interface_id`` and
    ``holder_ip`` (the interface's own primary address, just below the range) in ``eni``
    mode, ``cidr_block`` in ``cidr`` mode (else None).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        subnet_id: str,
        subnet_cidr: str,
        assignments: Sequence[FixedIp],
        mode: str = DEFAULT_MODE,
        block: str | None = None,
        name: str | None = None,
        security_group_ids: Sequence[str] = (),
    ) -> None:
        problems = validate_fixed_ips(subnet_cidr=subnet_cidr, assignments=assignments, mode=mode, block=block)
        if problems:
            raise FixedIpError(f"FixedIpReservation {id}", problems)
        super().__init__(scope, id)
        name = name or id
        plan = plan_reservation(subnet_cidr=subnet_cidr, assignments=assignments, mode=mode, block=block)
        ordered = sorted(assignments, key=lambda a: tuple(int(part) for part in a.ip.split(".")))
        self.mode = mode
        self.subnet_id = subnet_id
        self.prefix_length = int(subnet_cidr.split("/")[1])
        self.ip_of = {a.cluster: a.ip for a in assignments}
        self.spares = plan.spares
        self.network_interface_id: str | None = None
        self.holder_ip: str | None = None
        self.cidr_block: str | None = None
        owners = ", ".join(f"{a.ip}={a.cluster}" for a in ordered)
        if mode == "eni":
            assert plan.holder_ip is not None, "an eni-mode reservation always has a holder address"
            self.holder_ip = plan.holder_ip
            held_range = f"{plan.addresses[0]}-{plan.addresses[-1]}"
            eni = NetworkInterface(
                self,
                "holder",
                subnet_id=subnet_id,
                # In sequence: the first is the interface's own primary address, which
                # never moves; the range follows as movable secondary addresses.
                private_ip_list_enabled=True,
                private_ip_list=[plan.holder_ip, *plan.addresses],
                security_groups=list(security_group_ids) or None,
                description=f"{name}: reserved EMR master IPs, never attach ({owners})"[:255],
                tags={"Name": f"{name}-fixed-ip-reservation", HOLDER_TAG: name, RANGE_TAG: held_range},
                lifecycle=TerraformResourceLifecycle(
                    # Masters take their address away; Terraform must not put it back (and
                    # so take it from a running master). The range tag stays what the
                    # interface was created with, so the check below sees a wider range.
                    ignore_changes=["private_ips", "private_ips_count", "private_ip_list", f'tags["{RANGE_TAG}"]'],
                    postcondition=[
                        Postcondition(
                            condition=f'${{lookup(self.tags, "{RANGE_TAG}", "") == "{held_range}"}}',
                            error_message=(
                                f"The fixed IPs now need the range {held_range}, but this holding interface was "
                                f'created holding ${{lookup(self.tags, "{RANGE_TAG}", "(unknown)")}} and, once masters '
                                "have taken their addresses, Terraform cannot add addresses to it: the new address "
                                "would NOT be reserved. Keep new fixed IPs inside the range, or move to "
                                'fixed_ips.mode = "cidr" (the default); see docs/fixed-ips.md.'
                            ),
                        )
                    ],
                ),
            )
            self.network_interface_id = eni.id
        else:
            assert plan.cidr_block is not None, "a cidr-mode reservation always has a block"
            self.cidr_block = plan.cidr_block
            spares = f"; spare: {len(plan.spares)}" if plan.spares else ""
            Ec2SubnetCidrReservation(
                self,
                "explicit",
                subnet_id=subnet_id,
                cidr_block=plan.cidr_block,
                reservation_type="explicit",
                description=f"{name}: EMR master IPs ({owners}{spares})"[:255],
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
            self,
            "holder",
            filter=[
                DataAwsNetworkInterfaceFilter(name=f"tag:{HOLDER_TAG}", values=[name]),
                DataAwsNetworkInterfaceFilter(name="subnet-id", values=[subnet_id]),
            ],
        )
        self.network_interface_id: str = found.id


def use_fixed_ip(
    cluster: EmrCluster,
    *,
    ip: str,
    action: BootstrapAction,
    region: str,
    account_id: str,
    subnet_id: str,
    reservation_eni: str | None = None,
    ssh_user: str = "hadoop",
) -> None:
    """Give ``cluster``'s master the fixed private IP ``ip`` (guide tip T4).

    The cluster must run in ``subnet_id`` alone: a fleet cluster with several subnets is
    refused, because EMR would pick the subnet and the address lives in one.

    ``action`` runs ``assign_private_ip.py`` with the IP (and, in ``eni`` mode, the
    reservation interface). It runs before every other bootstrap action: EMR runs them
    in order and stops at the first failure, so no other action runs on a master that
    will not get its address, and later actions may rely on it. The instance role may
    then find who holds the address and whether its instance is shutting down
    (``ec2:DescribeNetworkInterfaces`` and ``ec2:DescribeInstances``, which have no
    resource-level permissions), assign it to an interface of the cluster's subnet only
    (``ec2:Subnet``), and, in ``eni`` mode (``reservation_eni`` given), unassign it from
    that one interface only: the script's race-free takeover. The cluster is tagged ``fixed-private-ip`` (read by ``ops
    status``), its UI outputs move to the IP, and an ``ssh`` output gives the login line.
    """
    # A master fleet always has one node (target capacity 1).
    problem = three_master_problem(cluster.name, getattr(cluster.spec.master, "instance_count", 1))
    problems = [problem] if problem else []
    if len(cluster.subnet_ids) > 1:
        # EMR picks one of a fleet cluster's subnets at launch, and the reserved address
        # exists in one subnet only: the master must launch in that subnet.
        problems.append(
            f"subnets = {list(cluster.subnet_ids)!r}: a fixed master IP pins the master to the subnet that holds "
            f"the address ({subnet_id!r}), but EMR may launch this fleet cluster in any of its subnets; give the "
            "cluster that one subnet, or no fixed IP"
        )
    elif cluster.subnet_ids != (subnet_id,):
        problems.append(
            f"subnet_id = {subnet_id!r}: the cluster runs in {cluster.subnet_ids[0]!r}; the fixed IP's subnet and "
            "the cluster's must be the same"
        )
    if problems:
        raise EmrConfigError(f"EmrCluster {cluster.name!r}", problems)
    cluster.add_bootstrap_action(action, first=True)
    cluster.roles.add_statement(
        sid="FixedIpFindHolder", actions=["ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces"], resources=["*"]
    )
    cluster.roles.add_statement(
        sid="FixedIpAssignInSubnet",
        actions=["ec2:AssignPrivateIpAddresses"],
        resources=[regional_arn("ec2", region, account_id, "network-interface/*")],
        # ec2:Subnet is an ARN condition key: ArnEquals, not StringEquals.
        conditions={"ArnEquals": {"ec2:Subnet": regional_arn("ec2", region, account_id, f"subnet/{subnet_id}")}},
    )
    if reservation_eni is not None:
        cluster.roles.add_statement(
            sid="FixedIpTakeFromReservation",
            actions=["ec2:UnassignPrivateIpAddresses"],
            resources=[regional_arn("ec2", region, account_id, f"network-interface/{reservation_eni}")],
        )
    cluster.add_tag(FIXED_IP_TAG, ip)
    cluster.set_ui_host(ip)
    cluster.add_output("ssh", f"ssh {ssh_user}@{ip}", "SSH to the master on its fixed private IP")
