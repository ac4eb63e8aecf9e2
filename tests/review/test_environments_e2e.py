"""Every environment a change touches is reviewed, each in its own named section; a new
environment shows as stacks added, a removed one as stacks destroyed.

The real command on a temporary git repository whose app, like the project's
``main.py``, synthesizes the environment ``EMR_CDKTF_ENV`` names from
``environments/<name>.toml`` (here the file carries the fixture app's data as JSON).
The syntheses are real (two to three per review; the base ones come from the cache on
the second review).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from review.cli import EXIT_GUARD, EXIT_OK, main
from review.synth import PROJECT_ROOT, Synthesizer
from tests.review.fixture_app import base_data, write_scripts

MAIN = """\
import json
import os
import tomllib
from pathlib import Path

from cdktf import App

from tests.review.fixture_app import build

name = os.environ.get("EMR_CDKTF_ENV", "example")
data = json.loads(tomllib.loads(Path(f"environments/{name}.toml").read_text())["data"])
app = App()
build(app, data, Path("scripts"))
app.synth()
"""

SYNTH = Synthesizer(extra_env={"PYTHONPATH": str(PROJECT_ROOT)})


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def _write_env(repo: Path, name: str, data: dict) -> None:
    text = json.dumps(data, sort_keys=True)
    (repo / "environments" / f"{name}.toml").write_text(f"data = '''{text}'''\n")


def _acme() -> dict:
    data = base_data()
    data["region"] = "us-east-1"
    data["clusters"] = data["clusters"][:1]  # batch-prod-01, protected
    data["clusters"][0]["spot"] = None
    data["overrides"] = []  # they name batch-dev-01
    return data


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("envs-repo")
    _git(repo, "init", "-q", "-b", "main")
    (repo / "main.py").write_text(MAIN)
    (repo / ".gitignore").write_text("cdktf.out/\n")
    (repo / "environments").mkdir()
    write_scripts(repo / "scripts")
    example = base_data()
    example["clusters"] = example["clusters"][1:]  # batch-dev-01 only
    _write_env(repo, "example", example)
    _write_env(repo, "acme", _acme())
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "two environments")
    return repo


@pytest.fixture(scope="module")
def acme_edit(repo, tmp_path_factory):
    """Working tree: acme's core count 2 -> 3 (in place), nothing else."""
    data = _acme()
    data["clusters"][0]["core"]["count"] = 3
    _write_env(repo, "acme", data)
    out = tmp_path_factory.mktemp("r") / "report.md"
    code = main(["--base", "main", "--head", str(repo), "--output", str(out), "--quiet"], synth=SYNTH)
    _git(repo, "checkout", "--", ".")
    return code, out.read_text()


def test_an_edited_environment_is_reviewed_in_its_own_named_section(acme_edit):
    code, report = acme_edit
    assert code == EXIT_OK
    assert "## Environment `acme` (changed)" in report
    assert "## Environment `example`" not in report
    assert "- `example`: not reviewed" in report
    assert "| `core_instance_group.instance_count` | `2` | `3` | in place |" in report
    assert report.splitlines()[2].startswith("**Summary:** 1 environment (`acme`) · 1 of 1 stack changed")


@pytest.fixture(scope="module")
def added_and_removed(repo, tmp_path_factory):
    """Working tree: a new environment beta, acme's file deleted (not committed)."""
    beta = base_data()
    beta["clusters"] = beta["clusters"][1:]
    _write_env(repo, "beta", beta)
    (repo / "environments" / "acme.toml").unlink()
    out = tmp_path_factory.mktemp("r") / "report.json"
    code = main(["--base", "main", "--head", str(repo), "--output", str(out), "--quiet", "--json"], synth=SYNTH)
    md = out.with_suffix(".md")
    main(["--base", "main", "--head", str(repo), "--output", str(md), "--quiet"], synth=SYNTH)
    _git(repo, "checkout", "--", ".")
    (repo / "environments" / "beta.toml").unlink()
    return code, json.loads(out.read_text()), md.read_text()


def test_a_new_environment_shows_as_stacks_added(added_and_removed):
    _, verdicts, report = added_and_removed
    beta = verdicts["environments"]["beta"]["analytics"]
    assert beta["status"] == "added"
    assert "aws_emr_cluster.batch-dev-01" in beta["created"]
    assert not beta["destroyed"] and not beta["replaced"]
    assert "## Environment `beta` (new environment: every stack is added)" in report


def test_a_removed_environment_shows_as_stacks_destroyed_and_trips_the_guard(added_and_removed):
    code, verdicts, report = added_and_removed
    acme = verdicts["environments"]["acme"]["analytics"]
    assert acme["status"] == "removed"
    assert "aws_emr_cluster.batch-prod-01" in acme["destroyed"]
    assert "## Environment `acme` (removed environment: every stack is destroyed)" in report
    assert code == EXIT_GUARD
    assert verdicts["guard"][0]["environment"] == "acme" and verdicts["guard"][0]["outcome"] == "destroyed"
    assert "(environment `acme`, stack `analytics`" in report
    assert "`example`: not reviewed" in report  # neither touched nor shared code changed
