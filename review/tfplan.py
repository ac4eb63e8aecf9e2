"""The review from Terraform's own plans: ``python -m review --plan [STACK=]plan.json``.

Input: per stack, the output of ``terraform show -json <planfile>`` (Terraform's JSON plan
format: ``resource_changes[]`` with ``change.actions``, ``change.before``/``after``/
``after_unknown``, ``change.replace_paths`` and ``action_reason``; ``resource_drift[]``;
``configuration``). The plan is turned into the same ``PlanDiff`` the synthesized review
builds, so the report has the same format and the same sections, with Terraform as the
authority:

* verdicts come from ``actions``: ``create`` added, ``delete`` removed, ``update`` in place,
  ``delete``+``create`` (either order) replaced; an attribute listed in ``replace_paths``
  is marked as replacing, every other changed attribute as in place; ``ignore_changes``
  is already applied by Terraform;
* values Terraform knows only after apply read ``<known after apply>``; such an attribute
  is shown only when the configuration sets it (``configuration.root_module``), so the
  computed ones (``id``, ``arn``, ``cluster_state`` ...) do not drown the report;
* ``resource_drift`` (changes made outside Terraform, e.g. a console edit) gets its own
  section per stack;
* the guard runs on Terraform's actions: a cluster is protected when its current state
  has ``termination_protection`` or when the stack's ``cdk.tf.json`` beside the plan file
  keeps ``lifecycle.prevent_destroy``.

Task groups and task fleets are tied to their cluster through the state's cluster id or the
configuration's reference, so instances, Spot capacity and cost work as in the
synthesized review.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from emr_constructs.model.layout import stack_name_of
from review import rules
from review.plan import (
    MISSING,
    AttrChange,
    PlanDiff,
    Resolver,
    ResourceChange,
    Side,
    Stack,
    StackDiff,
    flatten,
)
from review.report import Review, render_environments
from review.synth import ReviewError

UNKNOWN = "<known after apply>"
_REPLACING = ("delete", "create")


def _with_unknowns(after: Any, unknown: Any) -> Any:
    """``after`` with every value ``after_unknown`` marks as true replaced by UNKNOWN."""
    if unknown is True:
        return UNKNOWN
    if isinstance(after, dict) and isinstance(unknown, dict):
        out = dict(after)
        for key, flag in unknown.items():
            out[key] = _with_unknowns(after.get(key), flag)
        return out
    if isinstance(after, list) and isinstance(unknown, list):
        out_list = list(after) + [None] * max(0, len(unknown) - len(after))
        return [_with_unknowns(v, unknown[i]) if i < len(unknown) else v for i, v in enumerate(out_list)]
    return after


def _path_text(path: list) -> str:
    """A replace_paths entry (``["core_instance_group", 0, "instance_type"]``) as the
    report's attribute path (``core_instance_group.instance_type``)."""
    return ".".join(str(step) for step in path if not isinstance(step, int))


def _expression_paths(expressions: Any, prefix: str = "") -> set[str]:
    """Dotted paths the configuration sets (nested blocks are lists of expression maps)."""
    out: set[str] = set()
    if isinstance(expressions, list):
        for item in expressions:
            out |= _expression_paths(item, prefix)
        return out
    if not isinstance(expressions, dict):
        return out
    for key, value in expressions.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and ("constant_value" in value or "references" in value):
            out.add(path)
        else:
            out |= _expression_paths(value, path + ".")
    return out


def _configured(resource_config: dict | None) -> set[str] | None:
    if resource_config is None:
        return None
    return _expression_paths(resource_config.get("expressions") or {})


_EMPTY: tuple[object, ...] = ("", [], {}, False, 0, None)


def _references(resource_config: dict | None, attribute: str) -> list[str]:
    expr = ((resource_config or {}).get("expressions") or {}).get(attribute) or {}
    return list(expr.get("references") or []) if isinstance(expr, dict) else []


def _imported_id(change: dict) -> str | None:
    importing = change.get("importing")
    if not isinstance(importing, dict):
        return None
    return str(importing.get("id") or importing.get("identity") or "(by identity)")


def load_plan(text: str, source: str) -> dict:
    problems = []
    try:
        plan = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReviewError(
            f"--plan {source}: not JSON ({exc}); give the output of `terraform show -json <planfile>`", 2
        ) from None
    if not isinstance(plan, dict):
        raise ReviewError(
            f"--plan {source}: expected a JSON object, the output of `terraform show -json <planfile>`", 2
        )
    if "format_version" not in plan:
        problems.append("no format_version")
    if not isinstance(plan.get("resource_changes", []), list):
        problems.append("resource_changes is not a list")
    if "planned_values" not in plan and "resource_changes" not in plan:
        problems.append(
            "no planned_values or resource_changes: this looks like a state, not a plan "
            "(`terraform show -json` of a plan file, not of the state)"
        )
    if plan.get("errored") is True:
        problems.append("errored = true: Terraform could not finish this plan; fix the errors `terraform plan` printed")
    if problems:
        raise ReviewError(
            f"--plan {source}: not a usable Terraform JSON plan: "
            + "; ".join(problems)
            + ". Give the output of `terraform show -json <planfile>`",
            2,
        )
    return plan


def _region(plan: dict, cdk_doc: dict | None) -> str | None:
    expr = (((plan.get("configuration") or {}).get("provider_config") or {}).get("aws") or {}).get("expressions") or {}
    region = (expr.get("region") or {}).get("constant_value")
    if region:
        return region
    for block in ((cdk_doc or {}).get("provider") or {}).get("aws") or []:
        if not block.get("alias") and block.get("region"):
            return block["region"]
    return None


def _add(doc: dict, rc: dict, value: dict) -> None:
    kind = "data" if rc.get("mode") == "data" else "resource"
    doc.setdefault(kind, {}).setdefault(rc["type"], {})[rc["name"]] = value


def _local_address(rc: dict) -> str | None:
    """The address inside the stack (cdktf stacks are root modules; indexed instances are
    left out: the app never uses count or for_each)."""
    if rc.get("module_address") or rc.get("index") is not None:
        return None
    return ("data." if rc.get("mode") == "data" else "") + f"{rc['type']}.{rc['name']}"


# Complexity over the cap (C901): three passes over the plan's resource_changes (collect,
# re-link task groups to their clusters, classify the actions) sharing one set of records.
def stack_from_plan(name: str, plan: dict, cdk_doc: dict | None, root: Path | None) -> tuple[Stack, Stack, StackDiff]:  # noqa: C901
    """(base stack, head stack, the stack's diff) from one stack's plan."""
    config_resources = {
        r.get("address"): r for r in ((plan.get("configuration") or {}).get("root_module") or {}).get("resources") or []
    }
    code = {k: v for k, v in ((cdk_doc or {}).get("resource") or {}).items()}
    region = _region(plan, cdk_doc)
    provider = {"aws": [{"region": region}]} if region else {}
    base_doc: dict = {"provider": provider}
    head_doc: dict = {"provider": provider}
    cluster_ids: dict[str, str] = {}
    entries = []
    for rc in plan.get("resource_changes") or []:
        address = _local_address(rc)
        if address is None:
            continue
        change = rc.get("change") or {}
        before = copy.deepcopy(change.get("before"))
        after = _with_unknowns(copy.deepcopy(change.get("after")), change.get("after_unknown") or {})
        if rc["type"] in rules.RULES and rc.get("mode") != "data":
            # `lifecycle` lives in the code being planned, never in the state: it belongs to
            # the head only. The running resource's protection is what its state says
            # (termination protection), so a replacing change that puts `prevent_destroy`
            # back on an unprotected cluster is told apart from a protected replacement.
            lifecycle = ((code.get(rc["type"]) or {}).get(rc["name"]) or {}).get("lifecycle")
            if isinstance(after, dict) and lifecycle:
                after["lifecycle"] = lifecycle
        if rc["type"] == rules.EMR_CLUSTER and isinstance(before, dict) and before.get("id"):
            cluster_ids[str(before["id"])] = rc["name"]
        entries.append((rc, address, change, before, after))
    for rc, _address, _change, before, after in entries:
        if rc["type"] in (rules.EMR_INSTANCE_GROUP, rules.EMR_INSTANCE_FLEET):
            refs = [
                r
                for r in _references(config_resources.get(rc.get("address")), "cluster_id")
                if r.startswith(rules.EMR_CLUSTER + ".")
            ]
            for value in (before, after):
                if not isinstance(value, dict):
                    continue
                owner = cluster_ids.get(str(value.get("cluster_id"))) or (refs[0].split(".")[1] if refs else None)
                if owner:
                    value["cluster_id"] = f"${{{rules.EMR_CLUSTER}.{owner}.id}}"
        if isinstance(before, dict):
            _add(base_doc, rc, before)
        if isinstance(after, dict):
            _add(head_doc, rc, after)
    base, head = Stack(name, base_doc, root), Stack(name, head_doc, root)

    changes = []
    for rc, address, change, before, after in entries:
        actions = tuple(change.get("actions") or ())
        # Terraform marks an adopted resource with `importing` (its id); the action says
        # what happens to it once imported: nothing (no-op), an update, or a replacement.
        imported_id = _imported_id(change)
        if rc.get("mode") == "data" or actions == ("read",) or not actions:
            continue
        if actions == ("no-op",):
            if imported_id is not None:
                changes.append(
                    ResourceChange(
                        name, address, "added", None, after, terraform_actions=actions, imported_id=imported_id
                    )
                )
            continue
        if actions == ("create",):
            changes.append(ResourceChange(name, address, "added", None, after, terraform_actions=actions))
            continue
        if actions in (("delete",), ("forget",)):
            changes.append(
                ResourceChange(
                    name,
                    address,
                    "removed",
                    before,
                    None,
                    terraform_actions=actions,
                    action_reason=rc.get("action_reason"),
                )
            )
            continue
        replace = {_path_text(p) for p in change.get("replace_paths") or [] if isinstance(p, list)}
        attrs = _attrs(
            rc["type"],
            before or {},
            after or {},
            replace,
            _configured(config_resources.get(rc.get("address"))),
            replaced=set(_REPLACING) <= set(actions),
        )
        previous = rc.get("previous_address")
        changes.append(
            ResourceChange(
                name,
                address,
                "changed",
                before,
                after,
                attrs,
                moved_from=previous if previous and previous != address else None,
                terraform_actions=actions,
                action_reason=rc.get("action_reason"),
                imported_id=imported_id,
            )
        )
    drift = []
    for rc in plan.get("resource_drift") or []:
        address = _local_address(rc)
        change = rc.get("change") or {}
        if address is None or rc.get("mode") == "data":
            continue
        before, after = change.get("before"), change.get("after")
        attrs = _attrs(rc["type"], before or {}, after or {}, set(), None, drift=True)
        drift.append(
            ResourceChange(
                name,
                address,
                "removed" if after is None else "changed",
                before,
                after,
                attrs,
                terraform_actions=tuple(change.get("actions") or ()),
            )
        )
    # Drift alone changes nothing: Terraform says "No changes" (what it would revert is among
    # the changes too).
    status = "changed" if changes else "unchanged"
    return base, head, StackDiff(name, status, changes, [], drift)


WITH_REPLACEMENT = "terraform plan: set on the new resource"


def _attrs(
    rtype: str,
    before: dict,
    after: dict,
    replace: set[str],
    configured: set[str] | None,
    drift: bool = False,
    replaced: bool = False,
) -> list[AttrChange]:
    fb, fa = flatten(before), flatten(after)
    out = []
    for path in sorted(set(fb) | set(fa)):
        b, a = fb.get(path, MISSING), fa.get(path, MISSING)
        if b == a or path.split(".", 1)[0] == "lifecycle":
            continue
        forcing = any(path == r or path.startswith(r + ".") or r.startswith(path + ".") for r in replace)
        set_by_code = configured is None or any(path == c or path.startswith(c + ".") for c in configured)
        if not forcing and not drift:
            if a == UNKNOWN and not set_by_code:
                continue  # computed by the provider, not set by the code
            if a in (None, MISSING) and b in _EMPTY:
                continue  # an empty optional attribute the code does not set: nothing happens
        if drift:
            effect, source = "", "changed outside Terraform"
        elif forcing:
            effect, source = rules.REPLACES, "terraform plan: replace_paths"
        elif replaced:
            effect, source = "", WITH_REPLACEMENT
        else:
            effect, source = rules.IN_PLACE, "terraform plan: update"
        out.append(AttrChange(path, b, a, effect, source, False, False))
    return out


def _parse_spec(spec: str) -> tuple[str, Path]:
    name, sep, file = spec.partition("=")
    if sep and name and "/" not in name:
        return name, Path(file)
    path = Path(spec)
    folder = path.resolve().parent
    if not (folder / "cdk.tf.json").is_file():
        return path.stem, path
    # cdktf.out/stacks/<stack>/<environment>/ (or stacks/<stack>/ of older versions)
    return stack_name_of(folder), path


def plan_diff(specs: list[str], base_label: str = "current state", head_label: str = "terraform plan") -> PlanDiff:
    base_stacks: dict[str, Stack] = {}
    head_stacks: dict[str, Stack] = {}
    diffs = []
    problems = []
    for spec in specs:
        name, path = _parse_spec(spec)
        if name in base_stacks:
            problems.append(f"--plan {spec}: stack {name!r} is given twice; name each plan with STACK=FILE")
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            problems.append(f"--plan {spec}: cannot read {path}: {exc.strerror or exc}")
            continue
        try:
            plan = load_plan(text, spec)
        except ReviewError as exc:
            problems.append(str(exc))
            continue
        cdk_path = path.resolve().parent / "cdk.tf.json"
        cdk_doc = json.loads(cdk_path.read_text(encoding="utf-8")) if cdk_path.is_file() else None
        base, head, stack_diff = stack_from_plan(name, plan, cdk_doc, path.resolve().parent)
        base_stacks[name], head_stacks[name] = base, head
        diffs.append(stack_diff)
    if problems:
        raise ReviewError("\n".join(problems), 2)
    base_side, head_side = Side(base_label, base_stacks), Side(head_label, head_stacks)
    return PlanDiff(base_side, head_side, Resolver(base_side), Resolver(head_side), sorted(diffs, key=lambda d: d.name))


def review_plans(specs: list[str], *, allow: set[str], env: str | None = None) -> Review:
    plan = plan_diff(specs)
    return render_environments(
        [(env, plan)],
        allow=allow,
        title="Plan review: current state → `terraform plan`" + (f" (`{env}`)" if env else ""),
        scope_note="From Terraform's own plans: verdicts follow its actions and replace_paths;"
        " drift is what changed outside Terraform.",
    )
