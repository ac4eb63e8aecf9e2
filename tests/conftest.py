"""Shared fixtures.

The AWS provider bindings cost seconds and hundreds of MB to import, so the whole example
app is synthesized once per test session (``synth``) and every test reads the parsed JSON.
Tests that need a variant of a stack build it with ``synth_stack`` in the same process
(the import is already paid).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCAL_NODE = ROOT / "node_modules" / ".bin" / "node"
if LOCAL_NODE.exists():
    # jsii runs its kernel with this node; the project's Node 22 avoids the end-of-life banner.
    os.environ.setdefault("JSII_NODE", str(LOCAL_NODE))


class Synthesized:
    """The parsed ``cdk.tf.json`` of every stack of one synthesized app."""

    def __init__(self, outdir: Path):
        from emr_constructs.layout import synthesized_stacks

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
