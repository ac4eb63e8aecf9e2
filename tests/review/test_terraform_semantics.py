"""What Terraform does with ``ignore_changes`` on a replacement and with protected
clusters, on hand-written cdk.tf.json documents (no synthesis).

* ``ignore_changes`` hides a difference only on an in-place update. When another
  attribute replaces the resource, Terraform plans the new object from the configuration
  with no ignored values (checked with terraform 1.11 by the issue's reporter: a frozen
  cluster's core count went 4 -> 3 in the replacement). Verdicts, the instances table and
  the cost follow that.
* A protected cluster cannot be replaced while the code keeps ``prevent_destroy`` (plan
  fails) or while it runs with termination protection (EMR refuses to terminate it):
  ``--allow-replace`` cannot change that, and the report says how to proceed.
"""

from __future__ import annotations

import copy
import json

from review.plan import diff, side_from_docs
from review.report import render


def _configurations(replication: int) -> str:
    return json.dumps([{"Classification": "hdfs-site", "Properties": {"dfs.replication": str(replication)}}])


FROZEN = {
    "name": "spark-batch-production-01",
    "release_label": "emr-7.5.0",
    "service_role": "emr-service",
    "termination_protection": False,
    # frozen (guide T3): operators resize core from the console.
    "lifecycle": {"ignore_changes": ["core_instance_group[0].instance_count"]},
    "configurations_json": _configurations(2),
    "ec2_attributes": {"instance_profile": "p", "subnet_id": "subnet-1"},
    "master_instance_group": {"instance_type": "m5.xlarge", "instance_count": 1},
    "core_instance_group": {"instance_type": "r5.xlarge", "instance_count": 4},
}


def _doc(cluster: dict, groups: dict | None = None) -> dict:
    resources = {"aws_emr_cluster": {"prod": cluster}}
    if groups:
        resources["aws_emr_instance_group"] = groups
    return {"provider": {"aws": [{"region": "us-east-1"}]}, "resource": resources}


def _review(base: dict, head: dict, allow=()):
    return render(diff(side_from_docs("base", {"s": base}), side_from_docs("head", {"s": head})), allow=set(allow))


def _core_count_4_to_3():
    base = copy.deepcopy(FROZEN)
    head = copy.deepcopy(FROZEN)
    head["core_instance_group"]["instance_count"] = 3
    head["configurations_json"] = _configurations(1)  # EMR's rule below 4 core nodes (tip T7)
    return base, head


def test_ignored_count_is_applied_when_the_cluster_is_replaced():
    base, head = _core_count_4_to_3()
    review = _review(_doc(base), _doc(head))
    change = review.plan.stacks[0].changes[0]
    assert change.replaced
    count = next(a for a in change.attrs if a.path == "core_instance_group.instance_count")
    assert count.applied and count.overridden and not count.replaces
    row = next(ln for ln in review.markdown.splitlines() if ln.startswith("| `core_instance_group.instance_count` |"))
    assert "not applied" not in row
    assert "applied although listed in `lifecycle.ignore_changes`: the cluster is replaced" in row


def test_instances_table_and_cost_use_the_replacement_count():
    base, head = _core_count_4_to_3()
    review = _review(_doc(base), _doc(head))
    core = next(ln for ln in review.markdown.splitlines() if "| core `core` |" in ln)
    assert "| 4 → **3** |" in core
    # us-east-1: m5.xlarge 0.192 + 0.048; r5.xlarge 0.252 + 0.063 = 0.315 per core node.
    cost = next(ln for ln in review.markdown.splitlines() if ln.startswith("| `spark-batch-production-01` | $"))
    assert cost == "| `spark-batch-production-01` | $1.500/h | $1.185/h | −$0.315/h |"


def test_ignored_count_alone_stays_unapplied_on_an_in_place_update():
    base = copy.deepcopy(FROZEN)
    head = copy.deepcopy(FROZEN)
    head["core_instance_group"]["instance_count"] = 5  # replication stays 2 (below 10)
    review = _review(_doc(base), _doc(head))
    # Only an ignored difference: Terraform says "No changes", so the review counts the
    # cluster as unchanged and lists it with the reason.
    stack = review.plan.stacks[0]
    assert stack.changes == [] and stack.status == "unchanged"
    assert not stack.inert[0].replaced
    assert "`core_instance_group.instance_count` (in `ignore_changes`)" in review.markdown
    assert not any("| core `core` |" in ln for ln in review.markdown.splitlines())  # count unchanged as applied


def test_replaced_task_group_resets_its_ignored_count_to_the_code():
    group = {
        "cluster_id": "${aws_emr_cluster.prod.id}",
        "name": "task-spot-static-a",
        "instance_type": "r5.xlarge",
        "instance_count": 6,
        "bid_price": "0.20",
        "lifecycle": {"ignore_changes": ["instance_count"]},
    }
    head_group = {**copy.deepcopy(group), "bid_price": "0.22", "instance_count": 1}
    review = _review(_doc(FROZEN, {"prod_a": group}), _doc(FROZEN, {"prod_a": head_group}))
    change = review.plan.stacks[0].changes[0]
    assert change.replaced
    row = next(ln for ln in review.markdown.splitlines() if "| task `task-spot-static-a` |" in ln)
    assert "| 6 → **1** |" in row


PROTECTED = {**FROZEN, "termination_protection": True, "lifecycle": {"prevent_destroy": True}}


def test_allow_replace_cannot_pass_a_cluster_the_head_keeps_protected():
    head = {**copy.deepcopy(PROTECTED), "release_label": "emr-7.6.0"}
    review = _review(_doc(PROTECTED), _doc(head), allow={"spark-batch-production-01"})
    assert review.blocked
    line = review.markdown.splitlines()[4]
    assert "`--allow-replace spark-batch-production-01` is given, but it cannot make this change succeed" in line
    assert "`Error: Instance cannot be destroyed`" in line
    assert "EMR refuses to terminate it" in line
    assert "land `protected=False` for this cluster alone first (an in-place change), apply it" in line
    assert 'docs/review.md, "Replace a protected cluster"' in line


def test_dropping_protection_together_with_the_replacement_is_still_impossible():
    # termination protection is on in the running cluster: the old cluster is destroyed
    # with its current settings, so turning it off in the same change is too late.
    head = {**copy.deepcopy(PROTECTED), "release_label": "emr-7.6.0", "termination_protection": False}
    del head["lifecycle"]
    review = _review(_doc(PROTECTED), _doc(head), allow={"spark-batch-production-01"})
    assert review.blocked
    hit = review.hits[0]
    assert hit.allowed and len(hit.blockers) == 1 and "termination_protection" in hit.blockers[0]


def test_first_step_of_the_runbook_is_in_place_and_says_protection_is_gone():
    head = {**copy.deepcopy(PROTECTED), "termination_protection": False, "lifecycle": {}}
    review = _review(_doc(PROTECTED), _doc(head))
    assert not review.blocked and not review.hits
    assert not review.plan.stacks[0].changes[0].replaced
    assert "**⚠️ Protection removed: `spark-batch-production-01`" in review.markdown


def test_second_step_of_the_runbook_replaces_an_unprotected_cluster():
    base = {**copy.deepcopy(PROTECTED), "termination_protection": False, "lifecycle": {}}
    head = {**copy.deepcopy(base), "release_label": "emr-7.6.0"}
    review = _review(_doc(base), _doc(head))
    assert not review.blocked
    assert review.plan.stacks[0].changes[0].replaced
