"""The Markdown report: guard verdict first, then one section per stack.

Per stack: resources added / removed / changed; EMR clusters and instance groups with
each changed attribute marked "in place" or "**replaces the cluster**" /
"**replaces the group**" (or "not applied" when ``lifecycle.ignore_changes`` lists it);
instances and Spot; security-group rules; IAM statements; bootstrap scripts; estimated
hourly cost per cluster. Sections with nothing to say are left out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from review import rules
from review.bootstrap import ScriptChange, script_changes
from review.emr import (
    Cluster,
    GroupSwap,
    GuardHit,
    PriceLookup,
    clusters,
    cost,
    default_price_lookup,
    effective_head,
    group_swaps,
    guard,
    money,
    signed_money,
    unmatched_allowances,
    unprotected,
)
from review.plan import MISSING, AttrChange, PlanDiff, ResourceChange, StackDiff, flatten, ignore_paths
from review.security import PolicyChange, RuleChange, iam_changes, rule_changes

VALUE_WIDTH = 90


def _code(value: Any, width: int = VALUE_WIDTH) -> str:
    if value is MISSING:
        return "—"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    text = text.replace("\n", " ")
    if len(text) > width:
        text = text[: width - 1] + "…"
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`"


def _json_leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out.update(_json_leaves(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list):
        out = {}
        for i, v in enumerate(value):
            label = v.get("Classification") if isinstance(v, dict) and "Classification" in v else str(i)
            out.update(_json_leaves(v, f"{prefix}[{label}]" if prefix else f"[{label}]"))
        return out
    return {prefix: value}


def _parsed(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return value if isinstance(value, (list, dict)) else None


def _json_detail(before: Any, after: Any, limit: int = 12) -> list[str]:
    """For structured values (lists, configurations_json, policies): which leaves changed."""
    b, a = _parsed(before), _parsed(after)
    if not isinstance(b, (dict, list)) or not isinstance(a, (dict, list)):
        return []
    lb, la = _json_leaves(b), _json_leaves(a)
    lines = []
    for key in sorted(set(lb) | set(la)):
        if lb.get(key, MISSING) != la.get(key, MISSING):
            lines.append(f"`{key}`: {_code(lb.get(key, MISSING), 120)} → {_code(la.get(key, MISSING), 120)}")
    if len(lines) > limit:
        lines = lines[:limit] + [f"… {len(lines) - limit} more"]
    return lines


def _effect(change: AttrChange, rtype: str) -> str:
    what = rules.WHAT_IS_REPLACED.get(rtype, "resource")
    if change.effect == rules.META:
        return "meta-argument (changes nothing in AWS)"
    verdict = {rules.REPLACES: f"**replaces the {what}**", rules.IN_PLACE: "in place"}.get(change.effect, "")
    if change.source == "terraform plan: set on the new resource":
        return f"set on the new {what} (Terraform replaces it for another attribute)"
    if change.overridden:
        return (
            f"applied although listed in `lifecycle.ignore_changes`: the {what} is replaced, and Terraform "
            f"builds the new one from the code"
        )
    if change.ignored:
        return f"not applied: listed in `lifecycle.ignore_changes` (would be {verdict or 'a change'})"
    if change.effect == rules.REPLACES and change.source.startswith("not in the rules"):
        verdict += " (assumed: not in the rules table)"
    return verdict or "changed"


def _attr_table(change: ResourceChange) -> list[str]:
    lines = ["| attribute | base | head | effect |", "|---|---|---|---|"]
    notes = []
    for a in change.attrs:
        effect = _effect(a, change.rtype)
        if a.via_reference and a.effect != rules.META:
            effect += " — unchanged in code; the value it references changes"
        lines.append(f"| `{a.path}` | {_code(a.before)} | {_code(a.after)} | {effect} |")
        detail = _json_detail(a.before, a.after)
        if detail:
            notes.append(f"- `{a.path}` changes: " + "; ".join(detail))
    return lines + ([""] + notes if notes else [])


def _resource_summary(stack: StackDiff) -> list[str]:
    out = []
    for action in ("added", "removed", "changed"):
        items = [c for c in stack.changes if c.action == action]
        if not items:
            continue
        out.append(f"**{action.capitalize()}** ({len(items)}):")
        for c in items:
            tail = ""
            if action == "changed":
                verdict = ""
                if (
                    c.terraform_actions is not None
                    or c.rtype in rules.RULES
                    or any(a.effect == rules.REPLACES for a in c.attrs)
                ):
                    verdict = " — **replaced**" if c.replaced else ""
                    if c.replaced and c.action_reason:
                        verdict += f" (`{c.action_reason}`)"
                moved = f" (moved from `{c.moved_from}`)" if c.moved_from else ""
                imported = f" — **imported** (`{c.imported_id}`), then" if c.imported_id is not None else ""
                tail = f"{moved}{imported}: " + ", ".join(f"`{a.path}`" for a in c.attrs) + verdict
            elif c.imported_id is not None and c.terraform_actions is not None:
                tail = f" — **imported** (`{c.imported_id}`), not created; Terraform's plan keeps it as it is"
            elif c.imported_id is not None:
                tail = (
                    f" — **imported** (`{c.imported_id}`), not created: whether Terraform then updates or"
                    " replaces it depends on the live resource; review its plan (`--plan`)"
                )
            out.append(f"- `{c.address}`{tail}")
        out.append("")
    return out


def _inert_lines(stack: StackDiff) -> list[str]:
    """Resources whose differences Terraform does not act on, counted as unchanged."""
    if not stack.inert:
        return []
    out = [
        f"Counted as unchanged ({len(stack.inert)}): these differ from the base only in attributes listed in "
        "`lifecycle.ignore_changes` or in meta-arguments (`depends_on`...), so Terraform plans no change "
        "for them (no change applied):"
    ]
    for c in stack.inert:
        why = {True: "meta-argument", False: "in `ignore_changes`"}
        out.append(f"- `{c.address}`: " + ", ".join(f"`{a.path}` ({why[a.effect == rules.META]})" for a in c.attrs))
    return out + [""]


# Deletions that lose data or access: warned like a replacement, in the summary line
# and at the top of the stack's section (a replacement deletes the old resource too).
# (consequence, always): ``always`` False warns only while something that the deletion
# does not take along still references the resource (a script object whose clusters are
# replaced in the same change loses nobody anything).
LOSSY_DELETIONS: dict[str, tuple[str, bool]] = {
    "aws_kms_key": (
        "KMS key scheduled for deletion (final after its 7-30 day window): what it encrypted (EBS and local "
        "disks, S3 objects, logs) becomes unreadable, and clusters that use it fail to start new nodes; "
        "`aws kms cancel-key-deletion` within the window undoes it",
        True,
    ),
    "aws_s3_bucket": ("S3 bucket deleted: its objects (logs, bootstrap scripts, data) are lost", True),
    "aws_ec2_subnet_cidr_reservation": (
        "subnet CIDR reservation deleted: until a new one exists, other instances may take the fixed master "
        "IPs it reserved",
        True,
    ),
    "aws_kms_alias": ("KMS alias deleted: what looks the key up by this alias stops finding it", False),
    "aws_s3_object": ("S3 object deleted: what still references it (a bootstrap script) fails to read it", False),
    "aws_iam_role": ("IAM role deleted: what assumes it loses its access", False),
    "aws_iam_instance_profile": ("instance profile deleted: new nodes of the clusters that use it cannot start", False),
}


def _users(change: ResourceChange, plan: PlanDiff) -> list[str]:
    """Base resources of the stack whose configuration references ``change``."""
    ref = "${" + change.address + "."
    side = plan.base.stacks.get(change.stack)
    if side is None:
        return []
    return sorted(a for a, cfg in side.resources().items() if a != change.address and ref in json.dumps(cfg))


def lossy_deletions(stack: StackDiff, plan: PlanDiff) -> list[tuple[ResourceChange, str, list[str]]]:
    """(change, consequence, users that survive it) for every deletion that loses data or access."""
    destroyed = {c.address for c in stack.changes if c.destroyed}
    out = []
    for c in stack.changes:
        if not c.destroyed or c.rtype not in LOSSY_DELETIONS:
            continue
        consequence, always = LOSSY_DELETIONS[c.rtype]
        # A replaced user gets the new resource; only a user kept as it is still points at the old one.
        surviving = [u for u in _users(c, plan) if u not in destroyed]
        if always or surviving:
            out.append((c, consequence, surviving if not always else _users(c, plan)))
    return out


def _lossy_section(stack: StackDiff, plan: PlanDiff) -> list[str]:
    found = lossy_deletions(stack, plan)
    if not found:
        return []
    out = ["### Deletions that lose data or access", ""]
    for c, consequence, users in found:
        how = "replaced (the old one is deleted)" if c.replaced else "destroyed"
        used = f" Used by: {', '.join(f'`{u}`' for u in users)}." if users else ""
        out.append(f"- **`{c.address}` is {how}: {consequence}.**{used}")
    return out + [""]


def _frozen_reset_lines(change: ResourceChange) -> list[str]:
    """A replaced cluster with ``ignore_changes`` (frozen, or managed scaling owning the
    core count): the new one is built from the code, so what operators or EMR set
    outside it (core count, scaling rules...) resets."""
    ignore_all, paths = ignore_paths(change.after)
    # Steps are ignored on every cluster (submitted outside Terraform); nothing resets.
    paths = tuple(p for p in paths if p != "step")
    if not change.replaced or not (ignore_all or paths):
        return []
    flat = flatten(change.after or {})
    values = []
    for path in paths:
        leaves = {k: v for k, v in flat.items() if k == path or k.startswith(path + ".")}
        if len(leaves) == 1:
            values.append(f"`{path}` = {_code(next(iter(leaves.values())))}")
        else:
            values.append(f"`{path}`")
    listed = ", ".join(values) if values else "every attribute (`ignore_changes = all`)"
    return [
        f"**Frozen cluster replaced: what the console owns resets to the code's value** ({listed}). The new "
        "cluster is built from the code alone (`ignore_changes` does not carry values over a replacement): "
        "note the running values (`python -m ops status`), then set them again after the deploy, or put "
        "them in the code first.",
        "",
    ]


def _name(change: ResourceChange) -> str:
    return str((change.after or change.before or {}).get("name", change.address))


def _creates_before_destroying(change: ResourceChange, head_resources: dict[str, dict]) -> bool:
    """Terraform's plan says create-then-delete; or the code sets create_before_destroy on
    the resource or on one that references it (Terraform propagates it to dependencies)."""
    if change.terraform_actions is not None:
        return change.terraform_actions == ("create", "delete")
    ref = f"{change.address}."
    for address, config in head_resources.items():
        lifecycle = config.get("lifecycle") or {}
        if lifecycle.get("create_before_destroy") is True and (address == change.address or ref in json.dumps(config)):
            return True
    return False


def _emr_section(stack: StackDiff, base_c, head_c, head_resources: dict[str, dict] | None = None) -> list[str]:
    head_resources = head_resources or {}
    out = []
    for rtype, heading in (
        (rules.EMR_CLUSTER, "EMR clusters"),
        (rules.EMR_INSTANCE_GROUP, "EMR instance groups"),
        (rules.EMR_INSTANCE_FLEET, "EMR instance fleets"),
    ):
        what = rules.WHAT_IS_REPLACED[rtype]
        changes = stack.by_type(rtype)
        if not changes:
            continue
        out += [f"### {heading}", ""]
        for c in changes:
            title = f"#### {what} `{_name(c)}` (`{c.address}`)"
            if c.action == "added" and c.imported_id is not None:
                out += [
                    title,
                    "",
                    f"**Imported, not created**: the existing {what} `{c.imported_id}` is adopted"
                    + (
                        ", and Terraform's plan leaves it as it runs."
                        if c.terraform_actions is not None
                        else " (an `import` block). What Terraform changes on it after the import depends on how"
                        " the live resource differs from the code: review `terraform plan` with `--plan`."
                    ),
                    "",
                ]
                continue
            if c.action == "added":
                out += [
                    title,
                    "",
                    f"New {what}."
                    + (
                        " Creating an instance group with `instance_count = 0` launches one instance first"
                        " (provider issue 38837)."
                        if rtype == rules.EMR_INSTANCE_GROUP and str((c.after or {}).get("instance_count", "1")) == "0"
                        else ""
                    ),
                    "",
                ]
                continue
            if c.action == "removed":
                text = (
                    f"**Destroyed: the {what} is removed.**"
                    if rtype == rules.EMR_CLUSTER
                    else f"Removed: Terraform resizes the {what} to 0; EMR keeps the empty {what}."
                )
                same = [h for h in head_c.values() if h.stack == stack.name and h.name == _name(c)]
                if same and rtype == rules.EMR_CLUSTER:
                    text += (
                        f" A cluster with the same name appears at `{same[0].address}`: the construct id"
                        " changed, which destroys and re-creates the cluster (keep the id, or add a `moved` block)."
                    )
                out += [title, "", text, ""]
                continue
            verdict = f"**replaces the {what}**" if c.replaced else "in place"
            if not any(a.applied for a in c.attrs):
                verdict = "no change applied (every change is meta or in `lifecycle.ignore_changes`)"
            protected = base_c.get((stack.name, c.moved_from or c.address))
            extra = f" — protected ({', '.join(protected.protection)})" if protected and protected.protection else ""
            reason = (
                f" Terraform: `{'`, `'.join(c.terraform_actions)}`"
                + (f" because `{c.action_reason}`" if c.action_reason else "")
                + "."
                if c.terraform_actions is not None
                else ""
            )
            out += [f"{title}: {verdict}{extra}", ""] + ([reason.strip(), ""] if reason else [])
            if rtype == rules.EMR_CLUSTER and c.replaced and _creates_before_destroying(c, head_resources):
                out += [
                    (
                        "**Create-before-destroy: Terraform creates the new cluster before it destroys the old one**"
                        " (`create_before_destroy` on the cluster or on a resource that depends on it, such as a task"
                        f" group: Terraform extends it to the cluster). Two clusters named `{_name(c)}` run at once,"
                        " both bill, and a fixed master IP moves to the new master while the old one still serves."
                    ),
                    "",
                ]
            if rtype == rules.EMR_CLUSTER:
                out += _frozen_reset_lines(c)
            out += _attr_table(c) + [""]
            if rtype in (rules.EMR_INSTANCE_GROUP, rules.EMR_INSTANCE_FLEET) and c.replaced:
                out += [f"Replacing a {what} resizes the old one to 0 and adds a new one.", ""]
    return out


def _group_rows(cluster: Cluster | None) -> dict[str, Any]:
    if cluster is None:
        return {}
    return {f"{g.role}:{g.name}": g for g in cluster.groups}


def _cells(g) -> tuple:
    """(instance type, count, market) of a group; dashes on the side that lacks it."""
    if g is None:
        return ("—", "—", "—")
    if g.fleet is not None:
        return (g.instance_type, f"{g.count} units", g.fleet.market_text())
    return (g.instance_type, g.count, f"Spot, bid {g.bid_price}" if g.bid_price else "on-demand")


def _instances_section(stack: StackDiff, base_c, head_c) -> list[str]:
    rows = []
    for key in sorted(set(base_c) | set(head_c)):
        if key[0] != stack.name:
            continue
        b, h = base_c.get(key), head_c.get(key)
        gb, gh = _group_rows(b), _group_rows(h)
        name = (h or b).name
        for gkey in sorted(set(gb) | set(gh), key=lambda k: (("master", "core", "task").index(k.split(":")[0]), k)):
            cb, ch = _cells(gb.get(gkey)), _cells(gh.get(gkey))
            if cb != ch:
                cells = [str(vh) if vb == vh else f"{vb} → **{vh}**" for vb, vh in zip(cb, ch, strict=True)]
                role, gname = gkey.split(":", 1)
                rows.append(f"| `{name}` | {role} `{gname}` | " + " | ".join(cells) + " |")
    if not rows:
        return []
    return (
        ["### Instances and Spot", "", "| cluster | group | instance type | count | market |", "|---|---|---|---|---|"]
        + rows
        + [""]
    )


def _rules_section(items: list[RuleChange]) -> list[str]:
    if not items:
        return []
    out = ["### Security-group rules", ""]
    for r in items:
        if r.action == "added":
            out.append(f"- ➕ {r.after.text} (`{r.address}`)")
        elif r.action == "removed":
            out.append(f"- ➖ {r.before.text} (`{r.address}`)")
        elif r.note:
            out.append(f"- ✏️ {r.after.text} — **{r.note}** (`{r.address}`)")
        else:
            out.append(f"- ✏️ `{r.address}`: {r.before.text} → {r.after.text}")
        for w in r.after.warnings if r.after else ():
            out.append(f"  - ⚠️ {w}")
    return out + [""]


def _iam_section(items: list[PolicyChange]) -> list[str]:
    if not items:
        return []
    out = ["### IAM", ""]
    for p in items:
        owner = f" (role {_code(p.owner, 60)})" if p.owner and p.attribute != "assume_role_policy" else ""
        out.append(f"- `{p.address}` {p.attribute}{owner} — {p.action}")
        if p.statements is None:
            out.append(f"  - policy not parseable as JSON: {_code(p.raw[0])} → {_code(p.raw[1])}")
            continue
        for st in p.statements:
            head = f"Sid `{st.sid}`" if not st.sid.startswith("#") else f"statement {st.sid}"
            out.append(f"  - {head} ({st.effect}, {st.action}): " + "; ".join(st.lines))
            for w in st.warnings:
                out.append(f"    - ⚠️ {w}")
    return out + [""]


def _bootstrap_section(items: list[ScriptChange], shown: dict[tuple, str], where: str) -> list[str]:
    """Per stack: which script changed and what it does to each cluster. A script's diff is
    shown once for the whole report: later stacks with the same diff refer to it."""
    if not items:
        return []
    out = ["### Bootstrap scripts", ""]
    for s in items:
        b = f"`{s.before.key}`" if s.before else "—"
        a = f"`{s.after.key}`" if s.after else "—"
        obj = s.after or s.before
        out.append(f"- **{s.name}** (`{obj.stack}` / `{obj.address}`): key {b} → {a}")
        for e in s.clusters:
            label = "**replaces the cluster**" if e.outcome == "replaced" else e.outcome
            out.append(f"  - cluster `{e.cluster.name}` ({e.cluster.stack}): {label}")
        for w in s.warnings:
            out.append(f"  - ⚠️ {w}")
        diff = s.diff()
        if diff:
            ident = (s.name, tuple(diff[2:]))  # the hunks, without the ---/+++ lines naming the keys
            if ident in shown:
                out.append(f"  - script diff: the same as in {shown[ident]} (shown there once)")
                continue
            shown[ident] = where
            out += ["", "  <details><summary>script diff</summary>", "", "  ```diff"]
            out += [f"  {line}" for line in diff]
            out += ["  ```", "", "  </details>"]
    return out + [""]


def _drift_section(stack: StackDiff) -> list[str]:
    """Changes made outside Terraform (Terraform's resource_drift): a console edit the next
    apply reverts shows again among the changes above."""
    if not stack.drift:
        return []
    planned = {c.address: {a.path for a in c.attrs} for c in stack.changes}
    out = [
        "### Changed outside Terraform (drift)",
        "",
        "| resource | attribute | last applied | in AWS now | next apply |",
        "|---|---|---|---|---|",
    ]
    kept: dict[str, int] = {}
    for d in stack.drift:
        if d.action == "removed":
            out.append(
                f"| `{d.address}` | — | exists | **deleted outside Terraform** | "
                f"{'re-creates it' if d.address in {c.address for c in stack.changes} else '—'} |"
            )
            continue
        for a in d.attrs:
            if a.path not in planned.get(d.address, set()):
                # What the code ignores or leaves unset (computed values, ignore_changes):
                # the next apply keeps it, so it is counted, not listed, and the rows that
                # the apply reverts stand out.
                kept[d.address] = kept.get(d.address, 0) + 1
                continue
            out.append(
                f"| `{d.address}` | `{a.path}` | {_code(a.before, 50)} | {_code(a.after, 50)} | "
                "**reverts it** (see above) |"
            )
    if kept:
        if len(out) == 4:
            out = out[:2]
        where = ", ".join(f"`{address}` ({n})" for address, n in sorted(kept.items()))
        out += [
            "",
            f"{_plural(sum(kept.values()), 'more attribute')} changed outside Terraform that the code ignores or"
            f" leaves unset; the next apply keeps them: {where}.",
        ]
    return out + [""]


def _spot_section(swaps: list[GroupSwap]) -> list[str]:
    """Spot capacity that drops and counts that reset when task groups are replaced (T8)."""
    if not swaps:
        return []
    out = ["### Spot capacity", ""]
    by_cluster: dict[str, list[GroupSwap]] = {}
    for s in swaps:
        by_cluster.setdefault(s.cluster, []).append(s)
    for cluster, items in by_cluster.items():
        statics = [s for s in items if s.kind == "static" and not (s.create_before_destroy or s.with_cluster)]
        if len(statics) >= 2:
            names = " and ".join(f"`{s.name}` ({s.before.count} × {s.before.instance_type})" for s in statics)
            out.append(
                f"- **All static Spot capacity of `{cluster}` drops at once:** {names} are replaced together,"
                " each destroyed (resized to 0) before its new group launches."
            )
        for s in items:
            what = f"`{s.name}` ({s.kind} task group of `{cluster}`)"
            before = f"{s.before.count} × {s.before.instance_type}" + (
                f", bid {s.before.bid_price}" if s.before.bid_price else ""
            )
            if s.after is None:
                out.append(f"- {what}: removed. Terraform resizes it to 0: its {before} stop.")
                continue
            after = f"{s.after.count} × {s.after.instance_type}" + (
                f", bid {s.after.bid_price}" if s.after.bid_price else ""
            )
            how = (
                "replaced with the cluster: it stops with the old cluster and starts on the new one"
                if s.with_cluster
                else "replaced create-before-destroy: the new group launches before the old one is resized to 0, so "
                "capacity is kept during the swap (both run, and bill, for a while)"
                if s.create_before_destroy
                else "replaced destroy-then-create: the old group is resized to 0 before the new one launches, so "
                "its capacity drops until the new instances run"
            )
            out.append(f"- {what}: {how}. Capacity {before} → {after}.")
            if s.count_ignored:
                reset = (
                    "the A/B rotation state resets to the code's counts"
                    if s.kind == "static"
                    else "a count sized by hand is lost"
                    if s.kind == "dynamic"
                    else "a resized count is lost"
                )
                out.append(
                    f"  - Count resets to {s.after.count}, the code's value: `instance_count` is in"
                    f" `ignore_changes`, which a replacement does not honour, so {reset}. The live count may"
                    f" differ from the base's {s.before.count}: check it with `python -m ops status {cluster}`."
                )
    return out + [""]


def _cost_section(stack: str, base_c, head_c, lookup, problem) -> tuple[list[str], Decimal | None, Decimal | None]:
    rows, notes = [], []
    tb: Decimal | None = Decimal(0)
    th: Decimal | None = Decimal(0)
    keys = sorted(k for k in set(base_c) | set(head_c) if k[0] == stack)
    if not keys:
        return [], None, None
    for key in keys:
        b, h = base_c.get(key), head_c.get(key)
        cb = cost(b, lookup, problem) if b else None
        ch = cost(h, lookup, problem) if h else None
        vb = cb.total if cb else Decimal(0)
        vh = ch.total if ch else Decimal(0)
        sb = money(vb) if cb else "— (absent)"
        sh = money(vh) if ch else "— (absent)"
        delta = signed_money(vh - vb) if vb is not None and vh is not None else "unknown"
        rows.append(f"| `{(h or b).name}` | {sb} | {sh} | {delta} |")
        for side, c in (("base", cb), ("head", ch)):
            if c and c.total is None:
                notes.append(f"- `{(h or b).name}` ({side}) unknown: " + "; ".join(c.unknown_reasons))
        if vb is None or vh is None:
            tb = th = None
        elif tb is not None and th is not None:
            tb, th = tb + vb, th + vh
        if ch and ch.total is not None:
            parts = [
                f"{ln.group.role} `{ln.group.name}` {ln.group.count} × {money(ln.unit) if ln.unit is not None else '—'}"
                f" ({ln.basis})"
                for ln in ch.lines
            ]
            notes.append(f"- `{h.name}` (head): " + "; ".join(parts))
    out = ["### Estimated hourly cost", "", "| cluster | base | head | change |", "|---|---|---|---|"] + rows + [""]
    out += ["<details><summary>how it is computed</summary>", ""] + notes + ["", "</details>", ""]
    return out, tb, th


RUNBOOK = 'docs/review.md, "Replace a protected cluster"'


def _guard_lines(hits: list[GuardHit], allow: set[str], unprotected_now: Sequence[Cluster] = ()) -> list[str]:
    out = []
    for h in hits:
        c = h.cluster
        why = ", ".join(f"`{x}`" for x in h.causes) if h.outcome == "replaced" else "; ".join(h.causes)
        protection = " and ".join(c.protection)
        if h.reprotected:
            out.append(
                f"**⛔ Replacement guard: cluster `{c.name}` (stack `{c.stack}`) would be replaced ({why}), and"
                " the replacing change sets `protected=True` again: Terraform reads `prevent_destroy` from the code"
                " it plans and stops with `Error: Instance cannot be destroyed`"
                f"{' (`--allow-replace` cannot change that)' if h.allowed else ''}. The way: land the replacing"
                " change with `protected=False`, apply it, then land `protected=True` alone (an in-place change)"
                f" ({RUNBOOK}).**"
            )
        elif h.blockers:
            tried = f" `--allow-replace {c.name}` is given, but it" if h.allowed else " `--allow-replace`"
            out.append(
                f"**⛔ Replacement guard: protected cluster `{c.name}` (stack `{c.stack}`, {protection})"
                f" would be {h.outcome} ({why}).{tried} cannot make this change succeed: "
                + "; ".join(h.blockers)
                + ". The way: land `protected=False` for this cluster alone first"
                f" (an in-place change), apply it, then land the {'replacing' if h.outcome == 'replaced' else 'removing'}"
                f" change ({RUNBOOK}).**"
            )
        elif h.allowed:
            out.append(
                f"**⚠️ Protected cluster `{c.name}` (stack `{c.stack}`, {protection}) will be {h.outcome}"
                f" ({why}): allowed by `--allow-replace {c.name}`.**"
            )
        else:
            out.append(
                f"**⛔ Replacement guard: protected cluster `{c.name}` (stack `{c.stack}`, {protection})"
                f" would be {h.outcome} ({why}). Blocked: if this is intended, re-run with"
                f" `--allow-replace {c.name}`.**"
            )
    for c in unprotected_now:
        out.append(
            f"**⚠️ Protection removed: `{c.name}` (stack `{c.stack}`) drops {' and '.join(c.protection)}."
            " Once applied, a later change may replace or destroy it without the guard.**"
        )
    for name in unmatched_allowances(hits, allow):
        out.append(
            f"Note: `--allow-replace {name}` matches no protected cluster that this change replaces or destroys."
        )
    return out


_VERDICT_KEYS = ("created", "destroyed", "replaced", "updated", "imported")


def stack_verdicts(stack: StackDiff) -> dict[str, list[str]]:
    """Terraform-style sets of managed resource addresses: created, destroyed, replaced,
    updated (a change with nothing applied, e.g. only ignored attributes, is a no-op)."""
    out: dict[str, list[str]] = {k: [] for k in _VERDICT_KEYS}
    for c in stack.changes:
        if c.address.startswith("data."):
            continue
        if c.imported_id is not None:
            out["imported"].append(c.address)
        if c.action == "added" and c.imported_id is not None:
            continue
        if c.action == "added":
            out["created"].append(c.address)
        elif c.action == "removed":
            out["destroyed"].append(c.address)
        elif c.replaced:
            out["replaced"].append(c.address)
        elif c.terraform_actions is not None:
            if "update" in c.terraform_actions:
                out["updated"].append(c.address)
        elif any(a.applied for a in c.attrs):
            out["updated"].append(c.address)
    return {k: sorted(v) for k, v in out.items()}


@dataclass
class EnvReview:
    """One environment's part of the report."""

    env: str | None
    plan: PlanDiff
    hits: list[GuardHit]
    unprotected: list[Cluster]
    swaps: list[GroupSwap]
    summary_rows: list[str]
    sections: list[str]
    cost_delta: Decimal | None  # head - base over every cluster; None when unknown
    has_clusters: bool
    widened: list[str] = field(default_factory=list)  # security-group rules opened wider ("… 256× the addresses")

    def verdicts(self) -> dict[str, dict]:
        return {s.name: {"status": s.status, **stack_verdicts(s)} for s in self.plan.stacks}


@dataclass
class Review:
    envs: list[EnvReview]
    hits: list[GuardHit]
    markdown: str
    scope_note: str | None = None

    @property
    def plan(self) -> PlanDiff:
        return self.envs[0].plan

    @property
    def blocked(self) -> bool:
        return any(h.blocks for h in self.hits)

    def as_json(self) -> dict:
        """Machine-readable verdicts: per environment and stack, the addresses created,
        destroyed, replaced and updated; the guard's findings; the summary counts."""
        return {
            "blocked": self.blocked,
            "environments": {e.env or "": e.verdicts() for e in self.envs},
            "guard": [
                {
                    "environment": env,
                    "cluster": h.cluster.name,
                    "stack": h.cluster.stack,
                    "address": h.cluster.address,
                    "outcome": h.outcome,
                    "causes": list(h.causes),
                    "protection": list(h.cluster.protection),
                    "allowed": h.allowed,
                    "cannot_succeed_because": list(h.blockers),
                }
                for env, h in ((e.env, h) for e in self.envs for h in e.hits)
            ],
            "summary": summary_counts(self.envs),
        }


def summary_counts(envs: list[EnvReview]) -> dict:
    stacks = [s for e in envs for s in e.plan.stacks]
    changes = [c for s in stacks for c in s.changes]
    clusters_replaced = [
        (e, c)
        for e in envs
        for s in e.plan.stacks
        for c in s.changes
        if c.rtype == rules.EMR_CLUSTER and (c.replaced or c.action == "removed")
    ]
    protected = {(e.env, h.cluster.stack, h.cluster.address) for e in envs for h in e.hits}
    deltas = [e.cost_delta for e in envs if e.has_clusters]
    return {
        "environments": [e.env for e in envs],
        "stacks": len(stacks),
        "stacks_changed": sum(1 for s in stacks if s.status != "unchanged"),
        "stacks_added": sum(1 for s in stacks if s.status == "added"),
        "stacks_removed": sum(1 for s in stacks if s.status == "removed"),
        "clusters_created": sum(
            1 for c in changes if c.rtype == rules.EMR_CLUSTER and c.action == "added" and c.imported_id is None
        ),
        "clusters_imported": sum(1 for c in changes if c.rtype == rules.EMR_CLUSTER and c.imported_id is not None),
        "clusters_replaced_or_destroyed": len(clusters_replaced),
        "protected": sum(1 for e, c in clusters_replaced if (e.env, c.stack, c.moved_from or c.address) in protected),
        "groups_replaced_or_removed": sum(
            1 for c in changes if c.rtype == rules.EMR_INSTANCE_GROUP and (c.replaced or c.action == "removed")
        ),
        "lossy_deletions": sum(len(lossy_deletions(s, e.plan)) for e in envs for s in e.plan.stacks),
        "rules_widened": sum(len(e.widened) for e in envs),
        "cost_delta_per_hour": (
            None if any(d is None for d in deltas) else str(sum((d for d in deltas if d is not None), Decimal(0)))
        ),
    }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _widening_factor(note: str) -> int:
    match = re.search(r"(\d[\d,]*)× the addresses", note)
    return int(match.group(1).replace(",", "")) if match else 0


def summary_line(envs: list[EnvReview]) -> str:
    n = summary_counts(envs)
    named = [e for e in n["environments"] if e]
    env_text = (_plural(len(named), "environment") + " (" + ", ".join(f"`{e}`" for e in named) + ")") if named else None
    stacks = f"{n['stacks_changed']} of {_plural(n['stacks'], 'stack')} changed"
    extra = [f"{n[k]} {w}" for k, w in (("stacks_added", "added"), ("stacks_removed", "removed")) if n[k]]
    if extra:
        stacks += " (" + ", ".join(extra) + ")"
    clusters = (
        f"{_plural(n['clusters_replaced_or_destroyed'], 'cluster')} replaced or destroyed ({n['protected']} protected)"
    )
    if n["clusters_imported"]:
        clusters = f"{_plural(n['clusters_imported'], 'cluster')} imported · " + clusters
    if n["clusters_created"]:
        clusters = f"{_plural(n['clusters_created'], 'cluster')} created · " + clusters
    groups = f"{_plural(n['groups_replaced_or_removed'], 'task group')} replaced or removed"
    delta = n["cost_delta_per_hour"]
    if not any(e.has_clusters for e in envs):
        cost_text = "no EMR cluster"
    else:
        cost_text = "hourly cost unknown" if delta is None else f"hourly cost {signed_money(Decimal(delta))}"
    lossy = (
        f"**{_plural(n['lossy_deletions'], 'deletion')} {'loses' if n['lossy_deletions'] == 1 else 'lose'} data or access**"
        if n["lossy_deletions"]
        else None
    )
    widened = None
    if n["rules_widened"]:
        widest = max((w for e in envs for w in e.widened), key=_widening_factor)
        widened = f"**{_plural(n['rules_widened'], 'security-group rule')} widened** (widest: {widest})"
    parts = [p for p in (env_text, stacks, clusters, groups, lossy, widened, cost_text) if p]
    return "**Summary:** " + " · ".join(parts)


def review_environment(
    plan: PlanDiff, env: str | None, *, allow: set[str], price_lookup, price_problem, shown_scripts: dict[tuple, str]
) -> EnvReview:
    hits = guard(plan, allow)
    base_c = clusters(plan.base, plan.base_resolver)
    head_c = effective_head(plan)
    sg = rule_changes(plan)
    iam = iam_changes(plan)
    scripts = script_changes(plan)
    swaps = group_swaps(plan)
    summary = []
    sections: list[str] = []
    total: Decimal | None = Decimal(0)
    has_clusters = False
    for stack in plan.stacks:
        cost_lines, tb, th = _cost_section(stack.name, base_c, head_c, price_lookup, price_problem)
        if cost_lines:
            has_clusters = True
            total = None if (total is None or tb is None or th is None) else total + (th - tb)
        # Inert differences (ResourceChange.inert) are in stack.inert, not stack.changes.
        counts = {a: sum(1 for c in stack.changes if c.action == a) for a in ("added", "removed", "changed")}
        replaced = sum(1 for c in stack.changes if c.replaced)
        cost_text = f"{money(tb)} → {money(th)}" if cost_lines else "—"
        summary.append(
            f"| `{stack.name}` | {stack.status} | {counts['added']} | {counts['removed']} | "
            f"{counts['changed']} | {replaced} | {cost_text} |"
        )
        if stack.status == "unchanged":
            if stack.inert:
                sections += [f"## Stack `{stack.name}` (unchanged)", ""] + _inert_lines(stack)
            continue
        where = f"stack `{stack.name}`" + (f" of `{env}`" if env else "")
        body = [f"## Stack `{stack.name}` ({stack.status})", ""]
        body += _lossy_section(stack, plan)
        body += _resource_summary(stack)
        body += _inert_lines(stack)
        if stack.settings:
            body += ["### Provider and backend", "", "| setting | base | head |", "|---|---|---|"]
            body += [f"| `{a.path}` | {_code(a.before)} | {_code(a.after)} |" for a in stack.settings] + [""]
        body += _drift_section(stack)
        head_stack = plan.head.stacks.get(stack.name)
        body += _emr_section(stack, base_c, head_c, head_stack.resources() if head_stack else {})
        body += _instances_section(stack, base_c, head_c)
        body += _spot_section([s for s in swaps if s.stack == stack.name])
        body += _rules_section([r for r in sg if r.stack == stack.name])
        body += _iam_section([p for p in iam if p.stack == stack.name])
        body += _bootstrap_section(
            [s for s in scripts if (s.after or s.before).stack == stack.name], shown_scripts, where
        )
        body += cost_lines
        sections += body
    if env is not None:  # one level deeper, below the environment's heading
        sections = ["#" + line if line.startswith("##") else line for line in sections]
    widened = [f"`{r.address}` {r.note}" for r in sg if r.note and r.note.startswith("widened")]
    return EnvReview(env, plan, hits, unprotected(plan), swaps, summary, sections, total, has_clusters, widened)


_TABLE = [
    "| stack | status | added | removed | changed | replaced | est. cost base → head |",
    "|---|---|---|---|---|---|---|",
]


def render_environments(
    plans: list[tuple[str | None, PlanDiff]],
    *,
    allow: set[str] | None = None,
    title: str | None = None,
    price_lookup: PriceLookup | None = None,
    price_problem: str | None = None,
    scope_note: str | None = None,
    skipped: list[str] | None = None,
) -> Review:
    """The report over one or more environments (``None``: a single unnamed one)."""
    allow = set(allow or ())
    if price_lookup is None and price_problem is None:
        price_lookup, price_problem = default_price_lookup()
    shown: dict[tuple, str] = {}
    envs = [
        review_environment(
            plan, env, allow=allow, price_lookup=price_lookup, price_problem=price_problem, shown_scripts=shown
        )
        for env, plan in plans
    ]
    hits = [h for e in envs for h in e.hits]
    first = plans[0][1] if plans else None
    default_title = f"Plan review: `{first.base.label}` → `{first.head.label}`" if first else "Plan review"
    out = [f"# {title or default_title}", ""]
    if envs:
        out += [summary_line(envs), ""]
    guard_lines = []
    for e in envs:
        lines = _guard_lines(e.hits, set(), e.unprotected)
        if e.env is not None:
            lines = [line.replace("(stack `", f"(environment `{e.env}`, stack `", 1) for line in lines]
        guard_lines += lines
    guard_lines += [
        f"Note: `--allow-replace {name}` matches no protected cluster that this change replaces or destroys."
        for name in unmatched_allowances(hits, allow)
    ]
    out += (guard_lines or ["No protected cluster is replaced or destroyed."]) + [""]
    if scope_note:
        out += [scope_note, ""]
    for env in skipped or []:
        out += [f"- `{env}`: not reviewed ({'no file that synthesis reads changed' if not envs else 'not affected'})."]
    if skipped:
        out += [""]
    for e in envs:
        if e.env is None:
            out += _TABLE + e.summary_rows + [""] + e.sections
            continue
        status = {s.status for s in e.plan.stacks}
        state = (
            "new environment: every stack is added"
            if status == {"added"}
            else "removed environment: every stack is destroyed"
            if status == {"removed"}
            else "no resource changes"
            if status <= {"unchanged"}
            else "changed"
        )
        out += [f"## Environment `{e.env}` ({state})", ""] + _TABLE + e.summary_rows + [""] + e.sections
    if envs and all(s.status == "unchanged" for e in envs for s in e.plan.stacks):
        out += ["No resource changes in any stack.", ""]
    return Review(envs, hits, "\n".join(out).rstrip() + "\n", scope_note)


def render(
    plan: PlanDiff,
    *,
    allow: set[str] | None = None,
    title: str | None = None,
    price_lookup: PriceLookup | None = None,
    price_problem: str | None = None,
) -> Review:
    """The report of one plan diff (one environment, not named)."""
    return render_environments(
        [(None, plan)], allow=allow, title=title, price_lookup=price_lookup, price_problem=price_problem
    )
