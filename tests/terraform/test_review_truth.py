"""The review against the truth: for every change of the catalogue
(``review_truth.catalogue()``: core type, core count of a frozen and of an unfrozen cluster,
release label, a configuration value, a bootstrap script, a Spot bid factor, a task
group's type, an office CIDR, a new cluster, a removed cluster, a tag, a fixed IP), the
resources Terraform replaces, updates, creates and destroys, planned against the base
applied to the stand-in account, are exactly the ones ``python -m review`` reports for the
same base -> head; and the protected clusters Terraform refuses to destroy
(``prevent_destroy``) are exactly the ones the review's guard names.

The base is the session's ``applied_example_app`` (applied once, shared with the lifecycle
tier; only planned against here, never changed); all variants are synthesized in this
process and only the stacks whose JSON changed are planned, two terraform runs at a time. Terraform
here is the mirror's provider (5.100) while the bindings pin 6.25: a disagreement caused by
that gap goes into ``PROVIDER_DIFFERENCES`` with its source, and the test checks that each
documented difference still occurs (so none outlives its cause).
"""

from __future__ import annotations

import json
import time

import pytest

from tests.terraform import review_truth as truth

CHANGES = truth.catalogue()

# (change key, disagreement as Comparison.disagreements() words it) -> source. Empty: on
# every change of the catalogue provider 5.100 plans what the review (written against the
# 6.x schema) says.
PROVIDER_DIFFERENCES: dict[tuple[str, str], str] = {}

# Review bugs this tier found that are not fixed yet, by change key: the comparison is
# expected to fail (strict: once the review is fixed the test says so, and the entry goes).
OPEN_REVIEW_BUGS: dict[str, str] = {}


def _params():
    return [
        pytest.param(
            c,
            id=c.key,
            marks=[pytest.mark.xfail(strict=True, reason=OPEN_REVIEW_BUGS[c.key])] if c.key in OPEN_REVIEW_BUGS else [],
        )
        for c in CHANGES
    ]


@pytest.fixture(scope="module")
def applied(applied_example_app, tf_workdir):
    """The session's applied app (applied once, shared with the lifecycle tier), every change
    synthesized from its environment file, every changed stack planned against its state,
    and the review run on every base -> head. The table goes to review-truth.md."""
    app = applied_example_app
    workdir = tf_workdir / "review-truth"
    start = time.monotonic()
    base = truth.variants_of(app, CHANGES, workdir / "variants")
    comparisons = truth.compare(base.deployment, base.outdirs, CHANGES, workdir / "plans")
    base.timings["plan the changed stacks + review"] = time.monotonic() - start - sum(base.timings.values())
    (workdir / "review-truth.md").write_text(
        truth.table(comparisons)
        + "\n"
        + "\n".join(f"{phase}: {seconds:.1f} s" for phase, seconds in base.timings.items())
        + "\n"
    )
    return base, comparisons


def test_the_catalogue_covers_every_kind_of_change_the_issue_names():
    keys = [c.key for c in CHANGES]
    assert len(keys) == len(set(keys)) >= 12
    assert {
        "core-type",
        "core-count-frozen",
        "core-count",
        "release-label",
        "configuration",
        "bootstrap-script",
        "spot-bid-factor",
        "task-type",
        "office-cidr",
        "new-cluster",
        "removed-cluster",
        "tag",
        "fixed-ip",
        "fleet-task-capacity",
        "fleet-task-type-added",
        "fleet-allocation-strategy",
    } <= set(keys)


@pytest.mark.parametrize("change", _params())
def test_the_review_reports_what_terraform_plans(applied, change):
    _, comparisons = applied
    comparison = comparisons[change.key]
    documented = {line: source for (key, line), source in PROVIDER_DIFFERENCES.items() if key == change.key}
    found = comparison.disagreements()
    undocumented = [line for line in found if line not in documented]
    assert not undocumented, (
        f"{change.what}: the review and terraform disagree (a review bug, or a provider 5.100/6.25 "
        f"difference to document with its source):\n  "
        + "\n  ".join(undocumented)
        + "\n\n"
        + truth.table({change.key: comparison})
    )
    stale = sorted(set(documented) - set(found))
    assert not stale, f"documented differences that no longer occur (remove them): {stale}"


@pytest.mark.parametrize("change", CHANGES, ids=[c.key for c in CHANGES])
def test_every_change_reaches_terraform(applied, change):
    """Each change edits the synthesized JSON of some stack, and Terraform was asked about
    exactly those stacks (a change that synthesizes to nothing would compare nothing)."""
    base, comparisons = applied
    comparison = comparisons[change.key]
    assert comparison.stacks, f"{change.key}: the change synthesizes to the same JSON as the base"
    assert comparison.stacks == truth.changed_stacks(base.outdirs["base"], base.outdirs[change.key])


# --- python -m review --plan on the plans Terraform made against the stand-in -----------------
# (The comparison above already holds the review of Terraform's own plans to Terraform's sets
# and refusals: ``Comparison.from_plans``. These run the command itself.)


def _plan_args(comparison) -> list[str]:
    return [f"{stack}={plan.plan_json}" for stack, plan in sorted(comparison.terraform.items())]


def test_review_of_terraforms_plan_refuses_the_protected_replacement_and_names_the_way(applied, capsys):
    from review.cli import EXIT_GUARD, main

    comparison = applied[1]["core-count-frozen-replication"]
    assert comparison.refused(), "terraform no longer refuses this change: the catalogue lost its protected case"
    code = main(["--plan", *_plan_args(comparison), "--env", "standin", "--quiet"])
    out = capsys.readouterr().out
    assert code == EXIT_GUARD
    assert "spark-batch-production-01" in out and "prevent_destroy" in out
    assert "protected=False" in out  # the way out: land protected=False alone first


def test_review_of_terraforms_plan_passes_an_in_place_change(applied, capsys):
    from review.cli import EXIT_OK, main

    comparison = applied[1]["office-cidr"]
    code = main(["--plan", *_plan_args(comparison), "--json", "--quiet"])
    verdicts = json.loads(capsys.readouterr().out)["environments"][""]
    assert code == EXIT_OK
    for stack, plan in comparison.terraform.items():
        assert set(verdicts[stack]["updated"]) == set(plan.verdicts["updated"])
        assert set(verdicts[stack]["created"]) == set(plan.verdicts["created"])
        assert verdicts[stack]["replaced"] == sorted(plan.verdicts["replaced"])


def test_a_console_edit_shows_as_drift_that_the_next_apply_reverts(applied, capsys):
    """A tag added by hand to a deployed security group (a console edit): Terraform's refresh
    finds it, its plan removes it, and ``review --plan`` shows both, in the drift section and
    as an in-place update. The tag is removed again afterwards, and the base re-plans empty."""
    from review.cli import EXIT_OK, main

    base, _ = applied
    app = base.app
    stack_dir = app.folder("spark-batch")
    tf = app.terraform("spark-batch")
    state = tf.show_json()
    group = next(
        r
        for r in state["values"]["root_module"]["resources"]
        if r["type"] == "aws_security_group" and "service-access" in r["address"]
    )
    ec2 = app.deployment.standin.client("ec2", app.account.region)
    ec2.create_tags(Resources=[group["values"]["id"]], Tags=[{"Key": "edited-in-console", "Value": "yes"}])
    try:
        plan_json = stack_dir / "drift.plan.json"
        plan_json.write_text(json.dumps(app.plan_json(stack_dir, stack_dir / "drift.tfplan")))
        code = main(["--plan", f"spark-batch={plan_json}", "--json", "--quiet"])
        verdicts = json.loads(capsys.readouterr().out)["environments"][""]["spark-batch"]
        assert code == EXIT_OK
        assert verdicts["updated"] == [group["address"]] and not verdicts["replaced"]
        main(["--plan", f"spark-batch={plan_json}", "--quiet"])
        report = capsys.readouterr().out
        drift = report.split("### Changed outside Terraform (drift)", 1)
        assert len(drift) == 2, report
        assert f"`{group['address']}` | `tags.edited-in-console` | — | `yes` | **reverts it**" in drift[1]
    finally:
        ec2.delete_tags(Resources=[group["values"]["id"]], Tags=[{"Key": "edited-in-console"}])
    assert tf.plan(detailed_exitcode=True).returncode == 0
