"""docs/review.md's sample report is the review of the project's own stacks (the example
environment) under review.sample.SAMPLE_CHANGE: regenerated here and compared, so it
cannot go stale. Regenerate with `make review-sample`."""

from __future__ import annotations

from review.sample import DOC, END, START, generate, replace_block
from review.synth import SynthCache, default_cache_dir


def test_sample_report_in_docs_is_what_the_review_says_today():
    doc = DOC.read_text(encoding="utf-8")
    markdown = generate(cache=SynthCache(default_cache_dir()))
    assert replace_block(doc, markdown) == doc, "docs/review.md's sample is out of date: run `make review-sample`"


def test_sample_report_shows_what_the_sample_change_does_to_the_projects_clusters():
    doc = DOC.read_text(encoding="utf-8")
    sample = doc.split(START, 1)[1].split(END, 1)[0]
    lines = [line for line in sample.splitlines() if line.strip()]
    summary = next(i for i, line in enumerate(lines) if line.startswith("**Summary:**"))
    assert lines[summary - 1] == "# Plan review: `main` → `sample change`"  # summary first
    # The script edit changes each action's --script-sha256 argument, so every cluster
    # running the script is replaced, and the guard stops it for the protected ones.
    assert "**⛔ Replacement guard: protected cluster `spark-batch-production-01`" in sample
    assert "**⛔ Replacement guard: protected cluster `spark-stream-01`" in sample
    assert "  - cluster `service-presto-01` (service-presto): **replaces the cluster**" in sample
    assert "updated in the Terraform state only" not in sample
    assert "Count resets to 6, the code's value" in sample  # static Spot groups go with their cluster
    assert sample.count("<summary>script diff</summary>") == 1  # one diff for three stacks


def test_the_guard_points_to_the_runbook_that_docs_review_has():
    from review.report import RUNBOOK

    doc = DOC.read_text(encoding="utf-8")
    assert RUNBOOK == 'docs/review.md, "Replace a protected cluster"'
    runbook = doc.split("## Runbook: Replace a protected cluster", 1)[1].split("\n## ", 1)[0]
    assert "1. **Unprotect, alone.** Set `protected=False`" in runbook
    assert "2. **Replace, still unprotected.**" in runbook
    assert "3. **Protect again, alone.** Set `protected=True` back." in runbook
    assert "Do not put `protected=True` back in step 2" in runbook
