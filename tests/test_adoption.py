"""Adopting existing resources: [adopt.<stack>] settings, the import blocks the stacks
synthesize from them (valid for terraform as synthesized), the checks that need the
stacks, and ``ops adoption-report`` on saved plans."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from emr_constructs.model.layout import synthesized_stacks
from environments.settings import SettingsError, load_settings, parse_settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = (ROOT / "environments" / "example.toml").read_text()

ADOPT = """
[adopt.spark-batch.security_groups]
master-managed = "sg-0123456789abcdef0"
service-access = "sg-0123456789abcdef1"
[adopt.spark-batch.roles]
service = "example-spark-batch-emr-service"
autoscaling = "example-spark-batch-emr-autoscaling"
[adopt.spark-batch]
instance_profile = "example-spark-batch-emr-instance"
[adopt.spark-batch.clusters]
"spark-batch-production-01" = "j-2AXXXXXXGAPLF"
[adopt.spark-batch.instance_groups]
"spark-batch-production-01/task-spot-static-a" = "ig-1A2B3C4D5E6F7"
"spark-batch-production-01/task-spot-static-b" = "ig-2A2B3C4D5E6F7"
[adopt.foundation]
bootstrap_assets_bucket = true
"""


def env_file(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "adopting.toml"
    path.write_text(EXAMPLE + extra)
    return path


@pytest.fixture(scope="module")
def adopted(tmp_path_factory):
    from stacks.app import build_app

    tmp = tmp_path_factory.mktemp("adopt")
    outdir = tmp / "out"
    build_app(load_settings(env_file(tmp, ADOPT)), outdir=str(outdir)).synth()
    return outdir


def stack_json(outdir: Path, stack: str) -> dict:
    return json.loads((synthesized_stacks(outdir)[stack] / "cdk.tf.json").read_text())


# --- settings --------------------------------------------------------------------------


def test_adopt_tables_are_read_into_settings(tmp_path):
    settings = load_settings(env_file(tmp_path, ADOPT))
    batch = settings.adopt.for_stack("spark-batch")
    assert dict(batch.security_groups) == {
        "master-managed": "sg-0123456789abcdef0",
        "service-access": "sg-0123456789abcdef1",
    }
    assert dict(batch.roles) == {
        "service": "example-spark-batch-emr-service",
        "autoscaling": "example-spark-batch-emr-autoscaling",
    }
    assert batch.instance_profile == "example-spark-batch-emr-instance"
    assert dict(batch.clusters) == {"spark-batch-production-01": "j-2AXXXXXXGAPLF"}
    assert dict(batch.instance_groups) == {
        "spark-batch-production-01/task-spot-static-a": "ig-1A2B3C4D5E6F7",
        "spark-batch-production-01/task-spot-static-b": "ig-2A2B3C4D5E6F7",
    }
    assert settings.adopt.for_stack("foundation").bootstrap_assets_bucket is True
    assert settings.adopt.for_stack("spark-stream") is None


def test_environment_without_adopt_adopts_nothing(settings):
    assert settings.adopt is None


def test_bad_adopt_settings_are_reported_together(tmp_path):
    bad = """
[adopt.spark-batch.security_groups]
master-managed = "sg-nothex"
master-additonal = "sg-0123456789abcdef0"
slave-managed = "sg-0123456789abcdef1"
service-access = "sg-0123456789abcdef1"
[adopt.spark-batch.roles]
service = "a role with spaces"
[adopt.spark-batch]
instance_profile = 42
load_balancer = "lb-1"
[adopt.spark-batch.clusters]
"spark-batch-production-01" = "cluster-1"
[adopt.spark-batch.instance_groups]
"spark-batch-production-01/task-spot-static-a" = "ig-1A2B3C4D5E6F7"
"spark-batch-operation-01/task-spot-dynamic" = "ig-2A2B3C4D5E6F7"
"spark-batch-production-01" = "ig-3A2B3C4D5E6F7"
"spark-batch-production-01/task-spot-static-b" = "i-3A2B3C4D5E6F7"
[adopt.foundation]
bootstrap_assets_bucket = "yes"
"""
    with pytest.raises(SettingsError) as exc:
        load_settings(env_file(tmp_path, bad))
    assert exc.value.problems == [
        "adopt.spark-batch.load_balancer: unknown key; allowed keys here are security_groups, roles, "
        "instance_profile, clusters, instance_groups",
        "adopt.spark-batch.security_groups.master-managed = 'sg-nothex': sg- followed by 8 or 17 hexadecimal digits",
        "adopt.spark-batch.security_groups.master-additonal: unknown key; allowed keys here are master-managed, "
        "slave-managed, master-additional, slave-additional, service-access",
        "adopt.spark-batch.security_groups.service-access = 'sg-0123456789abcdef1': already adopted as "
        "adopt.spark-batch.security_groups.slave-managed; one existing resource can back only one resource of the stack",
        "adopt.spark-batch.roles.service = 'a role with spaces': an IAM role name: 1-64 letters, digits and +=,.@_-",
        "adopt.spark-batch.clusters.spark-batch-production-01 = 'cluster-1': an EMR cluster id, j- followed by "
        "upper-case letters and digits (aws emr list-clusters)",
        "adopt.spark-batch.instance_groups.spark-batch-production-01/task-spot-static-b = 'i-3A2B3C4D5E6F7': an EMR "
        "instance-group id, ig- followed by upper-case letters and digits (aws emr list-instance-groups --cluster-id "
        "j-...)",
        "adopt.spark-batch.instance_groups.\"spark-batch-operation-01/task-spot-dynamic\" = 'ig-2A2B3C4D5E6F7': its "
        "cluster 'spark-batch-operation-01' is not adopted; a task group is imported with its cluster's id, so add "
        "'spark-batch-operation-01' to [adopt.spark-batch.clusters] (or leave the group out and let the app create "
        "its own)",
        'adopt.spark-batch.instance_groups."spark-batch-production-01": name a group as "<cluster>/<task group>", '
        'e.g. "spark-batch-production-01/task-spot-static-a"',
        "adopt.spark-batch.instance_profile = 42: an instance-profile name: 1-64 letters, digits and +=,.@_-",
        "adopt.foundation.bootstrap_assets_bucket = 'yes': true to import buckets.bootstrap_assets (the bucket's "
        "name is its id), or leave it out",
    ]


def test_adopt_must_be_a_table_of_stacks():
    import tomllib

    raw = tomllib.loads(EXAMPLE)
    with pytest.raises(SettingsError) as exc:
        parse_settings({**raw, "adopt": "everything"}, "inline")
    assert exc.value.problems == [
        "adopt = 'everything': expected [adopt.<stack>] tables, e.g. [adopt.spark-batch.security_groups]"
    ]


# --- synthesized import blocks -----------------------------------------------------------


def test_each_adopted_id_is_an_import_block_on_the_stacks_own_resource(adopted):
    batch = stack_json(adopted, "spark-batch")
    imports = {block["id"]: block["to"] for block in batch["import"]}
    resources = batch["resource"]

    def address_of(rtype, **match):
        (name,) = [n for n, r in resources[rtype].items() if all(r.get(k) == v for k, v in match.items())]
        return f"{rtype}.{name}"

    assert imports == {
        "sg-0123456789abcdef0": address_of("aws_security_group", name="example-spark-batch-master-managed"),
        "sg-0123456789abcdef1": address_of("aws_security_group", name="example-spark-batch-service-access"),
        "example-spark-batch-emr-service": address_of("aws_iam_role", name="example-spark-batch-emr-service"),
        "example-spark-batch-emr-autoscaling": address_of("aws_iam_role", name="example-spark-batch-emr-autoscaling"),
        "example-spark-batch-emr-instance": address_of(
            "aws_iam_instance_profile", name="example-spark-batch-emr-instance"
        ),
        "j-2AXXXXXXGAPLF": "aws_emr_cluster.spark-batch-production-01",
        # the provider imports an instance group as "<cluster id>/<group id>"
        "j-2AXXXXXXGAPLF/ig-1A2B3C4D5E6F7": "aws_emr_instance_group.spark-batch-production-01_task-spot-static-a",
        "j-2AXXXXXXGAPLF/ig-2A2B3C4D5E6F7": "aws_emr_instance_group.spark-batch-production-01_task-spot-static-b",
    }
    (bucket_import,) = stack_json(adopted, "foundation")["import"]
    assert bucket_import["id"] == "example-emr-bootstrap-assets"
    assert bucket_import["to"].startswith("aws_s3_bucket.")


def test_stacks_without_adoption_have_no_import_blocks(adopted, synth):
    assert "import" not in stack_json(adopted, "spark-stream")
    for stack in synth.stacks:
        assert "import" not in synth[stack]


def test_adoption_changes_nothing_but_the_import_blocks(adopted, synth):
    for stack in ("foundation", "spark-batch", "spark-stream", "service-presto"):
        doc, plain = stack_json(adopted, stack), dict(synth[stack])
        doc.pop("import", None)
        # cdktf notes the imports in its metadata block (not read by terraform).
        doc["//"]["metadata"].pop("imports", None)
        assert doc == plain


def test_adopted_stacks_pass_terraform_validate(adopted, tmp_path):
    from devtools.toolchain import (
        ToolchainMissing,
        find_toolchain,
        validate_stacks,
    )

    try:
        toolchain = find_toolchain()
    except ToolchainMissing as exc:
        pytest.skip(str(exc))
    only = tmp_path / "stacks"
    for stack in ("foundation", "spark-batch"):
        shutil.copytree(synthesized_stacks(adopted)[stack], only / stack)
    timings = validate_stacks(only, tmp_path / "work", toolchain, echo=lambda *_: None)
    assert sorted(timings) == ["foundation", "spark-batch"]


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (
            '[adopt.spark-ml.roles]\nservice = "x"\n',
            "adopt.spark-ml: no stack named 'spark-ml'; stacks are foundation, spark-batch, spark-stream, service-presto",
        ),
        (
            '[adopt.spark-stream.roles]\nautoscaling = "x"\n',
            "adopt.spark-stream.roles.autoscaling = 'x': purpose 'spark-stream' has no autoscaling role (its declaration "
            "says autoscaling=False); drop the key",
        ),
        (
            '[adopt.spark-batch.clusters]\n"spark-batch-production-09" = "j-2AXXXXXXGAPLF"\n',
            "adopt.spark-batch.clusters.spark-batch-production-09 = 'j-2AXXXXXXGAPLF': stack 'spark-batch' defines no "
            "cluster named 'spark-batch-production-09' (clusters: spark-batch-flex-01, spark-batch-operation-01, spark-batch-production-01)",
        ),
        (
            '[adopt.spark-batch.clusters]\n"spark-batch-operation-01" = "j-2AXXXXXXGAPLF"\n'
            '[adopt.spark-batch.instance_groups]\n"spark-batch-operation-01/task-spot-static-a" = "ig-1A2B3C4D5E6F7"\n',
            "adopt.spark-batch.instance_groups.\"spark-batch-operation-01/task-spot-static-a\" = 'ig-1A2B3C4D5E6F7': "
            "cluster 'spark-batch-operation-01' has no task group named 'task-spot-static-a' in stacks/clusters.py "
            "(its task groups: task-spot-dynamic)",
        ),
    ],
)
def test_adoption_naming_what_no_stack_has_is_refused(tmp_path, extra, problem):
    from emr_constructs.model.errors import ConstructInputError
    from stacks.app import build_app

    with pytest.raises(ConstructInputError) as exc:
        build_app(load_settings(env_file(tmp_path, "\n" + extra)), outdir=str(tmp_path / "out"))
    assert exc.value.problems == [problem]


# --- ops adoption-report ----------------------------------------------------------------------


def _change(address, rtype, actions, *, importing=None, before=None, after=None, replace_paths=None):
    change = {"actions": actions, "before": before, "after": after, "after_unknown": {}}
    if importing:
        change["importing"] = {"id": importing}
    if replace_paths:
        change["replace_paths"] = replace_paths
    return {"address": address, "type": rtype, "change": change}


PLAN = {
    "format_version": "1.2",
    "resource_changes": [
        _change(
            "aws_security_group.sg_master",
            "aws_security_group",
            ["no-op"],
            importing="sg-0123456789abcdef0",
            before={"name": "m"},
            after={"name": "m"},
        ),
        _change(
            "aws_iam_role.roles_service",
            "aws_iam_role",
            ["update"],
            importing="acme-emr-service",
            before={"tags": {}, "tags_all": {}, "name": "r"},
            after={"tags": {"project": "emr-cdktf"}, "tags_all": {"project": "emr-cdktf"}, "name": "r"},
        ),
        _change(
            "aws_security_group.sg_service",
            "aws_security_group",
            ["delete", "create"],
            importing="sg-0123456789abcdef1",
            replace_paths=[["name"], ["description"]],
        ),
        _change(
            "aws_emr_cluster.spark-batch-production-01",
            "aws_emr_cluster",
            ["create", "delete"],
            importing="j-2AXXXXXXGAPLF",
            replace_paths=[["release_label"], ["bootstrap_action"]],
        ),
        _change("aws_s3_object.script", "aws_s3_object", ["create"]),
        _change("aws_iam_role_policy.p", "aws_iam_role_policy", ["update"]),
    ],
}


def report(tmp_path, *extra, plan=PLAN):
    from ops.cli import main
    from ops.runtime import Runtime

    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    out, err = io.StringIO(), io.StringIO()
    code = main(["adoption-report", str(path), *extra], runtime=Runtime(out=out), err=err)
    return code, out.getvalue(), err.getvalue(), path


def test_report_sorts_adopted_resources_into_kept_updated_and_replaced(tmp_path):
    code, out, _, path = report(tmp_path)
    lines = out.splitlines()
    assert code == 0
    assert lines[0] == f"{path}: 4 adopted resource(s): 1 kept as they are, 1 updated in place, 2 REPLACED"
    assert lines[1].startswith(
        "  REPLACED  aws_emr_cluster.spark-batch-production-01  (existing j-2AXXXXXXGAPLF): "
        "the existing resource would be DESTROYED and a new one created; forced by "
        "bootstrap_action, release_label. Adopt this cluster blue/green instead"
    )
    assert lines[2] == (
        "  REPLACED  aws_security_group.sg_service  (existing sg-0123456789abcdef1): the existing "
        "resource would be DESTROYED and a new one created; forced by description, name. Make the "
        "code match the existing resource, or leave it out of [adopt]"
    )
    assert lines[3] == "  UPDATED   aws_iam_role.roles_service  (existing acme-emr-service): in place: tags"
    assert lines[4] == "  KEPT      aws_security_group.sg_master  (existing sg-0123456789abcdef0)"
    assert lines[5] == "  other changes in this plan: 1 to create, 1 to update, 0 to replace, 0 to delete"


def test_report_fails_on_replacement_when_asked(tmp_path):
    assert report(tmp_path, "--fail-on-replace")[0] == 1
    kept_only = {"resource_changes": PLAN["resource_changes"][:2]}
    assert report(tmp_path, "--fail-on-replace", plan=kept_only)[0] == 0


def test_report_on_a_plan_without_imports_says_so(tmp_path):
    code, out, _, _ = report(tmp_path, plan={"resource_changes": PLAN["resource_changes"][4:]})
    assert code == 0
    assert "0 adopted resource(s)" in out and "no import blocks in this plan" in out


def test_report_refuses_what_is_not_a_saved_plan(tmp_path):
    code, _, err, path = report(tmp_path, plan={"version": 4, "resources": []})
    assert code == 2
    assert f"{path}: not the JSON of a saved plan (no resource_changes)" in err


def test_report_refuses_an_errored_plan_and_reports_nothing(tmp_path):
    # Terraform saves a plan that stopped at an error with errored = true and only what it
    # planned before the error: the adopted cluster and its task group would be missing.
    errored = {**PLAN, "errored": True, "resource_changes": PLAN["resource_changes"][:3]}
    code, out, err, path = report(tmp_path, plan=errored)
    assert code == 2
    assert out == ""
    assert f"{path}: Terraform could not finish this plan (errored = true)" in err
    assert "fix the errors `terraform plan` printed" in err


def test_report_names_every_unusable_plan_at_once(tmp_path):
    from ops.cli import main
    from ops.runtime import Runtime

    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(PLAN))
    bad.write_text(json.dumps({**PLAN, "errored": True}))
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["adoption-report", str(good), str(bad), str(tmp_path / "missing.json")], runtime=Runtime(out=out), err=err
    )
    assert code == 2 and out.getvalue() == ""
    assert f"{bad}: Terraform could not finish this plan" in err.getvalue()
    assert f"{tmp_path / 'missing.json'}: no such file" in err.getvalue()
