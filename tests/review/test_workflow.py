"""The pull-request workflow (.github/workflows/plan-review.yml): its review step's shell
script is run with a stand-in ``make`` to check the arguments it passes and the exit
status it records; the structure checks cover what the review needs from CI."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import yaml

from review.synth import PROJECT_ROOT

WORKFLOW = PROJECT_ROOT / ".github" / "workflows" / "plan-review.yml"


def _steps():
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]["review"]["steps"]


def _step(name_start):
    return next(s for s in _steps() if s.get("name", "").startswith(name_start))


def test_checkout_fetches_full_history_for_the_base_worktree():
    checkout = next(s for s in _steps() if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0


def _run_review_step(tmp_path: Path, labels: str, review_exit: int) -> tuple[str, str]:
    """Run the step's script in a folder whose ``.venv/bin/python`` is a stand-in that
    records its arguments, writes a report and exits with ``review_exit``."""
    venv_bin = tmp_path / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    python = venv_bin / "python"
    python.write_text(
        f'#!/bin/bash\nprintf "%s\\n" "$@" > "{tmp_path}/review-args"\n'
        f'echo "# report" > review.md\nexit {review_exit}\n'
    )
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    output, summary = tmp_path / "out", tmp_path / "summary"
    env = {
        **os.environ,
        "LABELS": labels,
        "BASE_REF": "origin/main",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    subprocess.run(["bash", "-e", "-c", _step("Review against")["run"]], cwd=tmp_path, env=env, check=True)
    return (tmp_path / "review-args").read_text(), output.read_text()


def test_review_step_passes_allow_replace_labels_and_records_the_guard_exit(tmp_path):
    args, output = _run_review_step(tmp_path, "documentation allow-replace:batch-prod-01", 3)
    # No --env: the review chooses every environment the PR touches itself.
    assert args.splitlines() == [
        "-m",
        "review",
        "--base",
        "origin/main",
        "--output",
        "review.md",
        "--json-output",
        "review.json",
        "--allow-replace",
        "batch-prod-01",
    ]
    # The guard's own exit status reaches the last step (make would have turned it into 2).
    assert output.strip() == "code=3"


def test_job_fails_on_a_non_zero_review_exit():
    final = _step("Fail when")
    assert final["if"] == "steps.review.outputs.code != '0'"
    assert final["run"].rstrip().endswith("exit 1")


def test_base_syntheses_are_cached_between_runs_where_the_review_looks():
    from review.synth import default_cache_dir

    cache = next(s for s in _steps() if s.get("uses", "").startswith("actions/cache"))
    assert cache["with"]["path"] == "~/.cache/emr-cdktf/review"
    assert str(default_cache_dir()).endswith(".cache/emr-cdktf/review") or "EMR_CDKTF_REVIEW_CACHE" in os.environ
    names = [s.get("name", "") for s in _steps()]
    assert names.index(cache["name"]) < names.index(_step("Review against")["name"])


def _make_review(*assignments: str, env: dict | None = None) -> str:
    result = subprocess.run(
        ["make", "-n", "review", "BASE=origin/main", *assignments],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None},
    )
    return next(line for line in result.stdout.splitlines() if "-m review" in line)


def test_make_review_reviews_every_touched_environment_unless_one_is_chosen():
    env = {k: v for k, v in os.environ.items() if k != "EMR_CDKTF_ENV"}
    plain = subprocess.run(
        ["make", "-n", "review", "BASE=origin/main"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    line = next(ln for ln in plain.splitlines() if "-m review" in ln)
    assert "--env" not in line and "--base origin/main" in line
    assert "--env acme" in _make_review("EMR_CDKTF_ENV=acme")
