"""The review command end to end on a temporary git repository.

The repository holds a tiny cdktf app (its own ``main.py`` reading ``clusters.json`` and
``scripts/``) built with tests/review/fixture_app.py; the project root is put on
``PYTHONPATH`` through the pluggable synth step, everything else is the real path: the
base commit is checked out in a temporary ``git worktree``, each tree is synthesized by
its own process, and the exit status is the CLI's. Each run costs two syntheses, so
only a few commits are reviewed here; the per-argument classification runs on
in-process synthesis in test_replacement_rules.py (see its docstring for the split).
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from environments.schema import READ_WRITE
from review.cli import EXIT_GUARD, EXIT_OK, EXIT_USAGE, main
from review.synth import PROJECT_ROOT, Synthesizer
from tests.review.fixture_app import base_data, write_scripts

MAIN = """\
import json
from pathlib import Path

from cdktf import App

from tests.review.fixture_app import build

app = App()
build(app, json.loads(Path("clusters.json").read_text()), Path("scripts"))
app.synth()
"""

SYNTH = Synthesizer(extra_env={"PYTHONPATH": str(PROJECT_ROOT)})


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def _write_data(repo: Path, data: dict) -> None:
    (repo / "clusters.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def _commit(repo: Path, message: str) -> None:
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", message)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """Commit 1 (tag ``v1``): the base app. Commit 2 (``v2``): the tag script edited and the
    protected cluster's release upgraded (which replaces it). Working tree on top: a security-group rule, an IAM grant and a
    Spot bid changed, not committed (the review reads the tree as it is on disk)."""
    repo = tmp_path_factory.mktemp("review-repo")
    _git(repo, "init", "-q", "-b", "main")
    (repo / "main.py").write_text(MAIN)
    (repo / ".gitignore").write_text("cdktf.out/\n")
    write_scripts(repo / "scripts")
    _write_data(repo, base_data())
    _commit(repo, "base")
    _git(repo, "tag", "v1")

    script = repo / "scripts" / "tag-instance.sh"
    script.write_text(script.read_text() + "echo 'also tag the root volume'\n")
    upgraded = base_data()
    upgraded["clusters"][0]["release_label"] = "emr-7.2.0"
    _write_data(repo, upgraded)
    _commit(repo, "tag script: tag the root volume too; batch-prod-01 on emr-7.2.0")
    _git(repo, "tag", "v2")

    data = base_data()
    data["clusters"][0]["release_label"] = "emr-7.2.0"  # as in v2
    data["office_ingress"][0]["port"] = 18081
    data["data_access"] = READ_WRITE
    data["clusters"][0]["spot"]["bid_price"] = "0.26"
    _write_data(repo, data)
    return repo


@pytest.fixture(scope="module")
def script_change_blocked(repo, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports") / "blocked.md"
    code = main(["--base", "v1", "--head", str(repo), "--output", str(out)], synth=SYNTH)
    return code, out.read_text()


def test_guard_exits_3_when_a_protected_cluster_would_be_replaced(script_change_blocked):
    code, report = script_change_blocked
    assert code == EXIT_GUARD
    assert report.splitlines()[4].startswith("**⛔ Replacement guard: protected cluster `batch-prod-01`")


def test_bootstrap_script_change_names_the_script_and_the_clusters_it_replaces(script_change_blocked):
    _, report = script_change_blocked
    section = report.split("### Bootstrap scripts", 1)[1].split("###", 1)[0]
    assert "**tag-instance.sh**" in section
    assert "cluster `batch-prod-01` (analytics): **replaces the cluster**" in section
    # batch-dev-01 ignores bootstrap_action: it keeps running the old key, which is deleted.
    assert "cluster `batch-dev-01` (analytics): not applied (ignore_changes)" in section
    assert "is deleted while `batch-dev-01` keeps running it: new nodes" in section
    assert "+echo 'also tag the root volume'" in section


def test_worktree_is_removed_after_the_review(repo, script_change_blocked):
    listed = _git(repo, "worktree", "list", "--porcelain")
    assert listed.count("worktree ") == 1


def test_allow_replace_cannot_pass_a_cluster_the_head_keeps_protected(repo, tmp_path, capsys):
    out = tmp_path / "report.md"
    code = main(
        ["--base", "v1", "--head", str(repo), "--allow-replace", "batch-prod-01", "--output", str(out)], synth=SYNTH
    )
    report = out.read_text()
    assert code == EXIT_GUARD
    assert "is given, but it cannot make this change succeed" in report.splitlines()[4]
    assert "land protected=False for it alone first" in capsys.readouterr().err


@pytest.fixture(scope="module")
def uncommitted_review(repo, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports") / "inplace.md"
    code = main(["--base", "v2", "--head", str(repo), "--output", str(out)], synth=SYNTH)
    return code, out.read_text()


def test_in_place_changes_exit_0(uncommitted_review):
    code, report = uncommitted_review
    assert code == EXIT_OK
    assert "No protected cluster is replaced or destroyed." in report


def test_security_group_rule_change_is_readable(uncommitted_review):
    _, report = uncommitted_review
    section = report.split("### Security-group rules", 1)[1].split("###", 1)[0]
    assert (
        "➖ ingress tcp 18080 from 10.30.0.0/20 (into sg `analytics-master-additional`) — "
        '"Spark History UI for the office"'
    ) in section
    assert "➕ ingress tcp 18081 from 10.30.0.0/20 (into sg `analytics-master-additional`)" in section


def test_iam_grant_is_reported_per_statement(uncommitted_review):
    _, report = uncommitted_review
    section = report.split("### IAM", 1)[1].split("###", 1)[0]
    line = next(ln for ln in section.splitlines() if "Sid `DataObjects`" in ln)
    assert line.strip().startswith("- Sid `DataObjects` (Allow, changed): actions + ")
    # grant_read_write never grants s3:DeleteObject unless asked (issue 14).
    assert "`s3:PutObject`" in line and "`s3:AbortMultipartUpload`" in line


def test_bid_price_change_replaces_the_group_and_changes_the_cost(uncommitted_review):
    _, report = uncommitted_review
    assert "| `bid_price` | `0.24` | `0.26` | **replaces the group** |" in report
    assert (
        "| `batch-prod-01` | task `task-spot-static-a` | r5.xlarge | 2 | Spot, bid 0.24 → **Spot, bid 0.26** |"
        in report
    )
    # Hand-computed from the ap-northeast-2 table: master m5.xlarge 0.236 + 0.048 fee;
    # core 2 x r5.xlarge (0.304 + 0.063); static A 2 and idle B 1 x (bid 0.24 + 0.063 fee);
    # dynamic 1 x m5.xlarge (bid 0.19 + 0.048 fee). The bid change: 3 instances x 0.02.
    base = Decimal("0.284") + 2 * Decimal("0.367") + 3 * Decimal("0.303") + Decimal("0.238")
    head = base + 3 * Decimal("0.02")
    assert (base, head) == (Decimal("2.165"), Decimal("2.225"))
    assert "| `batch-prod-01` | $2.165/h | $2.225/h | +$0.060/h |" in report


def test_unknown_base_ref_is_a_usage_error(repo, capsys):
    assert main(["--base", "no-such-ref", "--head", str(repo)], synth=SYNTH) == EXIT_USAGE
    assert "--base 'no-such-ref': not a commit" in capsys.readouterr().err


def test_cli_module_exits_2_without_base():
    result = subprocess.run(
        [sys.executable, "-m", "review"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == EXIT_USAGE
    assert "--base" in result.stderr and "--plan" in result.stderr


def test_failed_synth_exits_1_with_its_error_and_removes_the_worktree(tmp_path, capsys):
    repo = tmp_path / "broken"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "main.py").write_text("raise SystemExit(\"settings: region = 'mars-1' is not a region\")\n")
    _commit(repo, "broken app")
    # Nothing changed since HEAD: --all-envs makes the review synthesize anyway.
    code = main(["--base", "HEAD", "--head", str(repo), "--all-envs"], synth=SYNTH)
    err = capsys.readouterr().err
    assert code == 1
    # Whichever synthesis fails first is reported (the other is stopped).
    assert "synth of base HEAD failed (exit 1)" in err or "synth of working tree failed (exit 1)" in err
    assert "mars-1" in err
    assert _git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
