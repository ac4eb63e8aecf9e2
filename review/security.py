"""Security-group rules and IAM policies in readable form (guide tips T0, T1, T2).

Rules are rendered as ``ingress tcp 18080 from 10.30.0.0/20 into sg <name> -- "why"``,
whichever way they are declared (``aws_vpc_security_group_ingress_rule`` /
``_egress_rule``, ``aws_security_group_rule``, or inline blocks of
``aws_security_group``). IAM policy documents are compared statement by statement,
keyed by ``Sid`` (or position when a statement has none), as actions and resources
added and removed. Warnings flag what the project's standards forbid: a rule without a
description, ingress from the whole internet, a wildcard action or resource.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, replace
from typing import Any

from review.plan import MISSING, PlanDiff, Resolver

RULE_TYPES = ("aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule", "aws_security_group_rule")
_SG_REF = re.compile(r"^<(aws_security_group\.[A-Za-z0-9_\-]+)\.id(?: \(new\))?>$")
_WORLD = {"0.0.0.0/0", "::/0"}


def _sg_label(resolver: Resolver, stack: str, value: Any) -> str:
    if not isinstance(value, str):
        return str(value)
    # A security group's id is only known after apply: show its name (Resolver.label).
    if _SG_REF.match(value):
        return f"sg `{resolver.label(stack, value)}`"
    return f"sg `{value}`"


def _ports(protocol: str, low: Any, high: Any) -> str:
    if protocol in ("-1", "all"):
        return "all traffic"
    proto = {"6": "tcp", "17": "udp", "1": "icmp"}.get(str(protocol), str(protocol))
    if low in (None, MISSING) and high in (None, MISSING):
        return proto
    if proto == "icmp" and str(low) == "-1":
        return "icmp (all types)"
    if str(low) == "0" and str(high) == "65535":
        return f"{proto} all ports"
    if low == high or high in (None, MISSING):
        return f"{proto} {low}"
    return f"{proto} {low}-{high}"


@dataclass(frozen=True)
class RuleView:
    text: str
    warnings: tuple[str, ...]
    cidrs: tuple[str, ...] = ()  # the CIDR peers, as written


def describe_rule(resolver: Resolver, stack: str, rtype: str, config: dict) -> RuleView:
    """One rule as a sentence, with standards warnings."""
    warnings = []
    if rtype == "aws_security_group_rule":
        direction = config.get("type", "?")
        protocol = str(config.get("protocol", "?"))
        peers = list(config.get("cidr_blocks") or []) + list(config.get("ipv6_cidr_blocks") or [])
        peers += list(config.get("prefix_list_ids") or [])
        if config.get("source_security_group_id"):
            peers.append(_sg_label(resolver, stack, config["source_security_group_id"]))
        if config.get("self"):
            peers.append("itself")
        owner = config.get("security_group_id")
    else:
        direction = "ingress" if rtype.endswith("ingress_rule") else "egress"
        protocol = str(config.get("ip_protocol", "?"))
        peers = [config[k] for k in ("cidr_ipv4", "cidr_ipv6", "prefix_list_id") if config.get(k)]
        if config.get("referenced_security_group_id"):
            peers.append(_sg_label(resolver, stack, config["referenced_security_group_id"]))
        owner = config.get("security_group_id")
    ports = _ports(protocol, config.get("from_port"), config.get("to_port"))
    peer_text = ", ".join(str(p) for p in peers) or "nowhere"
    where = "from" if direction == "ingress" else "to"
    text = f"{direction} {ports} {where} {peer_text} ({'into' if direction == 'ingress' else 'out of'} {_sg_label(resolver, stack, owner)})"
    description = config.get("description")
    text += f' — "{description}"' if description else ""
    if not description:
        warnings.append("no description (every rule must say why it exists)")
    if direction == "ingress" and any(p in _WORLD for p in peers):
        warnings.append("ingress from the whole internet")
    return RuleView(text, tuple(warnings), tuple(str(p) for p in peers if _network(p) is not None))


def _network(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        return None


def _times(n: int) -> str:
    return f"{n:,}"


def cidr_change(before: str, after: str) -> str | None:
    """How a rule's CIDR changes, in addresses: ``/20 → /16: 16× the addresses``."""
    a, b = _network(before), _network(after)
    if a is None or b is None or a == b or a.version != b.version:
        return None
    shift = a.prefixlen - b.prefixlen
    # Same version checked above; mypy cannot narrow IPv4Network | IPv6Network by .version.
    if b.supernet_of(a):  # type: ignore[arg-type]
        return f"widened {a} → {b}: /{a.prefixlen} → /{b.prefixlen}: {_times(2**shift)}× the addresses"
    if a.supernet_of(b):  # type: ignore[arg-type]
        return f"narrowed {a} → {b}: /{a.prefixlen} → /{b.prefixlen}: 1/{_times(2**-shift)} of the addresses"
    size = (
        f"{_times(2**shift)}× the addresses"
        if shift > 0
        else f"1/{_times(2**-shift)} of the addresses"
        if shift < 0
        else "as many addresses"
    )
    return f"moved {a} → {b} (no overlap): /{a.prefixlen} → /{b.prefixlen}: {size}"


def _inline_rules(config: dict) -> list[dict]:
    """Inline ``ingress``/``egress`` blocks as ``aws_security_group_rule`` configs."""
    out = []
    for direction in ("ingress", "egress"):
        for block in config.get(direction) or []:
            if isinstance(block, dict):
                out.append({"type": direction, **block, "security_group_id": None})
    return out


@dataclass(frozen=True)
class RuleChange:
    stack: str
    address: str
    action: str  # added | removed | changed
    before: RuleView | None
    after: RuleView | None
    note: str | None = None  # e.g. how far a CIDR is widened


def _without_cidr(view: RuleView) -> str | None:
    if len(view.cidrs) != 1:
        return None
    return view.text.replace(view.cidrs[0], "\0")


def _pair_cidr_changes(changes: list[RuleChange]) -> list[RuleChange]:
    """A rule whose only difference is its CIDR: removed + added (the rule's address
    carries the CIDR) or changed in place, shown as one change that says by how much."""
    out: list[RuleChange] = []
    added = [c for c in changes if c.action == "added"]
    used: set[int] = set()
    for c in changes:
        if c.action == "changed" and c.before and c.after and len(c.before.cidrs) == len(c.after.cidrs) == 1:
            note = cidr_change(c.before.cidrs[0], c.after.cidrs[0])
            out.append(replace(c, note=note) if note else c)
            continue
        if c.action != "removed" or c.before is None:
            if c.action != "added":
                out.append(c)
            continue
        key = _without_cidr(c.before)
        match = next(
            (
                i
                for i, a in enumerate(added)
                if i not in used
                and a.stack == c.stack
                and a.after
                and key is not None
                and _without_cidr(a.after) == key
            ),
            None,
        )
        if match is None:
            out.append(c)
            continue
        used.add(match)
        a = added[match]
        out.append(
            RuleChange(
                c.stack,
                f"{c.address}` → `{a.address}",
                "changed",
                c.before,
                a.after,
                cidr_change(c.before.cidrs[0], a.after.cidrs[0]),
            )
        )
    out += [a for i, a in enumerate(added) if i not in used]
    return out


def rule_changes(plan: PlanDiff) -> list[RuleChange]:
    out = []
    for stack in plan.stacks:
        for change in stack.changes:
            rtype = change.rtype
            if rtype in RULE_TYPES:
                before = describe_rule(plan.base_resolver, stack.name, rtype, change.before) if change.before else None
                after = describe_rule(plan.head_resolver, stack.name, rtype, change.after) if change.after else None
                if before and after and before == after:
                    continue
                out.append(RuleChange(stack.name, change.address, change.action, before, after))
            elif rtype == "aws_security_group":
                b = {json.dumps(r, sort_keys=True): r for r in _inline_rules(change.before or {})}
                a = {json.dumps(r, sort_keys=True): r for r in _inline_rules(change.after or {})}
                for key in sorted(set(b) - set(a)):
                    out.append(
                        RuleChange(
                            stack.name,
                            change.address,
                            "removed",
                            describe_rule(plan.base_resolver, stack.name, "aws_security_group_rule", b[key]),
                            None,
                        )
                    )
                for key in sorted(set(a) - set(b)):
                    out.append(
                        RuleChange(
                            stack.name,
                            change.address,
                            "added",
                            None,
                            describe_rule(plan.head_resolver, stack.name, "aws_security_group_rule", a[key]),
                        )
                    )
    return _pair_cidr_changes(out)


# --- IAM -----------------------------------------------------------------------------

POLICY_ATTRIBUTES = {
    "aws_iam_role_policy": ("policy",),
    "aws_iam_policy": ("policy",),
    "aws_iam_role": ("assume_role_policy",),
    "aws_s3_bucket_policy": ("policy",),
}


def _as_list(value: Any) -> list:
    if value is None or value is MISSING:
        return []
    return list(value) if isinstance(value, list) else [value]


def _statements(document: Any) -> dict[str, dict] | None:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError:
            return None
    if not isinstance(document, dict):
        return None
    out = {}
    for i, st in enumerate(_as_list(document.get("Statement"))):
        if isinstance(st, dict):
            out[str(st.get("Sid") or f"#{i + 1}")] = st
    return out


@dataclass(frozen=True)
class StatementChange:
    sid: str
    action: str  # added | removed | changed
    effect: str
    lines: tuple[str, ...]  # "actions + `s3:GetObject`" ...
    warnings: tuple[str, ...]


def _fmt(items: list) -> str:
    return ", ".join(f"`{json.dumps(i) if not isinstance(i, str) else i}`" for i in items)


def _principals(st: dict) -> list[str]:
    p = st.get("Principal")
    if isinstance(p, dict):
        return sorted(f"{k}:{v}" for k, vals in p.items() for v in _as_list(vals))
    return [str(v) for v in _as_list(p)]


_FIELDS = (
    ("Action", "actions"),
    ("NotAction", "not-actions"),
    ("Resource", "resources"),
    ("NotResource", "not-resources"),
)


def _delta(lines: list[str], label: str, before: list, after: list) -> list:
    """Append ``label + added`` / ``label − removed`` lines; return the added items."""
    plus = [x for x in after if x not in before]
    minus = [x for x in before if x not in after]
    if plus:
        lines.append(f"{label} + {_fmt(plus)}")
    if minus:
        lines.append(f"{label} − {_fmt(minus)}")
    return plus


def statement_changes(before: Any, after: Any) -> list[StatementChange] | None:
    """Statement-level diff of two policy documents; None when one cannot be parsed."""
    b = _statements(before) if before not in (None, MISSING) else {}
    a = _statements(after) if after not in (None, MISSING) else {}
    if b is None or a is None:
        return None
    out = []
    for sid in sorted(set(b) | set(a)):
        sb, sa = b.get(sid), a.get(sid)
        if sb == sa:
            continue
        action = "added" if sb is None else "removed" if sa is None else "changed"
        lines: list[str] = []
        warnings: list[str] = []
        for key, label in _FIELDS:
            plus = _delta(
                lines, label, [] if sb is None else _as_list(sb.get(key)), [] if sa is None else _as_list(sa.get(key))
            )
            if (
                sa is not None
                and key in ("Action", "Resource")
                and any(x == "*" or str(x).endswith(":*") for x in plus)
            ):
                warnings.append(f"wildcard {label[:-1]} added")
        _delta(lines, "principals", [] if sb is None else _principals(sb), [] if sa is None else _principals(sa))
        for key in ("Effect", "Condition"):
            vb = None if sb is None else sb.get(key)
            va = None if sa is None else sa.get(key)
            if action == "changed" and vb != va:
                lines.append(f"{key.lower()}: `{json.dumps(vb, sort_keys=True)}` → `{json.dumps(va, sort_keys=True)}`")
        effect = str((sa or sb).get("Effect", "?"))
        out.append(StatementChange(sid, action, effect, tuple(lines), tuple(warnings)))
    return out


@dataclass(frozen=True)
class PolicyChange:
    stack: str
    address: str
    action: str
    attribute: str
    owner: str  # role the policy belongs to, when known
    statements: list[StatementChange] | None
    raw: tuple[Any, Any]


def iam_changes(plan: PlanDiff) -> list[PolicyChange]:
    out = []
    for stack in plan.stacks:
        for change in stack.changes:
            rtype = change.rtype
            if rtype == "aws_iam_role_policy_attachment":
                arn_b = (change.before or {}).get("policy_arn")
                arn_a = (change.after or {}).get("policy_arn")
                role = (change.after or change.before or {}).get("role", "")
                lines = []
                if arn_a != arn_b:
                    if arn_a:
                        lines.append(f"managed policy + `{arn_a}`")
                    if arn_b:
                        lines.append(f"managed policy − `{arn_b}`")
                if lines:
                    out.append(
                        PolicyChange(
                            stack.name,
                            change.address,
                            change.action,
                            "policy_arn",
                            str(role),
                            [StatementChange("(attachment)", change.action, "Allow", tuple(lines), ())],
                            (arn_b, arn_a),
                        )
                    )
                continue
            for attr in POLICY_ATTRIBUTES.get(rtype, ()):
                vb = (change.before or {}).get(attr, MISSING)
                va = (change.after or {}).get(attr, MISSING)
                if vb == va:
                    continue
                resolver = plan.head_resolver if change.after else plan.base_resolver
                config = change.after or change.before or {}
                owner = resolver.label(stack.name, config.get("role") or config.get("name") or "")
                out.append(
                    PolicyChange(
                        stack.name, change.address, change.action, attr, str(owner), statement_changes(vb, va), (vb, va)
                    )
                )
            if rtype == "aws_iam_role":
                ib = {
                    p.get("name"): p.get("policy")
                    for p in _as_list((change.before or {}).get("inline_policy"))
                    if isinstance(p, dict)
                }
                ia = {
                    p.get("name"): p.get("policy")
                    for p in _as_list((change.after or {}).get("inline_policy"))
                    if isinstance(p, dict)
                }
                for name in sorted(set(ib) | set(ia), key=str):
                    if ib.get(name) != ia.get(name):
                        out.append(
                            PolicyChange(
                                stack.name,
                                change.address,
                                change.action,
                                f"inline_policy {name}",
                                str((change.after or change.before or {}).get("name", "")),
                                statement_changes(ib.get(name), ia.get(name)),
                                (ib.get(name), ia.get(name)),
                            )
                        )
    return out
