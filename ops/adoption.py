"""``adoption-report PLAN.json ...``: which adopted resources a plan keeps, updates or replaces.

Input: ``terraform show -json <plan file>`` of a stack whose environment names existing
resources under ``[adopt.<stack>]`` (the stacks put a Terraform ``import`` block on each).
Every resource change that carries ``importing`` is an adopted resource:

=========  ======================================  ===========================================
verdict    plan actions                            meaning
=========  ======================================  ===========================================
KEPT       no-op                                   the existing resource matches the code
UPDATED    update                                  imported, then changed in place (listed)
REPLACED   delete+create / create+delete           an attribute forces a new resource: the
                                                   existing one would be destroyed
=========  ======================================  ===========================================

A REPLACED security group, role or profile means the code names it differently from the
existing one (names are ForceNew in AWS); a REPLACED EMR cluster means its settings differ
(almost every cluster argument is ForceNew): adopt clusters blue/green instead, a new
cluster beside the old (docs/operations.md, "Adopt existing clusters"); its adopted task
groups are then replaced with it (their ``cluster_id`` changes). The other planned
changes are counted, so nothing else in the plan goes unseen. A plan Terraform saved with
``errored = true`` is refused (exit 2): it stops at the error and would undercount.
Never imports cdktf.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ops.errors import EXIT_FAILED, EXIT_OK, Refused
from ops.runtime import Runtime

KEPT, UPDATED, REPLACED = "KEPT", "UPDATED", "REPLACED"


@dataclass(frozen=True)
class Adopted:
    address: str
    rtype: str
    import_id: str
    verdict: str
    attributes: tuple[str, ...]  # changed in place, or forcing the replacement


def _changed_attributes(before: dict, after: dict, unknown: dict) -> tuple[str, ...]:
    keys = set(before or {}) | set(after or {}) | set(unknown or {})
    changed = [k for k in keys if (before or {}).get(k) != (after or {}).get(k) or (unknown or {}).get(k)]
    # tags_all mirrors tags plus the provider's default tags; name the cause once.
    return tuple(sorted(k for k in changed if not (k == "tags_all" and "tags" in changed)))


def classify(change: dict) -> Adopted | None:
    detail = change.get("change") or {}
    importing = detail.get("importing")
    if not importing:
        return None
    actions = detail.get("actions") or []
    if set(actions) == {"delete", "create"}:
        verdict = REPLACED
        attributes = tuple(sorted({".".join(str(p) for p in path[:1]) for path in detail.get("replace_paths") or []}))
    elif actions == ["update"]:
        verdict = UPDATED
        attributes = _changed_attributes(
            detail.get("before") or {}, detail.get("after") or {}, detail.get("after_unknown") or {}
        )
    else:
        verdict, attributes = KEPT, ()
    return Adopted(
        address=change["address"],
        rtype=change.get("type", ""),
        import_id=str(importing.get("id", "")),
        verdict=verdict,
        attributes=attributes,
    )


# What AWS puts in every security group created outside Terraform (Terraform's
# aws_security_group removes it only from groups it creates itself).
_DEFAULT_EGRESS = (
    ("cidr_blocks", "0.0.0.0/0", "cidr_ipv4", "CidrIp"),
    ("ipv6_cidr_blocks", "::/0", "cidr_ipv6", "CidrIpv6"),
)


@dataclass(frozen=True)
class DefaultEgress:
    """AWS's allow-all egress rule found on an adopted security group."""

    address: str
    group_id: str
    cidr: str
    declared: bool  # the app declares the same rule itself: the apply fails on the duplicate

    def command(self, region: str | None) -> str:
        key = next(k for _, c, _, k in _DEFAULT_EGRESS if c == self.cidr)
        where = f" --region {region}" if region else ""
        return (
            f"aws ec2 revoke-security-group-egress --group-id {self.group_id} "
            f"--ip-permissions 'IpProtocol=-1,{'IpRanges' if key == 'CidrIp' else 'Ipv6Ranges'}=[{{{key}={self.cidr}}}]'"
            + where
        )


def default_egress_rules(changes: list[dict]) -> list[DefaultEgress]:
    """The allow-all egress rules adopted groups already hold, read from the imported state
    (the change's ``before``), and whether the app's own rules repeat them."""
    declared = set()
    for change in changes:
        after = (change.get("change") or {}).get("after") or {}
        if change.get("type") == "aws_vpc_security_group_egress_rule" and after.get("ip_protocol") == "-1":
            for _, cidr, attribute, _ in _DEFAULT_EGRESS:
                if after.get(attribute) == cidr:
                    declared.add((after.get("security_group_id"), cidr))
    found = []
    for change in changes:
        detail = change.get("change") or {}
        if change.get("type") != "aws_security_group" or not detail.get("importing"):
            continue
        before = detail.get("before") or {}
        group_id = before.get("id") or str(detail["importing"].get("id", ""))
        for rule in before.get("egress") or []:
            if str(rule.get("protocol")) != "-1":
                continue
            for blocks, cidr, _, _ in _DEFAULT_EGRESS:
                if cidr in (rule.get(blocks) or []):
                    found.append(DefaultEgress(change["address"], group_id, cidr, (group_id, cidr) in declared))
    return found


def _region(plan: dict) -> str | None:
    aws = (((plan.get("configuration") or {}).get("provider_config") or {}).get("aws") or {}).get("expressions") or {}
    region = (aws.get("region") or {}).get("constant_value")
    return region if isinstance(region, str) else None


def _default_egress_lines(plan: dict, changes: list[dict]) -> list[str]:
    rules = default_egress_rules(changes)
    if not rules:
        return []
    lines = [
        f"  {len(rules)} adopted security-group rule(s) that AWS added (allow all egress; every group made outside "
        "Terraform gets one). Remove each right before the apply:"
    ]
    for rule in rules:
        why = (
            "the app declares this rule itself, with a description; the apply fails with "
            "InvalidPermission.Duplicate while the copy exists, and re-creates it at once"
            if rule.declared
            else "the app declares no allow-all egress for this group (least privilege)"
        )
        lines.append(f"  RULE      {rule.address} (existing {rule.group_id}) egress all to {rule.cidr}: {why}")
        lines.append(f"            {rule.command(_region(plan))}")
    return lines


def read_plan(path: str) -> dict:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Refused(f"{path}: no such file. Write it with: terraform show -json plan.tfplan > {path}") from None
    except (OSError, ValueError) as exc:
        raise Refused(f"{path}: not a JSON plan ({exc}). Write it with: terraform show -json plan.tfplan") from None
    if not isinstance(document, dict) or "resource_changes" not in document and "planned_values" not in document:
        raise Refused(
            f"{path}: not the JSON of a saved plan (no resource_changes); "
            "use terraform show -json <plan file>, not of a state"
        )
    if document.get("errored") is True:
        # Terraform saves a plan that stopped at an error (a missing data source, say) with
        # errored = true and only the changes it planned before the error: adopted
        # resources after it would silently be missing from the counts.
        raise Refused(
            f"{path}: Terraform could not finish this plan (errored = true), so it lacks the changes after "
            "the error and the adopted resources among them; fix the errors `terraform plan` printed, "
            "plan again, then run the report"
        )
    return document


def read_plans(paths: list[str]) -> list[dict]:
    """Every plan, or one refusal naming every unusable file (nothing is reported then)."""
    plans, problems = [], []
    for path in paths:
        try:
            plans.append(read_plan(path))
        except Refused as exc:
            problems.append(str(exc))
    if problems:
        raise Refused(problems[0] if len(problems) == 1 else "\n".join(["unusable plans:", *problems]))
    return plans


def _other_changes(changes: list[dict]) -> str:
    counts = {"create": 0, "update": 0, "replace": 0, "delete": 0}
    for change in changes:
        if (change.get("change") or {}).get("importing"):
            continue
        actions = (change.get("change") or {}).get("actions") or []
        if set(actions) == {"delete", "create"}:
            counts["replace"] += 1
        elif actions in (["create"], ["update"], ["delete"]):
            counts[actions[0]] += 1
    return ", ".join(f"{n} to {what}" for what, n in counts.items())


def adoption_report(paths: list[str], rt: Runtime, *, fail_on_replace: bool = False) -> int:
    replaced_total = 0
    for path, plan in zip(paths, read_plans(paths), strict=True):
        changes = plan.get("resource_changes") or []
        adopted = [a for a in (classify(c) for c in changes) if a is not None]
        replaced = [a for a in adopted if a.verdict == REPLACED]
        replaced_total += len(replaced)
        rt.say(
            f"{path}: {len(adopted)} adopted resource(s): "
            f"{sum(a.verdict == KEPT for a in adopted)} kept as they are, "
            f"{sum(a.verdict == UPDATED for a in adopted)} updated in place, {len(replaced)} REPLACED"
        )
        for a in sorted(adopted, key=lambda a: ({REPLACED: 0, UPDATED: 1, KEPT: 2}[a.verdict], a.address)):
            line = f"  {a.verdict:<8}  {a.address}  (existing {a.import_id})"
            if a.verdict == UPDATED:
                line += f": in place: {', '.join(a.attributes) or 'computed attributes'}"
            elif a.verdict == REPLACED:
                line += (
                    f": the existing resource would be DESTROYED and a new one created; forced by "
                    f"{', '.join(a.attributes) or 'an attribute that forces a new resource'}"
                )
                if a.rtype == "aws_emr_cluster":
                    line += (
                        ". Adopt this cluster blue/green instead: drop it from [adopt], deploy the new "
                        "cluster beside it, cut over, then terminate the old one"
                    )
                elif a.rtype == "aws_emr_instance_group" and "cluster_id" in a.attributes:
                    line += (
                        ". A task group goes with its cluster: it is replaced because its cluster is "
                        "(adopt both blue/green, or neither)"
                    )
                else:
                    line += ". Make the code match the existing resource, or leave it out of [adopt]"
            rt.say(line)
        for line in _default_egress_lines(plan, changes):
            rt.say(line)
        if not adopted:
            rt.say("  (no import blocks in this plan: is [adopt.<stack>] set for this stack's environment?)")
        rt.say(f"  other changes in this plan: {_other_changes(changes)}")
    if replaced_total and fail_on_replace:
        return EXIT_FAILED
    return EXIT_OK
