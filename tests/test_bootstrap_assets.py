"""BootstrapAssets: the scripts a stack's clusters run uploaded under a content-hashed,
per-stack key (and nothing else), and clusters referencing those keys."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from emr_constructs.model.errors import EmrConfigError

ROOT = Path(__file__).resolve().parent.parent
BOOTSTRAP = ROOT / "assets" / "bootstrap"
PURPOSE_STACKS = ("spark-batch", "spark-stream", "service-presto")


def scripts() -> list[Path]:
    return sorted(p for p in BOOTSTRAP.iterdir() if p.is_file() and not p.name.startswith("."))


def expected_key(purpose: str, path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return f"bootstrap/{purpose}/{path.stem}-{digest}{path.suffix}"


def uploads(doc: dict) -> dict:
    return doc.get("resource", {}).get("aws_s3_object", {})


def assets_stack(synth_stack, settings, directory: Path, purpose: str = "spark-batch") -> dict:
    """A bare stack holding only BootstrapAssets for ``directory``."""
    from cdktf import TerraformStack

    from emr_constructs.bootstrap_assets import BootstrapAssets

    def build(app):
        stack = TerraformStack(app, purpose)
        assets = BootstrapAssets(
            stack,
            "bootstrap-assets",
            directory=directory,
            bucket_name=settings.buckets.bootstrap_assets,
            purpose=purpose,
        )
        for name in list(assets.available):  # as if a cluster ran every script
            assets.action(name)
        return stack

    return synth_stack(build)


def test_each_stack_uploads_exactly_the_scripts_its_clusters_run(synth, settings):
    assert scripts(), "assets/bootstrap/ holds the scripts under test"
    for purpose in PURPOSE_STACKS:
        objects = synth.resources(purpose, "aws_s3_object")
        run = {
            a["path"]
            for c in synth.resources(purpose, "aws_emr_cluster").values()
            for a in c.get("bootstrap_action", [])
        }
        used = [p for p in scripts() if any(f"aws_s3_object.bootstrap_{p.stem}." in path for path in run)]
        assert {o["key"] for o in objects.values()} == {expected_key(purpose, p) for p in used}
        for path in used:
            obj = objects[f"bootstrap_{path.stem}"]
            assert obj["bucket"] == settings.buckets.bootstrap_assets
            assert obj["source_hash"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_spark_stream_does_not_upload_the_fixed_ip_script(synth):
    """spark-stream-01 runs three masters and has no fixed IP, so its stack never runs the
    fixed-IP script and must not carry it."""
    keys = [o["key"] for o in synth.resources("spark-stream", "aws_s3_object").values()]
    assert keys and not [k for k in keys if "assign_private_ip" in k]


def test_uploaded_file_is_the_script_itself(synth):
    for path in scripts():
        obj = synth.resources("spark-batch", "aws_s3_object")[f"bootstrap_{path.stem}"]
        copied = synth.folders["spark-batch"] / obj["source"]
        assert copied.read_bytes() == path.read_bytes()


def test_two_stacks_never_manage_the_same_key(synth):
    keys = [o["key"] for p in PURPOSE_STACKS for o in synth.resources(p, "aws_s3_object").values()]
    assert len(keys) == len(set(keys))


def test_old_object_outlives_its_replacement(synth):
    for obj in synth.resources("spark-batch", "aws_s3_object").values():
        assert obj["lifecycle"] == {"create_before_destroy": True}


def test_clusters_reference_the_uploaded_object(synth):
    cluster = synth.resources("spark-batch", "aws_emr_cluster")["spark-batch-production-01"]
    assert [a["name"] for a in cluster["bootstrap_action"]] == ["assign_private_ip", "tag_instance_role"]
    action = cluster["bootstrap_action"][1]
    assert action["path"] == (
        "s3://${aws_s3_object.bootstrap_tag_instance_role.bucket}/${aws_s3_object.bootstrap_tag_instance_role.key}"
    )


def test_every_action_ends_with_the_hash_of_the_script_it_runs(synth):
    """The provider replaces a cluster when an action's args change but only updates its
    state when the path alone changes; the hash in the args makes a script edit replace the
    clusters running it instead of deleting the object under them."""
    for purpose in PURPOSE_STACKS:
        objects = synth.resources(purpose, "aws_s3_object")
        for cluster in synth.resources(purpose, "aws_emr_cluster").values():
            for action in cluster["bootstrap_action"]:
                script = next(p for p in scripts() if f"aws_s3_object.bootstrap_{p.stem}." in action["path"])
                digest = hashlib.sha256(script.read_bytes()).hexdigest()[:16]
                assert action["args"][-2:] == ["--script-sha256", digest]
                assert objects[f"bootstrap_{script.stem}"]["key"].endswith(f"-{digest}{script.suffix}")


def test_a_script_edit_changes_the_args_of_the_actions_running_it(synth_stack, settings, tmp_path):
    from cdktf import TerraformStack

    from emr_constructs.bootstrap_assets import BootstrapAssets

    script = tmp_path / "hello.sh"
    actions = []

    def build(app):
        stack = TerraformStack(app, "spark-batch")
        assets = BootstrapAssets(
            stack, "bootstrap-assets", directory=tmp_path, bucket_name=settings.buckets.bootstrap_assets, purpose="x"
        )
        actions.append(assets.action("hello.sh", args=("--greeting", "hi")))
        return stack

    script.write_text("#!/bin/sh\necho one\n")
    synth_stack(build)
    script.write_text("#!/bin/sh\necho two\n")
    synth_stack(build)
    before, after = actions
    assert before.args[:2] == after.args[:2] == ("--greeting", "hi")
    assert before.args != after.args and after.args[2] == "--script-sha256"


def test_the_projects_scripts_accept_the_hash_argument():
    import subprocess
    import sys

    for path in scripts():
        result = subprocess.run(
            [sys.executable, str(path), "--help"], capture_output=True, text=True, timeout=30, check=False
        )
        assert result.returncode == 0 and "--script-sha256" in result.stdout, path.name


def test_instance_role_may_read_the_stacks_bootstrap_prefix(synth, settings):
    assert f"arn:aws:s3:::{settings.buckets.bootstrap_assets}/bootstrap/spark-batch/*" in json.dumps(
        synth["spark-batch"]
    )


def test_changed_script_gets_a_new_key_at_the_same_address(synth_stack, settings, tmp_path):
    from emr_constructs.bootstrap_assets import content_key

    script = tmp_path / "hello.sh"
    script.write_text("#!/bin/sh\necho one\n")
    before = uploads(assets_stack(synth_stack, settings, tmp_path))["bootstrap_hello"]["key"]
    script.write_text("#!/bin/sh\necho two\n")
    after = uploads(assets_stack(synth_stack, settings, tmp_path))["bootstrap_hello"]["key"]
    assert before != after
    assert after == content_key("spark-batch", "hello.sh", script.read_bytes())
    assert after.startswith("bootstrap/spark-batch/hello-") and after.endswith(".sh")


def test_hidden_files_and_caches_are_not_uploaded(synth_stack, settings, tmp_path):
    (tmp_path / "run.py").write_text("print('x')\n")
    (tmp_path / ".run.py.swp").write_text("junk")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "run.cpython-311.pyc").write_bytes(b"\0")
    assert list(uploads(assets_stack(synth_stack, settings, tmp_path))) == ["bootstrap_run"]


def test_empty_folder_uploads_nothing(synth_stack, settings, tmp_path):
    assert uploads(assets_stack(synth_stack, settings, tmp_path)) == {}


def test_missing_folder_is_refused(synth_stack, settings, tmp_path):
    with pytest.raises(EmrConfigError, match="not a folder"):
        assets_stack(synth_stack, settings, tmp_path / "nope")


def test_scripts_sharing_a_stem_are_refused(synth_stack, settings, tmp_path):
    (tmp_path / "setup.py").write_text("")
    (tmp_path / "setup.sh").write_text("")
    with pytest.raises(EmrConfigError, match="share the stem 'setup'"):
        assets_stack(synth_stack, settings, tmp_path)


def test_unknown_script_name_lists_the_available_ones(synth_stack, settings):
    from cdktf import TerraformStack, Testing

    from emr_constructs.bootstrap_assets import BootstrapAssets

    assets = BootstrapAssets(
        TerraformStack(Testing.app(), "s"),
        "bootstrap-assets",
        directory=BOOTSTRAP,
        bucket_name=settings.buckets.bootstrap_assets,
        purpose="spark-batch",
    )
    with pytest.raises(EmrConfigError, match="tag_instance_role.py"):
        assets.action("missing.py")
