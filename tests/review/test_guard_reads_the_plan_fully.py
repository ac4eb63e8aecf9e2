"""The guard and the plan-mode report read everything Terraform's plan says (issue 19):

* a replacing change that puts ``protected=True`` back on a cluster that runs unprotected
  (the old runbook's "re-protect in the replacing change") is refused: Terraform reads
  ``prevent_destroy`` from the code it plans and stops with "Instance cannot be destroyed";
* imports are marked as imports in ``--plan`` mode;
* drift rows the code ignores or leaves unset are folded into one count.

Hand-made inputs derived from the real plans of tests/review/plans/; the real-Terraform
tier (tests/terraform/test_deploy_standin.py) checks the re-protect case against Terraform
itself.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

from review.cli import EXIT_GUARD, main
from review.plan import diff, side_from_docs
from review.report import render
from review.tfplan import review_plans
from tests.review.test_engine import _base

PLANS = Path(__file__).resolve().parent / "plans"
CLUSTER = "aws_emr_cluster.spark-batch-production-01"


def _unprotected_base() -> dict:
    base = _base()
    cluster = base["resource"]["aws_emr_cluster"]["stream-prod-01"]
    cluster["termination_protection"] = False
    del cluster["lifecycle"]
    return base


def test_replacing_change_that_protects_again_is_refused_even_when_allowed():
    head = _base()  # protected=True again: termination_protection and prevent_destroy
    head["resource"]["aws_emr_cluster"]["stream-prod-01"]["release_label"] = "emr-7.2.0"
    for allow in ((), ("stream-prod-01",)):
        review = render(
            diff(side_from_docs("base", {"s": _unprotected_base()}), side_from_docs("head", {"s": head})),
            allow=set(allow),
        )
        assert review.blocked, allow
        guard = review.markdown.split("\n\n", 3)[2]
        assert "the replacing change sets `protected=True` again" in guard
        assert "Instance cannot be destroyed" in guard
        assert "land the replacing change with `protected=False`" in guard
        assert "then land `protected=True` alone" in guard
        [hit] = review.as_json()["guard"]
        assert hit["outcome"] == "replaced" and hit["causes"] == ["release_label"]


def test_replacing_an_unprotected_cluster_that_stays_unprotected_passes():
    head = _unprotected_base()
    head["resource"]["aws_emr_cluster"]["stream-prod-01"]["release_label"] = "emr-7.2.0"
    review = render(
        diff(side_from_docs("base", {"s": _unprotected_base()}), side_from_docs("head", {"s": head})), allow=set()
    )
    assert not review.blocked
    assert "No protected cluster is replaced or destroyed." in review.markdown


def test_protecting_again_in_place_passes():
    # The third step of the runbook: protected=True alone, after the replacement is applied.
    review = render(
        diff(side_from_docs("base", {"s": _unprotected_base()}), side_from_docs("head", {"s": _base()})), allow=set()
    )
    assert not review.blocked


def _stack_with(tmp_path: Path, scenario: str, plan: dict, cdk: dict) -> str:
    folder = tmp_path / "spark-batch"
    folder.mkdir()
    (folder / "cdk.tf.json").write_text(json.dumps(cdk))
    (folder / "plan.json").write_text(json.dumps(plan))
    return str(folder / "plan.json")


def test_plan_mode_refuses_the_re_protect_case_with_the_re_protect_runbook(tmp_path, capsys):
    # The frozen-core-count plan replaces an unprotected cluster (termination_protection false
    # in the state); the code beside it now keeps prevent_destroy, as protected=True writes.
    plan = json.loads((PLANS / "frozen-core-count" / "plan.json").read_text())
    assert plan["resource_changes"][0]["change"]["before"]["termination_protection"] is False
    cdk = json.loads((PLANS / "frozen-core-count" / "cdk.tf.json").read_text())
    cdk["resource"]["aws_emr_cluster"]["spark-batch-production-01"]["lifecycle"]["prevent_destroy"] = True
    spec = _stack_with(tmp_path, "frozen-core-count", plan, cdk)
    code = main(["--plan", spec, "--allow-replace", "spark-batch-production-01", "--quiet"])
    out = capsys.readouterr().out
    assert code == EXIT_GUARD
    assert "the replacing change sets `protected=True` again" in out
    # Not the unprotect-first advice: the cluster already runs unprotected.
    assert "land `protected=False` for this cluster alone first" not in out


def test_plan_mode_protected_replacement_still_gets_the_unprotect_first_runbook(tmp_path):
    plan = json.loads((PLANS / "protected-upgrade" / "plan.json").read_text())
    assert plan["resource_changes"][0]["change"]["before"]["termination_protection"] is True
    md = review_plans([_plan_file("protected-upgrade")], allow=set()).markdown
    assert "land `protected=False` for this cluster alone first" in md


def _plan_file(name: str) -> str:
    return str(PLANS / name / "plan.json")


def _imported(plan: dict, actions: list[str]) -> dict:
    plan = copy.deepcopy(plan)
    rc = plan["resource_changes"][0]
    rc["change"]["actions"] = actions
    rc["change"]["importing"] = {"id": "j-2AXXXXXXGAPLF"}
    if actions == ["no-op"]:
        rc["change"]["after"] = copy.deepcopy(rc["change"]["before"])
    return plan


def test_plan_mode_marks_imports(tmp_path):
    base_plan = json.loads((PLANS / "core-count-in-place" / "plan.json").read_text())
    cdk = json.loads((PLANS / "core-count-in-place" / "cdk.tf.json").read_text())
    for actions, also in ((["no-op"], None), (["update"], "updated")):
        folder = tmp_path / "-".join(actions)
        folder.mkdir()
        spec = _stack_with(folder, "", _imported(base_plan, actions), cdk)
        review = review_plans([f"spark-batch={spec}"], allow=set())
        verdicts = review.as_json()["environments"][""]["spark-batch"]
        assert verdicts["imported"] == [CLUSTER], actions
        assert verdicts["created"] == []
        if also:
            assert verdicts[also] == [CLUSTER]
        assert "**imported** (`j-2AXXXXXXGAPLF`)" in review.markdown
        assert review.as_json()["summary"]["clusters_imported"] == 1


def test_drift_that_the_apply_keeps_is_folded_into_one_count(tmp_path):
    from tests.review.test_tfplan import _drift_plan

    plan = _drift_plan()
    drift = plan["resource_drift"][0]["change"]["after"]
    drift["step_concurrency_level"] = 5
    drift["tags"] = {**drift["tags"], "edited-by": "console", "cost-center": "42"}
    drift["log_encryption_kms_key_id"] = "arn:aws:kms:ap-northeast-2:123456789012:key/1"
    stack = tmp_path / "spark-batch"
    stack.mkdir()
    shutil.copy(PLANS / "core-count-in-place" / "cdk.tf.json", stack / "cdk.tf.json")
    (stack / "plan.json").write_text(json.dumps(plan))
    md = review_plans([str(stack / "plan.json")], allow=set()).markdown
    section = md.split("### Changed outside Terraform (drift)", 1)[1].split("\n#", 1)[0]
    assert "`step_concurrency_level` | `1` | `5` | **reverts it**" in section
    assert "`tags.edited-by` | — | `console` | **reverts it**" in section  # the code's tags drop it
    assert "keeps it" not in section and "`tags.cost-center`" not in section
    # The new tag the code does not manage and the key id the code leaves unset: counted, not listed.
    assert (
        "2 more attributes changed outside Terraform that the code ignores or leaves unset; the next apply keeps"
        f" them: `{CLUSTER}` (2)."
    ) in section


def test_plan_mode_counts_a_task_fleet_with_its_cluster(tmp_path):
    # In Terraform's plan a task fleet names its cluster by id (the state's cluster_id);
    # the review ties it to the cluster as it does task groups, so capacity and cost count it.
    plan = json.loads((PLANS / "core-count-in-place" / "plan.json").read_text())
    cluster = plan["resource_changes"][0]
    cluster_id = cluster["change"]["before"]["id"]
    fleet = {
        "cluster_id": cluster_id,
        "name": "task",
        "target_on_demand_capacity": 0,
        "target_spot_capacity": 8,
        "instance_type_configs": [
            {"instance_type": "r5.2xlarge", "weighted_capacity": 4, "bid_price_as_percentage_of_on_demand_price": 80}
        ],
        "launch_specifications": [],
    }
    grown = {**fleet, "target_spot_capacity": 16}
    plan["resource_changes"].append(
        {
            "address": "aws_emr_instance_fleet.flex_task",
            "mode": "managed",
            "type": "aws_emr_instance_fleet",
            "name": "flex_task",
            "provider_name": "registry.terraform.io/hashicorp/aws",
            "change": {"actions": ["update"], "before": fleet, "after": grown, "after_unknown": {}},
        }
    )
    cdk = json.loads((PLANS / "core-count-in-place" / "cdk.tf.json").read_text())
    spec = _stack_with(tmp_path, "", plan, cdk)
    review = review_plans([f"spark-batch={spec}"], allow=set())
    [env] = review.envs
    from review.emr import clusters

    found = clusters(env.plan.head, env.plan.head_resolver)
    [(_, head)] = [(k, c) for k, c in found.items() if c.name == "spark-batch-production-01"]
    task = [g for g in head.groups if g.role == "task" and g.fleet is not None]
    assert len(task) == 1 and task[0].name == "task"
