"""The one set of input validators, shared by the environment settings and the constructs.

Pure Python, no cdktf import: ``environments/settings.py`` checks every value with these
before the provider bindings load, and the constructs check library users' inputs with
the same rules, so a value the settings accept is never refused later by a construct.

Every validator returns ``None`` when the value is fine, or a sentence saying what is
wrong and what is allowed; callers prefix it with the key and the value
(``key = 'value': <sentence>``). The rules hold for every text check:

- only ``str`` is text (an int, a list or ``None`` is refused with its type named);
- control characters and other non-printables (newline, tab, NUL, zero-width space,
  byte-order mark) are refused wherever they are, before any pattern is tried;
- patterns are ASCII-only and matched with ``re.fullmatch``: ``$`` would accept a
  trailing newline and ``\\d`` every Unicode digit (full-width, Arabic-Indic, ...);
- lengths are checked explicitly.

Network rules (guide tips T1/T2; least privilege): a rule set whose blocks together
cover more public address space than one /8 (16,777,216 IPv4 addresses; a /32 for IPv6)
is refused however it is split (two /1 halves, 256 /16s, ...), and public ranges are
refused for people's rules unless the caller explicitly acknowledges them.

S3 bucket names follow S3's general-purpose bucket rules, including the reserved
prefixes and suffixes and the IP-address form.
"""

from __future__ import annotations

import ipaddress
import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Sequence

from emr_constructs.model import catalog

#: An IPv4 or IPv6 block (ipaddress has no public name for either).
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# --- text ---------------------------------------------------------------------------------


def _describe_char(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"{ch!r} (U+{ord(ch):04X}{' ' + name if name else ''})"


def text_problem(value: Any, *, min_len: int = 1, max_len: int | None = None) -> str | None:
    """Why ``value`` is not acceptable text at all (type, non-printables, length)."""
    if not isinstance(value, str):
        return f"expected text (a quoted string), got {type(value).__name__}"
    for index, ch in enumerate(value):
        if not ch.isprintable() or ch in "\u200b\u200c\u200d\u2060\ufeff":
            return (
                f"contains the control or non-printable character {_describe_char(ch)} at position {index}; "
                "remove it (a stray newline, tab or byte-order mark from a copy-paste)"
            )
    for index, ch in enumerate(value):
        if not ch.isascii():
            return f"contains the non-ASCII character {_describe_char(ch)} at position {index}; use plain ASCII"
    if len(value) < min_len:
        return "is empty" if min_len == 1 else f"is {len(value)} characters long; at least {min_len}"
    if max_len is not None and len(value) > max_len:
        return f"is {len(value)} characters long; at most {max_len}"
    return None


@dataclass(frozen=True)
class TextRule:
    """An anchored ASCII pattern with explicit lengths and a description of what it allows."""

    pattern: str
    description: str
    min_len: int = 1
    max_len: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", re.compile(self.pattern, re.ASCII))

    def problem(self, value: Any) -> str | None:
        basic = text_problem(value, min_len=0)
        if basic is not None:
            return f"{basic}; expected {self.description}"
        if len(value) < self.min_len or (self.max_len is not None and len(value) > self.max_len):
            return f"{self.description} (this is {len(value)} characters long)"
        if self._compiled.fullmatch(value) is None:  # type: ignore[attr-defined]
            return self.description
        return None

    def ok(self, value: Any) -> bool:
        return self.problem(value) is None


ACCOUNT_ID = TextRule(r"[0-9]{12}", "twelve digits (ASCII), as a string", 12, 12)
ENVIRONMENT_NAME = TextRule(
    r"[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*",
    "lower-case letters, digits and single '-' between them, starting with a letter, at most 31 characters",
    1,
    31,
)
CLUSTER_NAME = TextRule(
    r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*",
    "lower-case words of letters and digits joined by single '-', starting with a letter, at most 64 characters",
    1,
    64,
)
VPC_ID = TextRule(r"vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})", "vpc- followed by 8 or 17 lower-case hexadecimal digits")
SUBNET_ID = TextRule(
    r"subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})", "subnet- followed by 8 or 17 lower-case hexadecimal digits"
)
SECURITY_GROUP_ID = TextRule(
    r"sg-(?:[0-9a-f]{8}|[0-9a-f]{17})", "sg- followed by 8 or 17 lower-case hexadecimal digits"
)
# IAM role / policy name prefix: IAM's own character set.
IAM_NAME_PREFIX = TextRule(r"[A-Za-z0-9+=,.@_-]+", "1-48 letters, digits or +=,.@_-", 1, 48)
RESOURCE_NAME_PREFIX = TextRule(
    r"[A-Za-z0-9][A-Za-z0-9._-]*", "1-200 letters, digits, '.', '_' or '-', starting with a letter or digit", 1, 200
)
# EC2's description character set (security groups and their rules).
SG_DESCRIPTION = TextRule(
    r"[A-Za-z0-9. _\-:/()#,@\[\]+=&;{}!$*]+",
    "at most 255 characters from a-z A-Z 0-9 space and . _ - : / ( ) # , @ [ ] + = & ; { } ! $ *",
    1,
    255,
)
INSTANCE_TYPE = TextRule(r"[a-z][a-z0-9-]*\.[a-z0-9]+", "an EC2 instance type such as 'r5.xlarge'", 3, 40)
# Tags: the characters every AWS service accepts in tag keys and values (ASCII subset).
TAG_KEY = TextRule(r"[A-Za-z0-9 _.:/=+\-@]+", "1-128 letters, digits, spaces and _ . : / = + - @", 1, 128)
TAG_VALUE = TextRule(r"[A-Za-z0-9 _.:/=+\-@]*", "0-256 letters, digits, spaces and _ . : / = + - @", 0, 256)


def tag_problems(tags: Any, where: str = "tags") -> list[str]:
    if tags is None:
        return []
    if not isinstance(tags, dict):
        return [f"{where} = {tags!r}: expected a mapping of tag key to value"]
    problems = []
    for key, value in tags.items():
        problem = TAG_KEY.problem(key)
        if problem is None and key.lower().startswith("aws:"):
            problem = "the aws: prefix is reserved for AWS's own tags"
        if problem:
            problems.append(f"{where} key {key!r}: {problem}")
        problem = TAG_VALUE.problem(value)
        if problem:
            problems.append(f"{where}[{key!r}] = {value!r}: {problem}")
    return problems


# --- regions, instance types ------------------------------------------------------------------


def region_problem(value: Any) -> str | None:
    basic = text_problem(value, max_len=30)
    if basic is not None:
        return f"{basic}; expected an AWS region code such as ap-northeast-2"
    if value in catalog.known_regions():
        return None
    near = sorted(r for r in catalog.known_regions() if r.split("-")[0] == value.split("-")[0])
    hint = f" ({', '.join(near)})" if near and len(near) < 16 else ""
    return (
        f"not a known AWS region{hint}; the known regions come from {catalog.catalog_source(catalog.REGIONS_PATH)}. "
        f"If AWS opened it after that, refresh the list with `{catalog.REFRESH_COMMAND}`"
    )


def instance_type_problem(value: Any) -> str | None:
    shape = INSTANCE_TYPE.problem(value)
    if shape is not None:
        return shape
    if value not in catalog.known_instance_types():
        family = value.split(".")[0]
        sizes = sorted(t for t in catalog.known_instance_types() if t.split(".")[0] == family)
        hint = f"; the {family} sizes are {', '.join(sizes)}" if sizes else f"; no instance family {family!r} is known"
        return (
            f"not a known EC2 instance type{hint} (list from "
            f"{catalog.catalog_source(catalog.INSTANCE_TYPES_PATH)}; refresh with `{catalog.REFRESH_COMMAND}`)"
        )
    return None


# --- S3 -------------------------------------------------------------------------------------------

BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_BUCKET_CHARS = re.compile(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", re.ASCII)
_IPV4_FORM = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+", re.ASCII)


def bucket_problem(value: Any, *, allow_dots: bool = True) -> str | None:
    """S3's naming rules for general-purpose buckets; ``allow_dots=False`` adds this
    project's rule (a dot breaks virtual-hosted TLS certificates)."""
    chars = "lower-case letters, digits and '-'" + ("" if not allow_dots else " or '.'")
    rule = f"an S3 bucket name: 3-63 {chars}, starting and ending with a letter or digit"
    basic = text_problem(value, min_len=3, max_len=63)
    if basic is not None:
        return f"{basic}; expected {rule}"
    if not _BUCKET_CHARS.fullmatch(value):
        return rule
    if "." in value and not allow_dots:
        return f"contains '.'; expected {rule} (dots break TLS for virtual-hosted addresses)"
    if ".." in value:
        return f"contains '..'; expected {rule}, no two adjacent periods"
    if _IPV4_FORM.fullmatch(value):
        return f"is formatted as an IP address, which S3 refuses; expected {rule}"
    for prefix in BUCKET_RESERVED_PREFIXES:
        if value.startswith(prefix):
            return f"starts with {prefix!r}, a prefix S3 reserves; pick another name"
    for suffix in BUCKET_RESERVED_SUFFIXES:
        if value.endswith(suffix):
            return f"ends with {suffix!r}, a suffix S3 reserves (access points, aliases, directory buckets); pick another name"
    return None


def s3_prefix_problem(value: Any, *, max_len: int = 512) -> str | None:
    """A key prefix such as ``emr/spark-batch/`` ('' = the whole bucket)."""
    basic = text_problem(value, min_len=0, max_len=max_len)
    if basic is not None:
        return f"{basic}; expected an S3 key prefix such as 'emr/spark-batch/'"
    if value.startswith("/"):
        return "starts with '/'; S3 keys have no leading slash (write 'emr/', not '/emr/')"
    if "//" in value:
        return "contains '//', an empty folder name; remove the doubled slash"
    if "*" in value or "?" in value:
        return "contains a wildcard; a prefix is literal text"
    if any(part in (".", "..") for part in value.split("/")):
        return "contains a '.' or '..' folder; S3 keys are not paths"
    return None


# --- numbers ------------------------------------------------------------------------------------------


def decimal_problem(
    value: Any, *, minimum: Decimal | None = None, maximum: Decimal | None = None, min_inclusive: bool = True
) -> str | None:
    """A finite decimal given as a Decimal, int or string (never a float: binary floats
    cannot hold prices such as 0.24 exactly)."""
    if isinstance(value, bool):
        return "expected a decimal number, got bool"
    if isinstance(value, float):
        if not math.isfinite(value):
            return 'is not a finite number (NaN or infinity); expected a decimal string such as "0.8"'
        return f'a float cannot hold a decimal exactly; write it as a string, e.g. "{value!r}"'
    if isinstance(value, str):
        basic = text_problem(value.strip() and value)
        if basic is not None:
            return f'{basic}; expected a decimal string such as "0.8"'
    try:
        d = value if isinstance(value, Decimal) else Decimal(value) if isinstance(value, (int, str)) else None
    except (InvalidOperation, ValueError):
        d = None
    if d is None:
        return f'expected a decimal string such as "0.8", got {type(value).__name__}'
    if not d.is_finite():
        return 'is not a finite number (NaN or infinity); expected a decimal string such as "0.8"'
    if minimum is not None and (d < minimum or (d == minimum and not min_inclusive)):
        return f"must be {'at least' if min_inclusive else 'greater than'} {minimum}"
    if maximum is not None and d > maximum:
        return f"must be at most {maximum}"
    return None


# --- networks ---------------------------------------------------------------------------------------

# Addresses that are not on the public internet (RFC 6890 special-purpose registries).
NON_PUBLIC_V4 = tuple(
    ipaddress.collapse_addresses(
        ipaddress.IPv4Network(n)
        for n in (
            "0.0.0.0/8",
            "10.0.0.0/8",
            "100.64.0.0/10",
            "127.0.0.0/8",
            "169.254.0.0/16",
            "172.16.0.0/12",
            "192.0.0.0/24",
            "192.0.2.0/24",
            "192.168.0.0/16",
            "198.18.0.0/15",
            "198.51.100.0/24",
            "203.0.113.0/24",
            "224.0.0.0/4",
            "240.0.0.0/4",
        )
    )
)
# IPv6: only global unicast (2000::/3) is public; the documentation range is not.
PUBLIC_V6 = ipaddress.IPv6Network("2000::/3")
NON_PUBLIC_V6_INSIDE = (ipaddress.IPv6Network("2001:db8::/32"),)
PUBLIC_LIMIT_V4 = 2**24  # one /8
PUBLIC_LIMIT_V6 = 2**96  # one /32


def _overlap(a, b) -> int:
    if a.version != b.version or not a.overlaps(b):
        return 0
    return min(a.num_addresses, b.num_addresses)


def public_address_count(nets: Iterable[Network]) -> tuple[int, int]:
    """Public IPv4 and IPv6 addresses in the union of ``nets`` (overlaps counted once)."""
    nets = list(nets)
    v4 = list(ipaddress.collapse_addresses(n for n in nets if n.version == 4))
    v6 = list(ipaddress.collapse_addresses(n for n in nets if n.version == 6))
    count4 = sum(n.num_addresses - sum(_overlap(n, np) for np in NON_PUBLIC_V4) for n in v4)
    count6 = 0
    for n in v6:
        inside = _overlap(n, PUBLIC_V6)
        if inside:
            clipped = n if n.subnet_of(PUBLIC_V6) else PUBLIC_V6
            inside -= sum(_overlap(clipped, np) for np in NON_PUBLIC_V6_INSIDE)
        count6 += inside
    return count4, count6


def is_public(net: Network) -> bool:
    return any(public_address_count([net]))


def parse_cidr(value: Any, *, ipv6: bool = False) -> tuple[Network | None, str | None]:
    """(network, None) or (None, problem). Only text is a CIDR (``ipaddress`` would also
    take an int), and the block must have no host bits set."""
    family = "an IPv4 or IPv6" if ipv6 else "an IPv4"
    rule = f"expected {family} CIDR block with no host bits set, e.g. 10.20.0.0/16"
    basic = text_problem(value, max_len=49)
    if basic is not None:
        return None, f"{basic}; {rule}"
    if not re.fullmatch(r"[0-9a-fA-F:.]+/[0-9]{1,3}", value, re.ASCII):
        return None, rule
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError:
        return None, rule
    if net.version == 6 and not ipv6:
        return None, rule
    return net, None


@dataclass(frozen=True)
class CidrFinding:
    index: int | None  # the block at fault, or None for the set as a whole
    problem: str


def cidr_set_findings(
    nets: Sequence[Network | None], *, allow_public: bool, acknowledge_hint: str
) -> list[CidrFinding]:
    """Rules for a set of source blocks of people's rules (admin SSH, web UIs): never the
    whole internet, never more than a /8 of public space together, no public block at
    all unless ``allow_public`` (the message names ``acknowledge_hint`` as the way to)."""
    findings: list[CidrFinding] = []
    good = []
    for i, net in enumerate(nets):
        if net is None:
            continue
        if net.prefixlen == 0:
            findings.append(CidrFinding(i, "the whole internet is never allowed; name the office or VPN range"))
            continue
        if not allow_public and is_public(net):
            findings.append(
                CidrFinding(
                    i,
                    (
                        "a public address range: people's rules normally come from private (VPN, office network) "
                        f"ranges; if this public range is really yours, acknowledge it with {acknowledge_hint}"
                    ),
                )
            )
        good.append(net)
    count4, count6 = public_address_count(good)
    if count4 > PUBLIC_LIMIT_V4 or count6 > PUBLIC_LIMIT_V6:
        total = f"{count4:,} public IPv4 addresses" if count4 > PUBLIC_LIMIT_V4 else "more than a /32 of public IPv6"
        findings.append(
            CidrFinding(
                None,
                (
                    f"together these blocks cover {total}, more than one /8 ({PUBLIC_LIMIT_V4:,}) of the internet, "
                    "however they are split; name the office, VPN or admin ranges instead"
                ),
            )
        )
    return findings


# --- ARNs and S3 objects named in settings and constructs (full matches only) ------------------

# An IAM role or user, e.g. arn:aws:iam::123456789012:role/emr-cdktf-deploy.
PRINCIPAL_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]{1,512}$", re.ASCII)
# A zip of PEM certificates on S3, for EMR's in-transit encryption.
PEM_ZIP = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[^*?]+\.zip$", re.ASCII)
# A KMS key (not an alias).
KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]+$", re.ASCII)
