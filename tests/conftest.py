"""Shared fixtures.

The AWS provider bindings cost seconds and hundreds of MB to import, so the whole example
app is synthesized once per test session (``synth``) and every test reads the parsed JSON.
Tests that need a variant of a stack build it with ``synth_stack`` in the same process
(the import is already paid).

Lanes (markers registered in pytest.ini, set here from what a test uses, so new tests get
them without asking): ``terraform`` (the real-Terraform tier and every test using its
toolchain), ``netns`` (network namespaces), ``synth`` (synthesizes: the ``synth*`` fixtures,
``Testing.app()``, a ``cdktf synth`` subprocess) and ``slow``. ``make test-fast`` runs what
carries none of them; a test there that imports the provider bindings anyway fails the run,
naming itself, so the fast lane stays fast. Under pytest-xdist (``make test``), the
terraform tier shares its session fixtures (one stand-in, one applied app, the destroy
last), so all of it runs on one worker (``xdist_group``, with ``--dist loadgroup``).
"""

from __future__ import annotations

import inspect
import json
import os
import re
import sys
from functools import cache
from pathlib import Path

import pytest

# The framework seam (EMR_CDKTF_FRAMEWORK) goes in before any test module imports cdktf.
import emr_constructs  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
LOCAL_NODE = ROOT / "node_modules" / ".bin" / "node"
if LOCAL_NODE.exists():
    # jsii runs its kernel with this node; the project's Node 22 avoids the end-of-life banner.
    os.environ.setdefault("JSII_NODE", str(LOCAL_NODE))


# `make test` runs pytest inside make; the tests that run make themselves must see what a
# user's shell sees, not a sub-make (which prints "Entering directory" lines and inherits
# the outer make's flags).
for _make_variable in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS"):
    os.environ.pop(_make_variable, None)


def pytest_report_header(config) -> str:
    """Which framework, terraform and provider this run uses (the real-Terraform tier's
    figures hold for that provider only; docs/framework.md)."""
    from devtools.toolchain import ProviderSourceError, ToolchainMissing, find_toolchain
    from emr_constructs.framework import selected, versions

    chosen = selected()
    lines = [f"framework: {chosen.name} ({', '.join(f'{k} {v}' for k, v in versions(chosen).items())})"]
    try:
        lines.append(f"real-Terraform tier: {find_toolchain().report()}")
    except (ToolchainMissing, ProviderSourceError) as exc:
        lines.append(f"real-Terraform tier: {exc}")
    return "\n".join(lines)


# Fixtures that mean a lane: a test using one of them (directly or through another
# fixture) gets the marker.
LANE_FIXTURES = {
    "terraform": {"toolchain", "cli_config", "tf_workdir", "standin_deployment", "applied_example_app"},
    "netns": {"netns_skip_reason", "node_ns"},
    "synth": {"synth", "synth_stack", "synth_us_east_1"},
    # Runs the AWS CLI against moto in a subprocess, seconds a call.
    "slow": {"require_aws_cli"},
}
# What a test (or a fixture or module-level helper it calls) says when it synthesizes: in
# this process (the constructs, Testing.app) or in a subprocess (cdktf synth, the review's
# synthesizer). Running main.py is not enough: bad settings stop it before any import.
SYNTH_WORDS = re.compile(
    r"Testing\.app|PurposeStack|FoundationStack|build_app|EmrBaseStack|TerraformStack|\bApp\(|"
    r"fixture_app import build|Synthesizer|SynthCache|cdktf synth|\"synth\""
)
# What a test says when it runs terraform itself (outside the tier's fixtures).
TERRAFORM_WORDS = re.compile(r"find_toolchain|which\(\"terraform\"\)")
# Folders whose every test is in a lane.
LANE_FOLDERS = {"terraform": ROOT / "tests" / "terraform"}
# The one import that makes a test a synthesizing one (seconds, hundreds of MB).
PROVIDER_MODULE = "cdktf_cdktf_provider_aws"


@cache
def _source(obj) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return ""


def _says_synth(function, module, depth: int = 2, words: re.Pattern = SYNTH_WORDS) -> bool:
    """The function's source, a module-level program text it names, or a module-level
    function it calls, synthesizes."""
    text = _source(function)
    if words.search(text):
        return True
    if module is not None:
        # A program it writes out and runs, e.g. a main.py kept in a module constant.
        for name in set(re.findall(r"\b([A-Z_][A-Z0-9_]*)\b", text)):
            value = getattr(module, name, None)
            if isinstance(value, str) and words.search(value):
                return True
    if depth and module is not None:
        for name in set(re.findall(r"\b([A-Za-z_]\w*)\(", text)):
            helper = getattr(module, name, None)
            if inspect.isfunction(helper) and helper is not function and helper.__module__ == module.__name__:
                if _says_synth(helper, module, depth - 1, words):
                    return True
    return False


def _says(item, words: re.Pattern) -> bool:
    module = getattr(item, "module", None)
    function = getattr(item, "function", None)
    if function is not None and _says_synth(function, module, words=words):
        return True
    info = getattr(item, "_fixtureinfo", None)
    for defs in info.name2fixturedefs.values() if info else ():
        for fixturedef in defs:
            func = fixturedef.func
            if _says_synth(func, sys.modules.get(func.__module__), words=words):
                return True
    return False


# First: pytest-xdist's own hook reads the xdist_group markers set here to give each test
# its group, and without tryfirst it runs before this one (it registers later) and finds none.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if _says(item, SYNTH_WORDS):
            item.add_marker("synth")
        skips = " ".join(str(mark.kwargs.get("reason", "")) for mark in item.iter_markers("skipif"))
        if "terraform" in skips or _says(item, TERRAFORM_WORDS):
            item.add_marker("terraform")
        path = Path(str(item.path))
        for lane, fixtures in LANE_FIXTURES.items():
            if used & fixtures:
                item.add_marker(lane)
        for lane, folder in LANE_FOLDERS.items():
            if folder in path.parents:
                item.add_marker(lane)
        if item.get_closest_marker("e2e"):
            item.add_marker("synth")
        # The tier's tests share session fixtures (one stand-in account, one applied app
        # that its last test destroys): under xdist they all go to the same worker.
        if item.get_closest_marker("terraform"):
            # The guarded deploy's stand-in tests share only the stand-in server itself (a
            # worker starts its own), each in an environment of its own: a group of their
            # own runs them beside the rest of the tier.
            own = item.path.name == "test_deploy_standin.py"
            item.add_marker(pytest.mark.xdist_group("terraform-deploy" if own else "terraform"))


_PROVIDER_BEFORE = pytest.StashKey[bool]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    item.stash[_PROVIDER_BEFORE] = PROVIDER_MODULE in sys.modules


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In a lane-selected run (``-m``, as ``make test-fast``), a test without the synth
    marker that imports the provider bindings fails (at teardown, naming itself), so the
    fast lane cannot grow slow unnoticed. The whole suite runs every lane: there, which
    test happens to import the bindings first on a worker is no finding."""
    outcome = yield
    report = outcome.get_result()
    if (
        call.when == "teardown"
        and item.config.getoption("markexpr")
        and report.passed
        and not item.stash.get(_PROVIDER_BEFORE, True)
        and PROVIDER_MODULE in sys.modules
        and not item.get_closest_marker("synth")
    ):
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid} imported {PROVIDER_MODULE} (seconds, hundreds of MB) without the synth "
            "marker: use the synth_stack fixture, or mark the test or its module pytest.mark.synth"
        )


class Synthesized:
    """The parsed ``cdk.tf.json`` of every stack of one synthesized app."""

    def __init__(self, outdir: Path):
        from emr_constructs.model.layout import synthesized_stacks

        self.outdir = outdir
        self.folders = synthesized_stacks(outdir)
        self.stacks = {name: json.loads((folder / "cdk.tf.json").read_text()) for name, folder in self.folders.items()}

    def __getitem__(self, stack: str) -> dict:
        return self.stacks[stack]

    def resources(self, stack: str, rtype: str) -> dict:
        return self.stacks[stack].get("resource", {}).get(rtype, {})


@pytest.fixture(scope="session")
def settings():
    from environments.settings import load_environment

    return load_environment("example")


@pytest.fixture(scope="session")
def synth(settings, tmp_path_factory) -> Synthesized:
    from stacks.app import build_app

    outdir = tmp_path_factory.mktemp("cdktf.out")
    build_app(settings, outdir=str(outdir)).synth()
    return Synthesized(outdir)


@pytest.fixture(scope="session")
def synth_stack():
    """Synthesize one stack built by ``build(scope)`` into JSON, reusing this process's import."""
    from cdktf import Testing

    def _synth(build):
        app = Testing.app()
        stack = build(app)
        return json.loads(Testing.synth(stack))

    return _synth


# The guarded deploy's fault figures (tests/terraform/test_deploy_standin.py), added up from
# the reports of every test, so they are complete under pytest-xdist too.
_DEPLOY_FIGURES: dict[str, int] = {}


def pytest_runtest_logreport(report):
    if report.when != "teardown":
        return
    for name, value in report.user_properties:
        if name == "deploy_figures":
            for key, count in value.items():
                _DEPLOY_FIGURES[key] = _DEPLOY_FIGURES.get(key, 0) + count


def pytest_terminal_summary(terminalreporter):
    if _DEPLOY_FIGURES:
        terminalreporter.write_line(
            "guarded deploy against the stand-in: "
            + ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in _DEPLOY_FIGURES.items())
        )
