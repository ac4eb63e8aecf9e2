"""Which instance groups Terraform manages, read from a stack's Terraform state (guide tip T8).

Why: a change of a Spot group's bid or instance type makes Terraform replace the group,
and EMR cannot delete an instance group from a running cluster: the provider's delete
only resizes the old group to 0, and EMR keeps listing it, under the same name, until
the cluster ends. The cluster then has two ``task-spot-static-a`` groups. The one that
counts is the one Terraform manages; its id is in the stack's state
(``aws_emr_instance_group`` resources, attributes ``id``, ``name``, ``cluster_id``).

Where the state is:

- ``--state PATH`` or ``--state s3://BUCKET/KEY`` names it;
- otherwise the stack's default local state, ``terraform.<environment>.<stack>.tfstate``
  in the project root, found from the cluster's ``environment`` and ``stack`` tags (the
  provider's default tags on every resource of the app), when that file exists;
- otherwise none: callers fall back to the newest group that has not ended.

Reading state needs only ``s3:GetObject`` on the key (S3) or the file; nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emr_constructs.model.contract import ENVIRONMENT_TAG, STACK_TAG, local_state_file, s3_state_key
from ops.errors import Refused

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_GROUP_TYPE = "aws_emr_instance_group"


@dataclass(frozen=True)
class ManagedGroups:
    """Instance groups of one cluster that Terraform manages: group id -> group name."""

    source: str
    ids: Mapping[str, str]

    def names(self) -> set[str]:
        return set(self.ids.values())


def groups_in_state(document: Any, cluster_id: str, source: str) -> ManagedGroups:
    """The ``aws_emr_instance_group`` instances of ``cluster_id`` in a state document (v4)."""
    if not isinstance(document, dict) or not isinstance(document.get("resources", []), list):
        raise Refused(f"{source}: not a Terraform state file (no 'resources' list)")
    ids: dict[str, str] = {}
    for resource in document.get("resources", []):
        if resource.get("mode") != "managed" or resource.get("type") != INSTANCE_GROUP_TYPE:
            continue
        for instance in resource.get("instances", []):
            attributes = instance.get("attributes") or {}
            if attributes.get("cluster_id") == cluster_id and attributes.get("id"):
                ids[attributes["id"]] = attributes.get("name") or ""
    return ManagedGroups(source=source, ids=ids)


def _read_local(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Refused(
            f"--state {path}: no such file. Give the stack's state file "
            f"({local_state_file('<environment>', '<stack>')} in the project root) or s3://BUCKET/KEY"
        ) from None
    except (OSError, ValueError) as exc:
        raise Refused(f"--state {path}: cannot read it as Terraform state ({exc})") from None


def _read_s3(s3, uri: str) -> Any:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise Refused(
            f"--state {uri}: expected s3://BUCKET/KEY, e.g. s3://acme-terraform-state/{s3_state_key('acme', 'spark-batch')}"
        )
    from botocore.exceptions import ClientError

    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "NoSuchBucket", "404"):
            raise Refused(
                f"--state {uri}: no such object ({exc.response['Error'].get('Code')}). The key of "
                f"a stack's state is {s3_state_key('<environment>', '<stack>')}"
            ) from None
        raise
    try:
        return json.loads(body)
    except ValueError as exc:
        raise Refused(f"--state {uri}: not JSON Terraform state ({exc})") from None


def find_managed_groups(
    cluster_id: str, tags: Mapping[str, str], *, state: str | None, s3_client=None, root: Path | None = None
) -> ManagedGroups | None:
    """The groups Terraform manages on the cluster, or None when no state is known.
    ``root``: where the default local state lives (default: the project root)."""
    if state:
        if state.startswith("s3://"):
            return groups_in_state(
                _read_s3(s3_client() if callable(s3_client) else s3_client, state), cluster_id, state
            )
        return groups_in_state(_read_local(Path(state)), cluster_id, state)
    environment, stack = tags.get(ENVIRONMENT_TAG), tags.get(STACK_TAG)
    if not environment or not stack:
        return None
    path = (root or PROJECT_ROOT) / local_state_file(environment, stack)
    if not path.is_file():
        return None
    return groups_in_state(_read_local(path), cluster_id, path.name)
