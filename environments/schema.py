"""The shape of an environment file (environments/*.toml) as a pydantic model.

One model per table (``[fixed_ips]`` holds the fixed master IPs of guide tip T4), every
key with its description, its default and its rule. The
per-value rules are the shared validators of ``emr_constructs.model.validation`` (the same ones
the constructs use), so a value is refused here with the same words as anywhere else.
Rules that relate two settings (a subnet inside the VPC, buckets that differ, a fixed IP
inside its subnet...) are not shape and live in ``environments.settings``, after this.

``problems(raw, region)`` validates the parsed TOML and returns every problem in the
project's message form (``key = value: what is allowed``), all of them at once, plus the
model when there were none. ``python -m environments.schema`` writes the JSON Schema
editors use for completion and inline errors (docs/settings.md, "Editor support").
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, Strict, ValidationError, ValidationInfo
from pydantic.fields import FieldInfo
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import PydanticCustomError

from emr_constructs.model import catalog, validation as v

SCHEMA_PATH = Path(__file__).resolve().parent / "settings.schema.json"

# The instance role's access to a data-bucket prefix: the words settings are written in,
# and the ones purpose declarations use (``stacks.declaration.DataAccess``).
READ_ONLY = "read-only"
READ_WRITE = "read-write"
DATA_ACCESS_MODES = (READ_ONLY, READ_WRITE)
BOOTSTRAP_KMS_MODES = ("aws-managed", "customer-managed")
FIXED_IP_MODES = ("eni", "cidr")
# AWS accepts VPC and subnet IPv4 blocks from /16 to /28 (CreateVpc, CreateSubnet).
VPC_PREFIX_RANGE = (16, 28)
# <region><letter>, or a Local Zone <region>-<zone group>-<n><letter>.
ANY_AZ = r"[a-z]{2}(?:-gov)?-[a-z]+-[0-9](?:-[a-z]+-[0-9]+)?[a-z]"
UI_KEY = r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*"
PURPOSE_NAME = r"[a-z][a-z0-9-]{0,40}"
GLUE_DATABASE = r"[a-z0-9_]{1,255}"

# What editors check of an address (JSON Schema's own formats do not cover a CIDR block);
# the settings' own check is stricter (no host bits, no leading zeros).
_IPV4 = r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}"
_CIDR_SCHEMA = {"type": "string", "pattern": f"^{_IPV4}/[0-9]{{1,2}}$"}
BUCKET_RULE = "an S3 bucket name: 3-63 lower-case letters, digits and '-', no dots"
CIDR_RULE = "an IPv4 CIDR block with no host bits set, e.g. 10.20.0.0/16"
# The error type of every refusal worded by a rule below (translated as key = value: rule).
_RULE_ERROR = "settings_rule"

# (value) or, in context, (value, facts of the file) -> None or the problem.
Check = Callable[..., str | None]


def _refuse(problem: str) -> PydanticCustomError:
    return PydanticCustomError(_RULE_ERROR, "{problem}", {"problem": problem})


def _checked(check: Check, schema: dict[str, Any], *, in_context: bool = False) -> PlainValidator:
    """A leaf validated by ``check`` (None or the problem, in the shared validators'
    words, wrong types included; ``in_context``: it also receives the facts of the file
    that ``validate`` passes in); ``schema`` is what the JSON Schema says of it."""

    def validate(value: Any, info: ValidationInfo) -> Any:
        problem = check(value, info.context or {}) if in_context else check(value)
        if problem is not None:
            raise _refuse(problem)
        return value

    return PlainValidator(validate, json_schema_input_type=Annotated[Any, Field(json_schema_extra=schema)])


def _pattern(regex: str) -> str:
    # JSON Schema patterns search; the project's rules match the whole value.
    return f"^(?:{regex})$"


def _text_schema(rule: v.TextRule) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "pattern": _pattern(rule.pattern), "minLength": rule.min_len}
    if rule.max_len is not None:
        schema["maxLength"] = rule.max_len
    return schema


def _text(rule: v.TextRule) -> PlainValidator:
    return _checked(rule.problem, _text_schema(rule))


def _match_problem(regex: str, expected: str) -> Check:
    """Text that fully matches ``regex``; anything else is refused as ``expected``."""
    compiled = re.compile(regex, re.ASCII)

    def check(value: Any) -> str | None:
        basic = v.text_problem(value)
        if basic is not None:
            return f"{basic}; expected {expected}"
        return None if compiled.fullmatch(value) else expected

    return check


def _matching(regex: str, expected: str) -> PlainValidator:
    return _checked(_match_problem(regex, expected), {"type": "string", "pattern": _pattern(regex)})


def _choice(values: tuple[str, ...]) -> PlainValidator:
    def check(value: Any) -> str | None:
        return None if isinstance(value, str) and value in values else f"one of {', '.join(values)}"

    return _checked(check, {"type": "string", "enum": list(values)})


def _name_check(value: Any) -> str | None:
    problem = v.ENVIRONMENT_NAME.problem(value)
    if problem is None and value == "assets":
        # Each stack's synthesis goes to cdktf.out/stacks/<stack>/<name>/, beside cdktf's
        # own assets/ folder (stacks.app.EnvironmentApp).
        return "reserved: a stack's folder already has an assets/ folder; choose another name"
    return problem


def _cidr_check(*, vpc_sized: bool) -> Check:
    def check(value: Any) -> str | None:
        net, problem = v.parse_cidr(value)
        if problem is not None:
            return problem
        low, high = VPC_PREFIX_RANGE
        if vpc_sized and net is not None and not low <= net.prefixlen <= high:
            return f"AWS accepts VPC and subnet blocks from /{low} to /{high}, this is a /{net.prefixlen}"
        return None

    return check


def _availability_zone_check(value: Any, context: dict) -> str | None:
    """A zone of the file's region when the region is valid, else any well-formed zone."""
    region = context.get("region")
    zone = rf"{re.escape(region)}(?:-[a-z]+-[0-9]+)?[a-z]" if region else ANY_AZ
    if not isinstance(value, str) or v.text_problem(value, max_len=40) or not re.fullmatch(zone, value, re.ASCII):
        return (
            f"an availability zone of region {region}, e.g. {region}a"
            if region
            else "an availability zone such as ap-northeast-2a"
        )
    return None


def _master_ip_check(value: Any, context: dict) -> str | None:
    # Only text: ipaddress also takes an int, and 168100112 would silently become 10.5.2.16.
    # Whether the address lies inside fixed_ips.subnet is a rule between settings (settings.py).
    block = context.get("fixed_ips_subnet")
    inside = f"an IPv4 address inside fixed_ips.subnet{f' ({block})' if block else ''}"
    if not isinstance(value, str):
        return f'{inside}, written as a quoted string such as "10.20.1.16"'
    basic = v.text_problem(value)
    return None if basic is None else f"{basic}; expected {inside}"


def _fixed_subnet_check(value: Any, context: dict) -> str | None:
    problem = v.SUBNET_ID.problem(value)
    if problem is None:
        return None  # that it names one of the private subnets is a rule of settings.py
    return f"{problem}: one of the private_subnets ids ({', '.join(context.get('subnet_ids') or ['none valid'])})"


def _key(noun: str, check: Check, regex: str) -> PlainValidator:
    """A table key (a cluster or purpose name); the problem names it, since the key path
    itself would show the bad key twice."""

    def key_check(value: Any) -> str | None:
        problem = check(value)
        return None if problem is None else f"{noun} {value!r}: {problem}"

    return _checked(key_check, {"type": "string", "pattern": _pattern(regex)})


def _prefix_check(value: Any) -> str | None:
    problem = v.s3_prefix_problem(value)
    if problem is not None:
        return problem
    if (value and not value.endswith("/")) or "${" in value:
        return (
            "a literal key prefix ending with '/' and not starting with '/' "
            "(so 'raw' cannot also grant 'raw-private/'), or \"\" for the whole bucket"
        )
    return None


Name = Annotated[
    str,
    _checked(
        _name_check,
        {"type": "string", "pattern": _pattern(v.ENVIRONMENT_NAME.pattern), "maxLength": v.ENVIRONMENT_NAME.max_len},
    ),
]
# The bundled region list (emr_constructs/model/data/regions.json) as an enum: editors complete it.
Region = Annotated[str, _checked(v.region_problem, {"type": "string", "enum": sorted(catalog.known_regions())})]
VpcCidr = Annotated[str, _checked(_cidr_check(vpc_sized=True), _CIDR_SCHEMA)]
PeopleCidr = Annotated[str, _checked(_cidr_check(vpc_sized=False), _CIDR_SCHEMA)]
Bucket = Annotated[
    str,
    _checked(
        lambda value: v.bucket_problem(value, allow_dots=False),
        {"type": "string", "pattern": r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"},
    ),
]
Flag = Annotated[bool, Strict()]
MasterIp = Annotated[str, _checked(_master_ip_check, {"type": "string", "pattern": f"^{_IPV4}$"}, in_context=True)]


def _block_check(value: Any) -> str | None:
    return None if isinstance(value, str) else 'a CIDR block inside fixed_ips.subnet, e.g. "10.20.1.16/29"'


def _people(role: str, example: str) -> Any:
    return Field(
        min_length=1, strict=True, description=f"a non-empty list of IPv4 CIDR blocks ({role})", examples=[[example]]
    )


class _Table(BaseModel):
    # Unknown keys are refused (a typo never passes silently); no type is coerced (a
    # quoted "true" is not a boolean, 12 is not text).
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SubnetEntry(_Table):
    """One ``[[private_subnets]]`` table."""

    id: Annotated[str, _text(v.SUBNET_ID)] = Field(
        description="subnet- followed by 8 or 17 hexadecimal digits", examples=["subnet-0a1b2c3d4e5f60701"]
    )
    cidr: VpcCidr = Field(description=CIDR_RULE + ", inside vpc_cidr", examples=["10.20.1.0/24"])
    availability_zone: Annotated[
        str, _checked(_availability_zone_check, {"type": "string", "pattern": _pattern(ANY_AZ)}, in_context=True)
    ] = Field(description="an availability zone of the region, e.g. ap-northeast-2a", examples=["ap-northeast-2a"])


class BucketsTable(_Table):
    """``[buckets]``: ``bootstrap_assets`` is created by the foundation stack; ``logs``
    and ``data`` already exist in the account. Four roles, four different buckets."""

    logs: Bucket = Field(description=BUCKET_RULE, examples=["example-emr-logs"])
    bootstrap_assets: Bucket = Field(description=BUCKET_RULE, examples=["example-emr-bootstrap-assets"])
    data: Bucket = Field(description=BUCKET_RULE, examples=["example-data-lake"])


class StateTable(_Table):
    """``[state]``: keep Terraform state in S3 (key emr-cdktf/<env>/<stack>.tfstate)."""

    bucket: Bucket = Field(description=BUCKET_RULE, examples=["example-terraform-state"])


class FixedIpsTable(_Table):
    """``[fixed_ips]``: fixed master IPs (guide tip T4); docs/fixed-ips.md."""

    mode: Annotated[str, _choice(FIXED_IP_MODES)] = Field(
        default="cidr", description=f"one of {', '.join(FIXED_IP_MODES)} (default cidr)"
    )
    subnet: Annotated[str, _checked(_fixed_subnet_check, _text_schema(v.SUBNET_ID), in_context=True)] = Field(
        description="the id of one of the private_subnets"
    )
    masters: dict[Annotated[str, _key("cluster name", v.CLUSTER_NAME.problem, v.CLUSTER_NAME.pattern)], MasterIp] = (
        Field(
            min_length=1,
            strict=True,
            description='a table of cluster name = "IP", e.g. "spark-batch-production-01" = "10.20.1.16"',
        )
    )
    # Its content is checked with the reservation's rules (emr_constructs.model.fixed_ip_rules).
    block: Annotated[str, _checked(_block_check, _CIDR_SCHEMA)] | None = Field(
        default=None,
        description='cidr mode: the reserved CIDR block inside fixed_ips.subnet, e.g. "10.20.1.16/29" '
        "(default: the smallest block holding every address)",
    )


class InTransitTable(_Table):
    """``[security.in_transit_encryption]``: TLS between nodes."""

    pem_certificates: Annotated[
        str,
        _matching(
            v.PEM_ZIP.pattern.strip("^$"),
            "an S3 URI of a zip of PEM certificates, e.g. s3://example-emr-certificates/emr/certificates.zip",
        ),
    ] = Field(
        description="an S3 URI of a zip of PEM certificates, e.g. s3://example-emr-certificates/emr/certificates.zip"
    )


class SecurityTable(_Table):
    """``[security]``: environment-wide hardening (docs/security.md); every default is
    the safe choice except ``bootstrap_writers``, which only the environment can name."""

    bootstrap_writers: list[
        Annotated[
            str,
            _matching(
                v.PRINCIPAL_ARN.pattern.strip("^$"),
                "an IAM role or user ARN, e.g. arn:aws:iam::123456789012:role/emr-cdktf-deploy",
            ),
        ]
    ] = Field(
        default_factory=list,
        min_length=1,
        strict=True,
        description="a non-empty list of IAM role or user ARNs (the principals that run cdktf deploy)",
    )
    bootstrap_kms: Annotated[str, _choice(BOOTSTRAP_KMS_MODES)] = Field(
        default="aws-managed", description="the key of the bootstrap bucket: aws-managed (default) or customer-managed"
    )
    require_imdsv2: Flag = Field(default=True, description="nodes require IMDSv2 where the release supports it")
    local_disk_encryption: Flag = Field(default=True, description="LUKS + EBS encryption of the nodes' disks")
    in_transit_encryption: InTransitTable | None = Field(
        default=None, description="a [security.in_transit_encryption] table with pem_certificates (default: off)"
    )


class DataEntry(_Table):
    """One ``[[purposes.<purpose>.data]]`` table: access to a prefix of the data bucket."""

    prefix: Annotated[str, _checked(_prefix_check, {"type": "string", "pattern": r"^(?:|[^/*?].*/)$"})] = Field(
        description="a key prefix ending with '/', or \"\" for the whole bucket", examples=["raw/"]
    )
    access: Annotated[str, _choice(DATA_ACCESS_MODES)] = Field(description=f"one of {', '.join(DATA_ACCESS_MODES)}")
    delete: Flag = Field(default=False, description=f'may delete objects (needs access = "{READ_WRITE}")')


class PurposeTable(_Table):
    """``[purposes.<purpose>]``: what the environment decides for one purpose."""

    open_uis: list[
        Annotated[str, _matching(UI_KEY, "a web UI name such as spark-history, yarn-resourcemanager or trino")]
    ] = Field(default_factory=list, strict=True, description='a list of web UI names, e.g. ["spark-history"]')
    acknowledge_yarn_resourcemanager_risk: Flag = Field(
        default=False, description="required to open yarn-resourcemanager (docs/security.md)"
    )
    data: list[DataEntry] | None = Field(
        default=None,
        strict=True,
        description="[[purposes.<purpose>.data]] tables with prefix and access (an empty list grants no data "
        "access; default: the purpose's own default)",
    )
    glue_databases: list[
        Annotated[
            str, _matching(GLUE_DATABASE, "a Glue database name: lower-case letters, digits and '_', no wildcards")
        ]
    ] = Field(default_factory=list, strict=True, description="a list of Glue database names")
    glue_write: Flag = Field(default=False, description="create/update/delete tables and partitions in glue_databases")


class EnvironmentFile(_Table):
    """An environment file: everything account-specific (docs/settings.md)."""

    model_config = ConfigDict(title="emr-cdktf environment settings")

    name: Name = Field(description=v.ENVIRONMENT_NAME.description, examples=["example"])
    region: Region = Field(description="an AWS region code such as ap-northeast-2", examples=["ap-northeast-2"])
    account_id: Annotated[str, _text(v.ACCOUNT_ID)] = Field(description="twelve digits", examples=["123456789012"])
    allow_public_cidrs: Flag = Field(
        default=False,
        description="true or false: admin_cidrs / office_cidrs may name public ranges you own (docs/settings.md)",
    )
    vpc_id: Annotated[str, _text(v.VPC_ID)] = Field(
        description="vpc- followed by 8 or 17 hexadecimal digits", examples=["vpc-0a1b2c3d4e5f60718"]
    )
    vpc_cidr: VpcCidr = Field(description=CIDR_RULE, examples=["10.20.0.0/16"])
    private_subnets: list[SubnetEntry] = Field(
        min_length=1,
        strict=True,
        description="one or more [[private_subnets]] tables with id, cidr and availability_zone; the first is "
        "the default subnet of every cluster",
    )
    admin_cidrs: list[PeopleCidr] = _people("who may SSH to the masters", "10.20.250.0/28")
    office_cidrs: list[PeopleCidr] = _people("who may open the web UIs", "10.30.0.0/20")
    buckets: BucketsTable = Field(description="a [buckets] table with logs, bootstrap_assets and data")
    state: StateTable | None = Field(default=None, description="a [state] table with bucket (default: local state)")
    fixed_ips: FixedIpsTable | None = Field(default=None, description="a [fixed_ips] table (docs/fixed-ips.md)")
    cluster_subnets: dict[str, Annotated[str, _checked(v.text_problem, {"type": "string"})]] = Field(
        default_factory=dict,
        strict=True,
        description='a table of cluster name = "subnet id or availability zone": where that cluster runs',
    )
    security: SecurityTable = Field(default_factory=SecurityTable, description="a [security] table (docs/security.md)")
    purposes: dict[
        Annotated[
            str, _key("purpose", _match_problem(PURPOSE_NAME, "a purpose name such as spark-batch"), PURPOSE_NAME)
        ],
        PurposeTable,
    ] = Field(default_factory=dict, strict=True, description="a table of [purposes.<purpose>] tables")
    # Checked by environments.adoption (ids of existing resources); its own module.
    adopt: Any = Field(
        default=None,
        json_schema_extra={"type": "object"},
        description="[adopt.<stack>] tables naming existing resources to import (docs/operations.md)",
    )


# --- pydantic's errors in the project's words ---------------------------------------------


def key_path(loc: tuple[int | str, ...]) -> str:
    """``("private_subnets", 0, "id")`` -> ``private_subnets[0].id``: the key as the file
    spells it (a TOML dotted key, a list entry by its index)."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f"{'.' if out else ''}{part}"
    return out


def _bare(annotation: Any) -> Any:
    """``annotation`` without Annotated metadata and without ``| None``."""
    while True:
        if typing.get_origin(annotation) is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif typing.get_origin(annotation) in (typing.Union, types.UnionType):
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        else:
            return annotation


def _place(loc: tuple[int | str, ...]) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """The table that holds the last key of ``loc``, and that key's field (None for a key
    the table does not know, or for a list entry or table key)."""
    annotation: Any = EnvironmentFile
    table: type[BaseModel] | None = None
    field: FieldInfo | None = None
    for part in loc:
        target = _bare(annotation)
        if isinstance(target, type) and issubclass(target, BaseModel):
            table, field = target, target.model_fields.get(str(part))
            if field is None:
                return table, None
            annotation = field.annotation
        elif typing.get_origin(target) in (list, dict):
            table, field = None, None
            annotation = typing.get_args(target)[-1]
        else:
            return None, None
    return table, field


def _message(error: Any) -> str:
    loc, kind, value = tuple(error["loc"]), error["type"], error.get("input")
    if loc and loc[-1] == "[key]":
        return f"{key_path(loc[:-2])}: {error['ctx']['problem']}"
    key = key_path(loc)
    table, field = _place(loc)
    described = field.description if field is not None and field.description else None
    if kind == _RULE_ERROR:
        return f"{key} = {value!r}: {error['ctx']['problem']}"
    if kind == "missing":
        return f"{key}: missing; add it to the file: {described or 'required'}"
    if kind == "extra_forbidden" and table is not None:
        return f"{key}: unknown key; allowed keys here are {', '.join(sorted(table.model_fields))}"
    if kind == "bool_type":
        return f"{key} = {value!r}: true or false (without quotes)"
    if described:
        return f"{key} = {value!r}: expected {described}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{key} = {value!r}: expected a table"
    return f"{key} = {value!r}: {error['msg']}"


def _without(raw: dict, errors: list[Any]) -> dict:
    """``raw`` without the values that were refused (a refused list entry becomes None,
    so the others keep their index): what the cross-setting rules may rely on."""
    clean = copy.deepcopy(raw)
    for error in errors:
        loc = list(error["loc"])
        if error["type"] in ("missing", "extra_forbidden") or not loc:
            continue
        if loc[-1] == "[key]":
            loc.pop()
        parent: Any = clean
        for part in loc[:-1]:
            try:
                parent = parent[part]
            except (KeyError, IndexError, TypeError):
                parent = None
                break
        if isinstance(parent, dict):
            parent.pop(loc[-1], None)
        elif isinstance(parent, list) and isinstance(loc[-1], int) and loc[-1] < len(parent):
            parent[loc[-1]] = None
    return clean


def _context(raw: dict) -> dict[str, Any]:
    """What a value's message may name of the rest of the file: the region its zones
    belong to, the block of the fixed-IP subnet and the subnet ids, when those are valid."""
    region = raw.get("region")
    fixed, subnets = raw.get("fixed_ips"), raw.get("private_subnets")
    block = None
    if isinstance(fixed, dict) and isinstance(subnets, list):
        cidrs = [s.get("cidr") for s in subnets if isinstance(s, dict) and s.get("id") == fixed.get("subnet")]
        net, problem = v.parse_cidr(cidrs[0]) if cidrs else (None, "none")
        block = str(net) if problem is None else None
    ids = (
        sorted(s["id"] for s in subnets if isinstance(s, dict) and v.SUBNET_ID.ok(s.get("id")))
        if isinstance(subnets, list)
        else []
    )
    return {
        "region": region if v.region_problem(region) is None else None,
        "fixed_ips_subnet": block,
        "subnet_ids": ids,
    }


def validate(raw: dict) -> tuple[EnvironmentFile | None, list[str], dict]:
    """(the model or None, every problem of shape and value, ``raw`` without the values
    refused)."""
    context = _context(raw)
    try:
        return EnvironmentFile.model_validate(raw, context=context), [], raw
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        return None, [_message(e) for e in errors], _without(raw, errors)


# --- the JSON Schema editors read ---------------------------------------------------------


class _TomlJsonSchema(GenerateJsonSchema):
    """TOML has no null: an optional table is simply left out of the file."""

    def nullable_schema(self, schema: Any) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: Any) -> JsonSchemaValue:
        out = super().default_schema(schema)
        if out.get("default", ...) is None:
            del out["default"]
        return out

    def dict_schema(self, schema: Any) -> JsonSchemaValue:
        # A table whose keys have a pattern (purposes, fixed_ips.masters) takes no others.
        out = super().dict_schema(schema)
        if "patternProperties" in out:
            out["additionalProperties"] = False
        return out


def json_schema() -> dict[str, Any]:
    schema = EnvironmentFile.model_json_schema(schema_generator=_TomlJsonSchema)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": "Generated from environments/schema.py by `make schema`; do not edit (docs/settings.md).",
        **schema,
    }


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m environments.schema", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the committed schema is stale")
    args = parser.parse_args(argv)
    text = schema_text()
    if args.check:
        current = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else ""
        if current != text:
            print(f"{SCHEMA_PATH.name} is stale: run `make schema` and commit it", file=sys.stderr)
            return 1
        return 0
    SCHEMA_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
