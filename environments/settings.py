"""Per-account settings: TOML files under environments/, loaded into frozen dataclasses.

The environment is the only place that knows account-specific values (region, VPC,
subnets, CIDRs, buckets). Stacks receive a ``Settings`` object; constructs never read
files or environment variables. Every problem in a file is collected and reported at
once, before anything is synthesized.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from environments.adoption import Adoption, parse_adoption

ENVIRONMENTS_DIR = Path(__file__).resolve().parent
DEFAULT_ENVIRONMENT = "example"
# The one switch that selects another environment: a name under environments/ or a path.
ENVIRONMENT_VARIABLE = "EMR_CDKTF_ENV"

_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_ACCOUNT = re.compile(r"^\d{12}$")
_VPC_ID = re.compile(r"^vpc-[0-9a-f]{8}([0-9a-f]{9})?$")
_SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8}([0-9a-f]{9})?$")
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
# S3 bucket naming rules (general purpose buckets), without the dotted variants: dots
# break virtual-hosted TLS and are never needed here.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_ANY_AZ = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d(-[a-z]+-\d+)?[a-z]$")


class SettingsError(ValueError):
    """Every problem found in one environment file, reported together."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"{source}: {len(problems)} problem(s) in the environment settings; "
            f"nothing was synthesized:\n{lines}"
        )


@dataclass(frozen=True)
class Subnet:
    id: str
    cidr: str
    availability_zone: str


@dataclass(frozen=True)
class Buckets:
    """Bucket names. ``bootstrap_assets`` is created by the foundation stack; ``logs``
    and ``data`` already exist in the account."""

    logs: str
    bootstrap_assets: str
    data: str


@dataclass(frozen=True)
class FixedIpSettings:
    """Fixed master IPs (guide tip T4): how the block is reserved, in which subnet, and
    which cluster's master takes which address (cluster name -> IP)."""

    mode: str
    subnet_id: str
    masters: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Settings:
    name: str
    region: str
    account_id: str
    vpc_id: str
    vpc_cidr: str
    private_subnets: tuple[Subnet, ...]
    admin_cidrs: tuple[str, ...]
    office_cidrs: tuple[str, ...]
    buckets: Buckets
    state_bucket: str | None = None
    fixed_ips: FixedIpSettings | None = None
    source: str = ""
    # Existing resources the stacks import (environments.adoption; optional [adopt] tables).
    adopt: Adoption | None = None

    def subnet(self, index: int = 0) -> Subnet:
        return self.private_subnets[index]

    def subnet_by_id(self, subnet_id: str) -> Subnet:
        return next(s for s in self.private_subnets if s.id == subnet_id)

    def fixed_ip_of(self, cluster: str) -> str | None:
        if self.fixed_ips is None:
            return None
        return dict(self.fixed_ips.masters).get(cluster)


_TOP_KEYS = {
    "name", "region", "account_id", "vpc_id", "vpc_cidr", "private_subnets",
    "admin_cidrs", "office_cidrs", "buckets", "state", "fixed_ips", "adopt",
}
_OPTIONAL_TOP_KEYS = {"state", "fixed_ips", "adopt"}
_FIXED_IP_KEYS = {"mode", "subnet", "masters"}
_FIXED_IP_MODES = ("eni", "cidr")
_SUBNET_KEYS = {"id", "cidr", "availability_zone"}
_BUCKET_KEYS = {"logs", "bootstrap_assets", "data"}
_STATE_KEYS = {"bucket"}

_BUCKET_RULE = "an S3 bucket name: 3-63 lower-case letters, digits and '-', no dots"
_CIDR_RULE = "an IPv4 CIDR block with no host bits set, e.g. 10.20.0.0/16"
# What each key holds, by its place in the file ("table.key"); a missing key's message
# says what to write, as a wrong value's does.
_EXPECTED = {
    "name": "lower-case letters, digits and '-', starting with a letter, at most 31 characters",
    "region": "an AWS region code such as ap-northeast-2",
    "account_id": "twelve digits",
    "vpc_id": "vpc- followed by 8 or 17 hexadecimal digits",
    "vpc_cidr": _CIDR_RULE,
    "private_subnets": "one or more [[private_subnets]] tables with id, cidr and availability_zone",
    "admin_cidrs": "a non-empty list of IPv4 CIDR blocks (who may SSH to the masters)",
    "office_cidrs": "a non-empty list of IPv4 CIDR blocks (who may open the web UIs)",
    "buckets": "a [buckets] table with logs, bootstrap_assets and data",
    "private_subnets.id": "subnet- followed by 8 or 17 hexadecimal digits",
    "private_subnets.cidr": _CIDR_RULE + ", inside vpc_cidr",
    "private_subnets.availability_zone": "an availability zone of the region, e.g. ap-northeast-2a",
    "buckets.logs": _BUCKET_RULE,
    "buckets.bootstrap_assets": _BUCKET_RULE,
    "buckets.data": _BUCKET_RULE,
    "state.bucket": _BUCKET_RULE,
    "fixed_ips.mode": f"one of {', '.join(_FIXED_IP_MODES)}",
    "fixed_ips.subnet": "the id of one of the private_subnets",
    "fixed_ips.masters": 'a table of cluster name = "IP"',
}


class _Collector:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, key: str, value: Any, allowed: str) -> None:
        self.problems.append(f"{key} = {value!r}: {allowed}")

    def keys(self, where: str, table: Any, known: set[str], optional: set[str] = frozenset()) -> dict:
        if not isinstance(table, dict):
            self.add(where, table, "expected a table")
            return {}
        prefix = f"{where}." if where else ""
        for key in sorted(set(table) - known):
            self.problems.append(
                f"{prefix}{key}: unknown key; allowed keys here are {', '.join(sorted(known))}"
            )
        table_name = re.sub(r"\[\d+\]$", "", where)
        for key in sorted(known - optional - set(table)):
            expected = _EXPECTED[f"{table_name}.{key}" if table_name else key]
            self.problems.append(f"{prefix}{key}: missing; add it to the file: {expected}")
        return table

    def string(self, key: str, value: Any, pattern: re.Pattern, allowed: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not pattern.match(value):
            self.add(key, value, allowed)
            return None
        return value

    def network(self, key: str, value: Any) -> ipaddress.IPv4Network | None:
        if value is None:
            return None
        try:
            if not isinstance(value, str):
                raise ValueError
            return ipaddress.IPv4Network(value, strict=True)
        except ValueError:
            self.add(key, value, f"expected {_CIDR_RULE}")
            return None

    def cidr_list(self, key: str, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not value:
            self.add(key, value, "expected a non-empty list of IPv4 CIDR blocks")
            return ()
        first_index: dict[str, int] = {}
        for i, item in enumerate(value):
            net = self.network(f"{key}[{i}]", item)
            if net is None:
                continue
            if net.prefixlen == 0:
                self.add(f"{key}[{i}]", item, "the whole internet is never allowed; name the office or VPN range")
                continue
            if str(net) in first_index:
                # Each block becomes one security-group rule per port and EC2 refuses a
                # duplicate rule: say so here, naming the key, not later in a construct.
                self.add(f"{key}[{i}]", item, f"already listed as {key}[{first_index[str(net)]}]; list each block once")
                continue
            first_index[str(net)] = i
        return tuple(first_index)


def load_settings(path: str | os.PathLike) -> Settings:
    """Read and validate one environment file; raise SettingsError listing every problem."""
    path = Path(path)
    source = _display(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(source, [f"file not found; environments available: {', '.join(available_environments())}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(source, [f"not valid TOML: {exc}"]) from None
    return parse_settings(raw, source)


def parse_settings(raw: dict, source: str) -> Settings:
    c = _Collector()
    c.keys("", raw, _TOP_KEYS, _OPTIONAL_TOP_KEYS)
    name = c.string("name", raw.get("name"), _NAME, _EXPECTED["name"])
    region = c.string("region", raw.get("region"), _REGION, _EXPECTED["region"])
    account = c.string("account_id", raw.get("account_id"), _ACCOUNT, _EXPECTED["account_id"])
    vpc_id = c.string("vpc_id", raw.get("vpc_id"), _VPC_ID, _EXPECTED["vpc_id"])
    vpc_net = c.network("vpc_cidr", raw.get("vpc_cidr"))

    subnets: list[Subnet] = []
    raw_subnets = raw.get("private_subnets")
    if raw_subnets is not None and (not isinstance(raw_subnets, list) or not raw_subnets):
        c.add("private_subnets", raw_subnets, "expected one or more [[private_subnets]] tables")
        raw_subnets = []
    seen_ids: set[str] = set()
    seen_nets: list[tuple[int, ipaddress.IPv4Network]] = []
    subnet_cidrs: dict[str, ipaddress.IPv4Network] = {}
    for i, sub in enumerate(raw_subnets or []):
        where = f"private_subnets[{i}]"
        sub = c.keys(where, sub, _SUBNET_KEYS)
        sid = c.string(f"{where}.id", sub.get("id"), _SUBNET_ID, _EXPECTED["private_subnets.id"])
        net = c.network(f"{where}.cidr", sub.get("cidr"))
        az = sub.get("availability_zone")
        # <region><letter>, or a Local Zone <region>-<zone group>-<n><letter>.
        az_pattern = re.compile(rf"^{re.escape(region or '')}(-[a-z]+-\d+)?[a-z]$") if region else _ANY_AZ
        if "availability_zone" in sub and (not isinstance(az, str) or not az_pattern.match(az)):
            allowed = f"an availability zone of region {region}, e.g. {region}a" if region \
                else "an availability zone such as ap-northeast-2a"
            c.add(f"{where}.availability_zone", az, allowed)
            az = None
        if net is not None and vpc_net is not None and not net.subnet_of(vpc_net):
            c.add(f"{where}.cidr", str(net), f"must lie inside vpc_cidr {vpc_net}")
            net = None
        if net is not None:
            clash = next(((j, other) for j, other in seen_nets if net.overlaps(other)), None)
            if clash is not None:
                c.add(f"{where}.cidr", str(net), f"overlaps private_subnets[{clash[0]}].cidr {clash[1]}; "
                      "subnets of one VPC never overlap: check for a copied line")
                net = None
            else:
                seen_nets.append((i, net))
        if sid is not None and sid in seen_ids:
            c.add(f"{where}.id", sid, "each subnet is listed once")
        if sid is not None:
            seen_ids.add(sid)
            if net is not None:
                subnet_cidrs.setdefault(sid, net)
        if sid and net and az:
            subnets.append(Subnet(id=sid, cidr=str(net), availability_zone=az))

    admin = c.cidr_list("admin_cidrs", raw.get("admin_cidrs"))
    office = c.cidr_list("office_cidrs", raw.get("office_cidrs"))

    buckets = None
    if "buckets" in raw:
        table = c.keys("buckets", raw["buckets"], _BUCKET_KEYS)
        values = {
            key: c.string(f"buckets.{key}", table.get(key), _BUCKET, _BUCKET_RULE)
            for key in sorted(_BUCKET_KEYS)
        }
        if all(values.values()):
            buckets = Buckets(**values)

    state_bucket = None
    if "state" in raw:
        table = c.keys("state", raw["state"], _STATE_KEYS)
        state_bucket = c.string("state.bucket", table.get("bucket"), _BUCKET, _BUCKET_RULE)

    fixed_ips = None
    if "fixed_ips" in raw:
        table = c.keys("fixed_ips", raw["fixed_ips"], _FIXED_IP_KEYS)
        mode = table.get("mode")
        if "mode" in table and mode not in _FIXED_IP_MODES:
            c.add("fixed_ips.mode", mode, _EXPECTED["fixed_ips.mode"])
        subnet_id = table.get("subnet")
        if "subnet" in table and subnet_id not in seen_ids:
            c.add("fixed_ips.subnet", subnet_id, f"one of the private_subnets ids ({', '.join(sorted(seen_ids)) or 'none valid'})")
        masters = table.get("masters")
        pairs: list[tuple[str, str]] = []
        if "masters" in table:
            if not isinstance(masters, dict) or not masters:
                c.add("fixed_ips.masters", masters, 'a table of cluster name = "IP", e.g. "spark-batch-production-01" = "10.20.1.10"')
            else:
                subnet_net = subnet_cidrs.get(subnet_id) if isinstance(subnet_id, str) else None
                for cluster, ip in masters.items():
                    inside = f"an IPv4 address inside fixed_ips.subnet{f' ({subnet_net})' if subnet_net else ''}"
                    try:
                        address = ipaddress.IPv4Address(ip)
                    except (ValueError, TypeError):
                        c.add(f"fixed_ips.masters.{cluster}", ip, inside)
                        continue
                    if subnet_net is not None and address not in subnet_net:
                        c.add(f"fixed_ips.masters.{cluster}", ip, inside)
                        continue
                    pairs.append((cluster, ip))
        if not c.problems:
            fixed_ips = FixedIpSettings(mode=mode, subnet_id=subnet_id, masters=tuple(pairs))

    adopt = None
    if "adopt" in raw:
        adopt, adopt_problems = parse_adoption(raw["adopt"])
        c.problems.extend(adopt_problems)

    if c.problems:
        raise SettingsError(source, c.problems)
    return Settings(
        name=name, region=region, account_id=account, vpc_id=vpc_id, vpc_cidr=str(vpc_net),
        private_subnets=tuple(subnets), admin_cidrs=admin, office_cidrs=office,
        buckets=buckets, state_bucket=state_bucket, fixed_ips=fixed_ips, source=source, adopt=adopt,
    )


def available_environments() -> list[str]:
    return sorted(p.stem for p in ENVIRONMENTS_DIR.glob("*.toml"))


def environment_path(choice: str | None = None) -> Path:
    """Resolve the chosen environment: a name under environments/ or a path to a file."""
    choice = choice or os.environ.get(ENVIRONMENT_VARIABLE) or DEFAULT_ENVIRONMENT
    if choice.endswith(".toml") or os.sep in choice:
        return Path(choice)
    return ENVIRONMENTS_DIR / f"{choice}.toml"


def load_environment(choice: str | None = None) -> Settings:
    return load_settings(environment_path(choice))


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ENVIRONMENTS_DIR.parent))
    except ValueError:
        return str(path)
