"""Adoption settings: what an account already runs, named by id, for Terraform to import.

The optional ``[adopt.<stack>]`` tables of an environment file name existing resources
that the stack's own resources should take over instead of creating new ones. The stacks
turn each into a Terraform ``import`` block (cdktf ``import_from``); the next plan then
says, per resource, whether it is kept as it is, updated in place, or replaced (ForceNew
attributes such as a security group's name or most of an EMR cluster's settings):
``python -m ops adoption-report`` summarizes that plan. See docs/operations.md, "Adopt
existing clusters".

```toml
[adopt.spark-batch.security_groups]      # the five EMR groups (guide tips T0-T2)
master-managed = "sg-0123456789abcdef0"
[adopt.spark-batch.roles]                # IAM role names (tip T0)
service = "acme-spark-batch-emr-service"
instance = "acme-spark-batch-emr-instance"
[adopt.spark-batch]
instance_profile = "acme-spark-batch-emr-instance"
[adopt.spark-batch.clusters]             # cluster name in stacks/clusters.py = id (tip T3)
"spark-batch-production-01" = "j-2AXXXXXXGAPLF"
[adopt.spark-batch.instance_groups]      # "<cluster>/<task group>" = ig- id (tip T8)
"spark-batch-production-01/task-spot-static-a" = "ig-1XXXXXXXXXXXX"
[adopt.foundation]
bootstrap_assets_bucket = true           # import buckets.bootstrap_assets
```

This module checks the shape and the id formats; which stacks, clusters and roles exist
is checked against the purpose declarations when the app is built
(``stacks.adoption.adoption_problems``). It imports no cdktf.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from emr_constructs.model.contract import FOUNDATION

# Security-group keys are the app's own group names (emr_constructs.security_groups.GROUPS).
SECURITY_GROUP_KEYS = ("master-managed", "slave-managed", "master-additional", "slave-additional", "service-access")
ROLE_KEYS = ("service", "instance", "autoscaling")
PURPOSE_KEYS = ("security_groups", "roles", "instance_profile", "clusters", "instance_groups")
FOUNDATION_KEYS = ("bootstrap_assets_bucket",)

_SG_ID = re.compile(r"^sg-[0-9a-f]{8}([0-9a-f]{9})?$", re.ASCII)
_CLUSTER_ID = re.compile(r"^j-[0-9A-Z]{8,64}$", re.ASCII)
_INSTANCE_GROUP_ID = re.compile(r"^ig-[0-9A-Z]{8,64}$", re.ASCII)
# "<cluster name>/<task group name>": both lower-case words joined by '-'.
_GROUP_KEY = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*/task(-[a-z0-9]+)+$", re.ASCII)
# IAM role and instance-profile names: 1-64 of letters, digits and +=,.@_-
_IAM_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$", re.ASCII)
_STACK = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$", re.ASCII)


@dataclass(frozen=True)
class StackAdoption:
    """Existing resources one stack takes over. Purpose stacks: ``security_groups``
    (group key -> sg id), ``roles`` (role key -> role name), ``instance_profile`` (name),
    ``clusters`` (cluster name -> j- id), ``instance_groups`` ("<cluster>/<task group>" ->
    ig- id; the cluster is adopted too). Foundation: ``bootstrap_assets_bucket``."""

    security_groups: tuple[tuple[str, str], ...] = ()
    roles: tuple[tuple[str, str], ...] = ()
    instance_profile: str | None = None
    clusters: tuple[tuple[str, str], ...] = ()
    instance_groups: tuple[tuple[str, str], ...] = ()
    bootstrap_assets_bucket: bool = False

    def count(self) -> int:
        return (
            len(self.security_groups)
            + len(self.roles)
            + len(self.clusters)
            + len(self.instance_groups)
            + (self.instance_profile is not None)
            + self.bootstrap_assets_bucket
        )


@dataclass(frozen=True)
class Adoption:
    stacks: tuple[tuple[str, StackAdoption], ...]

    def for_stack(self, stack: str) -> StackAdoption | None:
        return dict(self.stacks).get(stack)


def _table(problems: list[str], where: str, value: Any, allowed: tuple[str, ...]) -> dict:
    if not isinstance(value, dict):
        problems.append(f"{where} = {value!r}: expected a table")
        return {}
    for key in sorted(set(value) - set(allowed)):
        problems.append(f"{where}.{key}: unknown key; allowed keys here are {', '.join(allowed)}")
    return value


def _ids(
    problems: list[str], where: str, table: Any, allowed: tuple[str, ...] | None, pattern: re.Pattern, what: str
) -> tuple[tuple[str, str], ...]:
    if not isinstance(table, dict) or not table:
        problems.append(f"{where} = {table!r}: a table of {what}")
        return ()
    pairs = []
    seen: dict[str, str] = {}
    for key, value in table.items():
        if allowed is not None and key not in allowed:
            problems.append(f"{where}.{key}: unknown key; allowed keys here are {', '.join(allowed)}")
            continue
        if not isinstance(value, str) or not pattern.fullmatch(value):
            problems.append(f"{where}.{key} = {value!r}: {what.split(' = ')[-1]}")
            continue
        if value in seen:
            problems.append(
                f"{where}.{key} = {value!r}: already adopted as {where}.{seen[value]}; "
                "one existing resource can back only one resource of the stack"
            )
            continue
        seen[value] = key
        pairs.append((key, value))
    return tuple(pairs)


def _instance_groups(problems: list[str], where: str, table: dict) -> tuple[tuple[str, str], ...]:
    """``[adopt.<stack>.instance_groups]``: "<cluster>/<task group>" = ig- id. A group is
    imported with its cluster's id (``<j- id>/<ig- id>``), so its cluster must be adopted in
    the same stack."""
    if "instance_groups" not in table:
        return ()
    where = f"{where}.instance_groups"
    pairs = _ids(
        problems,
        where,
        table["instance_groups"],
        None,
        _INSTANCE_GROUP_ID,
        "task group = instance-group id = an EMR instance-group id, ig- followed by upper-case letters and "
        "digits (aws emr list-instance-groups --cluster-id j-...)",
    )
    # Clusters named in the table, also those whose id is refused (reported on their own).
    named_clusters = set(table["clusters"]) if isinstance(table.get("clusters"), dict) else set()
    out = []
    for key, group_id in pairs:
        if not _GROUP_KEY.fullmatch(key):
            problems.append(
                f'{where}."{key}": name a group as "<cluster>/<task group>", e.g. '
                '"spark-batch-production-01/task-spot-static-a"'
            )
            continue
        cluster = key.split("/", 1)[0]
        if cluster not in named_clusters:
            problems.append(
                f'{where}."{key}" = {group_id!r}: its cluster {cluster!r} is not adopted; a task group is '
                f"imported with its cluster's id, so add {cluster!r} to [{where.rsplit('.', 1)[0]}.clusters] "
                "(or leave the group out and let the app create its own)"
            )
            continue
        out.append((key, group_id))
    return tuple(out)


def parse_adoption(raw: Any) -> tuple[Adoption | None, list[str]]:
    """The ``[adopt]`` table of an environment file: (Adoption, problems)."""
    problems: list[str] = []
    if not isinstance(raw, dict) or not raw:
        return None, [f"adopt = {raw!r}: expected [adopt.<stack>] tables, e.g. [adopt.spark-batch.security_groups]"]
    stacks = []
    for stack, table in raw.items():
        where = f"adopt.{stack}"
        if not isinstance(stack, str) or not _STACK.fullmatch(stack):
            problems.append(f"{where}: not a stack name (lower-case words joined by '-')")
            continue
        if stack == FOUNDATION:
            table = _table(problems, where, table, FOUNDATION_KEYS)
            flag = table.get("bootstrap_assets_bucket", False)
            if not isinstance(flag, bool):
                problems.append(
                    f"{where}.bootstrap_assets_bucket = {flag!r}: true to import buckets.bootstrap_assets "
                    "(the bucket's name is its id), or leave it out"
                )
                flag = False
            stacks.append((stack, StackAdoption(bootstrap_assets_bucket=flag)))
            continue
        table = _table(problems, where, table, PURPOSE_KEYS)
        groups: tuple[tuple[str, str], ...] = ()
        roles: tuple[tuple[str, str], ...] = ()
        clusters: tuple[tuple[str, str], ...] = ()
        if "security_groups" in table:
            groups = _ids(
                problems,
                f"{where}.security_groups",
                table["security_groups"],
                SECURITY_GROUP_KEYS,
                _SG_ID,
                "group = security-group id = sg- followed by 8 or 17 hexadecimal digits",
            )
        if "roles" in table:
            roles = _ids(
                problems,
                f"{where}.roles",
                table["roles"],
                ROLE_KEYS,
                _IAM_NAME,
                "role = role name = an IAM role name: 1-64 letters, digits and +=,.@_-",
            )
        if "clusters" in table:
            clusters = _ids(
                problems,
                f"{where}.clusters",
                table["clusters"],
                None,
                _CLUSTER_ID,
                "cluster name = cluster id = an EMR cluster id, j- followed by upper-case letters and "
                "digits (aws emr list-clusters)",
            )
        instance_groups = _instance_groups(problems, where, table)
        profile = table.get("instance_profile")
        if profile is not None and (not isinstance(profile, str) or not _IAM_NAME.fullmatch(profile)):
            problems.append(
                f"{where}.instance_profile = {profile!r}: an instance-profile name: 1-64 letters, digits and +=,.@_-"
            )
            profile = None
        stacks.append(
            (
                stack,
                StackAdoption(
                    security_groups=groups,
                    roles=roles,
                    instance_profile=profile,
                    clusters=clusters,
                    instance_groups=instance_groups,
                ),
            )
        )
    return Adoption(stacks=tuple(stacks)), problems
