"""The app on cdktf 0.21 and on CDK Terrain 0.24 (docs/framework.md): one setting selects
the framework, and both synthesize the same Terraform.

The session's own synthesis (``synth``) is made with the framework this pytest runs on;
the other framework synthesizes in its own virtualenv (``tests/frameworks.py``). Skipped,
saying how to install it, when that virtualenv is absent.
"""

from __future__ import annotations

import subprocess

import pytest

from emr_constructs import framework
from emr_constructs.model.layout import synthesized_stacks
from tests.conftest import Synthesized
from tests.frameworks import ROOT, differences, install_hint, normalized, python_of, synth_with

CURRENT = framework.selected().name
OTHER = "cdktn" if CURRENT == "cdktf" else "cdktf"
# Where the parsed JSON of the two frameworks may differ, and why (docs/framework.md): the
# top-level metadata block names the framework's version. (The provider source, which the
# frameworks spell differently, is set by the app; the files also differ in how empty
# objects are written, which parsing removes: tests/test_snapshots.py checks the bytes.)
ALLOWED_RAW = (".//.metadata.version",)


@pytest.fixture(scope="module")
def other_synth(tmp_path_factory) -> Synthesized:
    if python_of(OTHER) is None:
        pytest.skip(install_hint(OTHER))
    return Synthesized(synth_with(OTHER, tmp_path_factory.mktemp(f"{OTHER}.out")))


def test_both_frameworks_synthesize_the_same_stacks(synth, other_synth):
    assert sorted(other_synth.stacks) == sorted(synth.stacks)
    for name in synth.stacks:
        for block in ("resource", "data"):
            assert normalized(other_synth[name].get(block)) == normalized(synth[name].get(block)), (
                f"{name}: {block} differs between {CURRENT} and {OTHER}:\n"
                + "\n".join(differences(normalized(synth[name].get(block)), normalized(other_synth[name].get(block))))
            )


def test_what_remains_different_is_only_the_framework_version_in_the_metadata(synth, other_synth):
    for name in synth.stacks:
        assert differences(normalized(synth[name]), normalized(other_synth[name])) == [], name
        raw = differences(synth[name], other_synth[name])
        unexplained = [d for d in raw if not d.startswith(ALLOWED_RAW)]
        assert unexplained == [], f"{name}: differences docs/framework.md does not list: {unexplained}"
        for stack in (synth[name], other_synth[name]):
            aws = stack["terraform"]["required_providers"]["aws"]
            # The app's pin, not the binding package's (cdktn-provider-aws would pin 6.69.1).
            assert aws["version"] == framework.AWS_PROVIDER_VERSION
        versions = {s["//"]["metadata"]["version"] for s in (synth[name], other_synth[name])}
        assert len(versions) == 2, f"{name}: both syntheses claim framework version {versions}"


def test_the_framework_setting_is_read_and_checked():
    assert framework.selected({}).name == "cdktf"
    assert framework.selected({"EMR_CDKTF_FRAMEWORK": ""}).name == "cdktf"
    assert framework.selected({"EMR_CDKTF_FRAMEWORK": " cdktn "}).name == "cdktn"
    with pytest.raises(framework.FrameworkError) as refused:
        framework.selected({"EMR_CDKTF_FRAMEWORK": "terrain"})
    message = str(refused.value)
    assert "EMR_CDKTF_FRAMEWORK='terrain'" in message and "cdktf" in message and "cdktn" in message
    assert "FRAMEWORK=cdktn" in message


def _main(python, env: dict[str, str], outdir) -> subprocess.CompletedProcess:
    code = f"import sys, main; sys.exit(main.run(outdir={str(outdir)!r}))"
    return subprocess.run(
        [str(python), "-c", code],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_bad_framework_setting_is_refused_before_anything_is_written(tmp_path):
    out = tmp_path / "out"
    result = _main(python_of(CURRENT), {"EMR_CDKTF_FRAMEWORK": "cdk"}, out)
    assert result.returncode == 2, result.stderr
    assert "EMR_CDKTF_FRAMEWORK='cdk' is not a framework this app runs on" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


def test_a_framework_missing_from_the_virtualenv_says_which_one_it_has_and_how_to_install(tmp_path):
    out = tmp_path / "out"
    result = _main(python_of(CURRENT), {"EMR_CDKTF_FRAMEWORK": OTHER}, out)
    assert result.returncode == 2, result.stderr
    needed = framework.FRAMEWORKS[OTHER]
    assert f"{needed.distribution} is not installed" in result.stderr
    assert f"set EMR_CDKTF_FRAMEWORK={CURRENT}" in result.stderr and needed.how_to_install in result.stderr
    assert not out.exists()


def test_on_cdk_terrain_the_cdktf_names_are_cdk_terrain_itself():
    python = python_of("cdktn")
    if python is None:
        pytest.skip(install_hint("cdktn"))
    probe = (
        "import sys, emr_constructs.model.pricing\n"
        # The seam is lazy: the pure-Python helpers (the ops side) still load no framework.
        "assert not [m for m in sys.modules if m.split('.')[0] in ('cdktf', 'cdktn', 'jsii')]\n"
        "import cdktf, cdktn, cdktf_cdktf_provider_aws.emr_cluster as a, cdktn_provider_aws.emr_cluster as b\n"
        "assert cdktf is cdktn and a is b and cdktf.App is cdktn.App\n"
        "assert cdktn.__spec__.name == 'cdktn' and b.__spec__.name == 'cdktn_provider_aws.emr_cluster'\n"
    )
    result = subprocess.run(
        [str(python), "-c", probe],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "EMR_CDKTF_FRAMEWORK": "cdktn"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_synthesized_folders_are_where_the_other_framework_puts_them(synth, other_synth):
    # The environment-folder layout (stacks.app.EnvironmentApp) rewrites the manifest the
    # CLI follows; it must hold on both frameworks, or `cdktn deploy` would run elsewhere.
    assert {n: p.relative_to(other_synth.outdir) for n, p in synthesized_stacks(other_synth.outdir).items()} == {
        n: p.relative_to(synth.outdir) for n, p in synth.folders.items()
    }


def test_code_that_needs_no_framework_runs_in_a_virtualenv_without_the_selected_one():
    # The stand-in server, ops and review import emr_constructs helpers, not cdktf: they
    # must run whatever EMR_CDKTF_FRAMEWORK says; the first cdktf import says what is wrong.
    probe = (
        "import emr_constructs.model.layout, emr_constructs.model.pricing, emr_constructs.model.contract\n"
        "from emr_constructs.framework import FrameworkError\n"
        "try:\n"
        "    import emr_constructs.emr_cluster\n"
        "except FrameworkError as exc:\n"
        "    print(exc)\n"
        "else:\n"
        "    raise SystemExit('a construct imported without its framework')\n"
    )
    result = subprocess.run(
        [str(python_of(CURRENT)), "-c", probe],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "EMR_CDKTF_FRAMEWORK": OTHER},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"{framework.FRAMEWORKS[OTHER].distribution} is not installed" in result.stdout
