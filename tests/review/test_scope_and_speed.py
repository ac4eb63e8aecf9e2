"""Which environments are reviewed (review.scope) and how the syntheses run
(review.synth): concurrently, stopping at the first failure, cached by content address,
with progress lines. The synthesis here is a stand-in command (a small Python script
that writes one stack, or fails, or sleeps), so these tests take seconds; the real
synthesis runs in test_environments_e2e.py and test_cli_e2e.py."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from review.scope import changed_files, choose, environments_at, environments_in
from review.synth import (
    Job,
    Progress,
    ReviewError,
    SynthCache,
    Synthesizer,
    synthesize_jobs,
    worktree_tree,
)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def _commit(repo: Path, message: str = "c") -> str:
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", message)
    return _git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path) -> Path:
    repo = tmp_path / "repo"
    (repo / "environments").mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    (repo / "environments" / "example.toml").write_text('name = "example"\n')
    (repo / "environments" / "acme.toml").write_text('name = "acme"\n')
    (repo / "environments" / "settings.py").write_text("# settings code\n")
    (repo / "stacks.py").write_text("# shared code\n")
    (repo / "README.md").write_text("# readme\n")
    _commit(repo, "base")
    return repo


def _scope(repo: Path, base: str = "HEAD"):
    commit = _git(repo, "rev-parse", base).strip()
    return choose(changed_files(repo, commit), environments_at(repo, commit), environments_in(repo))


def test_an_edited_environment_file_reviews_that_environment_only(repo):
    (repo / "environments" / "acme.toml").write_text('name = "acme"\nregion = "us-east-1"\n')
    scope = _scope(repo)
    assert scope.environments == ("acme",)


def test_shared_code_reviews_every_environment(repo):
    (repo / "stacks.py").write_text("# shared code, edited\n")
    scope = _scope(repo)
    assert scope.environments == ("acme", "example")
    assert "shared code changed (`stacks.py`)" in scope.reason


def test_settings_code_under_environments_is_shared_code(repo):
    (repo / "environments" / "settings.py").write_text("# edited\n")
    assert _scope(repo).environments == ("acme", "example")


def test_added_and_removed_environments_are_reviewed_committed_or_not(repo):
    (repo / "environments" / "beta.toml").write_text('name = "beta"\n')  # untracked
    (repo / "environments" / "acme.toml").unlink()
    scope = _scope(repo)
    assert scope.environments == ("acme", "beta")
    assert "acme" in scope.base_envs and "acme" not in scope.head_envs
    assert "beta" in scope.head_envs and "beta" not in scope.base_envs


def test_documentation_only_change_reviews_nothing(repo):
    (repo / "README.md").write_text("# readme, edited\n")
    (repo / "docs").mkdir()
    (repo / "docs" / "review.md").write_text("guide\n")
    scope = _scope(repo)
    assert scope.environments == ()
    assert "no file that synthesis reads changed" in scope.reason


def test_unknown_requested_environment_is_a_usage_error(repo):
    with pytest.raises(ReviewError) as err:
        choose([], {"example"}, {"example"}, requested=("exmaple",))
    assert err.value.code == 2
    assert "--env 'exmaple': no such environment" in str(err.value) and "example" in str(err.value)


def test_working_tree_address_changes_with_an_uncommitted_edit_and_leaves_the_index_alone(repo):
    clean = worktree_tree(repo)
    assert clean == _git(repo, "rev-parse", "HEAD^{tree}").strip()
    (repo / "stacks.py").write_text("# edited, not committed\n")
    edited = worktree_tree(repo)
    assert edited != clean
    assert _git(repo, "status", "--porcelain").strip() == "M stacks.py"  # nothing staged


# --- syntheses ---------------------------------------------------------------------------

FAKE_SYNTH = r"""
import json, os, sys, time
from pathlib import Path
env = os.environ.get("EMR_CDKTF_ENV", "")
log = Path(os.environ["FAKE_LOG"])
with log.open("a") as f:
    f.write(json.dumps({"pid": os.getpid(), "env": env, "cwd": os.getcwd()}) + "\n")
behaviour = os.environ.get("FAKE_" + env.upper(), "ok")
if behaviour == "fail":
    sys.exit("settings: broken environment " + env)
if behaviour == "slow":
    time.sleep(120)
out = Path(os.environ["CDKTF_OUTDIR"]) / "stacks" / "s"
out.mkdir(parents=True)
(out / "cdk.tf.json").write_text(json.dumps({"resource": {"aws_s3_bucket": {"b": {"bucket": env}}}}))
"""


@pytest.fixture
def fake(tmp_path):
    script = tmp_path / "fake_synth.py"
    script.write_text(FAKE_SYNTH)
    log = tmp_path / "synth.log"

    def make(**behaviour):
        env = {"FAKE_LOG": str(log), **{f"FAKE_{k.upper()}": v for k, v in behaviour.items()}}
        return Synthesizer(command=(sys.executable, str(script)), extra_env=env)

    def calls():
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return make, calls


def _run(tmp_path, synth, jobs, cache=None, tree_ids=None, stream=None):
    return synthesize_jobs(
        jobs,
        trees={"base": lambda: tmp_path, "head": lambda: tmp_path},
        tree_ids=tree_ids or {},
        synth=synth,
        scratch=tmp_path / f"scratch-{time.monotonic_ns()}",
        cache=cache,
        progress=Progress(stream or io.StringIO()),
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split()[2] == "Z")


def test_first_failure_stops_the_other_syntheses(tmp_path, fake):
    make, calls = fake
    synth = make(acme="slow", example="fail")
    jobs = [Job("base", "acme", "base · acme"), Job("head", "example", "working tree · example")]
    with pytest.raises(ReviewError) as err:
        _run(tmp_path, synth, jobs)
    assert "synth of working tree · example failed (exit 1)" in str(err.value)
    assert "broken environment example" in str(err.value)
    slow = next(c for c in calls() if c["env"] == "acme")
    assert not _alive(slow["pid"])  # terminated, not left running for its 120 s


def test_base_and_head_run_at_the_same_time(tmp_path):
    marker = tmp_path / "both"
    # Each synthesis waits until both have started: run one after the other, this deadlocks
    # into the timeout; run concurrently, both finish.
    script = tmp_path / "rendezvous.py"
    script.write_text(
        "import os, sys, time, pathlib\n"
        f"d = pathlib.Path({str(marker)!r}); d.mkdir(exist_ok=True)\n"
        "(d / str(os.getpid())).touch()\n"
        "end = time.time() + 20\n"
        "while len(list(d.iterdir())) < 2 and time.time() < end: time.sleep(0.05)\n"
        "if len(list(d.iterdir())) < 2: sys.exit('ran alone')\n"
        "out = pathlib.Path(os.environ['CDKTF_OUTDIR']) / 'stacks' / 's'; out.mkdir(parents=True)\n"
        "(out / 'cdk.tf.json').write_text('{}')\n"
    )
    synth = Synthesizer(command=(sys.executable, str(script)))
    results = _run(tmp_path, synth, [Job("base", "e", "base"), Job("head", "e", "head")])
    assert set(results) == {("base", "e"), ("head", "e")}


def test_base_synthesis_is_reused_from_the_cache_by_tree_and_environment(tmp_path, fake):
    make, calls = fake
    synth = make()
    cache = SynthCache(tmp_path / "cache")
    jobs = [Job("base", "acme", "base · acme")]
    first = _run(tmp_path, synth, jobs, cache, {"base": "tree-1"})
    stream = io.StringIO()
    second = _run(tmp_path, synth, jobs, cache, {"base": "tree-1"}, stream)
    assert len(calls()) == 1  # synthesized once
    assert second[("base", "acme")].cached and not first[("base", "acme")].cached
    doc = json.loads((second[("base", "acme")].outdir / "stacks" / "s" / "cdk.tf.json").read_text())
    assert doc["resource"]["aws_s3_bucket"]["b"]["bucket"] == "acme"
    assert "reused the cached synthesis" in stream.getvalue()
    # Another tree or another environment is another address.
    _run(tmp_path, synth, jobs, cache, {"base": "tree-2"})
    _run(tmp_path, synth, [Job("base", "example", "base · example")], cache, {"base": "tree-1"})
    assert len(calls()) == 3


def test_a_damaged_cache_entry_is_synthesized_again(tmp_path, fake):
    make, calls = fake
    synth = make()
    cache = SynthCache(tmp_path / "cache")
    jobs = [Job("base", "acme", "base · acme")]
    _run(tmp_path, synth, jobs, cache, {"base": "t"})
    stored = next((tmp_path / "cache").glob("*/out/stacks/s/cdk.tf.json"))
    stored.write_text('{"truncated":')
    again = _run(tmp_path, synth, jobs, cache, {"base": "t"})
    assert len(calls()) == 2 and not again[("base", "acme")].cached


def test_cache_keeps_only_the_most_recently_used_entries(tmp_path, fake):
    make, _ = fake
    synth = make()
    cache = SynthCache(tmp_path / "cache", keep=2)
    for i in range(4):
        _run(tmp_path, synth, [Job("base", "acme", "b")], cache, {"base": f"tree-{i}"})
    assert len([p for p in (tmp_path / "cache").iterdir() if not p.name.startswith(".")]) == 2


def test_a_failed_synthesis_is_never_cached(tmp_path, fake):
    make, _ = fake
    cache = SynthCache(tmp_path / "cache")
    with pytest.raises(ReviewError):
        _run(tmp_path, make(acme="fail"), [Job("base", "acme", "b")], cache, {"base": "t"})
    assert not (tmp_path / "cache").exists() or not [p for p in (tmp_path / "cache").iterdir()]


def test_progress_lines_carry_elapsed_seconds(tmp_path, fake):
    make, _ = fake
    stream = io.StringIO()
    _run(tmp_path, make(), [Job("base", "acme", "base · acme")], stream=stream)
    lines = stream.getvalue().splitlines()
    assert [re.sub(r"\[\s*\d+\.\d+s\]", "[Ns]", line) for line in lines] == [
        "review [Ns] base · acme: synthesizing",
        "review [Ns] base · acme: synthesized in " + lines[1].rsplit(" ", 1)[1],
    ]
    assert re.fullmatch(r"\d+\.\ds", lines[1].rsplit(" ", 1)[1])


def test_terminating_the_review_stops_its_syntheses(tmp_path, fake):
    """SIGTERM to `python -m review` (a cancelled CI job) leaves no synthesis running."""
    import signal

    make, calls = fake
    synth = make(acme="slow")
    driver = tmp_path / "driver.py"
    driver.write_text(
        "import sys, io\n"
        "from pathlib import Path\n"
        "from review.synth import Job, Progress, Synthesizer, synthesize_jobs\n"
        "from review import cli\n"
        f"synth = Synthesizer(command={tuple(synth.command)!r}, extra_env={dict(synth.extra_env)!r})\n"
        "import signal; signal.signal(signal.SIGTERM, cli._terminated)\n"
        f"tmp = Path({str(tmp_path)!r})\n"
        "try:\n"
        "    synthesize_jobs([Job('base', 'acme', 'b')], trees={'base': lambda: tmp}, tree_ids={}, synth=synth,\n"
        "                    scratch=tmp / 'scratch', cache=None, progress=Progress(io.StringIO()))\n"
        "except KeyboardInterrupt:\n"
        "    sys.exit(130)\n"
    )
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, str(driver)], cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    deadline = time.time() + 60
    while not calls() and time.time() < deadline:
        time.sleep(0.1)
    assert calls(), "the synthesis never started"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 130
    assert not _alive(calls()[0]["pid"])
