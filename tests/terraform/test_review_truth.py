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
def applied(request, tf_workdir):
    """The session's applied app (applied once, shared with the lifecycle tier), every change
    synthesized from its environment file, every changed stack planned against its state,
    and the review run on every base -> head. The table goes to review-truth.md."""
    pytest.importorskip(
        "tests.terraform.standin", reason="the stand-in account (tests/terraform/standin.py) is not in this tree"
    )
    try:
        app = request.getfixturevalue("applied_example_app")
    except pytest.FixtureLookupError:
        pytest.skip("no applied_example_app fixture (the stand-in account's conftest) in this tree")
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
