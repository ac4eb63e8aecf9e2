"""``python -m review --plan``: the report from Terraform's own plans.

The plans under tests/review/plans/ are real: terraform 1.11 with the aws provider
5.100.0 planned each scenario's configuration against a state (plans/generate.py, which
says how; ``-refresh=false``, so no AWS call). When terraform is available, one test
plans them again and checks the committed files still say what Terraform says.

Drift needs a refresh against an AWS endpoint, so the drift case is a plan written by hand
in Terraform's documented JSON plan format (``resource_drift`` entries have the shape of
``resource_changes``).
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from review.cli import EXIT_GUARD, EXIT_OK, EXIT_USAGE, main
from review.tfplan import plan_diff, review_plans

PLANS = Path(__file__).resolve().parent / "plans"


def _plan(name: str) -> str:
    return str(PLANS / name / "plan.json")


def test_ignored_count_is_applied_in_terraforms_replacement():
    # Terraform itself: the frozen cluster's ignored core count 5 -> 3 is part of the new cluster.
    raw = json.loads(Path(_plan("frozen-core-count")).read_text())
    rc = raw["resource_changes"][0]
    assert rc["change"]["actions"] == ["delete", "create"]
    assert rc["change"]["before"]["core_instance_group"][0]["instance_count"] == 5
    assert rc["change"]["after"]["core_instance_group"][0]["instance_count"] == 3
    review = review_plans([_plan("frozen-core-count")], allow=set())
    md = review.markdown
    assert "| `configurations_json` |" in md and "**replaces the cluster** |" in md
    assert (
        "| `core_instance_group.instance_count` | `5` | `3` | set on the new cluster (Terraform replaces it for "
        "another attribute) |"
    ) in md
    assert "| `spark-batch-production-01` | core `core` | r5.xlarge | 5 → **3** | on-demand |" in md
    assert "| `spark-batch-production-01` | $1.815/h | $1.185/h | −$0.630/h |" in md


def test_verdicts_come_from_terraforms_actions():
    review = review_plans([_plan(n) for n in ("frozen-core-count", "spot-bid", "core-count-in-place")], allow=set())
    verdicts = review.as_json()["environments"][""]
    assert verdicts["frozen-core-count"]["replaced"] == ["aws_emr_cluster.spark-batch-production-01"]
    assert verdicts["core-count-in-place"]["updated"] == ["aws_emr_cluster.spark-batch-production-01"]
    assert verdicts["spot-bid"] == {
        "status": "changed",
        "created": [],
        "destroyed": [],
        "updated": [],
        "imported": [],
        "replaced": ["aws_emr_instance_group.spark-batch-production-01_task-spot-static-a"],
    }
    # Computed attributes the code does not set are not listed as changes.
    assert "`core_instance_group.id`" not in review.markdown
    assert "`autoscaling_role`" not in review.markdown


def test_spot_capacity_from_the_plan_shows_the_live_count_resetting():
    md = review_plans([_plan("spot-bid")], allow=set()).markdown
    spot = md.split("### Spot capacity", 1)[1].split("\n#", 1)[0]
    assert "Capacity 3 × r5.xlarge, bid 0.20 → 6 × r5.xlarge, bid 0.22." in spot
    assert "replaced destroy-then-create" in spot
    assert "task-spot-dynamic" not in spot


def test_guard_applies_to_terraforms_replacement_of_a_terminate_protected_cluster(capsys):
    code = main(["--plan", _plan("protected-upgrade"), "--allow-replace", "spark-batch-production-01", "--quiet"])
    out = capsys.readouterr()
    assert code == EXIT_GUARD
    assert (
        "**⛔ Replacement guard: protected cluster `spark-batch-production-01` (stack `protected-upgrade`," in out.out
    )
    assert "the running cluster has `termination_protection` on" in out.out
    assert "Protection removed" not in out.out  # it is replaced, not merely unprotected


def test_in_place_plan_passes_the_guard(capsys):
    assert main(["--plan", _plan("core-count-in-place"), "--quiet"]) == EXIT_OK


def test_stack_name_from_the_folder_or_given(tmp_path):
    plan = plan_diff([_plan("spot-bid"), f"analytics={_plan('core-count-in-place')}"])
    assert [s.name for s in plan.stacks] == ["analytics", "spot-bid"]


def test_a_state_or_garbage_is_refused_with_what_to_give(tmp_path, capsys):
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"format_version": "1.0", "values": {}}))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    code = main(["--plan", str(state), "--plan", str(broken), "--plan", str(tmp_path / "missing.json"), "--quiet"])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert "this looks like a state, not a plan" in err
    assert f"--plan {broken}: not JSON" in err
    assert "cannot read" in err and "missing.json" in err
    assert err.count("terraform show -json <planfile>") >= 2


def _drift_plan() -> dict:
    """core-count-in-place with a console edit: someone set step_concurrency_level 1 -> 5
    and added a tag; Terraform's update reverts the step level (the code sets it) and the tag."""
    plan = json.loads(Path(_plan("core-count-in-place")).read_text())
    rc = plan["resource_changes"][0]
    live = copy.deepcopy(rc["change"]["before"])
    live["step_concurrency_level"] = 5
    live["tags"] = {**live["tags"], "edited-by": "console"}
    plan["resource_drift"] = [
        {
            **{k: rc[k] for k in ("address", "mode", "type", "name", "provider_name")},
            "change": {"actions": ["update"], "before": rc["change"]["before"], "after": live, "after_unknown": {}},
        }
    ]
    rc["change"]["before"] = copy.deepcopy(live)
    rc["change"]["after"]["step_concurrency_level"] = 1
    return plan


def test_drift_gets_its_own_section_and_says_what_the_apply_reverts(tmp_path):
    stack = tmp_path / "spark-batch"
    stack.mkdir()
    shutil.copy(PLANS / "core-count-in-place" / "cdk.tf.json", stack / "cdk.tf.json")
    (stack / "plan.json").write_text(json.dumps(_drift_plan()))
    md = review_plans([str(stack / "plan.json")], allow=set()).markdown
    drift = md.split("### Changed outside Terraform (drift)", 1)[1].split("\n#", 1)[0]
    assert (
        "| `aws_emr_cluster.spark-batch-production-01` | `step_concurrency_level` | `1` | `5` | "
        "**reverts it** (see above) |"
    ) in drift
    assert "| `tags.edited-by` | — | `console` |" in drift
    assert "| `step_concurrency_level` | `5` | `1` | in place |" in md  # the planned revert


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed")
def test_committed_plans_are_what_terraform_plans_today(tmp_path):
    import sys

    sys.path.insert(0, str(PLANS))
    try:
        import generate
    finally:
        sys.path.remove(str(PLANS))
    try:
        fresh = generate.generate(tmp_path)
    except SystemExit as exc:  # no provider mirror on this machine
        pytest.skip(str(exc))

    def actions(path: Path) -> list:
        plan = json.loads(path.read_text())
        return [
            (rc["address"], rc["change"]["actions"], rc.get("action_reason"), rc["change"].get("replace_paths"))
            for rc in plan["resource_changes"]
        ]

    for path in fresh:
        committed = PLANS / path.parent.name / "plan.json"
        assert actions(path) == actions(committed), path.parent.name


# --- create_before_destroy on task groups (issue: does it keep Spot capacity?) -------------


def test_create_before_destroy_group_keeps_capacity_on_a_bid_change():
    raw = json.loads(Path(_plan("task-group-create-before-destroy-bid")).read_text())
    actions = {rc["address"]: rc["change"]["actions"] for rc in raw["resource_changes"]}
    assert actions["aws_emr_instance_group.spark-batch-production-01_task-spot-static-a"] == ["create", "delete"]
    assert actions["aws_emr_cluster.spark-batch-production-01"] == ["no-op"]
    md = review_plans([_plan("task-group-create-before-destroy-bid")], allow=set()).markdown
    assert "replaced create-before-destroy: the new group launches before the old one is resized to 0" in md


def test_create_before_destroy_on_a_group_is_extended_to_its_cluster_by_terraform():
    # Why the project does not set it: a cluster replacement would then start a second
    # cluster with the same name before terminating the old one.
    raw = json.loads(Path(_plan("task-group-create-before-destroy")).read_text())
    actions = {rc["address"]: rc["change"]["actions"] for rc in raw["resource_changes"]}
    assert actions["aws_emr_cluster.spark-batch-production-01"] == ["create", "delete"]
    md = review_plans([_plan("task-group-create-before-destroy")], allow=set()).markdown
    assert "**Create-before-destroy: Terraform creates the new cluster before it destroys the old one**" in md


def test_synthesized_review_flags_create_before_destroy_inherited_from_a_task_group():
    from review.plan import diff, side_from_docs
    from review.report import render

    stack = json.loads((PLANS / "task-group-create-before-destroy" / "cdk.tf.json").read_text())
    base = copy.deepcopy(stack)
    base["resource"]["aws_emr_cluster"]["spark-batch-production-01"]["release_label"] = "emr-7.5.0"
    md = render(diff(side_from_docs("b", {"s": base}), side_from_docs("h", {"s": stack}))).markdown
    assert "**Create-before-destroy: Terraform creates the new cluster before it destroys the old one**" in md
