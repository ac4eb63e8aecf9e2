"""Fixtures of the real-Terraform tier (see ``devtools/toolchain.py`` for how terraform and the
provider are found offline).

- ``toolchain``: the terraform CLI and the mirror's aws provider; the whole tier is skipped
  with a message naming what is missing and how to get it when either is absent.
- ``tf_workdir``: one folder per session holding the project's CLI configuration and the
  shared plugin cache; ``cli_config`` is its ``terraformrc``.
- ``synth_us_east_1``: the app synthesized for ``tests/terraform/us-east-1.toml``, a second
  environment in another region (the example environment is the root ``synth`` fixture).

The stand-in account (``devtools/standin.py`` documents the API):

- ``standin``: a moto server over https with the shim (``devtools/moto_shim.py``), one per session.
- ``standin_deployment``: a ``standin.Deployment`` (terraform against the stand-in, state
  kept under one session folder keyed by stack name).
- ``applied_example_app``: the example app's shape deployed into the stand-in once per
  session: the account's existing VPC, subnets and buckets created, an environment file
  written for them, every stack synthesized and applied in deploy order, each re-planned
  at once (``records``). Build on it: plan a changed synthesis of a stack against the same
  state with ``applied_example_app.plan_json(synthesized_stacks(other_outdir)[name])``; call the
  ``ops`` CLI with ``standin.aws_env(region)``. Tests that change the applied
  infrastructure must put it back. The destroy test (marked ``destroys_applied_app``)
  runs after every other test of the session.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.toolchain import Toolchain, ToolchainMissing, find_toolchain
from tests.conftest import Synthesized

HERE = Path(__file__).resolve().parent
US_EAST_1 = HERE / "us-east-1.toml"

_FOUND: list[str] = []


@pytest.fixture(scope="session")
def toolchain() -> Toolchain:
    try:
        found = find_toolchain()
    except ToolchainMissing as exc:
        pytest.skip(str(exc))
    if not _FOUND:
        _FOUND.append(found.report())
    return found


@pytest.fixture(scope="session")
def tf_workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("terraform")


@pytest.fixture(scope="session")
def cli_config(toolchain, tf_workdir) -> Path:
    return toolchain.cli_config(tf_workdir)


@pytest.fixture(scope="session")
def synth_us_east_1(tmp_path_factory) -> Synthesized:
    from environments.settings import load_environment
    from stacks.app import build_app

    outdir = tmp_path_factory.mktemp("cdktf.out.us-east-1")
    build_app(load_environment(str(US_EAST_1)), outdir=str(outdir)).synth()
    return Synthesized(outdir)


@pytest.fixture(scope="session")
def standin(tmp_path_factory):
    from devtools.standin import StandIn

    server = StandIn.start(tmp_path_factory.mktemp("standin"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def standin_deployment(toolchain, cli_config, standin, tmp_path_factory):
    from devtools.standin import Deployment

    return Deployment(toolchain, standin, tmp_path_factory.mktemp("standin-state"), cli_config)


@pytest.fixture(scope="session")
def applied_example_app(standin_deployment, tmp_path_factory):
    from devtools.standin import deploy_example_app

    app = deploy_example_app(standin_deployment, tmp_path_factory.mktemp("standin-app"))
    yield app
    if not app.destroyed:
        try:
            app.destroy()
        except Exception as exc:  # the stand-in goes away with the session anyway
            print(f"stand-in teardown: destroy failed: {exc}")


def pytest_configure(config):
    config.addinivalue_line("markers", "destroys_applied_app: destroys the session's applied_example_app; runs last")


def pytest_collection_modifyitems(config, items):
    """Run the test that destroys the shared applied app after every other test."""
    last = [item for item in items if item.get_closest_marker("destroys_applied_app")]
    items[:] = [item for item in items if item not in last] + last


def pytest_terminal_summary(terminalreporter):
    """Say which terraform and provider version the tier ran with."""
    if _FOUND:
        terminalreporter.write_line(f"terraform tier ran with {_FOUND[0]}")
