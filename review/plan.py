"""Synthesized plans and the resource-level diff between two of them.

A *side* is every stack's ``cdk.tf.json`` of one synthesis (the base ref or the working
tree). The diff compares the two sides by Terraform address (``type.name``), ignoring
the ``//`` metadata cdktf writes.

References are resolved before comparing, because what Terraform sends to AWS is the
resolved value: ``s3://${aws_s3_object.x.bucket}/${aws_s3_object.x.key}`` becomes the
literal key when ``x`` declares it, and a computed attribute (``${aws_security_group.x.id}``)
becomes a placeholder ``<aws_security_group.x.id>`` that reads
``<aws_security_group.x.id (new)>`` on the head side when ``x`` is replaced or newly
created. A replacement therefore shows up in every attribute that depends on it, and
the replacement rules (review.rules) see it: replacing a security group replaces the
clusters that name it in ``ec2_attributes``. This is computed to a fixed point.
Cross-stack references (cdktf's ``data.terraform_remote_state`` outputs) are followed
into the stack that defines the output.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emr_constructs.model.layout import synthesized_stacks
from review import rules

MISSING = object()

_INTERPOLATION = re.compile(r"\$\{((?:[^{}]|\{[^{}]*\})*)\}")
_REFERENCE = re.compile(
    r"(?<![\w.\-])((?:data\.)?[a-z0-9]+_[a-z0-9_]+)\.([A-Za-z0-9_\-]+)\.([A-Za-z0-9_]+)((?:\[\d+\]|\.[A-Za-z0-9_\-]+)*)"
)
_REMOTE_STATE = "data.terraform_remote_state"


@dataclass(frozen=True)
class Stack:
    """One stack's parsed ``cdk.tf.json``; ``root`` is its folder (assets live under it)."""

    name: str
    doc: Mapping[str, Any]
    root: Path | None = None

    def resources(self) -> dict[str, dict]:
        """Every resource and data source by address (``type.name`` / ``data.type.name``)."""
        out: dict[str, dict] = {}
        for kind, prefix in (("resource", ""), ("data", "data.")):
            for rtype, by_name in (self.doc.get(kind) or {}).items():
                for name, config in (by_name or {}).items():
                    out[f"{prefix}{rtype}.{name}"] = config
        return out

    def region(self, provider_ref: str | None = None) -> str | None:
        """The AWS region of the provider a resource uses (``provider`` meta-argument)."""
        alias = provider_ref.split(".", 1)[1] if provider_ref and "." in provider_ref else None
        for block in (self.doc.get("provider") or {}).get("aws") or []:
            if block.get("alias") == alias:
                return block.get("region")
        return None


@dataclass(frozen=True)
class Side:
    label: str
    stacks: Mapping[str, Stack]
    tree: str | None = None  # folder the side was synthesized from (absolute paths start with it)


def load_outdir(outdir: str | Path, label: str, tree: str | Path | None = None) -> Side:
    """Read every stack's ``cdk.tf.json`` of a synthesized output folder, where its manifest
    puts it (``stacks/<stack>/<environment>/``, or ``stacks/<stack>/`` as synthesized by
    versions before the environment's folder, e.g. an older base commit); without a
    manifest, ``stacks/*/cdk.tf.json``. ``tree`` is the synthesized source folder."""
    stacks = {}
    for name, folder in synthesized_stacks(outdir).items():
        stacks[name] = Stack(name, json.loads((folder / "cdk.tf.json").read_text(encoding="utf-8")), folder)
    return Side(label, stacks, str(tree) if tree else None)


def _flatten_settings(value: Any, prefix: str) -> dict[str, Any]:
    """Provider and terraform blocks down to leaves, list items by index (``provider.aws[0].region``)."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten_settings(v, f"{prefix}.{k}"))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = {}
        for i, v in enumerate(value):
            out.update(_flatten_settings(v, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def _untree(value: Any, tree: str | None) -> Any:
    """An absolute path inside the synthesized tree, made relative: the base is synthesized
    in a temporary worktree, so its absolute paths always differ from the head's."""
    if tree and isinstance(value, str) and value.startswith(tree.rstrip("/") + "/"):
        return "<tree>/" + value[len(tree.rstrip("/")) + 1 :]
    return value


def side_from_docs(label: str, docs: Mapping[str, Mapping[str, Any]]) -> Side:
    return Side(label, {name: Stack(name, doc) for name, doc in docs.items()})


def split_address(address: str) -> tuple[str, str]:
    """``aws_x.name`` -> (``aws_x``, ``name``); ``data.aws_x.name`` -> (``data.aws_x``, ``name``)."""
    head, _, name = address.rpartition(".")
    return head, name


def _lookup(value: Any, steps: str) -> Any:
    for step in re.findall(r"\[(\d+)\]|\.([A-Za-z0-9_\-]+)", steps):
        index, key = step
        if index:
            if isinstance(value, list) and int(index) < len(value):
                value = value[int(index)]
            elif isinstance(value, dict) and index == "0":
                continue  # a single block written as an object
            else:
                return MISSING
        else:
            if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
                value = value[0]
            if not isinstance(value, dict) or key not in value:
                return MISSING
            value = value[key]
    return value


class Resolver:
    """Resolves ``${...}`` references of one side. ``renewed`` holds ``stack/address`` keys
    of resources whose computed attributes change (replaced or created)."""

    def __init__(self, side: Side, renewed: frozenset[str] = frozenset()):
        self.side = side
        self.renewed = renewed
        self._resources = {name: stack.resources() for name, stack in side.stacks.items()}

    def resource(self, stack: str, address: str) -> dict | None:
        return self._resources.get(stack, {}).get(address)

    def resolve(self, stack: str, value: Any, depth: int = 0) -> Any:
        if isinstance(value, dict):
            return {k: self.resolve(stack, v, depth) for k, v in value.items() if k != "//"}
        if isinstance(value, list):
            return [self.resolve(stack, v, depth) for v in value]
        if isinstance(value, str) and "${" in value:
            return self._resolve_string(stack, value, depth)
        return value

    def _resolve_string(self, stack: str, text: str, depth: int) -> Any:
        whole = _INTERPOLATION.fullmatch(text)
        if whole:
            ref = _REFERENCE.fullmatch(whole.group(1).strip())
            if ref:
                return self._reference(stack, ref, depth)

        def expression(m: re.Match) -> str:
            inner = m.group(1)
            single = _REFERENCE.fullmatch(inner.strip())
            if single:
                resolved = self._reference(stack, single, depth)
                if isinstance(resolved, (str, int, float, bool)):
                    return str(resolved).lower() if isinstance(resolved, bool) else str(resolved)
                return json.dumps(resolved, sort_keys=True)
            return "${" + _REFERENCE.sub(lambda r: self._placeholder(stack, r), inner) + "}"

        return _INTERPOLATION.sub(expression, text)

    def _reference(self, stack: str, ref: re.Match, depth: int) -> Any:
        rtype, name, attr, rest = ref.groups()
        address = f"{rtype}.{name}"
        if address.startswith(_REMOTE_STATE) and attr == "outputs" and depth < 8:
            output = rest.lstrip(".").split(".")[0].split("[")[0]
            for other, stack_obj in self.side.stacks.items():
                outputs = stack_obj.doc.get("output") or {}
                if output in outputs:
                    return self.resolve(other, outputs[output].get("value"), depth + 1)
            return self._placeholder(stack, ref)
        config = self.resource(stack, address)
        if config is not None and depth < 8:
            literal = _lookup(config, f".{attr}{rest}")
            if literal is not MISSING:
                return self.resolve(stack, literal, depth + 1)
        return self._placeholder(stack, ref)

    def label(self, stack: str, value: Any) -> str:
        """A placeholder ``<aws_x.y.id>`` shown as the resource's name when it has one."""
        m = re.fullmatch(r"<((?:data\.)?[a-z0-9_]+\.[A-Za-z0-9_\-]+)\.[A-Za-z0-9_]+(?: \(new\))?>", str(value))
        if not m:
            return str(value)
        config = self.resource(stack, m.group(1)) or {}
        name = config.get("name") or (config.get("tags") or {}).get("Name")
        return str(self.resolve(stack, name)) if name else m.group(1)

    def _placeholder(self, stack: str, ref: re.Match) -> str:
        rtype, name, attr, rest = ref.groups()
        address = f"{rtype}.{name}"
        text = f"{address}.{attr}{rest}"
        if f"{stack}/{address}" in self.renewed:
            return f"<{text} (new)>"
        return f"<{text}>"


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Leaf paths of a resource config. Objects nest with dots; a single-item block list
    (``core_instance_group = [{...}]``) is read as its item; other lists are leaves."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key == "//":
            continue
        path = f"{prefix}{key}"
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict) and key in rules.SINGLE_BLOCKS:
            value = value[0]
        if isinstance(value, dict) and value:
            out.update(flatten(value, path + "."))
        else:
            out[path] = value
    return out


def _set_path(config: dict, path: str, value: Any) -> None:
    parts = path.split(".")
    node: Any = config
    for part in parts[:-1]:
        nxt = node.get(part) if isinstance(node, dict) else None
        if isinstance(nxt, list) and len(nxt) == 1 and isinstance(nxt[0], dict):
            nxt = nxt[0]
        if not isinstance(nxt, dict):
            nxt = {}
            node[part] = nxt
        node = nxt
    if value is MISSING:
        node.pop(parts[-1], None)
    else:
        node[parts[-1]] = value


def ignore_paths(config: Mapping[str, Any] | None) -> tuple[bool, tuple[str, ...]]:
    """(ignore all, normalized paths) from ``lifecycle.ignore_changes``."""
    lifecycle = (config or {}).get("lifecycle") or {}
    entries = lifecycle.get("ignore_changes")
    if entries is None:
        return False, ()
    if isinstance(entries, str):
        entries = [entries]
    paths = []
    for entry in entries:
        if entry == "all":
            return True, ()
        paths.append(re.sub(r"\[\d+\]|\.\d+(?=\.|$)", "", str(entry)).strip("."))
    return False, tuple(paths)


def is_ignored(path: str, ignore: tuple[bool, tuple[str, ...]]) -> bool:
    ignore_all, paths = ignore
    if path.split(".", 1)[0] in rules.META_ARGUMENTS:
        return False
    if ignore_all:
        return True
    return any(path == p or path.startswith(p + ".") for p in paths)


@dataclass
class AttrChange:
    path: str
    before: Any
    after: Any
    effect: str
    source: str
    ignored: bool
    via_reference: bool
    # Listed in ignore_changes, yet applied: the resource is replaced for another
    # attribute, and Terraform builds the replacement from the configuration alone.
    overridden: bool = False

    @property
    def applied(self) -> bool:
        return (not self.ignored or self.overridden) and self.effect != rules.META

    @property
    def replaces(self) -> bool:
        """This change is a reason for the replacement (an overridden one is not: it is
        applied only because something else replaces the resource)."""
        return not self.ignored and self.effect == rules.REPLACES


@dataclass
class ResourceChange:
    stack: str
    address: str
    action: str  # added | removed | changed
    before: dict | None
    after: dict | None
    attrs: list[AttrChange] = field(default_factory=list)
    moved_from: str | None = None
    # From Terraform's own plan (review.tfplan): its actions and action_reason decide.
    terraform_actions: tuple[str, ...] | None = None
    action_reason: str | None = None
    # New in the code but adopted through an ``import`` block: Terraform reads the existing
    # resource instead of creating one (what it then changes needs its plan).
    imported_id: str | None = None

    @property
    def rtype(self) -> str:
        return split_address(self.address)[0]

    def effective_after(self) -> dict | None:
        """The head config as Terraform would apply it: ignored attributes keep their base
        value on an in-place update; a replacement takes every value from the code."""
        if self.after is None or self.before is None:
            return self.after
        out = json.loads(json.dumps(self.after))
        for a in self.attrs:
            if a.ignored and not a.overridden:
                _set_path(out, a.path, a.before)
        return out

    def settle_ignored(self) -> None:
        """``ignore_changes`` hides a difference only on an in-place update: when another
        attribute replaces the resource, Terraform plans the new object from the
        configuration with no ignored values (checked with terraform 1.11), so every
        ignored difference is applied too."""
        replaced = self.replaced
        for a in self.attrs:
            a.overridden = replaced and a.ignored and a.effect != rules.META

    @property
    def replaced(self) -> bool:
        if self.terraform_actions is not None:
            return "delete" in self.terraform_actions and "create" in self.terraform_actions
        return self.action == "changed" and any(a.replaces for a in self.attrs)

    @property
    def destroyed(self) -> bool:
        return self.action == "removed" or self.replaced

    @property
    def inert(self) -> bool:
        """Differs only in attributes ``ignore_changes`` lists or in meta-arguments
        (``depends_on``...): Terraform plans no change for it ("No changes")."""
        return (
            self.action == "changed"
            and self.terraform_actions is None
            and self.moved_from is None
            and not self.replaced
            and not any(a.applied for a in self.attrs)
        )


@dataclass
class StackDiff:
    name: str
    status: str  # added | removed | changed | unchanged
    changes: list[ResourceChange]
    settings: list[AttrChange]  # provider / terraform block changes
    drift: list[ResourceChange] = field(default_factory=list)  # changed outside Terraform (plan mode)
    # Differences Terraform does not act on (ResourceChange.inert): counted as unchanged.
    inert: list[ResourceChange] = field(default_factory=list)

    def by_type(self, rtype: str) -> list[ResourceChange]:
        return [c for c in self.changes if c.rtype == rtype]


@dataclass
class PlanDiff:
    base: Side
    head: Side
    base_resolver: Resolver
    head_resolver: Resolver
    stacks: list[StackDiff]

    def stack(self, name: str) -> StackDiff:
        return next(s for s in self.stacks if s.name == name)


def _attr_changes(rtype: str, before: dict, after: dict, raw_before: dict, raw_after: dict, ignore) -> list[AttrChange]:
    fb, fa = flatten(before), flatten(after)
    rb, ra = flatten(raw_before), flatten(raw_after)
    out = []
    for path in sorted(set(fb) | set(fa)):
        b, a = fb.get(path, MISSING), fa.get(path, MISSING)
        if b == a:
            continue
        effect, source = rules.classify(rtype, path, b, a)
        out.append(
            AttrChange(
                path=path,
                before=b,
                after=a,
                effect=effect,
                source=source,
                ignored=is_ignored(path, ignore),
                via_reference=rb.get(path, MISSING) == ra.get(path, MISSING),
            )
        )
    return out


def _imports(side: Side, stack: str) -> dict[str, str]:
    """``import`` blocks of a stack (adoption of existing resources): to-address -> id."""
    blocks = side.stacks[stack].doc.get("import") or []
    return {str(b["to"]): str(b.get("id")) for b in blocks if isinstance(b, dict) and "to" in b}


def _moves(side: Side, stack: str) -> dict[str, str]:
    """``moved`` blocks of a stack: to-address -> from-address."""
    moved = side.stacks[stack].doc.get("moved") or []
    return {m["to"]: m["from"] for m in moved if isinstance(m, dict) and "to" in m and "from" in m}


def _diff_once(base: Side, head: Side, rb: Resolver, rh: Resolver) -> list[StackDiff]:
    out = []
    for name in sorted(set(base.stacks) | set(head.stacks)):
        in_base, in_head = name in base.stacks, name in head.stacks
        before = base.stacks[name].resources() if in_base else {}
        after = head.stacks[name].resources() if in_head else {}
        moves = _moves(head, name) if in_head else {}
        imports = _imports(head, name) if in_head else {}
        changes: list[ResourceChange] = []
        inert: list[ResourceChange] = []
        for address in sorted(set(before) | set(after)):
            if address in after and address not in before:
                origin = moves.get(address)
                if origin and origin in before and origin not in after:
                    rtype = split_address(address)[0]
                    b = rb.resolve(name, before[origin])
                    a = rh.resolve(name, after[address])
                    attrs = _attr_changes(rtype, b, a, before[origin], after[address], ignore_paths(after[address]))
                    changes.append(ResourceChange(name, address, "changed", b, a, attrs, moved_from=origin))
                    changes[-1].settle_ignored()
                    continue
                changes.append(
                    ResourceChange(
                        name, address, "added", None, rh.resolve(name, after[address]), imported_id=imports.get(address)
                    )
                )
            elif address in before and address not in after:
                if address in moves.values():
                    continue
                changes.append(ResourceChange(name, address, "removed", rb.resolve(name, before[address]), None))
            else:
                b, a = rb.resolve(name, before[address]), rh.resolve(name, after[address])
                if b == a:
                    continue
                rtype = split_address(address)[0]
                attrs = _attr_changes(rtype, b, a, before[address], after[address], ignore_paths(after[address]))
                if attrs:
                    change = ResourceChange(name, address, "changed", b, a, attrs)
                    change.settle_ignored()
                    (inert if change.inert else changes).append(change)
        settings = []
        if in_base and in_head:
            for key in ("provider", "terraform"):
                fb = {
                    k: _untree(v, base.tree)
                    for k, v in _flatten_settings(base.stacks[name].doc.get(key) or {}, key).items()
                }
                fa = {
                    k: _untree(v, head.tree)
                    for k, v in _flatten_settings(head.stacks[name].doc.get(key) or {}, key).items()
                }
                for path in sorted(set(fb) | set(fa)):
                    if fb.get(path, MISSING) != fa.get(path, MISSING):
                        settings.append(
                            AttrChange(path, fb.get(path, MISSING), fa.get(path, MISSING), "", "", False, False)
                        )
        status = "changed" if (changes or settings) else "unchanged"
        if not in_base:
            status = "added"
        elif not in_head:
            status = "removed"
        out.append(StackDiff(name, status, changes, settings, inert=inert))
    return out


def diff(base: Side, head: Side) -> PlanDiff:
    """Compare two sides; replacements propagate through references to a fixed point."""
    renewed: frozenset[str] = frozenset()
    rb = Resolver(base)
    for _ in range(32):
        rh = Resolver(head, renewed)
        stacks = _diff_once(base, head, rb, rh)
        now = frozenset(f"{s.name}/{c.address}" for s in stacks for c in s.changes if c.action == "added" or c.replaced)
        if now == renewed:
            break
        renewed = now
    return PlanDiff(base, head, rb, rh, stacks)
