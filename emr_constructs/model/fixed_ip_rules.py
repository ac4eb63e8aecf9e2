"""The rules of a fixed-IP reservation (guide tip T4), in plain Python: no cdktf import.

One place for every check that needs only the settings: the environment file's
validation runs them before the provider bindings are imported (about a second instead
of a minute), and ``FixedIpReservation`` runs the same code on its own inputs.

What a reservation is:

``cidr`` (the default)
    One ``aws_ec2_subnet_cidr_reservation`` of type ``explicit``: AWS hands out no address
    of the block by itself, at any time, including between the destroy of a cluster and
    the create of its successor; only an explicit ``AssignPrivateIpAddresses`` (the
    master's bootstrap action) takes one. The block is a CIDR: ``block`` when given, else
    the smallest CIDR that holds every fixed IP. Addresses of the block that no cluster
    owns are spares, kept for later clusters, so a new cluster inside the block changes
    nothing in AWS, and one outside it replaces the small reservation (the plan shows it).

``eni``
    The guide's way: an unattached network interface holds every address from the lowest
    to the highest fixed IP (unowned ones in between are spares: gaps are allowed) as
    secondary addresses; its own primary address sits just below. A master takes its
    address off the interface. Once taken, Terraform can no longer add addresses to the
    interface without fighting the masters, so the range is fixed at creation: the
    interface records it in a tag, and a plan that needs a wider range fails (see
    ``FixedIpReservation``). Between a cluster's destroy and its successor's create the
    address sits in the subnet's free pool, where any new interface can take it.

Gaps are allowed in both modes: dropping a middle cluster's address keeps every other
cluster's address and leaves a spare.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

MODES = ("cidr", "eni")
DEFAULT_MODE = "cidr"
CLUSTER_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$", re.ASCII)


@dataclass(frozen=True)
class FixedIp:
    """One reserved address and the cluster whose master takes it."""

    cluster: str
    ip: str


@dataclass(frozen=True)
class Keys:
    """How problems name what was given: construct arguments, or environment-file keys."""

    mode: str = "mode"
    block: str = "block"
    subnet: str = "subnet_cidr"
    assignment: Callable[[FixedIp], str] = lambda a: f"FixedIp(cluster={a.cluster!r}, ip={a.ip!r})"


def aws_reserved(subnet: ipaddress.IPv4Network) -> list[ipaddress.IPv4Address]:
    """The five addresses AWS keeps in every subnet: network, router, DNS, future use,
    broadcast."""
    return [subnet.network_address + i for i in range(4)] + [subnet.broadcast_address]


def smallest_cidr(first: ipaddress.IPv4Address, last: ipaddress.IPv4Address) -> ipaddress.IPv4Network:
    """The smallest CIDR block holding every address from ``first`` to ``last``."""
    for prefix in range(32, -1, -1):
        network = ipaddress.IPv4Network(f"{first}/{prefix}", strict=False)
        if last in network:
            return network
    raise AssertionError("unreachable: /0 holds every address")


def three_master_problem(cluster: str, master_count: int) -> str | None:
    """Why a multi-master cluster cannot take a fixed IP (None when it can)."""
    if master_count == 1:
        return None
    return (
        f"cluster {cluster!r} asks for a fixed IP but runs {master_count} master nodes: the bootstrap action "
        "moves the address to the one primary node, and after a failover EMR's new primary would not "
        "have it; use one master, or reach the cluster through its HA endpoints instead"
    )


@dataclass(frozen=True)
class Reservation:
    """What a valid reservation reserves: ``cidr_block`` (cidr mode) or the ``holder_ip``
    and the held ``addresses`` (eni mode), and which of them are ``spares``."""

    mode: str
    cidr_block: str | None
    holder_ip: str | None
    addresses: tuple[str, ...]
    spares: tuple[str, ...]


def plan_reservation(
    *, subnet_cidr: str, assignments: Sequence[FixedIp], mode: str = DEFAULT_MODE, block: str | None = None
) -> Reservation:
    """The reservation for inputs that ``fixed_ip_problems`` accepted."""
    ips = sorted(ipaddress.IPv4Address(a.ip) for a in assignments)
    owned = {str(ip) for ip in ips}
    if mode == "cidr":
        network = ipaddress.IPv4Network(block) if block else smallest_cidr(ips[0], ips[-1])
        addresses = tuple(str(ip) for ip in network)
        return Reservation(mode, str(network), None, addresses, tuple(a for a in addresses if a not in owned))
    addresses = tuple(str(ipaddress.IPv4Address(n)) for n in range(int(ips[0]), int(ips[-1]) + 1))
    return Reservation(mode, None, str(ips[0] - 1), addresses, tuple(a for a in addresses if a not in owned))


# Complexity over the cap (C901): a flat checklist of independent address rules, read top
# to bottom in the order the messages come out; splitting it would scatter that order.
def fixed_ip_problems(  # noqa: C901
    *,
    subnet_cidr: str,
    assignments: Sequence[FixedIp],
    mode: str = DEFAULT_MODE,
    block: str | None = None,
    master_counts: Mapping[str, int] | None = None,
    keys: Keys = Keys(),
) -> list[str]:
    """Every problem with a reservation, each naming the value given and what is allowed.

    ``master_counts`` (cluster name -> master node count) refuses a fixed IP on a
    multi-master cluster.
    """
    problems: list[str] = []
    if mode not in MODES:
        problems.append(f"{keys.mode} = {mode!r}: allowed modes are {', '.join(MODES)} (default {DEFAULT_MODE})")
    try:
        subnet = ipaddress.IPv4Network(subnet_cidr, strict=True)
    except ValueError:
        return problems + [f"{keys.subnet} = {subnet_cidr!r}: expected an IPv4 CIDR block such as 10.20.1.0/24"]
    if not assignments:
        return problems + ["no fixed IPs: give at least one cluster = IP"]

    reserved = aws_reserved(subnet)
    reserved_text = ", ".join(map(str, reserved))
    seen: dict[ipaddress.IPv4Address, str] = {}
    ips_of: dict[str, list[str]] = {}
    for a in assignments:
        where = keys.assignment(a)
        if not a.cluster:
            problems.append(f"{where}: an IP with no owner; name the cluster whose master takes it, or drop the IP")
        elif not CLUSTER_NAME.fullmatch(a.cluster):
            problems.append(f"{where}: the owner must be a cluster name (lower-case letters, digits, '-')")
        try:
            ip = ipaddress.IPv4Address(a.ip)
        except ValueError:
            problems.append(f"{where}: not an IPv4 address; give one inside {subnet}")
            continue
        if ip not in subnet:
            problems.append(f"{where}: outside the subnet {subnet}; pick an address inside it")
            continue
        if ip in reserved:
            problems.append(
                f"{where}: AWS reserves the first four and the last address of {subnet} ({reserved_text}); pick another"
            )
            continue
        if ip in seen:
            problems.append(f"{where}: the same IP is listed twice (also for {seen[ip]!r}); give each cluster its own")
            continue
        seen[ip] = a.cluster
        if a.cluster:
            ips_of.setdefault(a.cluster, []).append(a.ip)

    for cluster, ips in sorted(ips_of.items()):
        if len(ips) > 1:
            problems.append(f"cluster {cluster!r} has {len(ips)} IPs ({', '.join(ips)}): a master takes exactly one")

    good = sorted(seen)
    if mode == "cidr":
        problems += _cidr_block_problems(subnet, good, block, keys)
    elif block is not None:
        problems.append(
            f"{keys.block} = {block!r}: a block applies to mode = 'cidr' only; in mode = 'eni' the holding "
            "interface holds every address from the lowest to the highest fixed IP. Drop it, or use cidr mode"
        )
    if mode == "eni" and good:
        holder = good[0] - 1
        if holder in reserved:
            problems.append(
                f"{keys.mode} = 'eni': the holding interface's own primary address is the one just below the "
                f"lowest fixed IP ({holder}), which AWS reserves in {subnet}; start the addresses at "
                f"{subnet.network_address + 5} or later, or use cidr mode"
            )

    for cluster, count in sorted((master_counts or {}).items()):
        if cluster in ips_of and (problem := three_master_problem(cluster, count)):
            where = keys.assignment(FixedIp(cluster, ips_of[cluster][0]))
            problems.append(f"{where}: {problem}")
    return problems


def _cidr_block_problems(subnet, good, block, keys) -> list[str]:
    reserved = aws_reserved(subnet)
    if block is None:
        if not good:
            return []
        network = smallest_cidr(good[0], good[-1])
        clash = [r for r in reserved if r in network]
        if network.subnet_of(subnet) and not clash:
            return []
        return [
            f"{keys.mode} = 'cidr': the smallest CIDR holding every fixed IP ({good[0]} to {good[-1]}) is "
            f"{network}, which {'includes ' + ', '.join(map(str, clash)) + ', reserved by AWS' if clash else 'reaches outside the subnet ' + str(subnet)}; "
            f"set {keys.block} to an aligned block inside the subnet that holds them (e.g. "
            f"{_suggest(subnet, good)}), or move the addresses"
        ]
    try:
        network = ipaddress.IPv4Network(block, strict=True)
    except ValueError:
        try:
            loose = ipaddress.IPv4Network(block, strict=False)
            return [
                f"{keys.block} = {block!r}: not aligned (host bits set); the CIDR block starting at a "
                f"multiple of its size is {loose}"
            ]
        except ValueError:
            return [
                f"{keys.block} = {block!r}: expected an IPv4 CIDR block inside {subnet}, e.g. {_suggest(subnet, good)}"
            ]
    problems = []
    if not network.subnet_of(subnet):
        problems.append(f"{keys.block} = {block!r}: outside the subnet {subnet}; pick a block inside it")
        return problems
    clash = [r for r in reserved if r in network]
    if clash:
        problems.append(
            f"{keys.block} = {block!r}: includes {', '.join(map(str, clash))}, which AWS reserves; "
            f"pick a block that avoids the first four and the last address of {subnet}"
        )
    outside = [str(ip) for ip in good if ip not in network]
    if outside:
        problems.append(
            f"{keys.block} = {block!r}: does not hold fixed IP(s) {', '.join(outside)}; widen the block "
            f"(the smallest CIDR holding them all is {smallest_cidr(min(good + [network[0]]), max(good + [network[-1]]))}) "
            "or move the addresses into it"
        )
    return problems


def _suggest(subnet: ipaddress.IPv4Network, good) -> str:
    """A block inside ``subnet`` that holds ``good`` and avoids AWS's addresses, if any."""
    if not good:
        return str(ipaddress.IPv4Network(f"{subnet.network_address + 16}/29", strict=False))
    for prefix in range(32, subnet.prefixlen, -1):
        network = ipaddress.IPv4Network(f"{good[0]}/{prefix}", strict=False)
        if good[-1] in network and not any(r in network for r in aws_reserved(subnet)):
            return str(network)
    return "a block after the first four addresses"
