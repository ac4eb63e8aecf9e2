"""The review checked against the truth: a catalogue of everyday changes, each synthesized,
planned by real Terraform against an applied base in the stand-in account, and compared
with what ``python -m review`` reports for the same base -> head.

A *change* is what a user edits: the environment file (text replaced, exactly once) and/or
the cluster definitions of ``stacks/clusters.py`` (the declarations passed to
``build_app(purposes=...)``, each definition wrapped so that the ``ClusterSpec`` it builds,
or the Spot groups it adds, carry the edited value), and/or a bootstrap script (a copy of
``assets/bootstrap/`` with the file edited). Every variant is synthesized in this one
process, so the provider bindings are imported once (``synthesize_variants``).

Terraform's side (``terraform_verdicts``): ``terraform show -json`` of ``terraform plan
-out`` for each stack whose synthesized JSON differs from the base, as sets of managed
resource addresses: created, destroyed, replaced (delete+create in either order), updated.
A stack with a protected cluster that would be replaced makes ``terraform plan`` fail
(``prevent_destroy``); the addresses it names are recorded, and the stack is planned again
with ``prevent_destroy`` lifted by an override file to get the complete sets.

The review's side (``review_verdicts``): the review's engine on the two synthesized
folders, exactly as ``python -m review`` runs it after its own syntheses
(``review.plan.diff`` of ``load_outdir`` base/head, then the per-stack verdicts and the
replacement guard). Stacks whose JSON is unchanged are not planned: the base's own
re-plan is empty (checked once after apply), so Terraform would do nothing there, and the
review must report nothing there either.

``python -m tests.terraform.review_truth [--keep DIR]`` runs the whole comparison outside
pytest and prints the table (change | Terraform's actions | the review's verdicts |
agree?) and the time of each phase.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from emr_constructs.model.layout import synthesized_stacks

VERDICTS = ("created", "destroyed", "replaced", "updated")
# Terraform wraps its diagnostics at 78 columns: the words may be split by any whitespace.
_PREVENT_DESTROY = re.compile(r"Resource\s+(\S+)\s+has\s+lifecycle\.prevent_destroy\s+set")


# ----------------------------------------------------------------------------- the catalogue


SpecEdit = Callable[[Any], Any]  # ClusterSpec -> ClusterSpec
SpotEdit = Callable[[dict], dict]  # keyword arguments of SpotTaskGroup(Pair) / TaskInstanceFleet -> edited ones


@dataclass(frozen=True)
class ClusterEdit:
    """Edit one cluster definition of ``stacks/clusters.py`` (by cluster name): ``spec``
    changes the ``ClusterSpec`` it passes to ``add_cluster``; ``spot`` changes the keyword
    arguments of the Spot task groups it adds."""

    cluster: str
    spec: SpecEdit | None = None
    spot: SpotEdit | None = None


@dataclass(frozen=True)
class Change:
    """One everyday change. ``env``: (old, new) text replacements in the environment file;
    ``clusters``: definition edits; ``add``: (purpose, cluster to copy, new name) for a new
    cluster defined like an existing one; ``remove``: cluster names whose definitions are
    deleted from their purpose; ``script``: (file name under assets/bootstrap, edit)."""

    key: str
    what: str
    env: tuple[tuple[str, str], ...] = ()
    clusters: tuple[ClusterEdit, ...] = ()
    add: tuple[tuple[str, str, str], ...] = ()
    remove: tuple[str, ...] = ()
    script: tuple[str, Callable[[str], str]] | None = None


def _core(**changes) -> SpecEdit:
    return lambda spec: dataclasses.replace(spec, core=dataclasses.replace(spec.core, **changes))


def _spec(**changes) -> SpecEdit:
    return lambda spec: dataclasses.replace(spec, **changes)


def _add_configuration(classification: str, properties: dict[str, str]) -> SpecEdit:
    from emr_constructs.model.cluster_spec import Configuration

    def edit(spec):
        configs = list(spec.configurations)
        for i, c in enumerate(configs):
            if c.classification == classification:
                configs[i] = Configuration(classification, {**dict(c.properties), **properties})
                break
        else:
            configs.append(Configuration(classification, properties))
        return dataclasses.replace(spec, configurations=tuple(configs))

    return edit


def _spot_type(group: str, instance_type: str) -> SpotEdit:
    """A Spot task group's instance type (``SpotTaskGroup(spec=...)`` by group name)."""

    def edit(kwargs: dict) -> dict:
        if kwargs.get("group_name") == group:
            return {**kwargs, "spec": dataclasses.replace(kwargs["spec"], instance_type=instance_type)}
        return kwargs

    return edit


def _task_fleet(edit: Callable[[Any], Any]) -> SpotEdit:
    """The task fleet's InstanceFleetSpec (``TaskInstanceFleet(spec=...)``)."""

    def change(kwargs: dict) -> dict:
        from emr_constructs.model.fleet_spec import InstanceFleetSpec

        spec = kwargs.get("spec")
        return {**kwargs, "spec": edit(spec)} if isinstance(spec, InstanceFleetSpec) else kwargs

    return change


def _fleet_type_added(instance_type: str, weight: int) -> Callable[[Any], Any]:
    def edit(spec):
        from emr_constructs.model.fleet_spec import FleetInstanceType

        first = spec.instance_types[0]
        added = FleetInstanceType(instance_type, weighted_capacity=weight, ebs=first.ebs)
        return dataclasses.replace(spec, instance_types=(*spec.instance_types, added))

    return edit


def _bid_factor(factor: str) -> SpotEdit:
    return lambda kwargs: {**kwargs, "bid_factor": factor}


def catalogue() -> tuple[Change, ...]:
    """The changes users make, against the stand-in environment (``Account.environment_toml``
    with the example's fixed IPs: production-01 .16, operation-01 .17, presto-01 .18) and
    the app's own cluster definitions."""
    return (
        Change(
            "core-type",
            "core instance type of spark-batch-operation-01: r5.xlarge → r5.2xlarge",
            clusters=(ClusterEdit("spark-batch-operation-01", spec=_core(instance_type="r5.2xlarge")),),
        ),
        Change(
            "core-count-frozen",
            "core count of the frozen service-presto-01: 3 → 2 (HDFS replication stays 1 by EMR's rule)",
            clusters=(ClusterEdit("service-presto-01", spec=_core(instance_count=2)),),
        ),
        Change(
            "core-count-frozen-replication",
            "core count of the frozen, protected spark-batch-production-01: "
            "4 → 3 (EMR's rule moves dfs.replication 2 → 1)",
            clusters=(ClusterEdit("spark-batch-production-01", spec=_core(instance_count=3)),),
        ),
        Change(
            "core-count",
            "core count of the unfrozen spark-batch-operation-01: 2 → 3",
            clusters=(ClusterEdit("spark-batch-operation-01", spec=_core(instance_count=3)),),
        ),
        Change(
            "release-label",
            "release label of service-presto-01: emr-7.5.0 → emr-7.6.0",
            clusters=(ClusterEdit("service-presto-01", spec=_spec(release_label="emr-7.6.0")),),
        ),
        Change(
            "configuration",
            "a configuration value of service-presto-01: trino-connector-hive hive.recursive-directories = true",
            clusters=(
                ClusterEdit(
                    "service-presto-01",
                    spec=_add_configuration("trino-connector-hive", {"hive.recursive-directories": "true"}),
                ),
            ),
        ),
        Change(
            "bootstrap-script",
            "an edit of the bootstrap script tag_instance_role.py (every cluster runs it)",
            script=("tag_instance_role.py", lambda text: text + "\n# Reviewed: tags stay idempotent.\n"),
        ),
        Change(
            "spot-bid-factor",
            "Spot bid factor of spark-batch-production-01's static pair: 0.8 → 0.7",
            clusters=(ClusterEdit("spark-batch-production-01", spot=_bid_factor("0.7")),),
        ),
        Change(
            "task-type",
            "instance type of spark-batch-operation-01's dynamic task group: r5.2xlarge → m5.4xlarge",
            clusters=(ClusterEdit("spark-batch-operation-01", spot=_spot_type("task-spot-dynamic", "m5.4xlarge")),),
        ),
        Change(
            "fleet-task-capacity",
            "Spot target of spark-batch-flex-01's task fleet: 24 → 32 units",
            clusters=(
                ClusterEdit(
                    "spark-batch-flex-01",
                    spot=_task_fleet(lambda spec: dataclasses.replace(spec, target_spot_capacity=32)),
                ),
            ),
        ),
        Change(
            "fleet-task-type-added",
            "an instance type added to spark-batch-flex-01's task fleet: c5.2xlarge (2 units)",
            clusters=(ClusterEdit("spark-batch-flex-01", spot=_task_fleet(_fleet_type_added("c5.2xlarge", 2))),),
        ),
        Change(
            "fleet-allocation-strategy",
            "Spot allocation strategy of spark-batch-flex-01's core fleet: price-capacity-optimized → "
            "capacity-optimized",
            clusters=(ClusterEdit("spark-batch-flex-01", spec=_core(allocation_strategy="capacity-optimized")),),
        ),
        Change(
            "office-cidr",
            "office CIDR: 10.30.0.0/20 → 10.30.0.0/16",
            env=(('office_cidrs = ["10.30.0.0/20"]', 'office_cidrs = ["10.30.0.0/16"]'),),
        ),
        Change(
            "new-cluster",
            "a new cluster spark-batch-operation-02, defined like spark-batch-operation-01",
            add=(("spark-batch", "spark-batch-operation-01", "spark-batch-operation-02"),),
        ),
        Change(
            "removed-cluster",
            "remove the unprotected spark-batch-operation-01 and its fixed IP .17 (a gap in the "
            "block is allowed, so no other cluster moves)",
            remove=("spark-batch-operation-01",),
            env=(('"spark-batch-operation-01" = "10.20.1.17"\n', ""),),
        ),
        Change(
            "tag",
            "a tag on service-presto-01: cost-center = analytics",
            clusters=(ClusterEdit("service-presto-01", spec=_spec(tags={"cost-center": "analytics"})),),
        ),
        Change(
            "fixed-ip",
            # The middle address: in eni mode the holder's range cannot shrink once masters
            # hold its addresses (a postcondition refuses the plan, docs/fixed-ips.md).
            "drop the fixed IP of spark-batch-operation-01 (10.20.1.17, the middle of the block)",
            env=(('"spark-batch-operation-01" = "10.20.1.17"\n', ""),),
        ),
    )


# ----------------------------------------------------------------------------- synthesis


class CatalogueError(RuntimeError):
    """A change of the catalogue no longer applies to the code or environment it edits."""


def edit_environment(text: str, change: Change) -> str:
    for old, new in change.env:
        if text.count(old) != 1:
            raise CatalogueError(
                f"change {change.key!r}: the environment file holds {old!r} "
                f"{text.count(old)} times (expected once); update the catalogue"
            )
        text = text.replace(old, new)
    return text


def _edited_definition(define: Callable, edit: ClusterEdit) -> Callable:
    """``define`` with its ClusterSpec and/or Spot group arguments edited."""
    import stacks.clusters as definitions

    def variant(stack):
        applied: list[str] = []
        with ExitStack() as patches:
            if edit.spec is not None:
                real_add = type(stack).add_cluster

                def add_cluster(spec, **kwargs):
                    if spec.name == edit.cluster:
                        applied.append("spec")
                        spec = edit.spec(spec)
                    return real_add(stack, spec, **kwargs)

                stack.add_cluster = add_cluster
                patches.callback(stack.__dict__.pop, "add_cluster", None)
            if edit.spot is not None:
                for name in ("SpotTaskGroup", "SpotTaskGroupPair", "TaskInstanceFleet"):
                    real = getattr(definitions, name)

                    def spot(*args, _real=real, **kwargs):
                        applied.append("spot")
                        return _real(*args, **edit.spot(kwargs))

                    patches.enter_context(mock.patch.object(definitions, name, spot))
            cluster = define(stack)
        wanted = {k for k, v in (("spec", edit.spec), ("spot", edit.spot)) if v is not None}
        if not wanted <= set(applied):
            raise CatalogueError(f"the edit of {edit.cluster} found nothing to change in {define.__name__}")
        return cluster

    variant.__name__ = define.__name__
    return variant


def _renamed_definition(define: Callable, new_name: str) -> Callable:
    """A new cluster defined like ``define``'s, under another name (a copied definition)."""

    def variant(stack):
        real_add = type(stack).add_cluster
        stack.add_cluster = lambda spec, **kw: real_add(stack, dataclasses.replace(spec, name=new_name), **kw)
        try:
            return define(stack)
        finally:
            stack.__dict__.pop("add_cluster", None)

    variant.__name__ = new_name.replace("-", "_")
    return variant


def _cluster_name(define: Callable) -> str:
    return define.__name__.replace("_", "-")


def edit_purposes(purposes: Sequence, change: Change) -> tuple:
    """The purpose declarations with the change's cluster edits, additions and removals."""
    edits = {e.cluster: e for e in change.clusters}
    known = {_cluster_name(d) for p in purposes for d in p.clusters}
    missing = (set(edits) | set(change.remove) | {copy for _, copy, _ in change.add}) - known
    if missing:
        raise CatalogueError(
            f"change {change.key!r}: no cluster definition named {sorted(missing)} "
            f"in stacks/clusters.py (clusters: {sorted(known)}); update the catalogue"
        )
    out = []
    for purpose in purposes:
        defines = []
        for define in purpose.clusters:
            name = _cluster_name(define)
            if name in change.remove:
                continue
            defines.append(_edited_definition(define, edits[name]) if name in edits else define)
        for target, copy, new_name in change.add:
            if target == purpose.name:
                source = next(d for p in purposes for d in p.clusters if _cluster_name(d) == copy)
                defines.append(_renamed_definition(source, new_name))
        out.append(dataclasses.replace(purpose, clusters=tuple(defines)))
    return tuple(out)


@contextmanager
def _bootstrap_dir(change: Change, workdir: Path) -> Iterator[None]:
    """The app's bootstrap scripts, with the change's script edit (a copied folder)."""
    if change.script is None:
        yield
        return
    import stacks.purpose

    file_name, edit = change.script
    copy = workdir / f"bootstrap-{change.key}"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(stacks.purpose.BOOTSTRAP_DIR, copy)
    target = copy / file_name
    if not target.is_file():
        raise CatalogueError(f"change {change.key!r}: no bootstrap script {file_name} in assets/bootstrap")
    target.write_text(edit(target.read_text()))
    with mock.patch.object(stacks.purpose, "BOOTSTRAP_DIR", copy):
        yield


def synthesize_variants(
    environment_text: str, changes: Sequence[Change], workdir: Path, *, include_base: bool = True
) -> dict[str, Path]:
    """Synthesize every change (and the base, key ``"base"``, unless ``include_base`` is
    false) into ``workdir/<key>/``, in this process; return each outdir."""
    from environments.settings import load_environment
    from stacks.app import build_app
    from stacks.clusters import PURPOSE_DECLARATIONS

    workdir.mkdir(parents=True, exist_ok=True)
    outdirs = {}
    for change in ((Change("base", "the base"),) if include_base else ()) + tuple(changes):
        env_file = workdir / f"{change.key}.toml"
        env_file.write_text(edit_environment(environment_text, change))
        outdir = workdir / change.key
        shutil.rmtree(outdir, ignore_errors=True)
        with _bootstrap_dir(change, workdir):
            build_app(
                load_environment(str(env_file)),
                outdir=str(outdir),
                purposes=edit_purposes(PURPOSE_DECLARATIONS, change),
            ).synth()
        outdirs[change.key] = outdir
    return outdirs


def _config(stack_dir: Path) -> Any:
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "//"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(json.loads((stack_dir / "cdk.tf.json").read_text()))


def changed_stacks(base: Path, head: Path) -> list[str]:
    """Stacks whose synthesized configuration differs (added and removed ones included).
    Assets are content-addressed (their hash is in ``source``), so the JSON says it all."""
    bases, heads = synthesized_stacks(base), synthesized_stacks(head)
    return [
        name
        for name in sorted(set(bases) | set(heads))
        if name not in bases or name not in heads or _config(bases[name]) != _config(heads[name])
    ]


# ----------------------------------------------------------------------------- verdicts


Verdicts = dict[str, dict[str, frozenset[str]]]  # stack -> created/destroyed/replaced/updated -> addresses


def plan_verdicts(plan: dict) -> dict[str, frozenset[str]]:
    """Managed-resource address sets of a ``terraform show -json`` plan."""
    out: dict[str, set[str]] = {k: set() for k in VERDICTS}
    for rc in plan.get("resource_changes") or []:
        if rc.get("mode") != "managed":
            continue
        actions = rc["change"]["actions"]
        if actions == ["create"]:
            out["created"].add(rc["address"])
        elif actions == ["delete"]:
            out["destroyed"].add(rc["address"])
        elif sorted(actions) == ["create", "delete"]:
            out["replaced"].add(rc["address"])
        elif actions == ["update"]:
            out["updated"].add(rc["address"])
        elif actions not in (["no-op"], ["read"]):
            raise ValueError(f"{rc['address']}: unexpected plan actions {actions}")
    return {k: frozenset(v) for k, v in out.items()}


@dataclass(frozen=True)
class ReviewResult:
    verdicts: Verdicts
    # Protected clusters the guard says ``terraform plan`` itself refuses to destroy (the
    # head keeps ``prevent_destroy``), as ``stack/address``.
    guarded: frozenset[str]
    markdown: str


def _review_result(result) -> ReviewResult:
    from review.emr import PREVENT_DESTROY_BLOCKS
    from review.report import stack_verdicts

    verdicts = {
        s.name: {k: frozenset(v) for k, v in stack_verdicts(s).items()} for env in result.envs for s in env.plan.stacks
    }
    guarded = frozenset(
        f"{h.cluster.stack}/{h.cluster.address}" for h in result.hits if PREVENT_DESTROY_BLOCKS in h.blockers
    )
    return ReviewResult(verdicts, guarded, result.markdown)


def review_verdicts(base: Path, head: Path) -> ReviewResult:
    """What ``python -m review`` reports for base -> head, from the two synthesized folders:
    the same engine its CLI runs after synthesizing (``review_trees``), one environment."""
    from review.plan import diff, load_outdir
    from review.report import render

    return _review_result(render(diff(load_outdir(base, "base"), load_outdir(head, "head")), allow=set()))


def plan_review_verdicts(planned: dict[str, StackPlan]) -> ReviewResult | None:
    """What ``python -m review --plan STACK=plan.json ...`` reports from Terraform's own
    plans of the changed stacks (``review.tfplan``, the engine behind ``--plan``); None when
    no stack was planned. Each plan file sits beside its stack's ``cdk.tf.json``, as after
    ``terraform show -json`` in a stack's folder."""
    from review.tfplan import review_plans

    specs = [f"{stack}={p.plan_json}" for stack, p in sorted(planned.items()) if p.plan_json is not None]
    return _review_result(review_plans(specs, allow=set())) if specs else None


# ----------------------------------------------------------------------------- terraform


@dataclass
class StackPlan:
    stack: str
    verdicts: dict[str, frozenset[str]]
    refused: frozenset[str] = frozenset()  # addresses terraform refused to destroy (prevent_destroy)
    error: str | None = None  # terraform failed for another reason (reported as a disagreement)
    seconds: float = 0.0
    replace_paths: dict[str, list] = field(default_factory=dict)
    # ``terraform show -json`` of the plan, written beside the stack's cdk.tf.json (the plan
    # with prevent_destroy lifted when Terraform refused the first one).
    plan_json: Path | None = None


def plan_stack(deployment, stack_dir: Path, planfile: Path) -> StackPlan:
    """``terraform plan -out`` + ``show -json`` of one variant stack against the applied state.
    A refusal by ``prevent_destroy`` is recorded, then the stack is planned again with it
    lifted (override file), so the sets are complete."""
    from devtools.toolchain import TerraformFailed
    from emr_constructs.model.layout import stack_name_of

    start = time.monotonic()
    refused: frozenset[str] = frozenset()
    try:
        tf = deployment.terraform(stack_dir)
        tf.init()
        try:
            tf.plan(out=planfile)
        except TerraformFailed as exc:
            refused = frozenset(_PREVENT_DESTROY.findall(exc.output))
            if not refused:
                raise
            deployment.lift_prevent_destroy(stack_dir)
            tf.plan(out=planfile)
        plan = tf.show_json(planfile)
        plan_json = stack_dir / "plan.json"
        plan_json.write_text(json.dumps(plan))
    except TerraformFailed as exc:  # one failed plan must not hide the other comparisons
        return StackPlan(
            stack_name_of(stack_dir),
            {k: frozenset() for k in VERDICTS},
            refused,
            str(exc)[-3000:],
            time.monotonic() - start,
        )
    paths = {
        rc["address"]: rc.get("change", {}).get("replace_paths") or []
        for rc in plan.get("resource_changes") or []
        if rc.get("mode") == "managed" and sorted(rc["change"]["actions"]) == ["create", "delete"]
    }
    return StackPlan(
        stack_name_of(stack_dir), plan_verdicts(plan), refused, None, time.monotonic() - start, paths, plan_json
    )


@dataclass
class Comparison:
    change: Change
    stacks: list[str]  # stacks planned (their synthesized JSON changed)
    terraform: dict[str, StackPlan]
    review: ReviewResult
    # The review of Terraform's own plans (``python -m review --plan``); None when nothing
    # was planned.
    from_plans: ReviewResult | None = None

    def terraform_sets(self) -> Verdicts:
        return {s: p.verdicts for s, p in self.terraform.items()}

    def review_sets(self, review: ReviewResult | None = None) -> Verdicts:
        """The review's verdicts for every stack, empty stacks left out (``review``: another
        of the review's results, e.g. ``from_plans``)."""
        review = self.review if review is None else review
        return {
            s: {k: frozenset(v.get(k, ())) for k in VERDICTS} for s, v in review.verdicts.items() if any(v.values())
        }

    def refused(self) -> frozenset[str]:
        return frozenset(f"{s}/{a}" for s, p in self.terraform.items() for a in p.refused)

    def disagreements(self) -> list[str]:
        """Where the synthesized review, or the review of Terraform's own plans, says other
        than Terraform (empty: they agree)."""
        out = [f"{s}: terraform failed: {p.error}" for s, p in sorted(self.terraform.items()) if p.error]
        reviews = [("the review", self.review)]
        if self.from_plans is not None:
            reviews.append(("the review of its plans (--plan)", self.from_plans))
        elif any(p.plan_json is not None for p in self.terraform.values()):
            out.append("terraform planned, but the review of its plans (--plan) was not run")
        tf = self.terraform_sets()
        for who, review in reviews:
            rv = self.review_sets(review)
            for stack in sorted(set(tf) | set(rv)):
                for verdict in VERDICTS:
                    t = tf.get(stack, {}).get(verdict, frozenset())
                    r = rv.get(stack, {}).get(verdict, frozenset())
                    for address in sorted(t - r):
                        out.append(f"{stack}: terraform {verdict} {address}, {who} does not")
                    for address in sorted(r - t):
                        out.append(f"{stack}: {who} says {verdict} {address}, terraform does not")
            if self.refused() != review.guarded:
                out.append(
                    f"terraform refuses to destroy {sorted(self.refused())}; "
                    f"{who}'s guard names {sorted(review.guarded)}"
                )
        return out


def compare(
    deployment, outdirs: dict[str, Path], changes: Sequence[Change], planwork: Path, *, workers: int = 2
) -> dict[str, Comparison]:
    """Plan every changed stack of every change (``workers`` terraform runs at a time) and
    compute the review's verdicts; return one Comparison per change."""
    base = outdirs["base"]
    jobs = []
    for change in changes:
        for stack in changed_stacks(base, outdirs[change.key]):
            stack_dir = synthesized_stacks(outdirs[change.key]).get(stack)
            if stack_dir is None:
                raise NotImplementedError(f"{change.key}: stack {stack} removed; plan -destroy is not in the catalogue")
            jobs.append((change.key, stack, stack_dir))
    planwork.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {
            (key, stack): pool.submit(plan_stack, deployment, stack_dir, planwork / f"{key}.{stack}.tfplan")
            for key, stack, stack_dir in jobs
        }
        results = {k: f.result() for k, f in futures.items()}
    out = {}
    for change in changes:
        planned = {stack: results[(change.key, stack)] for key, stack in results if key == change.key}
        out[change.key] = Comparison(
            change,
            sorted(planned),
            planned,
            review_verdicts(base, outdirs[change.key]),
            plan_review_verdicts(planned),
        )
    return out


# ----------------------------------------------------------------------------- the table


def _cell(sets: Verdicts, refused: frozenset[str] = frozenset()) -> str:
    parts = []
    for stack, verdicts in sorted(sets.items()):
        for verdict in VERDICTS:
            for address in sorted(verdicts.get(verdict, ())):
                parts.append(f"{verdict} `{stack}/{address}`")
    for address in sorted(refused):
        parts.append(f"refused (prevent_destroy) `{address}`")
    return "<br>".join(parts) or "no changes"


def table(comparisons: dict[str, Comparison]) -> str:
    lines = ["| change | Terraform's actions | the review's verdicts | agree? |", "|---|---|---|---|"]
    for c in comparisons.values():
        agree = "yes" if not c.disagreements() else "NO: " + "; ".join(c.disagreements())
        guard = f"<br>guard: {', '.join(f'`{g}`' for g in sorted(c.review.guarded))}" if c.review.guarded else ""
        lines.append(
            f"| {c.change.what} | {_cell(c.terraform_sets(), c.refused())} | "
            f"{_cell(c.review_sets())}{guard} | {agree} |"
        )
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- the base


@dataclass
class AppliedBase:
    """The applied app (``app``: ``standin.AppliedApp``), its synthesis as ``outdirs["base"]``
    and every variant synthesized from its environment file (``outdirs[change.key]``)."""

    app: Any
    outdirs: dict[str, Path]
    timings: dict[str, float]

    @property
    def deployment(self):
        return self.app.deployment


def variants_of(app, changes: Sequence[Change], workdir: Path) -> AppliedBase:
    """Synthesize every change from the applied app's environment file; check first that the
    applied base re-planned empty (else every variant plan would carry that diff too)."""
    dirty = {stack: r.plan_output[-3000:] for stack, r in app.records.items() if r.plan_exit_code != 0}
    if dirty:
        raise AssertionError(f"the applied base does not re-plan empty, so no variant plan can be compared: {dirty}")
    start = time.monotonic()
    outdirs = synthesize_variants(app.environment_file.read_text(), changes, workdir, include_base=False)
    outdirs["base"] = app.stacks_root.parent
    return AppliedBase(app, outdirs, {"synthesize the variants": time.monotonic() - start})


def main(argv: Sequence[str] | None = None) -> int:
    import argparse
    import sys
    import tempfile

    from devtools.standin import Deployment, StandIn, deploy_example_app
    from devtools.toolchain import ToolchainMissing, find_toolchain

    parser = argparse.ArgumentParser(
        prog="python -m tests.terraform.review_truth",
        description="Plan every change of the catalogue with real Terraform against "
        "the stand-in account and compare with the review.",
    )
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (default: a temporary folder)")
    parser.add_argument("--only", action="append", default=[], metavar="KEY", help="only these changes")
    args = parser.parse_args(argv)
    try:
        toolchain = find_toolchain()
    except ToolchainMissing as exc:
        print(exc, file=sys.stderr)
        return 3
    changes = tuple(c for c in catalogue() if not args.only or c.key in args.only)
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="review-truth-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"review truth with {toolchain.describe()}; work in {workdir}", file=sys.stderr)
    total = time.monotonic()
    standin = StandIn.start(workdir / "standin")
    try:
        start = time.monotonic()
        (workdir / "app").mkdir(exist_ok=True)
        app = deploy_example_app(
            Deployment(toolchain, standin, workdir / "state", toolchain.cli_config(workdir)), workdir / "app"
        )
        applied = time.monotonic() - start
        base = variants_of(app, changes, workdir / "variants")
        base.timings["apply the base (+ re-plan)"] = applied
        start = time.monotonic()
        comparisons = compare(base.deployment, base.outdirs, changes, workdir / "plans")
        base.timings["plan changed stacks + review"] = time.monotonic() - start
    finally:
        standin.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(table(comparisons))
    for phase, seconds in {**base.timings, "total": time.monotonic() - total}.items():
        print(f"{phase}: {seconds:.1f} s")
    return 0 if all(not c.disagreements() for c in comparisons.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
