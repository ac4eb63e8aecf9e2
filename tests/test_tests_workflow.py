"""The tests workflow (.github/workflows/tests.yml) runs the real-Terraform tier with a
pinned terraform and the provider the app pins, on both frameworks (it cannot run here:
these checks read what it will do, and docs/framework.md shows the local dry-run)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from devtools import toolchain
from emr_constructs.framework import AWS_PROVIDER_VERSION

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "tests.yml").read_text())
JOB = WORKFLOW["jobs"]["lint-and-test"]


def _step(name_start: str) -> dict:
    return next(s for s in JOB["steps"] if s.get("name", "").startswith(name_start))


def test_terraform_is_installed_at_a_pinned_version_without_the_output_wrapper():
    setup = next(s for s in JOB["steps"] if s.get("uses", "").startswith("hashicorp/setup-terraform@"))
    assert re.fullmatch(r"\d+\.\d+\.\d+", WORKFLOW["env"]["TERRAFORM_VERSION"])
    assert setup["with"]["terraform_version"] == "${{ env.TERRAFORM_VERSION }}"
    assert setup["with"]["terraform_wrapper"] is False


def test_the_tier_takes_the_pinned_provider_from_the_registry():
    assert WORKFLOW["env"][toolchain.SOURCE_VARIABLE] == "registry"
    # What the tier will install there: exactly the app's pin, no mirror involved.
    assert toolchain.pinned_version() == AWS_PROVIDER_VERSION
    assert "devtools.toolchain check" in _step("Terraform and provider")["run"]


def test_both_frameworks_are_installed_and_the_cdk_terrain_job_names_existing_tests():
    assert "make deps FRAMEWORK=cdktn" in _step("Toolchains")["run"]
    command = _step("Tests (CDK Terrain)")["run"]
    assert "FRAMEWORK=cdktn" in command
    args = shlex.split(command.split("PYTEST_ARGS=", 1)[1])[0].split()
    assert args and all((ROOT / a).is_file() for a in args), args
    for tier in ("test_snapshots.py", "test_validate.py", "test_lifecycle.py", "test_provider_pin.py"):
        assert any(a.endswith(tier) for a in args), tier
