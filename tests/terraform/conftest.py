"""Fixtures of the real-Terraform tier (see ``toolchain.py`` for how terraform and the
provider are found offline).

- ``toolchain``: the terraform CLI and the mirror's aws provider; the whole tier is skipped
  with a message naming what is missing and how to get it when either is absent.
- ``tf_workdir``: one folder per session holding the project's CLI configuration and the
  shared plugin cache; ``cli_config`` is its ``terraformrc``.
- ``synth_us_east_1``: the app synthesized for ``tests/terraform/us-east-1.toml``, a second
  environment in another region (the example environment is the root ``synth`` fixture).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Synthesized
from tests.terraform.toolchain import Toolchain, ToolchainMissing, find_toolchain

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
        _FOUND.append(found.describe())
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


def pytest_terminal_summary(terminalreporter):
    """Say which terraform and provider version the tier ran with."""
    if _FOUND:
        terminalreporter.write_line(f"terraform tier ran with {_FOUND[0]}")
