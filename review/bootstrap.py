"""Bootstrap-script changes and the clusters they replace (guide tips "fixed IP", "tags").

Scripts are uploaded as ``aws_s3_object`` under content-hashed keys
(``bootstrap/<purpose>/<stem>-<sha256:16><suffix>``), so editing a script changes its key,
which changes the ``bootstrap_action`` path of every cluster that runs it, which replaces
those clusters. This module follows that chain backwards: each cluster's resolved
``bootstrap_action`` path (``s3://bucket/key``) is matched to the ``aws_s3_object`` with
that bucket and key, in any stack of the same side, and from there to the object's
``source`` file (a cdktf TerraformAsset copied under the stack's folder), so the report
can show the script's own diff.

It also warns when the old object is deleted while a cluster keeps running the old
path (``bootstrap_action`` in ``ignore_changes``): EMR runs bootstrap actions on every new
node, so that cluster could no longer grow.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from review.emr import Cluster, cluster_changes_of, clusters
from review.plan import PlanDiff, Resolver, Side, split_address


@dataclass(frozen=True)
class S3Script:
    stack: str
    address: str
    bucket: str
    key: str
    source: str | None
    root: Path | None

    def text(self) -> str | None:
        if not (self.source and self.root):
            return None
        path = self.root / self.source
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None


def _objects(side: Side, resolver: Resolver) -> dict[tuple[str, str], S3Script]:
    out = {}
    for stack_name, stack in side.stacks.items():
        for address, raw in stack.resources().items():
            if split_address(address)[0] != "aws_s3_object":
                continue
            config = resolver.resolve(stack_name, raw)
            bucket, key = config.get("bucket"), config.get("key")
            if isinstance(bucket, str) and isinstance(key, str):
                out[(bucket, key)] = S3Script(stack_name, address, bucket, key, config.get("source"), stack.root)
    return out


def _paths(cluster: Cluster) -> list[tuple[str, str]]:
    out = []
    for action in cluster.config.get("bootstrap_action") or []:
        path = action.get("path") if isinstance(action, dict) else None
        if isinstance(path, str) and path.startswith("s3://"):
            bucket, _, key = path[len("s3://") :].partition("/")
            out.append((bucket, key))
    return out


@dataclass
class ClusterEffect:
    cluster: Cluster
    outcome: str  # "replaced" | "updated in the Terraform state only ..." | "not applied (ignore_changes)" | "created" | "keeps the old script"


@dataclass
class ScriptChange:
    name: str  # file name of the script
    before: S3Script | None
    after: S3Script | None
    clusters: list[ClusterEffect] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def diff(self, limit: int = 80) -> list[str] | None:
        """Unified diff of the script's source, when both versions exist and are readable
        (a new or deleted script's whole text is not a review aid)."""
        if not (self.before and self.after):
            return None
        a, b = self.before.text(), self.after.text()
        if a is None or b is None:
            return None
        lines = list(
            difflib.unified_diff(
                a.splitlines(),
                b.splitlines(),
                f"base/{self.before.key}",
                f"head/{self.after.key}",
                lineterm="",
                n=2,
            )
        )
        if len(lines) > limit:
            lines = lines[:limit] + [f"... {len(lines) - limit} more lines"]
        return lines


def _stem(key: str) -> str:
    """``bootstrap/spark-batch/tag-instance-0123456789abcdef.py`` -> ``bootstrap/spark-batch/tag-instance.py``."""
    path = Path(key)
    stem = path.stem
    head, _, digest = stem.rpartition("-")
    if head and len(digest) == 16 and all(c in "0123456789abcdef" for c in digest):
        stem = head
    return str(path.with_name(stem + path.suffix))


def script_changes(plan: PlanDiff) -> list[ScriptChange]:
    base_objects = _objects(plan.base, plan.base_resolver)
    head_objects = _objects(plan.head, plan.head_resolver)
    base_clusters = clusters(plan.base, plan.base_resolver)
    head_clusters = clusters(plan.head, plan.head_resolver)
    cluster_changes = {(c.stack, c.address): c for c in cluster_changes_of(plan)}

    used_base = {loc for c in base_clusters.values() for loc in _paths(c)}
    used_head = {loc for c in head_clusters.values() for loc in _paths(c)}

    # Pair objects across sides by script identity: bucket + key without the content hash.
    def ident(loc: tuple[str, str]) -> tuple[str, str]:
        return (loc[0], _stem(loc[1]))

    before_by_id = {ident(loc): obj for loc, obj in base_objects.items() if loc in used_base or loc not in head_objects}
    after_by_id = {ident(loc): obj for loc, obj in head_objects.items() if loc in used_head or loc not in base_objects}

    out = []
    for sid in sorted(set(before_by_id) | set(after_by_id)):
        before, after = before_by_id.get(sid), after_by_id.get(sid)
        # A cluster that stops (or starts) running an object which itself stays as it is
        # changes the cluster, not the script: pair it with its unchanged self.
        if before and not after:
            after = head_objects.get((before.bucket, before.key))
        if after and not before:
            before = base_objects.get((after.bucket, after.key))
        if before and after and before.key == after.key and before.text() == after.text():
            continue
        if not (
            (before and (before.bucket, before.key) in used_base) or (after and (after.bucket, after.key) in used_head)
        ):
            continue  # an object no cluster runs is not a bootstrap script
        change = ScriptChange(Path(_stem((after or before).key)).name, before, after)
        old = (before.bucket, before.key) if before else None
        new = (after.bucket, after.key) if after else None
        keeps_old = []
        for key, cluster in sorted(head_clusters.items()):
            cc = cluster_changes.get(key)
            if new and new in _paths(cluster):
                bootstrap = [a for a in (cc.attrs if cc else []) if a.path == "bootstrap_action"]
                if cc is not None and cc.action == "added":
                    outcome = "created"
                elif bootstrap and not bootstrap[0].applied:
                    outcome = "not applied (ignore_changes)"
                    keeps_old.append(cluster)
                elif bootstrap and cc.replaced:
                    outcome = "replaced"
                elif bootstrap:  # same number of actions and args: the provider updates the state only
                    outcome = (
                        "updated in the Terraform state only: EMR keeps running the old script (the provider "
                        "sends no bootstrap change); replace the cluster to run the new one"
                    )
                    keeps_old.append(cluster)
                else:
                    outcome = "same path: not replaced; only nodes launched from now on run the new script"
                change.clusters.append(ClusterEffect(cluster, outcome))
            elif old and old in _paths(cluster):
                change.clusters.append(ClusterEffect(cluster, "keeps the old script"))
                keeps_old.append(cluster)
        if old and keeps_old and (old not in head_objects):
            names = ", ".join(f"`{c.name}`" for c in keeps_old)
            change.warnings.append(
                f"`s3://{old[0]}/{old[1]}` is deleted while {names} keep{'s' if len(keeps_old) == 1 else ''} running it: new nodes "
                "(resizes, Spot replacements) would fail to bootstrap"
            )
        out.append(change)
    return out
