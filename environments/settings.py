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
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from emr_constructs import validation as v
from environments.adoption import Adoption, parse_adoption

ENVIRONMENTS_DIR = Path(__file__).resolve().parent
DEFAULT_ENVIRONMENT = "example"
# The one switch that selects another environment: a name under environments/ or a path.
ENVIRONMENT_VARIABLE = "EMR_CDKTF_ENV"

# Every text value is checked with the shared validators (emr_constructs.validation):
# anchored full matches, ASCII only, no control characters, checked lengths. Buckets follow
# S3's rules without the dotted variants: dots break virtual-hosted TLS and are never needed.
_ANY_AZ = re.compile(r"[a-z]{2}(?:-gov)?-[a-z]+-[0-9](?:-[a-z]+-[0-9]+)?[a-z]", re.ASCII)


class SettingsError(ValueError):
    """Every problem found in one environment file, reported together."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"{source}: {len(problems)} problem(s) in the environment settings; nothing was synthesized:\n{lines}"
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
    """Fixed master IPs (guide tip T4): how the addresses are reserved (``mode``, default
    ``cidr``), in which subnet, which cluster's master takes which address (cluster name
    -> IP), and, in cidr mode, the reserved ``block`` (None: the smallest CIDR holding
    every address)."""

    mode: str
    subnet_id: str
    masters: tuple[tuple[str, str], ...]
    block: str | None = None


#: The web UI (a ``WebUi.key`` of the purpose declarations) that needs a second, explicit
#: acknowledgement to be opened (see docs/security.md). Which UIs a purpose serves is its
#: declaration's (stacks/clusters.py); the app checks ``open_uis`` against it.
RISKY_UI = "yarn-resourcemanager"
_UI_KEY = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$", re.ASCII)
DATA_ACCESS_MODES = ("read-only", "read-write")
BOOTSTRAP_KMS_MODES = ("aws-managed", "customer-managed")


@dataclass(frozen=True)
class PrefixAccess:
    """Access of one purpose's clusters to a prefix of the data bucket ("" = whole bucket)."""

    prefix: str
    access: str  # one of DATA_ACCESS_MODES
    delete: bool = False


@dataclass(frozen=True)
class PurposeSettings:
    """What the environment decides for one purpose (``[purposes.<purpose>]``).

    open_uis: keys of the purpose's declared web UIs opened to office_cidrs; default none.
    acknowledge_yarn_resourcemanager_risk: required to open ``yarn-resourcemanager``.
    data: prefixes of the data bucket and their access; None = the purpose's default.
    glue_databases: Glue databases the clusters' Glue metastore may use; default none.
    glue_write: create/update/delete tables and partitions in them; default False.
    """

    open_uis: tuple[str, ...] = ()
    acknowledge_yarn_resourcemanager_risk: bool = False
    data: tuple[PrefixAccess, ...] | None = None
    glue_databases: tuple[str, ...] = ()
    glue_write: bool = False


@dataclass(frozen=True)
class SecuritySettings:
    """Environment-wide hardening (``[security]``); every default is the safe choice
    except ``bootstrap_writers``, which only the environment can name.

    bootstrap_writers: IAM role/user ARNs that alone may write bootstrap scripts.
    bootstrap_kms: ``aws-managed`` (default) or ``customer-managed`` key for that bucket.
    require_imdsv2: nodes require IMDSv2 where the release supports it; default True.
    local_disk_encryption: LUKS + EBS encryption of the nodes' disks; default True.
    in_transit_pem_certificates: s3://.../x.zip of PEM certificates; default None (off).
    """

    bootstrap_writers: tuple[str, ...] = ()
    bootstrap_kms: str = "aws-managed"
    require_imdsv2: bool = True
    local_disk_encryption: bool = True
    in_transit_pem_certificates: str | None = None


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
    security: SecuritySettings = SecuritySettings()
    purposes: tuple[tuple[str, PurposeSettings], ...] = ()
    source: str = ""
    # Existing resources the stacks import (environments.adoption; optional [adopt] tables).
    adopt: Adoption | None = None
    # admin_cidrs / office_cidrs may name public ranges (see docs/settings.md).
    allow_public_cidrs: bool = False
    # [cluster_subnets]: cluster name -> subnet id (given by id or by availability zone).
    cluster_subnets: tuple[tuple[str, str], ...] = ()

    def subnet(self, index: int = 0) -> Subnet:
        return self.private_subnets[index]

    def subnet_by_id(self, subnet_id: str) -> Subnet:
        return next(s for s in self.private_subnets if s.id == subnet_id)

    def subnet_of(self, cluster: str) -> Subnet:
        """Where ``cluster`` runs: the fixed-IP subnet for a fixed master IP, else its
        ``[cluster_subnets]`` entry, else the first ``[[private_subnets]]`` entry."""
        if self.fixed_ip_of(cluster) is not None and self.fixed_ips is not None:
            return self.subnet_by_id(self.fixed_ips.subnet_id)
        chosen = dict(self.cluster_subnets).get(cluster)
        return self.subnet_by_id(chosen) if chosen else self.subnet(0)

    def purpose(self, purpose: str) -> PurposeSettings:
        """The environment's settings for ``purpose`` (defaults when it has no table)."""
        return dict(self.purposes).get(purpose, PurposeSettings())

    def fixed_ip_of(self, cluster: str) -> str | None:
        if self.fixed_ips is None:
            return None
        return dict(self.fixed_ips.masters).get(cluster)


_TOP_KEYS = {
    "name",
    "region",
    "account_id",
    "vpc_id",
    "vpc_cidr",
    "private_subnets",
    "admin_cidrs",
    "office_cidrs",
    "buckets",
    "state",
    "fixed_ips",
    "adopt",
    "allow_public_cidrs",
    "security",
    "purposes",
    "cluster_subnets",
}
_OPTIONAL_TOP_KEYS = {"state", "fixed_ips", "adopt", "allow_public_cidrs", "security", "purposes", "cluster_subnets"}
_FIXED_IP_KEYS = {"mode", "subnet", "masters", "block"}
_OPTIONAL_FIXED_IP_KEYS = {"mode", "block"}
_FIXED_IP_MODES = ("eni", "cidr")
_SUBNET_KEYS = {"id", "cidr", "availability_zone"}
_BUCKET_KEYS = {"logs", "bootstrap_assets", "data"}
_STATE_KEYS = {"bucket"}

_BUCKET_RULE = "an S3 bucket name: 3-63 lower-case letters, digits and '-', no dots"
_PUBLIC_ACK = "allow_public_cidrs = true at the top of the file"
_CIDR_RULE = "an IPv4 CIDR block with no host bits set, e.g. 10.20.0.0/16"
# What each key holds, by its place in the file ("table.key"); a missing key's message
# says what to write, as a wrong value's does.
_EXPECTED = {
    "name": "lower-case letters, digits and '-', starting with a letter, at most 31 characters",
    "region": "an AWS region code such as ap-northeast-2",
    "account_id": "twelve digits",
    "allow_public_cidrs": "true or false",
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

    def keys(self, where: str, table: Any, known: AbstractSet[str], optional: AbstractSet[str] = frozenset()) -> dict:
        if not isinstance(table, dict):
            self.add(where, table, "expected a table")
            return {}
        prefix = f"{where}." if where else ""
        for key in sorted(set(table) - known):
            self.problems.append(f"{prefix}{key}: unknown key; allowed keys here are {', '.join(sorted(known))}")
        table_name = re.sub(r"\[\d+\]$", "", where)
        for key in sorted(known - optional - set(table)):
            expected = _EXPECTED[f"{table_name}.{key}" if table_name else key]
            self.problems.append(f"{prefix}{key}: missing; add it to the file: {expected}")
        return table

    def string(self, key: str, value: Any, rule: v.TextRule | Callable[[Any], str | None]) -> str | None:
        """``value`` if ``rule`` accepts it, else None with the problem recorded. ``rule`` is
        a TextRule or a validator function returning the problem (or None)."""
        if value is None:
            return None
        problem = rule.problem(value) if isinstance(rule, v.TextRule) else rule(value)
        if problem is not None:
            self.add(key, value, problem)
            return None
        return value

    def network(self, key: str, value: Any) -> ipaddress.IPv4Network | None:
        if value is None:
            return None
        net, problem = v.parse_cidr(value)
        if problem is not None:
            self.add(key, value, problem)
            return None
        return net if isinstance(net, ipaddress.IPv4Network) else None  # parse_cidr refuses IPv6 here

    def cidr_list(self, key: str, value: Any, *, allow_public: bool = False) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not value:
            self.add(key, value, "expected a non-empty list of IPv4 CIDR blocks")
            return ()
        first_index: dict[str, int] = {}
        nets: list[ipaddress.IPv4Network | None] = []
        for i, item in enumerate(value):
            net = self.network(f"{key}[{i}]", item)
            if net is not None and str(net) in first_index:
                # Each block becomes one security-group rule per port and EC2 refuses a
                # duplicate rule: say so here, naming the key, not later in a construct.
                self.add(f"{key}[{i}]", item, f"already listed as {key}[{first_index[str(net)]}]; list each block once")
                net = None
            elif net is not None:
                first_index[str(net)] = i
            nets.append(net)
        findings = v.cidr_set_findings(nets, allow_public=allow_public, acknowledge_hint=_PUBLIC_ACK)
        for f in findings:
            if f.index is None:
                self.add(key, value, f.problem)
            else:
                self.add(f"{key}[{f.index}]", value[f.index], f.problem)
        bad = {f.index for f in findings}
        return tuple(str(n) for i, n in enumerate(nets) if n is not None and i not in bad)


def load_settings(path: str | os.PathLike) -> Settings:
    """Read and validate one environment file; raise SettingsError listing every problem."""
    path = Path(path)
    source = _display(path)
    try:
        raw = tomllib.loads(read_environment_text(path, source))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(source, [f"not valid TOML: {exc}"]) from None
    return parse_settings(raw, source)


_UTF8_BOM = b"\xef\xbb\xbf"
_OTHER_BOMS = {b"\xff\xfe": "UTF-16 (little-endian)", b"\xfe\xff": "UTF-16 (big-endian)"}
MAX_ENVIRONMENT_BYTES = 1 << 20


def read_environment_text(path: Path, source: str) -> str:
    """The file's text as UTF-8 (a leading UTF-8 byte-order mark is dropped); every way
    the file can be unreadable is a SettingsError naming the file and what to do."""

    def fail(problem: str):
        return SettingsError(source, [problem])

    available = ", ".join(available_environments())
    try:
        if path.is_dir():
            raise fail(
                f"is a directory, not an environment file; name a TOML file (environments available: {available})"
            )
        if path.exists() and not path.is_file():
            raise fail("is not a regular file (a device or pipe); name a TOML file")
        with path.open("rb") as fh:
            data = fh.read(MAX_ENVIRONMENT_BYTES + 1)
    except FileNotFoundError:
        raise fail(f"file not found; environments available: {available}") from None
    except PermissionError:
        raise fail("cannot be read (permission denied); check the file's permissions") from None
    except OSError as exc:
        raise fail(f"cannot be read ({exc.strerror or exc}); name a readable TOML file") from None
    if len(data) > MAX_ENVIRONMENT_BYTES:
        raise fail(f"is larger than {MAX_ENVIRONMENT_BYTES} bytes; an environment file is a few dozen lines")
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    for bom, encoding in _OTHER_BOMS.items():
        if data.startswith(bom):
            raise fail(f"is encoded as {encoding}; save it as UTF-8")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise fail(
            f"is not UTF-8 text: byte {data[exc.start : exc.start + 1]!r} at line {line} "
            f"(offset {exc.start}); save the file as UTF-8"
        ) from None
    if "\x00" in text:
        raise fail("contains NUL bytes: not a text file; name a TOML file")
    return text


# Complexity over the cap (C901): the settings file read top to bottom, one collector call
# per key so every problem is gathered before anything is built.
def parse_settings(raw: dict, source: str) -> Settings:  # noqa: C901
    c = _Collector()
    c.keys("", raw, _TOP_KEYS, _OPTIONAL_TOP_KEYS)
    name = c.string("name", raw.get("name"), v.ENVIRONMENT_NAME)
    if name == "assets":
        # Each stack's synthesis goes to cdktf.out/stacks/<stack>/<name>/, beside cdktf's
        # own assets/ folder (stacks.app.EnvironmentApp).
        c.add("name", name, "reserved: a stack's folder already has an assets/ folder; choose another name")
        name = None
    region = c.string("region", raw.get("region"), v.region_problem)
    account = c.string("account_id", raw.get("account_id"), v.ACCOUNT_ID)
    vpc_id = c.string("vpc_id", raw.get("vpc_id"), v.VPC_ID)
    allow_public = raw.get("allow_public_cidrs", False)
    if not isinstance(allow_public, bool):
        c.add("allow_public_cidrs", allow_public, "true or false (without quotes)")
        allow_public = False
    vpc_net = _vpc_sized(c, "vpc_cidr", c.network("vpc_cidr", raw.get("vpc_cidr")))

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
        sid = c.string(f"{where}.id", sub.get("id"), v.SUBNET_ID)
        net = _vpc_sized(c, f"{where}.cidr", c.network(f"{where}.cidr", sub.get("cidr")))
        az = sub.get("availability_zone")
        # <region><letter>, or a Local Zone <region>-<zone group>-<n><letter>.
        az_pattern = re.compile(rf"{re.escape(region or '')}(?:-[a-z]+-[0-9]+)?[a-z]", re.ASCII) if region else _ANY_AZ
        if "availability_zone" in sub and (
            not isinstance(az, str) or v.text_problem(az, max_len=40) or not az_pattern.fullmatch(az)
        ):
            allowed = (
                f"an availability zone of region {region}, e.g. {region}a"
                if region
                else "an availability zone such as ap-northeast-2a"
            )
            c.add(f"{where}.availability_zone", az, allowed)
            az = None
        if net is not None and vpc_net is not None and not net.subnet_of(vpc_net):
            c.add(f"{where}.cidr", str(net), f"must lie inside vpc_cidr {vpc_net}")
            net = None
        if net is not None:
            clash = next(((j, other) for j, other in seen_nets if net.overlaps(other)), None)
            if clash is not None:
                c.add(
                    f"{where}.cidr",
                    str(net),
                    f"overlaps private_subnets[{clash[0]}].cidr {clash[1]}; "
                    "subnets of one VPC never overlap: check for a copied line",
                )
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

    admin = c.cidr_list("admin_cidrs", raw.get("admin_cidrs"), allow_public=allow_public)
    office = c.cidr_list("office_cidrs", raw.get("office_cidrs"), allow_public=allow_public)

    buckets = None
    if "buckets" in raw:
        table = c.keys("buckets", raw["buckets"], _BUCKET_KEYS)
        values = {key: c.string(f"buckets.{key}", table.get(key), _bucket_rule) for key in sorted(_BUCKET_KEYS)}
        given = {key: value for key, value in values.items() if value is not None}
        if len(given) == len(values):
            buckets = Buckets(**given)

    state_bucket = None
    if "state" in raw:
        table = c.keys("state", raw["state"], _STATE_KEYS)
        state_bucket = c.string("state.bucket", table.get("bucket"), _bucket_rule)

    fixed_ips = None
    if "fixed_ips" in raw:
        fixed_ips = _fixed_ip_settings(c, raw["fixed_ips"], seen_ids, subnet_cidrs)

    cluster_subnets = _cluster_subnets(c, raw.get("cluster_subnets"), subnets, fixed_ips)

    adopt = None
    if "adopt" in raw:
        adopt, adopt_problems = parse_adoption(raw["adopt"])
        c.problems.extend(adopt_problems)
    security = _parse_security(c, raw.get("security"), region)
    purposes = _parse_purposes(c, raw.get("purposes"))
    parsed = {
        "name": name,
        "region": region,
        "account_id": account,
        "vpc_id": vpc_id,
        "vpc_net": vpc_net,
        "subnet_cidrs": subnet_cidrs,
        "admin_cidrs": admin,
        "office_cidrs": office,
        "buckets": values if "buckets" in raw else {},
        "state_bucket": state_bucket,
        "fixed_ips": fixed_ips,
    }
    for check in SETTINGS_CHECKS:
        check(raw, parsed, c)

    if c.problems:
        raise SettingsError(source, c.problems)
    # Narrowed here rather than trusted to the order of the checks above: a required
    # setting still unset is reported like any other problem.
    if name is None or region is None or account is None or vpc_id is None or vpc_net is None or buckets is None:
        unset = [
            key
            for key, value in (
                ("name", name),
                ("region", region),
                ("account_id", account),
                ("vpc_id", vpc_id),
                ("vpc_cidr", vpc_net),
                ("buckets", buckets),
            )
            if value is None
        ]
        raise SettingsError(
            source, [f"{key}: missing; add it to the file: {_EXPECTED.get(key, 'required')}" for key in unset]
        )
    return Settings(
        name=name,
        region=region,
        account_id=account,
        vpc_id=vpc_id,
        vpc_cidr=str(vpc_net),
        private_subnets=tuple(subnets),
        admin_cidrs=admin,
        office_cidrs=office,
        buckets=buckets,
        state_bucket=state_bucket,
        fixed_ips=fixed_ips,
        source=source,
        adopt=adopt,
        allow_public_cidrs=allow_public,
        security=security,
        purposes=purposes,
        cluster_subnets=cluster_subnets,
    )


def _cluster_subnets(c: _Collector, raw: Any, subnets: list[Subnet], fixed_ips) -> tuple[tuple[str, str], ...]:
    """``[cluster_subnets]``: ``"<cluster>" = "<subnet id or availability zone>"``, resolved
    to subnet ids. An availability zone must hold exactly one of the private subnets."""
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        c.add("cluster_subnets", raw, 'a table of cluster name = "subnet id or availability zone"')
        return ()
    by_id = {s.id: s for s in subnets}
    out = []
    for cluster, value in raw.items():
        where = f"cluster_subnets.{cluster}"
        in_zone = [s for s in subnets if s.availability_zone == value]
        listed = ", ".join(f"{s.id} ({s.availability_zone})" for s in subnets) or "none valid"
        if isinstance(value, str) and value in by_id:
            subnet_id = value
        elif isinstance(value, str) and len(in_zone) == 1:
            subnet_id = in_zone[0].id
        elif isinstance(value, str) and len(in_zone) > 1:
            c.add(where, value, f"{len(in_zone)} private subnets are in {value}; name one by its id ({listed})")
            continue
        else:
            c.add(where, value, f"the id or the availability zone of one of the private_subnets ({listed})")
            continue
        fixed = dict(fixed_ips.masters).get(cluster) if fixed_ips is not None else None
        if fixed is not None and subnet_id != fixed_ips.subnet_id:
            c.add(
                where,
                value,
                f"the cluster has the fixed master IP {fixed}, which lives in fixed_ips.subnet {fixed_ips.subnet_id}; "
                "drop this entry (a fixed-IP cluster runs in that subnet) or move the fixed IP",
            )
            continue
        out.append((cluster, subnet_id))
    return tuple(sorted(out))


# AWS accepts VPC and subnet IPv4 blocks from /16 to /28 (CreateVpc, CreateSubnet).
VPC_PREFIX_RANGE = (16, 28)


def _vpc_sized(c: "_Collector", key: str, net: ipaddress.IPv4Network | None) -> ipaddress.IPv4Network | None:
    if net is not None and not VPC_PREFIX_RANGE[0] <= net.prefixlen <= VPC_PREFIX_RANGE[1]:
        c.add(
            key,
            str(net),
            f"AWS accepts VPC and subnet blocks from /{VPC_PREFIX_RANGE[0]} to "
            f"/{VPC_PREFIX_RANGE[1]}, this is a /{net.prefixlen}",
        )
        return None
    return net


def _bucket_rule(value: Any) -> str | None:
    return v.bucket_problem(value, allow_dots=False)


# --- cross-field checks -------------------------------------------------------------------
# Each check sees the raw file, the values that passed their own checks (``parsed``: None or
# missing where a value was refused) and the collector, and adds every problem it finds.
# They run in the settings phase, before any provider import; add more with @settings_check.
SettingsCheck = Callable[[dict, dict, "_Collector"], None]
SETTINGS_CHECKS: list[SettingsCheck] = []


def settings_check(check: SettingsCheck) -> SettingsCheck:
    SETTINGS_CHECKS.append(check)
    return check


# Why two bucket roles may never share one bucket: instance roles write logs, read
# bootstrap scripts and read/write data; Terraform keeps its state in the state bucket.
_BUCKET_ROLES = (
    ("buckets.logs", "logs"),
    ("buckets.bootstrap_assets", "bootstrap_assets"),
    ("buckets.data", "data"),
    ("state.bucket", None),
)
_SHARED_BUCKET_HARM = {
    frozenset(
        {"buckets.data", "buckets.bootstrap_assets"}
    ): "every instance role may write and delete the scripts that nodes run as root at bootstrap",
    frozenset(
        {"buckets.logs", "buckets.bootstrap_assets"}
    ): "the bootstrap bucket would write its access logs into itself, and instance roles could write beside the scripts",
    frozenset(
        {"buckets.logs", "buckets.data"}
    ): "cluster logs would land in the data lake, and its access rules would apply to them",
    frozenset({"state.bucket", "buckets.data"}): "every instance role could read and rewrite Terraform state",
    frozenset({"state.bucket", "buckets.logs"}): "every instance role could write next to Terraform state",
    frozenset(
        {"state.bucket", "buckets.bootstrap_assets"}
    ): "the foundation stack would create (and could destroy) the bucket holding its own state",
}


@settings_check
def _buckets_differ(raw: dict, parsed: dict, c: "_Collector") -> None:
    names = {key: parsed["buckets"].get(field) for key, field in _BUCKET_ROLES if field}
    names["state.bucket"] = parsed["state_bucket"]
    first_of: dict[str, str] = {}
    for key, _ in _BUCKET_ROLES:
        name = names.get(key)
        if not name:
            continue
        if name in first_of:
            other = first_of[name]
            harm = _SHARED_BUCKET_HARM[frozenset({other, key})]
            c.add(key, name, f"the same bucket as {other}; each role needs its own bucket ({harm})")
            continue
        first_of[name] = key


@settings_check
def _people_ranges_together(raw: dict, parsed: dict, c: "_Collector") -> None:
    """admin_cidrs and office_cidrs both land on the masters' additional group, which
    EmrSecurityGroups checks as one rule set: the /8 limit holds for the two together."""
    admin, office = parsed["admin_cidrs"], parsed["office_cidrs"]
    if not admin or not office:
        return
    nets = [ipaddress.IPv4Network(b) for b in (*admin, *office)]
    count, _ = v.public_address_count(nets)
    if count > v.PUBLIC_LIMIT_V4:
        c.problems.append(
            f"admin_cidrs + office_cidrs = {[*admin, *office]!r}: together they cover {count:,} public IPv4 "
            f"addresses, more than one /8 ({v.PUBLIC_LIMIT_V4:,}) of the internet; both open ports on the "
            "masters, so name narrower office, VPN or admin ranges"
        )


@settings_check
def _people_ranges_are_not_the_vpc_itself(raw: dict, parsed: dict, c: "_Collector") -> None:
    """An admin or office range that is exactly vpc_cidr or a private subnet's block (a
    copied line) lets every instance there reach SSH or the UIs: never who the rule means."""
    own = {}
    if parsed["vpc_net"] is not None:
        own[str(parsed["vpc_net"])] = "vpc_cidr"
    for sid, net in parsed["subnet_cidrs"].items():
        own.setdefault(str(net), f"the block of private subnet {sid}")
    for key in ("admin_cidrs", "office_cidrs"):
        for i, block in enumerate(parsed[key]):
            if block in own:
                c.add(
                    f"{key}[{i}]",
                    block,
                    f"the same block as {own[block]}: every instance there would be let in; "
                    "name the VPN or office range people connect from",
                )


# --- [security] and [purposes.<purpose>] (docs/security.md) ------------------------------

_SECURITY_KEYS = {
    "bootstrap_writers",
    "bootstrap_kms",
    "require_imdsv2",
    "local_disk_encryption",
    "in_transit_encryption",
}
_IN_TRANSIT_KEYS = {"pem_certificates"}
_PURPOSE_KEYS = {"open_uis", "acknowledge_yarn_resourcemanager_risk", "data", "glue_databases", "glue_write"}
_DATA_KEYS = {"prefix", "access", "delete"}
_PURPOSE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,40}$", re.ASCII)
_GLUE_DATABASE = re.compile(r"^[a-z0-9_]{1,255}$", re.ASCII)
_EXPECTED.update(
    {
        "security.in_transit_encryption.pem_certificates": "an S3 URI of a zip of PEM certificates, e.g. s3://example-emr-certificates/emr/certificates.zip",
        "purposes.data.prefix": "a key prefix ending with '/', or \"\" for the whole bucket",
        "purposes.data.access": f"one of {', '.join(DATA_ACCESS_MODES)}",
    }
)


def _boolean(c: _Collector, key: str, value: Any, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        c.add(key, value, "true or false")
        return default
    return value


def _distinct_names(
    c: _Collector, key: str, raw: Any, pattern: re.Pattern[str], list_expected: str, item_expected: str, what: str
) -> list[str]:
    """A list of distinct names, each a full match of ``pattern``; every bad or repeated
    element is reported with its index, and only the good ones are returned."""
    if not isinstance(raw, list):
        c.add(key, raw, list_expected)
        return []
    names: list[str] = []
    for i, name in enumerate(raw):
        if not isinstance(name, str) or not pattern.fullmatch(name):
            c.add(f"{key}[{i}]", name, item_expected)
        elif name in names:
            c.add(f"{key}[{i}]", name, f"already listed; list each {what} once")
        else:
            names.append(name)
    return names


def _parse_security(c: _Collector, raw: Any, region: str | None) -> SecuritySettings:
    if raw is None:
        return SecuritySettings()
    table = c.keys("security", raw, _SECURITY_KEYS, _SECURITY_KEYS)
    writers: list[str] = []
    raw_writers = table.get("bootstrap_writers")
    if raw_writers is not None:
        expected = "a non-empty list of IAM role or user ARNs (the principals that run cdktf deploy)"
        if raw_writers == []:
            c.add("security.bootstrap_writers", raw_writers, expected)
        writers = _distinct_names(
            c,
            "security.bootstrap_writers",
            raw_writers,
            v.PRINCIPAL_ARN,
            expected,
            "an IAM role or user ARN, e.g. arn:aws:iam::123456789012:role/emr-cdktf-deploy",
            "principal",
        )
    kms = table.get("bootstrap_kms", "aws-managed")
    if kms not in BOOTSTRAP_KMS_MODES:
        c.add("security.bootstrap_kms", kms, f"one of {', '.join(BOOTSTRAP_KMS_MODES)}")
        kms = "aws-managed"
    pem = None
    if "in_transit_encryption" in table:
        transit = c.keys("security.in_transit_encryption", table["in_transit_encryption"], _IN_TRANSIT_KEYS)
        pem = transit.get("pem_certificates")
        if pem is not None and (not isinstance(pem, str) or not v.PEM_ZIP.fullmatch(pem)):
            c.add(
                "security.in_transit_encryption.pem_certificates",
                pem,
                _EXPECTED["security.in_transit_encryption.pem_certificates"],
            )
            pem = None
    return SecuritySettings(
        bootstrap_writers=tuple(writers),
        bootstrap_kms=kms,
        require_imdsv2=_boolean(c, "security.require_imdsv2", table.get("require_imdsv2"), True),
        local_disk_encryption=_boolean(c, "security.local_disk_encryption", table.get("local_disk_encryption"), True),
        in_transit_pem_certificates=pem,
    )


def _parse_purposes(c: _Collector, raw: Any) -> tuple[tuple[str, PurposeSettings], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        c.add("purposes", raw, "a table of [purposes.<purpose>] tables")
        return ()
    out = []
    for purpose, table in raw.items():
        where = f"purposes.{purpose}"
        if not _PURPOSE_NAME.fullmatch(purpose):
            c.add(where, purpose, "a purpose name such as spark-batch")
            continue
        table = c.keys(where, table, _PURPOSE_KEYS, _PURPOSE_KEYS)
        uis = _distinct_names(
            c,
            f"{where}.open_uis",
            table.get("open_uis", []),
            _UI_KEY,
            'a list of web UI names, e.g. ["spark-history"]',
            "a web UI name such as spark-history, yarn-resourcemanager or trino",
            "UI",
        )
        acknowledged = _boolean(
            c,
            f"{where}.acknowledge_yarn_resourcemanager_risk",
            table.get("acknowledge_yarn_resourcemanager_risk"),
            False,
        )
        if RISKY_UI in uis and not acknowledged:
            c.problems.append(
                f"{where}.open_uis: 'yarn-resourcemanager' (port 8088) is refused: without Kerberos its REST API "
                "accepts application submissions from anyone who reaches the port, which runs their code as the "
                "cluster's instance role (it reads and writes the data lake), and open YARN ports are a common "
                "cryptomining target. Reach the UI through SSH or SSM port forwarding (docs/security.md); to open "
                f"it anyway, also set {where}.acknowledge_yarn_resourcemanager_risk = true"
            )
        data = _parse_data_access(c, where, table.get("data")) if "data" in table else None
        raw_dbs = table.get("glue_databases", [])
        dbs = _distinct_names(
            c,
            f"{where}.glue_databases",
            raw_dbs,
            _GLUE_DATABASE,
            "a list of Glue database names",
            "a Glue database name: lower-case letters, digits and '_', no wildcards",
            "database",
        )
        glue_write = _boolean(c, f"{where}.glue_write", table.get("glue_write"), False)
        if glue_write and not raw_dbs:
            c.add(f"{where}.glue_write", glue_write, "writes need glue_databases naming where")
        out.append(
            (
                purpose,
                PurposeSettings(
                    open_uis=tuple(uis),
                    acknowledge_yarn_resourcemanager_risk=acknowledged,
                    data=data,
                    glue_databases=tuple(dbs),
                    glue_write=glue_write,
                ),
            )
        )
    return tuple(sorted(out))


def _parse_data_access(c: _Collector, where: str, raw: Any) -> tuple[PrefixAccess, ...]:
    if not isinstance(raw, list):
        c.add(
            f"{where}.data",
            raw,
            "[[" + where + ".data]] tables with prefix and access (an empty list grants no data access)",
        )
        return ()
    out: list[PrefixAccess] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(raw):
        at = f"{where}.data[{i}]"
        entry = c.keys(at, entry, _DATA_KEYS, _DATA_KEYS)
        prefix, access = entry.get("prefix"), entry.get("access")
        ok = True
        for key in ("prefix", "access"):
            if key not in entry and isinstance(raw[i], dict):
                c.problems.append(f"{at}.{key}: missing; add it: {_EXPECTED[f'purposes.data.{key}']}")
        if "prefix" in entry:
            if (problem := v.s3_prefix_problem(prefix)) is not None or not isinstance(prefix, str):
                c.add(f"{at}.prefix", prefix, problem or "a key prefix")
                ok = False
            elif (prefix and not prefix.endswith("/")) or "${" in prefix:
                c.add(
                    f"{at}.prefix",
                    prefix,
                    "a literal key prefix ending with '/' and not starting with '/' "
                    "(so 'raw' cannot also grant 'raw-private/'), or \"\" for the whole bucket",
                )
                ok = False
            elif prefix in seen:
                c.add(f"{at}.prefix", prefix, f"already listed as {where}.data[{seen[prefix]}]; list each prefix once")
                ok = False
            else:
                seen[prefix] = i
        else:
            ok = False
        if "access" in entry and access not in DATA_ACCESS_MODES:
            c.add(f"{at}.access", access, f"one of {', '.join(DATA_ACCESS_MODES)}")
            ok = False
        delete = _boolean(c, f"{at}.delete", entry.get("delete"), False)
        if delete and access == "read-only":
            c.add(f"{at}.delete", delete, 'deleting needs access = "read-write"')
            ok = False
        if ok and isinstance(prefix, str) and isinstance(access, str):
            out.append(PrefixAccess(prefix=prefix, access=access, delete=delete))
    return tuple(out)


def available_environments() -> list[str]:
    return sorted(p.stem for p in ENVIRONMENTS_DIR.glob("*.toml"))


def environment_path(choice: str | None = None) -> Path:
    """Resolve the chosen environment: a name under environments/ or a path to a file."""
    if choice is None:
        choice = os.environ.get(ENVIRONMENT_VARIABLE)
        if choice is not None and not choice.strip():
            raise SettingsError(
                ENVIRONMENT_VARIABLE,
                [
                    f"{ENVIRONMENT_VARIABLE} = {choice!r}: set but empty; unset it to use the example environment, "
                    f"or name one ({', '.join(available_environments())}) or a path to a TOML file"
                ],
            )
        choice = choice or DEFAULT_ENVIRONMENT
    problem = v.text_problem(choice, max_len=4096)
    if problem is not None:
        raise SettingsError(
            ENVIRONMENT_VARIABLE,
            [
                f"{ENVIRONMENT_VARIABLE} = {choice!r}: {problem}; name an environment "
                f"({', '.join(available_environments())}) or a path to a TOML file"
            ],
        )
    if choice.endswith(".toml") or os.sep in choice or (os.altsep and os.altsep in choice):
        return Path(choice)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", choice, re.ASCII):
        raise SettingsError(
            ENVIRONMENT_VARIABLE,
            [
                f"{ENVIRONMENT_VARIABLE} = {choice!r}: not an environment name; name one of "
                f"{', '.join(available_environments())} or a path to a TOML file"
            ],
        )
    return ENVIRONMENTS_DIR / f"{choice}.toml"


def load_environment(choice: str | None = None) -> Settings:
    return load_settings(environment_path(choice))


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ENVIRONMENTS_DIR.parent))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------- fixed master IPs (T4)

# Where the clusters are declared; read (not imported) so the check needs no provider.
CLUSTERS_FILE = ENVIRONMENTS_DIR.parent / "stacks" / "clusters.py"


def _fixed_ip_settings(
    c: _Collector, raw: Any, seen_ids: set[str], subnet_cidrs: dict[str, ipaddress.IPv4Network]
) -> FixedIpSettings | None:
    """The [fixed_ips] table, with every rule that needs only the settings and the cluster
    declarations: the reservation's rules (shared with FixedIpReservation: addresses in
    the subnet and not reserved by AWS, one per cluster, the cidr block aligned and
    holding them, the eni holder address) and no fixed IP on a multi-master cluster."""
    from emr_constructs.fixed_ip_rules import DEFAULT_MODE, FixedIp, Keys, fixed_ip_problems

    before = len(c.problems)
    table = c.keys("fixed_ips", raw, _FIXED_IP_KEYS, _OPTIONAL_FIXED_IP_KEYS)
    mode = table.get("mode", DEFAULT_MODE)
    if not isinstance(mode, str) or mode not in _FIXED_IP_MODES:
        c.add("fixed_ips.mode", mode, _EXPECTED["fixed_ips.mode"])
    subnet_id = table.get("subnet")
    if "subnet" in table and (not isinstance(subnet_id, str) or subnet_id not in seen_ids):
        c.add(
            "fixed_ips.subnet",
            subnet_id,
            f"one of the private_subnets ids ({', '.join(sorted(seen_ids)) or 'none valid'})",
        )
    block = table.get("block")
    if block is not None and not isinstance(block, str):
        c.add("fixed_ips.block", block, 'a CIDR block inside fixed_ips.subnet, e.g. "10.20.1.16/29"')
        block = None
    masters = table.get("masters")
    pairs: list[tuple[str, str]] = []
    subnet_net = subnet_cidrs.get(subnet_id) if isinstance(subnet_id, str) else None
    if "masters" in table:
        if not isinstance(masters, dict) or not masters:
            c.add(
                "fixed_ips.masters",
                masters,
                'a table of cluster name = "IP", e.g. "spark-batch-production-01" = "10.20.1.16"',
            )
        else:
            inside = f"an IPv4 address inside fixed_ips.subnet{f' ({subnet_net})' if subnet_net else ''}"
            for cluster, ip in masters.items():
                name_problem = v.CLUSTER_NAME.problem(cluster)
                if name_problem is not None:
                    c.problems.append(f"fixed_ips.masters: cluster name {cluster!r}: {name_problem}")
                    continue
                if not isinstance(ip, str) or v.text_problem(ip):
                    # ipaddress also takes an int: 168100112 would silently become 10.5.2.16.
                    c.add(
                        f"fixed_ips.masters.{cluster}", ip, f'{inside}, written as a quoted string such as "10.20.1.16"'
                    )
                    continue
                try:
                    address = ipaddress.IPv4Address(ip)
                except (ValueError, TypeError):
                    c.add(f"fixed_ips.masters.{cluster}", ip, inside)
                    continue
                if subnet_net is not None and address not in subnet_net:
                    c.add(f"fixed_ips.masters.{cluster}", ip, inside)
                    continue
                pairs.append((cluster, ip))
    if subnet_net is not None and pairs and mode in _FIXED_IP_MODES:
        keys = Keys(
            mode="fixed_ips.mode",
            block="fixed_ips.block",
            subnet="fixed_ips.subnet",
            assignment=lambda a: f"fixed_ips.masters.{a.cluster} = {a.ip!r}",
        )
        counts, declared_where = _declared_master_counts()
        for problem in fixed_ip_problems(
            subnet_cidr=str(subnet_net),
            assignments=[FixedIp(cluster, ip) for cluster, ip in pairs],
            mode=mode,
            block=block,
            master_counts=counts,
            keys=keys,
        ):
            cluster = re.match(r"^fixed_ips\.masters\.([^ ]+) = ", problem)
            if cluster and "master nodes" in problem:
                problem += f" ({declared_where[cluster.group(1)]})"
            c.problems.append(problem)
    if len(c.problems) > before or not isinstance(subnet_id, str):
        return None
    return FixedIpSettings(mode=mode, subnet_id=subnet_id, masters=tuple(pairs), block=block)


def _declared_master_counts(path: Path = CLUSTERS_FILE) -> tuple[dict[str, int], dict[str, str]]:
    """Master node count of every cluster ``stacks/clusters.py`` declares with a literal
    name (``ClusterSpec(name="...", master=InstanceGroupSpec(..., instance_count=N))``),
    and where: read with ``ast``, so the settings check stays free of the provider
    bindings. A cluster whose count is not a literal is left to the construct's check."""
    import ast

    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError):
        return {}, {}
    counts: dict[str, int] = {}
    where: dict[str, str] = {}
    shown = _display(path)
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "ClusterSpec"
        ):
            continue
        kw = {k.arg: k.value for k in node.keywords if k.arg}
        name, master = kw.get("name"), kw.get("master")
        if not (isinstance(name, ast.Constant) and isinstance(name.value, str) and isinstance(master, ast.Call)):
            continue
        count = next((k.value for k in master.keywords if k.arg == "instance_count"), ast.Constant(1))
        if isinstance(count, ast.Constant) and isinstance(count.value, int):
            counts[name.value] = count.value
            where[name.value] = (
                f"{shown} line {master.lineno} declares {name.value!r} with "
                f"master=InstanceGroupSpec(instance_count={count.value})"
            )
    return counts, where
