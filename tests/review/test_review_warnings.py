"""What the review must not understate (issue 20 points 5-9), on hand-written stacks.

A reservation replaced for its description, resources Terraform leaves alone counted as
unchanged, deletions that lose data or access, a widened security-group rule and a
frozen cluster's console values in the summary or next to the change, and the
replacement rules compared with every resource type the stacks synthesize.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

from review import rules
from review.plan import diff, side_from_docs
from review.report import render

ROOT = Path(__file__).resolve().parents[2]


def _doc(**resources):
    return {
        "//": {"metadata": {"stackName": "s", "version": "0.21.0"}},
        "provider": {"aws": [{"region": "ap-northeast-2"}]},
        "resource": resources,
    }


def _review(base, head):
    return render(diff(side_from_docs("base", {"s": base}), side_from_docs("head", {"s": head})), allow=set())


# --- point 5: rules for every resource type -------------------------------------------


def _types_with_rules() -> set[str]:
    return set(rules.RULES) | set(rules.OTHER_FORCE_NEW)


def test_every_resource_type_of_the_synthesized_stacks_has_replacement_rules(synth):
    present = {rtype for doc in synth.stacks.values() for rtype in doc.get("resource", {})}
    missing = sorted(present - _types_with_rules())
    assert not missing, f"no replacement rules in review/rules.py for {missing}: read the provider's ForceNew arguments"


def test_every_provider_resource_the_code_can_create_has_replacement_rules():
    # Types that only some settings create (eni fixed IPs, managed scaling) are not in
    # the example's synthesis: every resource class the code imports must have rules too.
    imported = set()
    for path in [*ROOT.glob("emr_constructs/*.py"), *ROOT.glob("stacks/*.py")]:
        for module in re.findall(r"cdktf_cdktf_provider_aws\.([a-z0-9_]+) import", path.read_text()):
            if not module.startswith("data_") and module != "provider":
                imported.add(f"aws_{module}")
    assert imported, "no provider resource found: the import pattern changed"
    assert sorted(imported - _types_with_rules()) == []


def _reservation(description):
    return {
        "subnet_id": "subnet-1",
        "cidr_block": "10.0.1.8/29",
        "reservation_type": "explicit",
        "description": description,
    }


def test_a_reservation_whose_description_changes_is_replaced_and_warned():
    base = _doc(aws_ec2_subnet_cidr_reservation={"r": _reservation("fixed IPs: a, b")})
    head = _doc(aws_ec2_subnet_cidr_reservation={"r": _reservation("fixed IPs: a")})
    review = _review(base, head)
    change = review.plan.stacks[0].changes[0]
    assert change.replaced
    assert "- `aws_ec2_subnet_cidr_reservation.r`: `description` — **replaced**" in review.markdown
    assert "other instances may take the fixed master IPs" in review.markdown


# --- point 6: ignored or meta-only differences are no change ---------------------------

GROUP = {
    "cluster_id": "j-1",
    "name": "task-spot-static-a",
    "instance_type": "r5.xlarge",
    "instance_count": 4,
    "bid_price": "0.24",
    "lifecycle": {"ignore_changes": ["instance_count"]},
}


def test_ignored_and_depends_on_only_differences_are_counted_unchanged_with_a_note():
    base = _doc(aws_emr_instance_group={"g": copy.deepcopy(GROUP)}, aws_s3_bucket={"b": {"bucket": "x"}})
    head = copy.deepcopy(base)
    head["resource"]["aws_emr_instance_group"]["g"]["instance_count"] = 6
    head["resource"]["aws_s3_bucket"]["b"]["depends_on"] = ["aws_emr_instance_group.g"]
    review = _review(base, head)
    stack = review.plan.stacks[0]
    assert stack.status == "unchanged" and stack.changes == []
    assert "| `s` | unchanged | 0 | 0 | 0 | 0 |" in review.markdown
    assert "**Changed**" not in review.markdown
    assert "Counted as unchanged (2)" in review.markdown
    assert "- `aws_emr_instance_group.g`: `instance_count`" in review.markdown
    assert "- `aws_s3_bucket.b`: `depends_on`" in review.markdown


# --- point 7: deletions that lose data or access ---------------------------------------


def test_deleting_a_kms_key_that_a_cluster_uses_is_warned_in_the_summary_and_the_stack():
    security = {"name": "sc", "configuration": '{"k": "${aws_kms_key.disk.arn}"}'}
    base = _doc(
        aws_kms_key={"disk": {"description": "local disks"}},
        aws_emr_security_configuration={"sc": security},
    )
    head = _doc(aws_emr_security_configuration={"sc": {"name": "sc", "configuration": "{}"}})
    review = _review(base, head)
    summary = review.markdown.splitlines()[2]
    assert "**1 deletion loses data or access**" in summary
    assert "### Deletions that lose data or access" in review.markdown
    line = next(x for x in review.markdown.splitlines() if x.startswith("- **`aws_kms_key.disk` is destroyed"))
    assert "becomes unreadable" in line and "Used by: `aws_emr_security_configuration.sc`" in line


def test_a_deletion_that_loses_nothing_is_not_warned():
    base = _doc(aws_security_group={"g": {"name": "g", "description": "d", "vpc_id": "vpc-1"}})
    review = _review(base, _doc())
    assert "lose data or access" not in review.markdown


# --- point 8: a widened security-group rule is in the summary line ---------------------


def test_a_widened_rule_is_in_the_summary_line():
    def rule(cidr):
        return {
            "security_group_id": "sg-1",
            "ip_protocol": "tcp",
            "from_port": 22,
            "to_port": 22,
            "cidr_ipv4": cidr,
            "description": "SSH from the office",
        }

    base = _doc(aws_vpc_security_group_ingress_rule={"ssh": rule("10.20.0.0/24")})
    head = _doc(aws_vpc_security_group_ingress_rule={"ssh": rule("10.20.0.0/16")})
    summary = _review(base, head).markdown.splitlines()[2]
    assert "**1 security-group rule widened**" in summary
    assert "256× the addresses" in summary


# --- point 9: a frozen cluster's console values reset on replacement -------------------


def test_replacing_a_frozen_cluster_says_the_console_owned_values_reset():
    cluster = {
        "name": "stream-prod-01",
        "release_label": "emr-7.1.0",
        "service_role": "r",
        "core_instance_group": {"instance_type": "r5.xlarge", "instance_count": 3},
        "master_instance_group": {"instance_type": "m5.xlarge"},
        "lifecycle": {"ignore_changes": ["core_instance_group[0].instance_count", "step_concurrency_level"]},
    }
    base = _doc(aws_emr_cluster={"c": cluster})
    head = copy.deepcopy(base)
    head["resource"]["aws_emr_cluster"]["c"]["release_label"] = "emr-7.2.0"
    md = _review(base, head).markdown
    assert "**Frozen cluster replaced: what the console owns resets to the code's value**" in md
    assert "`core_instance_group.instance_count` = `3`" in md
    unfrozen = copy.deepcopy(head)
    del unfrozen["resource"]["aws_emr_cluster"]["c"]["lifecycle"]
    assert "Frozen cluster replaced" not in _review(base, unfrozen).markdown
