"""Terraform meta-arguments as Terraform parses them: ``depends_on`` takes bare addresses.

``"${aws_iam_role_policy.x}"`` in ``depends_on`` is rejected by ``terraform init`` ("A
single static variable reference is required") before any provider loads, so a stack
carrying one cannot be deployed at all. Checked here on every synthesized stack without
needing terraform; ``tests/terraform/`` then runs the real ``terraform validate``.
"""

from __future__ import annotations

import re

ADDRESS = re.compile(r"^(data\.)?[a-zA-Z][a-zA-Z0-9_-]*\.[a-zA-Z_][a-zA-Z0-9_-]*$")


def _depends_on(stack: dict):
    for block in ("resource", "data"):
        for rtype, items in stack.get(block, {}).items():
            for name, body in items.items():
                prefix = "data." if block == "data" else ""
                yield f"{prefix}{rtype}.{name}", body.get("depends_on", [])
    for name, body in stack.get("module", {}).items():
        yield f"module.{name}", body.get("depends_on", [])
    for name, body in stack.get("output", {}).items():
        yield f"output.{name}", body.get("depends_on", [])


def _addresses(stack: dict) -> set[str]:
    found = {f"{rtype}.{name}" for rtype, items in stack.get("resource", {}).items() for name in items}
    found |= {f"data.{rtype}.{name}" for rtype, items in stack.get("data", {}).items() for name in items}
    return found | {f"module.{name}" for name in stack.get("module", {})}


def test_every_stack_is_checked(synth):
    assert len(synth.stacks) >= 4, sorted(synth.stacks)
    assert any(deps for stack in synth.stacks.values() for _, deps in _depends_on(stack)), (
        "no depends_on anywhere: the check below would pass vacuously"
    )


def test_depends_on_holds_bare_addresses_of_existing_resources(synth):
    problems = []
    for stack_name, stack in synth.stacks.items():
        known = _addresses(stack)
        for owner, deps in _depends_on(stack):
            for dep in deps:
                if "${" in dep or not ADDRESS.match(dep):
                    problems.append(f"{stack_name}: {owner}: depends_on entry {dep!r} is not a bare address")
                elif dep not in known:
                    problems.append(f"{stack_name}: {owner}: depends_on entry {dep!r} names nothing in the stack")
    assert not problems, "\n".join(problems)


def test_security_groups_of_a_stack_are_deleted_one_at_a_time(synth):
    """Every security group (all revoke_rules_on_delete) waits for the one before it, so
    Terraform destroys them one by one: deleted at once, two groups both revoke a rule that
    references both, and the second delete fails (see EmrSecurityGroups)."""
    for stack_name, stack in synth.stacks.items():
        groups = stack.get("resource", {}).get("aws_security_group", {})
        if not groups:
            continue
        addresses = {f"aws_security_group.{name}" for name in groups}
        waits = {name: [d for d in body.get("depends_on", []) if d in addresses] for name, body in groups.items()}
        assert sorted(len(w) for w in waits.values()) == [0] + [1] * (len(groups) - 1), (stack_name, waits)
        # One chain: no group is waited on by two others.
        waited_on = [w[0] for w in waits.values() if w]
        assert len(set(waited_on)) == len(waited_on), (stack_name, waits)
