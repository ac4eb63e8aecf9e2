"""A purpose is one declaration (stacks.declaration.Purpose in stacks.clusters):
a new purpose becomes its own stack with what it declares; an unknown, incomplete or
inconsistent declaration is refused with every problem at once, exit 2 from main.py,
no traceback and nothing written."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from emr_constructs.model.errors import ConstructInputError
from environments.schema import READ_ONLY
from stacks.declaration import (
    SPARK_HISTORY_UI,
    DataAccess,
    Purpose,
    PurposeError,
    WebUi,
    check_purposes,
    purpose_problems,
)
from tests import example_app

ROOT = Path(__file__).resolve().parent.parent
JUPYTER_UI = WebUi("jupyterhub", "JupyterHub", 9443)

# The declarations (stacks.clusters) import the constructs, hence the provider bindings.
pytestmark = pytest.mark.synth


def spark_ml_01(stack):
    from emr_constructs.model.cluster_spec import ClusterSpec, InstanceGroupSpec
    from emr_constructs.model.ebs import EbsSpec

    return stack.add_cluster(
        ClusterSpec(
            name="spark-ml-01",
            release_label="emr-7.5.0",
            applications=("Hadoop", "Spark", "JupyterHub"),
            master=InstanceGroupSpec("m5.xlarge", ebs=EbsSpec.gp3(64)),
            core=InstanceGroupSpec("r5.xlarge", instance_count=2, ebs=EbsSpec.gp3(128)),
        )
    )


SPARK_ML = Purpose(
    name="spark-ml",
    summary="notebooks and model training",
    clusters=(spark_ml_01,),
    web_uis=(SPARK_HISTORY_UI, JUPYTER_UI),
    autoscaling=False,
    data_access=DataAccess(READ_ONLY, prefixes=("features/", "models/")),
)


@pytest.fixture(scope="module")
def with_spark_ml(settings, tmp_path_factory):
    import dataclasses

    from environments.settings import PurposeSettings
    from stacks.app import build_app
    from stacks.clusters import PURPOSE_DECLARATIONS

    # No UI is open by default (docs/security.md): the environment opens spark-ml's two.
    opened = dataclasses.replace(
        settings, purposes=(*settings.purposes, ("spark-ml", PurposeSettings(open_uis=("spark-history", "jupyterhub"))))
    )
    outdir = tmp_path_factory.mktemp("with-spark-ml")
    build_app(opened, outdir=str(outdir), purposes=(*PURPOSE_DECLARATIONS, SPARK_ML)).synth()
    from emr_constructs.model.layout import synthesized_stacks

    return {name: json.loads((p / "cdk.tf.json").read_text()) for name, p in synthesized_stacks(outdir).items()}


# --- a declared purpose is a stack with what it declares ----------------------------------


def test_a_new_purpose_is_its_own_stack_with_its_cluster(with_spark_ml):
    assert sorted(with_spark_ml) == ["foundation", "service-presto", "spark-batch", "spark-ml", "spark-stream"]
    (cluster,) = with_spark_ml["spark-ml"]["resource"]["aws_emr_cluster"].values()
    assert cluster["name"] == "spark-ml-01"


def test_the_new_purpose_opens_exactly_its_declared_uis_to_the_office(with_spark_ml, settings):
    rules = with_spark_ml["spark-ml"]["resource"]["aws_vpc_security_group_ingress_rule"].values()
    office = {(r["from_port"], r["description"]) for r in rules if r.get("cidr_ipv4") in settings.office_cidrs}
    assert office == {(18080, "Spark History Server UI from the office"), (9443, "JupyterHub from the office")}


def test_the_new_purpose_gets_its_declared_data_access_and_no_autoscaling_role(with_spark_ml):
    stack = with_spark_ml["spark-ml"]
    roles = [r["name"] for r in stack["resource"]["aws_iam_role"].values()]
    assert not any(name.endswith("-emr-autoscaling") for name in roles)
    (policy,) = [
        json.loads(p["policy"])
        for p in stack["resource"]["aws_iam_role_policy"].values()
        if p["name"].endswith("-emr-instance")
    ]
    data = [s for s in policy["Statement"] if "example-data-lake" in json.dumps(s["Resource"])]
    actions = {a for s in data for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    resources = {r for s in data for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])}
    assert "s3:GetObject" in actions and not any(a in actions for a in ("s3:PutObject", "s3:DeleteObject"))
    assert "arn:aws:s3:::example-data-lake/features/*" in resources
    assert "arn:aws:s3:::example-data-lake/models/*" in resources
    assert "arn:aws:s3:::example-data-lake/*" not in resources


def test_the_existing_purposes_are_unchanged_by_a_new_one(with_spark_ml, synth):
    for stack in ("foundation", "spark-batch", "spark-stream", "service-presto"):
        assert with_spark_ml[stack] == synth[stack]


def test_the_app_declares_each_purpose_completely():
    from stacks.clusters import PURPOSE_DECLARATIONS

    assert purpose_problems(PURPOSE_DECLARATIONS) == []
    assert [p.name for p in PURPOSE_DECLARATIONS] == ["spark-batch", "spark-stream", "service-presto"]
    # The names other tests are parametrized with (spelled out so collection stays cheap).
    assert tuple(p.name for p in PURPOSE_DECLARATIONS) == example_app.PURPOSES
    assert {p.name for p in PURPOSE_DECLARATIONS if p.autoscaling} == example_app.AUTOSCALING_PURPOSES
    assert PURPOSE_DECLARATIONS[2].ui_keys == ("trino",)


# --- refusals: every problem at once ------------------------------------------------------


def test_an_incomplete_purpose_names_every_missing_field():
    (problem,) = purpose_problems((Purpose(name="spark-ml", clusters=(spark_ml_01,)),))
    assert problem.startswith("purpose 'spark-ml': missing web_uis, autoscaling, data_access;")
    assert "web_uis=()" in problem


def test_bad_fields_are_each_named_with_the_value_and_what_is_allowed():
    bad = Purpose(
        name="Spark_ML",
        clusters=("spark_ml_01",),
        autoscaling="yes",
        web_uis=(WebUi("jupyter", "JupyterHub", 22), WebUi("jupyter", "", 70000), ("Livy", 8998)),
        data_access=DataAccess("write", prefixes=("/features/*",)),
    )
    problems = purpose_problems((bad,))
    assert problems == [
        "PURPOSE_DECLARATIONS[0].name = 'Spark_ML': lower-case words joined by '-', at most 16 characters "
        "(it names the stack, its state and its roles)",
        "purpose 'Spark_ML'.clusters[0] = 'spark_ml_01': a function taking the stack and returning its EmrCluster",
        "purpose 'Spark_ML'.web_uis[0].port = 22: SSH is opened to the admin CIDRs for every purpose, not as a web UI",
        "purpose 'Spark_ML'.web_uis[1].key = 'jupyter': already used by web_uis[0]",
        "purpose 'Spark_ML'.web_uis[1].description = '': what the UI is, for the security-group rule",
        "purpose 'Spark_ML'.web_uis[1].port = 70000: a TCP port, 1-65535",
        "purpose 'Spark_ML'.web_uis[2] = ('Livy', 8998): a WebUi(key, description, port)",
        "purpose 'Spark_ML'.autoscaling = 'yes': True or False",
        "purpose 'Spark_ML'.data_access.mode = 'write': one of none, read-only, read-write",
        "purpose 'Spark_ML'.data_access.prefixes[0] = '/features/*': '' (whole bucket) or a key prefix ending "
        "in '/', without wildcards or a leading '/', e.g. 'curated/'",
    ]


def test_duplicate_names_reserved_names_and_shared_clusters_are_refused():
    from stacks.clusters import PURPOSE_DECLARATIONS, spark_batch_operation_01

    copy = dataclasses.replace(PURPOSE_DECLARATIONS[1], summary="a copy")
    foundation = dataclasses.replace(SPARK_ML, name="foundation", clusters=(spark_batch_operation_01,))
    problems = purpose_problems((*PURPOSE_DECLARATIONS, copy, foundation))
    assert "PURPOSE_DECLARATIONS[3].name = 'spark-stream': already declared as PURPOSE_DECLARATIONS[1]" in problems
    assert "PURPOSE_DECLARATIONS[4].name = 'foundation': the name of the foundation stack; choose another" in problems
    assert (
        "purpose 'foundation'.clusters: spark_batch_operation_01 is also a cluster of purpose 'spark-batch'; "
        "a cluster belongs to one purpose"
    ) in problems
    assert any(p.startswith("purpose 'spark-stream'.clusters: spark_stream_01") for p in problems)


def test_a_purpose_name_too_long_for_its_role_names_is_refused():
    (problem,) = purpose_problems((dataclasses.replace(SPARK_ML, name="spark-machine-learning"),))
    assert "at most 16 characters" in problem


def test_check_purposes_raises_one_input_error_with_every_problem():
    with pytest.raises(ConstructInputError) as exc:
        check_purposes((Purpose(name="spark-ml"), Purpose(name="spark-ml2", clusters=())))
    assert isinstance(exc.value, PurposeError)
    assert str(exc.value).startswith("stacks/clusters.py PURPOSE_DECLARATIONS: 3 problem(s); nothing was synthesized")


def test_an_undeclared_purpose_stack_is_refused_naming_the_declared_ones(settings):
    from cdktf import Testing

    from stacks.clusters import declared
    from stacks.purpose import PurposeStack

    with pytest.raises(PurposeError) as exc:
        PurposeStack(Testing.app(), declared("spark-ml"), settings=settings)
    assert "purpose = 'spark-ml': not declared; declared purposes are spark-batch, spark-stream, service-presto" in str(
        exc.value
    )


def test_build_app_checks_the_declarations_before_creating_anything(settings, tmp_path):
    from stacks.app import build_app
    from stacks.clusters import PURPOSE_DECLARATIONS

    outdir = tmp_path / "out"
    with pytest.raises(PurposeError):
        build_app(settings, outdir=str(outdir), purposes=(*PURPOSE_DECLARATIONS, Purpose(name="spark-ml")))
    assert not outdir.exists()


def test_clusters_by_purpose_is_a_derived_view_that_cannot_drop_a_purpose_silently():
    from stacks.clusters import CLUSTERS, PURPOSE_DECLARATIONS

    assert dict(CLUSTERS) == {p.name: p.clusters for p in PURPOSE_DECLARATIONS}
    with pytest.raises(TypeError):
        CLUSTERS["spark-ml"] = (spark_ml_01,)  # type: ignore[index]


def test_ui_lookup_by_key_for_settings_that_open_or_close_uis():
    from stacks.clusters import PURPOSE_DECLARATIONS, spark_stream_01

    batch = PURPOSE_DECLARATIONS[0]
    assert batch.ui("spark-history").port == 18080
    with pytest.raises(KeyError, match="purpose 'spark-batch' declares no web UI 'trino'"):
        batch.ui("trino")
    assert spark_stream_01 in PURPOSE_DECLARATIONS[1].clusters


# --- the user's path: edit stacks/clusters.py, run the app ---------------------------------


def _copy_project(tmp_path: Path) -> Path:
    tree = tmp_path / "project"
    shutil.copytree(
        ROOT,
        tree,
        ignore=shutil.ignore_patterns(
            ".venv", "node_modules", ".tools", ".git", "cdktf.out", "tests", "__pycache__", "*.tfstate*", ".terraform"
        ),
    )
    return tree


@pytest.mark.e2e
def test_an_incomplete_purpose_in_clusters_py_exits_2_without_traceback_or_output(tmp_path):
    tree = _copy_project(tmp_path)
    clusters = tree / "stacks" / "clusters.py"
    clusters.write_text(
        clusters.read_text().replace(
            "PURPOSE_DECLARATIONS: tuple[Purpose, ...] = (",
            'PURPOSE_DECLARATIONS: tuple[Purpose, ...] = (\n    Purpose(name="spark-ml", clusters=(spark_stream_01,)),',
        )
    )
    out = tmp_path / "out"
    env = {**os.environ, "CDKTF_OUTDIR": str(out)}
    env.pop("EMR_CDKTF_ENV", None)
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "main.py"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "KeyError" not in result.stderr
    assert "purpose 'spark-ml': missing web_uis, autoscaling, data_access" in result.stderr
    assert "spark_stream_01 is also a cluster of purpose 'spark-ml'" in result.stderr
    assert not out.exists()
