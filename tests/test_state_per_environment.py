"""State per environment: the default local state and the S3 key carry the environment's
name, so synthesizing ``acme`` after ``example`` never points both at one state; and the
migration note of docs/operations.md moves an existing ``terraform.<stack>.tfstate``
without Terraform planning anything (checked with real terraform)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def backends(settings, synth_stack):
    from stacks.clusters import declared
    from stacks.foundation import FoundationStack
    from stacks.purpose import PurposeStack

    acme = dataclasses.replace(settings, name="acme", fixed_ips=None)
    out = {}
    for env in (settings, acme):
        out[env.name] = {
            "spark-batch": synth_stack(lambda app, env=env: PurposeStack(app, declared("spark-batch"), settings=env)),
            "foundation": synth_stack(lambda app, env=env: FoundationStack(app, settings=env)),
        }
        for state_env in (dataclasses.replace(env, state_bucket="shared-terraform-state"),):
            out[f"{env.name}-s3"] = synth_stack(
                lambda app, state_env=state_env: PurposeStack(app, declared("spark-batch"), settings=state_env)
            )
    return out


def test_two_environments_never_share_a_local_state(backends):
    for stack in ("spark-batch", "foundation"):
        example = backends["example"][stack]["terraform"]["backend"]["local"]["path"]
        acme = backends["acme"][stack]["terraform"]["backend"]["local"]["path"]
        assert example == f"../../../../terraform.example.{stack}.tfstate"
        assert acme == f"../../../../terraform.acme.{stack}.tfstate"


def test_two_environments_never_share_an_s3_state_key(backends):
    keys = {env: backends[f"{env}-s3"]["terraform"]["backend"]["s3"]["key"] for env in ("example", "acme")}
    assert keys == {"example": "emr-cdktf/example/spark-batch.tfstate", "acme": "emr-cdktf/acme/spark-batch.tfstate"}


def test_local_state_files_stay_out_of_git():
    ignored = subprocess.run(
        ["git", "check-ignore", "terraform.acme.spark-batch.tfstate", "terraform.acme.spark-batch.tfstate.backup"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert ignored.stdout.split() == ["terraform.acme.spark-batch.tfstate", "terraform.acme.spark-batch.tfstate.backup"]


# --- the migration note, run for real --------------------------------------------------------


def _migration_commands() -> list[str]:
    """The shell commands of the migration note in docs/operations.md."""
    text = (ROOT / "docs" / "operations.md").read_text()
    block = re.search(r"<!-- state-migration -->\s*```sh\n(.*?)```", text, re.DOTALL)
    assert block, "docs/operations.md has no state-migration block"
    return [line for line in block.group(1).splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _stack_json(path: str) -> str:
    # A stand-in for one synthesized stack: its backend and one resource kept in state.
    return json.dumps(
        {
            "terraform": {"backend": {"local": {"path": path}}},
            "resource": {"terraform_data": {"cluster_marker": {"input": "spark-batch-production-01"}}},
        }
    )


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH")
def test_migration_note_moves_old_state_and_terraform_plans_no_change(tmp_path):
    project = tmp_path / "project"
    old_dir = project / "cdktf.out" / "stacks" / "spark-batch"
    old_dir.mkdir(parents=True)
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}

    def tf(*args, cwd=old_dir):
        return subprocess.run(
            ["terraform", *args, "-no-color"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
        )

    # Before: the old layout, applied.
    (old_dir / "cdk.tf.json").write_text(_stack_json("../../../terraform.spark-batch.tfstate"))
    assert tf("init", "-input=false").returncode == 0
    applied = tf("apply", "-auto-approve", "-input=false")
    assert applied.returncode == 0, applied.stderr
    assert (project / "terraform.spark-batch.tfstate").exists()

    # After a synth with this version: the same stack in the environment's folder (cdktf
    # rewrites cdk.tf.json at the old place first; the app moves it), state path with the
    # environment.
    (old_dir / "cdk.tf.json").unlink()
    stack_dir = old_dir / "example"
    stack_dir.mkdir()
    (stack_dir / "cdk.tf.json").write_text(_stack_json("../../../../terraform.example.spark-batch.tfstate"))
    for command in _migration_commands():
        command = command.replace("<env>", "example").replace("<stack>", "spark-batch")
        result = subprocess.run(
            command,
            shell=True,
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            executable="/bin/bash",
        )
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"

    assert not (project / "terraform.spark-batch.tfstate").exists()
    assert (project / "terraform.example.spark-batch.tfstate").exists()
    assert not (old_dir / ".terraform").exists()
    plan = tf("plan", "-detailed-exitcode", "-input=false", cwd=stack_dir)
    assert plan.returncode == 0, plan.stdout + plan.stderr  # 0: no changes, the resource is still in state


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH")
def test_without_the_migration_terraform_would_create_everything_again(tmp_path):
    """Why the note matters: the new path alone is an empty state, and the plan creates anew."""
    old_dir = tmp_path / "cdktf.out" / "stacks" / "spark-batch"
    old_dir.mkdir(parents=True)
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    (old_dir / "cdk.tf.json").write_text(_stack_json("../../../terraform.spark-batch.tfstate"))
    for args in (["init", "-input=false"], ["apply", "-auto-approve", "-input=false"]):
        assert subprocess.run(["terraform", *args], cwd=old_dir, env=env, capture_output=True).returncode == 0
    stack_dir = old_dir / "example"
    stack_dir.mkdir()
    (stack_dir / "cdk.tf.json").write_text(_stack_json("../../../../terraform.example.spark-batch.tfstate"))
    subprocess.run(["terraform", "init", "-input=false"], cwd=stack_dir, env=env, capture_output=True)
    plan = subprocess.run(
        ["terraform", "plan", "-detailed-exitcode", "-input=false", "-no-color"],
        cwd=stack_dir,
        env=env,
        capture_output=True,
        text=True,
    )
    assert plan.returncode == 2 and "1 to add" in plan.stdout


# --- each environment's own folder under cdktf.out --------------------------------------------


@pytest.fixture(scope="module")
def two_environments(settings, tmp_path_factory):
    """example, then acme, then example again, synthesized into one output folder, as when
    one checkout switches EMR_CDKTF_ENV; ``after`` runs between the syntheses."""
    from stacks.app import build_app

    acme = dataclasses.replace(settings, name="acme", fixed_ips=None)
    outdir = tmp_path_factory.mktemp("shared") / "cdktf.out"

    def synth(env):
        build_app(env, outdir=str(outdir)).synth()
        return json.loads((outdir / "manifest.json").read_text())["stacks"]

    return outdir, synth, settings, acme


def test_each_environment_synthesizes_into_its_own_folder_and_keeps_the_others(two_environments):
    outdir, synth, example, acme = two_environments
    synth(example)
    marker = outdir / "stacks" / "spark-batch" / "example" / ".terraform" / "marker"
    marker.parent.mkdir()
    marker.write_text("example's working data")
    manifest = synth(acme)
    assert manifest["spark-batch"]["workingDirectory"] == "stacks/spark-batch/acme"
    assert manifest["spark-batch"]["synthesizedStackPath"] == "stacks/spark-batch/acme/cdk.tf.json"
    for env in ("example", "acme"):
        doc = json.loads((outdir / "stacks" / "spark-batch" / env / "cdk.tf.json").read_text())
        assert doc["terraform"]["backend"]["local"]["path"] == f"../../../../terraform.{env}.spark-batch.tfstate"
        # the stack's assets moved with it: every source the JSON names is in its folder
        for obj in doc["resource"]["aws_s3_object"].values():
            assert (outdir / "stacks" / "spark-batch" / env / obj["source"]).is_file()
    assert marker.read_text() == "example's working data"
    # nothing of cdktf's own output is left one level up, where no one runs terraform
    assert sorted(p.name for p in (outdir / "stacks" / "spark-batch").iterdir()) == ["acme", "example"]
    manifest = synth(example)
    assert manifest["spark-batch"]["workingDirectory"] == "stacks/spark-batch/example"
    assert marker.read_text() == "example's working data"


def test_switching_environments_never_meets_the_other_environments_backend(two_environments, tmp_path):
    """With real terraform: init example's folder, switch to acme and init there, switch
    back: every init succeeds without -reconfigure (one backend per folder), and each
    folder's Terraform remembers its own environment's state."""
    from devtools.toolchain import Terraform, ToolchainMissing, find_toolchain, write_override

    try:
        toolchain = find_toolchain()
    except ToolchainMissing as exc:
        pytest.skip(str(exc))
    outdir, synth, example, acme = two_environments
    cli_config = toolchain.cli_config(tmp_path / "tf")

    def init(env):
        folder = outdir / "stacks" / "foundation" / env
        write_override(folder, toolchain.provider_version)
        Terraform(toolchain, folder, cli_config).init()  # -input=false: a backend change would fail
        backend = json.loads((folder / ".terraform" / "terraform.tfstate").read_text())["backend"]
        return backend["config"]["path"]

    synth(example)
    assert init("example") == "../../../../terraform.example.foundation.tfstate"
    synth(acme)
    assert init("acme") == "../../../../terraform.acme.foundation.tfstate"
    synth(example)
    assert init("example") == "../../../../terraform.example.foundation.tfstate"
