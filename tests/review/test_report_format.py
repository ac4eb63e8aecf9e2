"""The report's shape on hand-written cdk.tf.json documents: the summary line first, a
bootstrap script's diff once, how far a CIDR is widened, and the Spot capacity that a
replacement of task groups drops (guide tip T8)."""

from __future__ import annotations

import copy

from review.plan import Side, Stack, diff, side_from_docs
from review.report import render, render_environments

CLUSTER = {
    "name": "spark-batch-production-01",
    "release_label": "emr-7.5.0",
    "termination_protection": True,
    "lifecycle": {"prevent_destroy": True},
    "ec2_attributes": {"instance_profile": "p", "subnet_id": "subnet-1"},
    "master_instance_group": {"instance_type": "m5.xlarge", "instance_count": 1},
    "core_instance_group": {"instance_type": "r5.xlarge", "instance_count": 2},
}


def _group(name: str, itype: str, count: int, bid: str, **extra) -> dict:
    return {
        "cluster_id": "${aws_emr_cluster.prod.id}",
        "name": name,
        "instance_type": itype,
        "instance_count": count,
        "bid_price": bid,
        "lifecycle": {"ignore_changes": ["instance_count"], **extra},
    }


def _spot_doc(bid_a="0.20", bid_b="0.20", type_dyn="m5.xlarge", **lifecycle) -> dict:
    return {
        "provider": {"aws": [{"region": "us-east-1"}]},
        "resource": {
            "aws_emr_cluster": {"prod": copy.deepcopy(CLUSTER)},
            "aws_emr_instance_group": {
                "prod_a": _group("task-spot-static-a", "r5.xlarge", 6, bid_a, **lifecycle),
                "prod_b": _group("task-spot-static-b", "m5.2xlarge", 1, bid_b, **lifecycle),
                "prod_dyn": _group("task-spot-dynamic", type_dyn, 3, "0.15"),
            },
        },
    }


def _review(base: dict, head: dict, allow=()):
    return render(diff(side_from_docs("base", {"s": base}), side_from_docs("head", {"s": head})), allow=set(allow))


def _section(markdown: str, heading: str) -> str:
    return markdown.split(heading, 1)[1].split("\n#", 1)[0]


# --- Spot capacity ---------------------------------------------------------------------


def test_bid_change_of_the_static_pair_says_all_static_capacity_drops_and_counts_reset():
    review = _review(_spot_doc(), _spot_doc(bid_a="0.22", bid_b="0.22"))
    spot = _section(review.markdown, "### Spot capacity")
    assert (
        "**All static Spot capacity of `spark-batch-production-01` drops at once:** `task-spot-static-a` "
        "(6 × r5.xlarge) and `task-spot-static-b` (1 × m5.2xlarge) are replaced together"
    ) in spot
    assert (
        "`task-spot-static-a` (static task group of `spark-batch-production-01`): replaced destroy-then-create" in spot
    )
    assert "Capacity 6 × r5.xlarge, bid 0.20 → 6 × r5.xlarge, bid 0.22." in spot
    assert "Count resets to 6, the code's value" in spot and "the A/B rotation state resets" in spot
    assert "`python -m ops status spark-batch-production-01`" in spot
    assert "task-spot-dynamic" not in spot  # untouched


def test_replaced_dynamic_group_says_its_hand_sized_count_is_lost():
    review = _review(_spot_doc(), _spot_doc(type_dyn="m5.2xlarge"))
    spot = _section(review.markdown, "### Spot capacity")
    assert (
        "`task-spot-dynamic` (dynamic task group of `spark-batch-production-01`): replaced destroy-then-create" in spot
    )
    assert "Capacity 3 × m5.xlarge, bid 0.15 → 3 × m5.2xlarge, bid 0.15." in spot
    assert "a count sized by hand is lost" in spot
    assert "drops at once" not in spot


def test_create_before_destroy_keeps_capacity_during_the_swap():
    review = _review(
        _spot_doc(create_before_destroy=True), _spot_doc(bid_a="0.22", bid_b="0.22", create_before_destroy=True)
    )
    spot = _section(review.markdown, "### Spot capacity")
    assert "replaced create-before-destroy: the new group launches before the old one is resized to 0" in spot
    assert "drops at once" not in spot


def test_in_place_count_change_is_no_spot_capacity_event():
    head = _spot_doc()
    head["resource"]["aws_emr_instance_group"]["prod_a"]["instance_count"] = 4
    assert "### Spot capacity" not in _review(_spot_doc(), head).markdown


# --- summary line ----------------------------------------------------------------------


def test_summary_line_comes_first_with_counts_and_cost_delta():
    head = _spot_doc(bid_a="0.22", bid_b="0.22")
    head["resource"]["aws_emr_cluster"]["prod"]["release_label"] = "emr-7.6.0"
    plans = [
        ("example", diff(side_from_docs("b", {"s": _spot_doc()}), side_from_docs("h", {"s": head}))),
        ("acme", diff(side_from_docs("b", {"t": _spot_doc()}), side_from_docs("h", {"t": _spot_doc()}))),
    ]
    review = render_environments(plans)
    lines = review.markdown.splitlines()
    # bids +0.02 on 6 + 1 static instances: +$0.140/h; the release change costs nothing.
    assert lines[2] == (
        "**Summary:** 2 environments (`example`, `acme`) · 1 of 2 stacks changed · 1 cluster replaced"
        " or destroyed (1 protected) · 3 task groups replaced or removed · hourly cost +$0.140/h"
    )
    assert lines[4].startswith(
        "**⛔ Replacement guard: protected cluster `spark-batch-production-01` (environment `example`, stack `s`"
    )
    assert review.as_json()["summary"]["cost_delta_per_hour"] == "0.140"


# --- CIDR ------------------------------------------------------------------------------


def _rule_doc(cidr: str) -> dict:
    slug = cidr.replace(".", "-").replace("/", "-")
    return {
        "resource": {
            "aws_security_group": {"extra": {"name": "master-additional", "description": "d", "vpc_id": "v"}},
            "aws_vpc_security_group_ingress_rule": {
                f"ui-from-{slug}": {
                    "security_group_id": "${aws_security_group.extra.id}",
                    "ip_protocol": "tcp",
                    "from_port": 18080,
                    "to_port": 18080,
                    "cidr_ipv4": cidr,
                    "description": "Spark History UI from the office",
                }
            },
        }
    }


def test_widened_cidr_says_by_how_much():
    review = _review(_rule_doc("10.30.0.0/22"), _rule_doc("10.30.0.0/16"))
    rules = _section(review.markdown, "### Security-group rules")
    assert "**widened 10.30.0.0/22 → 10.30.0.0/16: /22 → /16: 64× the addresses**" in rules
    assert "➕" not in rules and "➖" not in rules  # one change, not an unrelated add and remove


def test_narrowed_and_moved_cidrs_are_named_too():
    narrowed = _section(
        _review(_rule_doc("10.30.0.0/16"), _rule_doc("10.30.4.0/22")).markdown, "### Security-group rules"
    )
    assert "narrowed 10.30.0.0/16 → 10.30.4.0/22: /16 → /22: 1/64 of the addresses" in narrowed
    moved = _section(_review(_rule_doc("10.30.0.0/22"), _rule_doc("10.40.0.0/20")).markdown, "### Security-group rules")
    assert "moved 10.30.0.0/22 → 10.40.0.0/20 (no overlap): /22 → /20: 4× the addresses" in moved


# --- bootstrap diff once -----------------------------------------------------------------


def _script_side(tmp_path, label: str, text: str, digest: str) -> Side:
    stacks = {}
    for name in ("batch", "stream"):
        root = tmp_path / label / name
        (root / "assets").mkdir(parents=True)
        (root / "assets" / "tag.py").write_text(text)
        key = f"bootstrap/{name}/tag-{digest}.py"
        stacks[name] = Stack(
            name,
            {
                "resource": {
                    "aws_s3_object": {"tag": {"bucket": "assets", "key": key, "source": "assets/tag.py"}},
                    "aws_emr_cluster": {
                        "c": {
                            **copy.deepcopy(CLUSTER),
                            "name": f"{name}-01",
                            "termination_protection": False,
                            "lifecycle": {},
                            "bootstrap_action": [{"name": "tag", "path": "s3://assets/${aws_s3_object.tag.key}"}],
                        }
                    },
                }
            },
            root,
        )
    return Side(label, stacks)


def test_a_script_diff_is_shown_once_for_every_stack_that_uploads_it(tmp_path):
    base = _script_side(tmp_path, "base", "print('tag')\n", "0123456789abcdef")
    head = _script_side(tmp_path, "head", "print('tag')\nprint('root volume too')\n", "fedcba9876543210")
    review = render(diff(base, head))
    assert review.markdown.count("+print('root volume too')") == 1
    assert review.markdown.count("<summary>script diff</summary>") == 1
    assert "script diff: the same as in stack `batch` (shown there once)" in review.markdown


def test_summary_line_counts_a_new_cluster():
    head = _spot_doc()
    head["resource"]["aws_emr_cluster"]["adhoc"] = {**copy.deepcopy(CLUSTER), "name": "spark-batch-adhoc-01"}
    line = _review(_spot_doc(), head).markdown.splitlines()[2]
    # us-east-1: master m5.xlarge 0.240 + 2 core r5.xlarge x 0.315 = +$0.870/h
    assert line == (
        "**Summary:** 1 of 1 stack changed · 1 cluster created · 0 clusters replaced or destroyed"
        " (0 protected) · 0 task groups replaced or removed · hourly cost +$0.870/h"
    )


def test_an_adopted_cluster_is_imported_not_created():
    head = _spot_doc()
    head["resource"]["aws_emr_cluster"]["adhoc"] = {**copy.deepcopy(CLUSTER), "name": "spark-batch-adhoc-01"}
    head["import"] = [{"to": "aws_emr_cluster.adhoc", "id": "j-2AAAAAAAAAAAA"}]
    review = _review(_spot_doc(), head)
    assert review.as_json()["environments"][""]["s"]["imported"] == ["aws_emr_cluster.adhoc"]
    assert review.as_json()["environments"][""]["s"]["created"] == []
    assert "1 cluster imported · 0 clusters replaced" in review.markdown.splitlines()[2]
    assert "**Imported, not created**: the existing cluster `j-2AAAAAAAAAAAA` is adopted" in review.markdown
