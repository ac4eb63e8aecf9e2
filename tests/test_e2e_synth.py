"""End to end: the synth path a user runs (cdktf CLI -> cdktf.json "app" -> main.py).

Checks every stack's cdk.tf.json, and that a bad environment stops the app before any
stack is written.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.example_app import PURPOSES

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "node_modules" / ".bin"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not (BIN / "cdktf").exists(), reason="node_modules missing: run `make test`, which installs it"),
]


def user_env(**extra):
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["JSII_NODE"] = str(BIN / "node")
    env["CHECKPOINT_DISABLE"] = "1"
    env.pop("CDKTF_OUTDIR", None)
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def cli_synth(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli-out")
    result = subprocess.run(
        [str(BIN / "cdktf"), "synth", "--output", str(out)],
        cwd=ROOT,
        env=user_env(),
        capture_output=True,
        text=True,
        timeout=540,
    )
    return out, result


def test_cdktf_cli_synthesizes_every_stack(cli_synth, synth):
    out, result = cli_synth
    assert result.returncode == 0, result.stdout + result.stderr
    stacks = sorted(p.name for p in (out / "stacks").iterdir())
    assert stacks == sorted(["foundation", *PURPOSES])
    # The CLI follows the manifest to each stack's environment folder (where it runs terraform).
    manifest = json.loads((out / "manifest.json").read_text())["stacks"]
    assert {name: entry["workingDirectory"] for name, entry in manifest.items()} == {
        stack: f"stacks/{stack}/example" for stack in stacks
    }
    for stack in stacks:
        doc = json.loads((out / "stacks" / stack / "example" / "cdk.tf.json").read_text())
        assert doc["//"]["metadata"]["stackName"] == stack
        assert doc["provider"]["aws"][0]["region"] == "ap-northeast-2"
        # The CLI path and the in-process path produce the same plan.
        assert doc == synth[stack]


def test_no_node_end_of_life_banner(cli_synth):
    _, result = cli_synth
    output = (result.stdout + result.stderr).lower()
    assert "end-of-life" not in output and "no longer supported" not in output


def run_main_with_edited_example(tmp_path, old: str, new: str):
    """Run main.py on a copy of example.toml with ``old`` replaced by ``new``; returns the
    finished process and the output folder it was pointed at."""
    env_file = tmp_path / "edited.toml"
    env_file.write_text((ROOT / "environments" / "example.toml").read_text().replace(old, new))
    out = tmp_path / "out"
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "main.py"],
        cwd=ROOT,
        env=user_env(EMR_CDKTF_ENV=str(env_file), CDKTF_OUTDIR=str(out)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result, out


def test_bad_environment_stops_before_anything_is_written(tmp_path):
    result, out = run_main_with_edited_example(tmp_path, 'vpc_cidr = "10.20.0.0/16"', 'vpc_cidr = "10.20.0.0/33"')
    assert result.returncode == 2
    assert "vpc_cidr = '10.20.0.0/33'" in result.stderr
    assert not out.exists()


def test_construct_level_problems_also_stop_the_app_with_exit_2(tmp_path):
    result, out = run_main_with_edited_example(
        tmp_path, '"service-presto-01" = "10.20.1.18"', '"service-presto-09" = "10.20.1.18"'
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "fixed_ips.masters.service-presto-09 = '10.20.1.18': no stack defines a cluster named" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def make_synth_with_edited_example(tmp_path, out: Path, old: str, new: str) -> tuple[subprocess.CompletedProcess, str]:
    """`EMR_CDKTF_ENV=<edited copy of example.toml> make -s synth` into ``out``, as a user
    runs it; returns the finished make and everything it printed."""
    edited = tmp_path / "edited.toml"
    edited.write_text((ROOT / "environments" / "example.toml").read_text().replace(old, new))
    result = subprocess.run(
        ["make", "-s", "synth", f"CDKTF_OUT={out}"],
        cwd=ROOT,
        env=user_env(EMR_CDKTF_ENV=str(edited)),
        capture_output=True,
        text=True,
        timeout=540,
    )
    return result, result.stdout + result.stderr


def test_make_synth_with_bad_settings_keeps_the_previous_output(tmp_path):
    """The README's switch (`EMR_CDKTF_ENV=... make synth`) with a broken file: make fails
    with the settings problem and the last good cdktf.out (and its terraform init) stays."""
    out = tmp_path / "out"
    previous = out / "stacks" / "spark-batch" / "example"
    (previous / ".terraform").mkdir(parents=True)
    (previous / "cdk.tf.json").write_text("{}")
    plan = subprocess.run(
        ["make", "-n", "synth", f"CDKTF_OUT={out}"],
        cwd=ROOT,
        env=user_env(),
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert f"cdktf synth --output {out}" in plan and "rm -rf" not in plan, plan
    result, printed = make_synth_with_edited_example(
        tmp_path, out, 'admin_cidrs = ["10.20.250.0/28"]', 'admin_cidrs = ["0.0.0.0/0"]'
    )
    assert result.returncode != 0
    assert "admin_cidrs[0] = '0.0.0.0/0'" in printed
    # Once, at its true level: not cdktf's "[ERROR] default -" line and its repeat.
    assert printed.count("admin_cidrs[0] = '0.0.0.0/0'") == 1, printed
    assert "[ERROR]" not in printed and "Command output on stderr" not in printed
    assert (previous / "cdk.tf.json").read_text() == "{}"
    assert (previous / ".terraform").is_dir()


@pytest.mark.synth
def test_make_synth_prints_a_construct_level_problem_once(tmp_path):
    """Settings that pass the settings check but that a construct refuses (a fixed IP for a
    cluster no stack defines) fail inside cdktf, which repeats whatever the app printed:
    the message must still appear once, and the previous output stays."""
    out = tmp_path / "out"
    result, printed = make_synth_with_edited_example(
        tmp_path, out, '"service-presto-01" = "10.20.1.18"', '"service-presto-09" = "10.20.1.18"'
    )
    assert result.returncode != 0
    message = "fixed_ips.masters.service-presto-09 = '10.20.1.18': no stack defines a cluster named"
    assert printed.count(message) == 1, printed
    assert message in result.stderr
    assert "[ERROR]" not in printed and "Command output on stderr" not in printed, printed
    assert not (out / "stacks").exists()


def test_make_review_prints_no_recipe_line_before_the_output():
    # `make review BASE=... > report.md`: the file must start with the report. --help
    # runs the same recipe without synthesizing anything.
    result = subprocess.run(
        ["make", "review", "BASE=HEAD", "REVIEW_ARGS=--help"],
        cwd=ROOT,
        env=user_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: "), result.stdout[:200]


def test_price_notes_go_to_stdout_not_to_stderr(tmp_path, monkeypatch):
    # cdktf prints every stderr line of the app as "[ERROR]": a note is not an error.
    import io

    import main

    env = tmp_path / "eu.toml"
    env.write_text((ROOT / "environments" / "example.toml").read_text().replace("ap-northeast-2", "eu-west-1"))
    monkeypatch.setenv("EMR_CDKTF_ENV", str(env))
    out, err = io.StringIO(), io.StringIO()
    assert main.run(out=out, err=err, outdir=str(tmp_path / "out")) == 0
    assert err.getvalue() == ""
    assert "note: " in out.getvalue() and "python -m ops prices refresh --region eu-west-1" in out.getvalue()


def test_check_settings_validates_without_synthesizing(tmp_path):
    python = str(ROOT / ".venv" / "bin" / "python")
    bad = tmp_path / "bad.toml"
    bad.write_text((ROOT / "environments" / "example.toml").read_text().replace("10.20.0.0/16", "10.20.0.0/33"))
    out = tmp_path / "out"
    checks = [
        subprocess.run(
            [python, "main.py", "--check-settings"],
            cwd=ROOT,
            env=user_env(CDKTF_OUTDIR=str(out), **extra),
            capture_output=True,
            text=True,
            timeout=60,
        )
        for extra in ({}, {"EMR_CDKTF_ENV": str(bad)})
    ]
    assert (checks[0].returncode, checks[0].stdout, checks[0].stderr) == (0, "", "")
    assert checks[1].returncode == 2 and checks[1].stderr.count("'10.20.0.0/33'") == 1
    assert not out.exists()
