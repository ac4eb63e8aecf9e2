"""The review engine on hand-written cdk.tf.json documents (no synthesis, milliseconds).

See test_replacement_rules.py for how the review tests are split.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest

from review.emr import clusters, cost
from review.plan import diff, side_from_docs
from review.report import render

CLUSTER = {
    "//": {"metadata": {"path": "s/c/cluster", "uniqueId": "c"}},
    "name": "stream-prod-01",
    "release_label": "emr-7.1.0",
    "service_role": "emr-service",
    "termination_protection": True,
    "lifecycle": {"prevent_destroy": True},
    "ec2_attributes": {
        "instance_profile": "p",
        "subnet_id": "subnet-1",
        "emr_managed_master_security_group": "${aws_security_group.master.id}",
    },
    "master_instance_group": {"instance_type": "m5.xlarge", "instance_count": 1},
    "core_instance_group": {"instance_type": "r5.xlarge", "instance_count": 3},
}


def _doc(region="ap-northeast-2", **resources):
    return {
        "//": {"metadata": {"stackName": "s", "version": "0.21.0"}},
        "provider": {"aws": [{"region": region}]},
        "resource": resources,
    }


def _base():
    return _doc(
        aws_emr_cluster={"stream-prod-01": copy.deepcopy(CLUSTER)},
        aws_security_group={"master": {"name": "master-managed", "description": "EMR master", "vpc_id": "vpc-1"}},
        aws_emr_instance_group={
            "stream-prod-01_task": {
                "cluster_id": "${aws_emr_cluster.stream-prod-01.id}",
                "name": "task-spot-dynamic",
                "instance_type": "m5.xlarge",
                "instance_count": 4,
                "bid_price": "0.19",
            }
        },
    )


def _review(base, head, allow=(), **kw):
    return render(diff(side_from_docs("base", base), side_from_docs("head", head)), allow=set(allow), **kw)


def test_metadata_only_difference_is_no_change():
    head = _base()
    head["resource"]["aws_emr_cluster"]["stream-prod-01"]["//"]["metadata"]["path"] = "s/other/cluster"
    review = _review({"s": _base()}, {"s": head})
    assert review.plan.stacks[0].status == "unchanged"
    assert "No resource changes in any stack." in review.markdown


def test_stack_added_and_removed_are_reported():
    review = _review({"old": _base()}, {"new": _base()})
    status = {s.name: s.status for s in review.plan.stacks}
    assert status == {"new": "added", "old": "removed"}


def test_removing_the_stack_of_a_protected_cluster_trips_the_guard():
    review = _review({"s": _base()}, {})
    assert review.blocked
    assert "would be destroyed (its stack is removed)" in review.markdown


def test_allow_replace_accepts_the_terraform_address():
    # Protected by prevent_destroy only, which the head drops: Terraform can replace it
    # once allowed (termination protection would stop it whatever is allowed).
    base = _base()
    base["resource"]["aws_emr_cluster"]["stream-prod-01"]["termination_protection"] = False
    head = copy.deepcopy(base)
    cluster = head["resource"]["aws_emr_cluster"]["stream-prod-01"]
    cluster["release_label"] = "emr-7.2.0"
    del cluster["lifecycle"]
    review = _review({"s": base}, {"s": head}, allow={"aws_emr_cluster.stream-prod-01"})
    assert review.hits and not review.blocked
    assert "allowed by `--allow-replace stream-prod-01`" in review.markdown


def test_allow_replace_naming_no_affected_cluster_is_noted():
    review = _review({"s": _base()}, {"s": _base()}, allow={"strem-prod-01"})
    assert "`--allow-replace strem-prod-01` matches no protected cluster" in review.markdown


def test_ignore_changes_all_applies_nothing():
    head = _base()
    cluster = head["resource"]["aws_emr_cluster"]["stream-prod-01"]
    cluster["lifecycle"]["ignore_changes"] = "all"
    cluster["release_label"] = "emr-7.2.0"
    review = _review({"s": _base()}, {"s": head})
    assert not review.blocked
    assert "no change applied" in review.markdown


def test_renamed_construct_id_destroys_the_cluster_and_says_why():
    head = _base()
    head["resource"]["aws_emr_cluster"] = {"stream-prod-01-v2": copy.deepcopy(CLUSTER)}
    head["resource"]["aws_emr_instance_group"]["stream-prod-01_task"]["cluster_id"] = (
        "${aws_emr_cluster.stream-prod-01-v2.id}"
    )
    review = _review({"s": _base()}, {"s": head})
    assert review.blocked
    assert "the construct id changed, which destroys and re-creates the cluster" in review.markdown


def test_moved_block_pairs_old_and_new_address():
    head = _base()
    head["resource"]["aws_emr_cluster"] = {"stream-prod-01-v2": copy.deepcopy(CLUSTER)}
    head["resource"]["aws_emr_instance_group"]["stream-prod-01_task"]["cluster_id"] = (
        "${aws_emr_cluster.stream-prod-01-v2.id}"
    )
    head["moved"] = [{"from": "aws_emr_cluster.stream-prod-01", "to": "aws_emr_cluster.stream-prod-01-v2"}]
    review = _review({"s": _base()}, {"s": head})
    assert not review.blocked
    assert not any(c.action == "removed" for c in review.plan.stacks[0].changes)


def test_security_group_replacement_cascades_into_the_cluster():
    head = _base()
    head["resource"]["aws_security_group"]["master"]["description"] = "EMR master (managed)"
    review = _review({"s": _base()}, {"s": head})
    assert review.blocked
    assert "`ec2_attributes.emr_managed_master_security_group`" in review.markdown.splitlines()[4]


def test_cross_stack_reference_is_followed_into_the_defining_stack():
    foundation = _doc(
        aws_s3_object={
            "tag": {"bucket": "assets", "key": "bootstrap/s/tag-0123456789abcdef.sh", "source": "assets/tag/ABC/tag.sh"}
        }
    )
    foundation["output"] = {"cross-stack-output-key": {"value": "${aws_s3_object.tag.key}"}}
    purpose = _base()
    purpose["resource"]["aws_emr_cluster"]["stream-prod-01"]["bootstrap_action"] = [
        {
            "name": "tag",
            "path": "s3://assets/${data.terraform_remote_state.cross-stack-reference-input-f.outputs.cross-stack-output-key}",
        }
    ]
    head_foundation = copy.deepcopy(foundation)
    head_foundation["resource"]["aws_s3_object"]["tag"]["key"] = "bootstrap/s/tag-fedcba9876543210.sh"
    review = _review({"f": foundation, "s": purpose}, {"f": head_foundation, "s": copy.deepcopy(purpose)})
    change = next(c for c in review.plan.stack("s").changes if c.address == "aws_emr_cluster.stream-prod-01")
    # A new script path on the same actions and args: the provider updates the state only
    # (bootstrap_action name/path are not ForceNew), so the running cluster keeps the old
    # script, whose object the change deletes.
    assert not change.replaced and not review.blocked
    section = review.markdown.split("### Bootstrap scripts", 1)[1]
    assert "**tag.sh**" in section
    assert (
        "cluster `stream-prod-01` (s): updated in the Terraform state only: EMR keeps running the old script" in section
    )
    assert "is deleted while `stream-prod-01` keeps running it: new nodes" in section


def test_cost_matches_hand_computed_figures():
    side = side_from_docs("base", {"s": _base()})
    plan = diff(side, side)
    cluster = clusters(side, plan.base_resolver)[("s", "aws_emr_cluster.stream-prod-01")]
    from emr_constructs.model.pricing import load_price_table

    # ap-northeast-2: m5.xlarge 0.236 + 0.048 fee; r5.xlarge 0.304 + 0.063 fee.
    # master 1 x 0.284 + core 3 x 0.367 + task 4 x (bid 0.19 + fee 0.048) = 0.284 + 1.101 + 0.952
    assert cost(cluster, load_price_table().price).total == Decimal("2.337")


def test_cost_uses_the_region_of_the_stack_provider():
    side = side_from_docs("base", {"s": _doc("us-east-1", aws_emr_cluster={"c": copy.deepcopy(CLUSTER)})})
    cluster = clusters(side, diff(side, side).base_resolver)[("s", "aws_emr_cluster.c")]
    from emr_constructs.model.pricing import load_price_table

    # us-east-1: m5.xlarge 0.192 + 0.048; r5.xlarge 0.252 + 0.063 -> 0.240 + 3 x 0.315
    assert cost(cluster, load_price_table().price).total == Decimal("1.185")


def test_unknown_instance_type_makes_the_cost_unknown_with_the_reason():
    head = _base()
    head["resource"]["aws_emr_cluster"]["stream-prod-01"]["core_instance_group"]["instance_type"] = "x9.huge"
    review = _review({"s": _base()}, {"s": head}, allow={"stream-prod-01"})
    row = next(ln for ln in review.markdown.splitlines() if ln.startswith("| `stream-prod-01` | $"))
    assert row.endswith("| unknown | unknown |")
    assert "no on-demand price for instance_type = 'x9.huge'" in review.markdown


def test_missing_price_table_is_reported_not_raised():
    head = _base()
    head["resource"]["aws_emr_cluster"]["stream-prod-01"]["core_instance_group"]["instance_count"] = 4
    review = _review({"s": _base()}, {"s": head}, price_lookup=None, price_problem="price table unreadable: boom")
    assert "| `stream-prod-01` | unknown | unknown | unknown |" in review.markdown
    assert "price table unreadable: boom" in review.markdown


def _sg_doc(rule):
    return _doc(
        aws_security_group={"extra": {"name": "master-additional", "description": "d", "vpc_id": "v"}},
        aws_vpc_security_group_ingress_rule={"r": {"security_group_id": "${aws_security_group.extra.id}", **rule}},
    )


def test_security_group_rule_change_is_rendered_with_ports_source_and_description():
    before = _sg_doc(
        {
            "ip_protocol": "tcp",
            "from_port": 8443,
            "to_port": 8443,
            "referenced_security_group_id": "${aws_security_group.extra.id}",
            "description": "service access",
        }
    )
    after = _sg_doc({"ip_protocol": "tcp", "from_port": 8000, "to_port": 8100, "cidr_ipv4": "0.0.0.0/0"})
    review = _review({"s": before}, {"s": after})
    line = next(ln for ln in review.markdown.splitlines() if ln.startswith("- ✏️"))
    assert (
        'ingress tcp 8443 from sg `master-additional` (into sg `master-additional`) — "service access" → '
        "ingress tcp 8000-8100 from 0.0.0.0/0 (into sg `master-additional`)"
    ) in line
    assert "⚠️ no description" in review.markdown
    assert "⚠️ ingress from the whole internet" in review.markdown


def _policy_doc(statements):
    return _doc(
        aws_iam_role_policy={
            "p": {
                "name": "data",
                "role": "emr-instance",
                "policy": json.dumps({"Version": "2012-10-17", "Statement": statements}),
            }
        }
    )


def test_iam_statements_are_compared_by_sid():
    before = _policy_doc(
        [
            {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::d/*"},
            {"Sid": "Gone", "Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "*"},
        ]
    )
    after = _policy_doc(
        [
            {
                "Sid": "Read",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:*"],
                "Resource": ["arn:aws:s3:::d/*", "arn:aws:s3:::e/*"],
            }
        ]
    )
    review = _review({"s": before}, {"s": after})
    section = review.markdown.split("### IAM", 1)[1]
    assert "Sid `Read` (Allow, changed): actions + `s3:*`; resources + `arn:aws:s3:::e/*`" in section
    assert "⚠️ wildcard action added" in section
    assert "Sid `Gone` (Allow, removed): actions − `ec2:CreateTags`; resources − `*`" in section
    assert "(role `emr-instance`)" in section


def test_added_task_group_with_zero_instances_mentions_the_provider_issue():
    head = _base()
    head["resource"]["aws_emr_instance_group"]["stream-prod-01_b"] = {
        "cluster_id": "${aws_emr_cluster.stream-prod-01.id}",
        "name": "task-spot-static-b",
        "instance_type": "r5.xlarge",
        "instance_count": 0,
        "bid_price": "0.24",
    }
    review = _review({"s": _base()}, {"s": head})
    assert "launches one instance first (provider issue 38837)" in review.markdown


@pytest.mark.parametrize("tree_paths,reported", [(("/tmp/a", "/work/x"), False), ((None, None), True)])
def test_backend_path_inside_the_tree_is_not_a_change(tree_paths, reported):
    from review.plan import Side, Stack

    def side(label, root, tree):
        doc = _base()
        doc["terraform"] = {"backend": {"local": {"path": f"{root}/terraform.s.tfstate"}}}
        return Side(label, {"s": Stack("s", doc)}, tree)

    plan = diff(side("b", "/tmp/a", tree_paths[0]), side("h", "/work/x", tree_paths[1]))
    assert bool(plan.stacks[0].settings) is reported


def test_dropping_protection_in_the_change_that_replaces_the_cluster_still_trips_the_guard():
    # Protection is read from the base: a PR cannot unprotect and replace in one step.
    head = _base()
    cluster = head["resource"]["aws_emr_cluster"]["stream-prod-01"]
    cluster["release_label"] = "emr-7.2.0"
    cluster["termination_protection"] = False
    del cluster["lifecycle"]
    review = _review({"s": _base()}, {"s": head})
    assert review.blocked
    assert "protected cluster `stream-prod-01`" in review.markdown


def _with_script(doc, *, cluster=True):
    doc["resource"]["aws_s3_object"] = {
        "bootstrap_tag": {"bucket": "assets", "key": "bootstrap/s/tag-0123456789abcdef.py", "source": "assets/tag.py"}
    }
    if cluster:
        doc["resource"]["aws_emr_cluster"]["dev-01"] = {
            **copy.deepcopy(CLUSTER),
            "name": "dev-01",
            "termination_protection": False,
            "lifecycle": {},
            "bootstrap_action": [{"name": "tag", "path": "s3://assets/${aws_s3_object.bootstrap_tag.key}"}],
        }
    return doc


def test_removing_the_only_cluster_of_an_unchanged_script_is_not_a_script_change():
    review = _review({"s": _with_script(_base())}, {"s": _with_script(_base(), cluster=False)})
    assert [c.address for c in review.plan.stacks[0].changes] == ["aws_emr_cluster.dev-01"]
    assert "### Bootstrap scripts" not in review.markdown
