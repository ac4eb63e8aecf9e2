"""Per-account settings: TOML files under environments/, loaded into frozen dataclasses.

The environment is the only place that knows account-specific values (region, VPC,
subnets, CIDRs, buckets). Stacks receive a ``Settings`` object; constructs never read
files or environment variables. Every problem in a file is collected and reported at
once, before anything is synthesized: first the file's shape and each value, checked by
the model of ``environments.schema``, then here the rules between settings (subnets in
the VPC, people's ranges, four different buckets, fixed master IPs of guide tip T4,
``[cluster_subnets]``) and every ``@settings_check``.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from emr_constructs.model import validation as v
from environments import schema
from environments.adoption import Adoption, parse_adoption

ENVIRONMENTS_DIR = Path(__file__).resolve().parent
DEFAULT_ENVIRONMENT = "example"
# The one switch that selects another environment: a name under environments/ or a path.
ENVIRONMENT_VARIABLE = "EMR_CDKTF_ENV"


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


@dataclass(frozen=True)
class PrefixAccess:
    """Access of one purpose's clusters to a prefix of the data bucket ("" = whole bucket)."""

    prefix: str
    access: str  # one of environments.schema.DATA_ACCESS_MODES
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


_PUBLIC_ACK = "allow_public_cidrs = true at the top of the file"


class _Collector:
    """The problems found so far: the schema's first, then every rule's."""

    def __init__(self, problems: list[str] | None = None) -> None:
        self.problems: list[str] = list(problems or [])

    def add(self, key: str, value: Any, allowed: str) -> None:
        self.problems.append(f"{key} = {value!r}: {allowed}")

    def once(self, key: str, values: list[Any], what: str) -> list[Any]:
        """The entries of the list at ``key`` that the schema accepted (None: refused), each
        repeat reported with the index of its first listing."""
        first: dict[Any, int] = {}
        for i, value in enumerate(values):
            if value is None:
                continue
            if value in first:
                self.add(f"{key}[{i}]", value, f"already listed as {key}[{first[value]}]; list each {what} once")
            else:
                first[value] = i
        return list(first)

    def cidr_list(self, key: str, values: Any, *, allow_public: bool) -> tuple[str, ...]:
        """The people's blocks at ``key`` (entries already well-formed, or None): each once,
        and as a set within the public-range rules (emr_constructs.model.validation)."""
        if not isinstance(values, list):
            return ()
        listed = set(self.once(key, values, "block"))
        seen: set[str] = set()
        nets: list[ipaddress.IPv4Network | None] = []
        for value in values:
            keep = value in listed and value not in seen
            seen.add(value)
            nets.append(ipaddress.IPv4Network(value) if keep else None)
        findings = v.cidr_set_findings(nets, allow_public=allow_public, acknowledge_hint=_PUBLIC_ACK)
        for f in findings:
            if f.index is None:
                self.add(key, values, f.problem)
            else:
                self.add(f"{key}[{f.index}]", values[f.index], f.problem)
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


def parse_settings(raw: dict, source: str) -> Settings:
    """Check the parsed file: its shape and every value against the schema
    (environments.schema), then the rules between settings; raise SettingsError listing
    every problem of both."""
    model, problems, clean = schema.validate(raw)
    c = _Collector(problems)
    region = clean.get("region")
    vpc_net = ipaddress.IPv4Network(clean["vpc_cidr"]) if "vpc_cidr" in clean else None
    subnets, subnet_cidrs, seen_ids = _subnets(c, clean.get("private_subnets"), vpc_net)
    allow_public = clean.get("allow_public_cidrs", False)
    admin = c.cidr_list("admin_cidrs", clean.get("admin_cidrs"), allow_public=allow_public)
    office = c.cidr_list("office_cidrs", clean.get("office_cidrs"), allow_public=allow_public)
    fixed_ips = None
    if isinstance(clean.get("fixed_ips"), dict):
        fixed_ips = _fixed_ip_settings(c, clean["fixed_ips"], raw["fixed_ips"], seen_ids, subnet_cidrs)
    cluster_subnets = _cluster_subnets(c, clean.get("cluster_subnets"), subnets, fixed_ips)
    adopt = None
    if "adopt" in raw:
        adopt, adopt_problems = parse_adoption(raw["adopt"])
        c.problems.extend(adopt_problems)
    _security_rules(c, clean.get("security"))
    _purpose_rules(c, clean.get("purposes"), raw.get("purposes"))
    buckets = clean.get("buckets")
    parsed = {
        "name": clean.get("name"),
        "region": region,
        "account_id": clean.get("account_id"),
        "vpc_id": clean.get("vpc_id"),
        "vpc_net": vpc_net,
        "subnet_cidrs": subnet_cidrs,
        "admin_cidrs": admin,
        "office_cidrs": office,
        "buckets": buckets if isinstance(buckets, dict) else {},
        "state_bucket": (clean.get("state") or {}).get("bucket") if isinstance(clean.get("state"), dict) else None,
        "fixed_ips": fixed_ips,
    }
    for check in SETTINGS_CHECKS:
        check(raw, parsed, c)
    if c.problems or model is None:
        raise SettingsError(source, c.problems)
    return _settings(model, source, adopt=adopt, fixed_ips=fixed_ips, cluster_subnets=cluster_subnets)


def _settings(
    model: schema.EnvironmentFile,
    source: str,
    *,
    adopt: Adoption | None,
    fixed_ips: FixedIpSettings | None,
    cluster_subnets: tuple[tuple[str, str], ...],
) -> Settings:
    """The typed settings of a file that passed every check."""
    security = model.security
    return Settings(
        name=model.name,
        region=model.region,
        account_id=model.account_id,
        vpc_id=model.vpc_id,
        vpc_cidr=model.vpc_cidr,
        private_subnets=tuple(
            Subnet(id=s.id, cidr=s.cidr, availability_zone=s.availability_zone) for s in model.private_subnets
        ),
        admin_cidrs=tuple(model.admin_cidrs),
        office_cidrs=tuple(model.office_cidrs),
        buckets=Buckets(
            logs=model.buckets.logs, bootstrap_assets=model.buckets.bootstrap_assets, data=model.buckets.data
        ),
        state_bucket=model.state.bucket if model.state is not None else None,
        fixed_ips=fixed_ips,
        security=SecuritySettings(
            bootstrap_writers=tuple(security.bootstrap_writers),
            bootstrap_kms=security.bootstrap_kms,
            require_imdsv2=security.require_imdsv2,
            local_disk_encryption=security.local_disk_encryption,
            in_transit_pem_certificates=(
                security.in_transit_encryption.pem_certificates if security.in_transit_encryption else None
            ),
        ),
        purposes=tuple(
            sorted(
                (
                    name,
                    PurposeSettings(
                        open_uis=tuple(p.open_uis),
                        acknowledge_yarn_resourcemanager_risk=p.acknowledge_yarn_resourcemanager_risk,
                        data=None
                        if p.data is None
                        else tuple(PrefixAccess(prefix=d.prefix, access=d.access, delete=d.delete) for d in p.data),
                        glue_databases=tuple(p.glue_databases),
                        glue_write=p.glue_write,
                    ),
                )
                for name, p in model.purposes.items()
            )
        ),
        source=source,
        adopt=adopt,
        allow_public_cidrs=model.allow_public_cidrs,
        cluster_subnets=cluster_subnets,
    )


def _subnets(
    c: _Collector, entries: Any, vpc_net: ipaddress.IPv4Network | None
) -> tuple[list[Subnet], dict[str, ipaddress.IPv4Network], set[str]]:
    """The private subnets whose values passed the schema: each inside the VPC, listed
    once, none overlapping another. Returns the complete ones, every id's block and the
    ids."""
    subnets: list[Subnet] = []
    seen_ids: set[str] = set()
    seen_nets: list[tuple[int, ipaddress.IPv4Network]] = []
    subnet_cidrs: dict[str, ipaddress.IPv4Network] = {}
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(entry, dict):
            continue
        where = f"private_subnets[{i}]"
        sid, az = entry.get("id"), entry.get("availability_zone")
        net = ipaddress.IPv4Network(entry["cidr"]) if "cidr" in entry else None
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
    return subnets, subnet_cidrs, seen_ids


def _cluster_subnets(
    c: _Collector, entries: dict[str, str] | None, subnets: list[Subnet], fixed_ips: FixedIpSettings | None
) -> tuple[tuple[str, str], ...]:
    """``[cluster_subnets]``: ``"<cluster>" = "<subnet id or availability zone>"`` (the
    entries the schema accepted), resolved to subnet ids. An availability zone must hold
    exactly one of the private subnets."""
    by_id = {s.id: s for s in subnets}
    out = []
    for cluster, value in (entries or {}).items():
        where = f"cluster_subnets.{cluster}"
        in_zone = [s for s in subnets if s.availability_zone == value]
        listed = ", ".join(f"{s.id} ({s.availability_zone})" for s in subnets) or "none valid"
        if value in by_id:
            subnet_id = value
        elif len(in_zone) == 1:
            subnet_id = in_zone[0].id
        elif len(in_zone) > 1:
            c.add(where, value, f"{len(in_zone)} private subnets are in {value}; name one by its id ({listed})")
            continue
        else:
            c.add(where, value, f"the id or the availability zone of one of the private_subnets ({listed})")
            continue
        fixed = dict(fixed_ips.masters).get(cluster) if fixed_ips is not None else None
        if fixed_ips is not None and fixed is not None and subnet_id != fixed_ips.subnet_id:
            c.add(
                where,
                value,
                f"the cluster has the fixed master IP {fixed}, which lives in fixed_ips.subnet {fixed_ips.subnet_id}; "
                "drop this entry (a fixed-IP cluster runs in that subnet) or move the fixed IP",
            )
            continue
        out.append((cluster, subnet_id))
    return tuple(sorted(out))


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


# --- rules of [security] and [purposes.<purpose>] (docs/security.md) ----------------------


def _security_rules(c: _Collector, table: Any) -> None:
    if isinstance(table, dict) and isinstance(table.get("bootstrap_writers"), list):
        c.once("security.bootstrap_writers", table["bootstrap_writers"], "principal")


def _purpose_rules(c: _Collector, purposes: Any, raw_purposes: Any) -> None:
    for purpose, table in (purposes if isinstance(purposes, dict) else {}).items():
        if not isinstance(table, dict):
            continue
        where = f"purposes.{purpose}"
        uis = c.once(f"{where}.open_uis", table.get("open_uis") or [], "UI")
        if RISKY_UI in uis and table.get("acknowledge_yarn_resourcemanager_risk") is not True:
            c.problems.append(
                f"{where}.open_uis: 'yarn-resourcemanager' (port 8088) is refused: without Kerberos its REST API "
                "accepts application submissions from anyone who reaches the port, which runs their code as the "
                "cluster's instance role (it reads and writes the data lake), and open YARN ports are a common "
                "cryptomining target. Reach the UI through SSH or SSM port forwarding (docs/security.md); to open "
                f"it anyway, also set {where}.acknowledge_yarn_resourcemanager_risk = true"
            )
        c.once(f"{where}.glue_databases", table.get("glue_databases") or [], "database")
        if table.get("glue_write") is True and not raw_purposes[purpose].get("glue_databases"):
            c.add(f"{where}.glue_write", True, "writes need glue_databases naming where")
        _data_rules(c, where, table.get("data"))


def _data_rules(c: _Collector, where: str, entries: Any) -> None:
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(entry, dict):
            continue
        at = f"{where}.data[{i}]"
        prefix = entry.get("prefix")
        if prefix in seen:
            c.add(f"{at}.prefix", prefix, f"already listed as {where}.data[{seen[prefix]}]; list each prefix once")
        elif prefix is not None:
            seen[prefix] = i
        if entry.get("delete") is True and entry.get("access") == schema.READ_ONLY:
            c.add(f"{at}.delete", True, f'deleting needs access = "{schema.READ_WRITE}"')


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
    c: _Collector, table: dict, raw: dict, seen_ids: set[str], subnet_cidrs: dict[str, ipaddress.IPv4Network]
) -> FixedIpSettings | None:
    """The [fixed_ips] table (``table``: its values that passed the schema; ``raw``: as
    written), with every rule that needs only the settings and the cluster declarations:
    the subnet is a private subnet, the reservation's rules (shared with
    FixedIpReservation: addresses in the subnet and not reserved by AWS, one per cluster,
    the cidr block aligned and holding them, the eni holder address) and no fixed IP on a
    multi-master cluster."""
    from emr_constructs.model.fixed_ip_rules import DEFAULT_MODE, FixedIp, Keys, fixed_ip_problems

    before = len(c.problems)
    mode = table.get("mode", DEFAULT_MODE)
    subnet_id = table.get("subnet")
    if subnet_id is not None and subnet_id not in seen_ids:
        c.add(
            "fixed_ips.subnet",
            subnet_id,
            f"one of the private_subnets ids ({', '.join(sorted(seen_ids)) or 'none valid'})",
        )
    block = table.get("block")
    pairs: list[tuple[str, str]] = []
    subnet_net = subnet_cidrs.get(subnet_id) if subnet_id is not None else None
    inside = f"an IPv4 address inside fixed_ips.subnet{f' ({subnet_net})' if subnet_net else ''}"
    for cluster, ip in (table.get("masters") or {}).items():
        try:
            address = ipaddress.IPv4Address(ip)
        except ValueError:
            c.add(f"fixed_ips.masters.{cluster}", ip, inside)
            continue
        if subnet_net is not None and address not in subnet_net:
            c.add(f"fixed_ips.masters.{cluster}", ip, inside)
            continue
        pairs.append((cluster, ip))
    refused = any(key in raw and key not in table for key in ("mode", "block", "masters"))
    if subnet_net is not None and pairs and not refused:
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
    if len(c.problems) > before or refused or subnet_id is None:
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
