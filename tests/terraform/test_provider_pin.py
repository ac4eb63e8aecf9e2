"""The real-Terraform tier runs the provider the app pins, or says so.

Users run the version every stack pins (``required_providers``: hashicorp/aws 6.25.0); the
tier's figures hold for the provider it ran. So the tier's provider must be that pin,
except a version a filesystem mirror holds and ``devtools/provider_substitutes.toml`` declares with
its reason (this machine: 5.100.0). With ``EMR_CDKTF_PROVIDER_SOURCE=registry`` (the GitHub
workflow) no substitute is accepted. The version checked is the one ``terraform init``
actually selected for a synthesized stack, read back from terraform.
"""

from __future__ import annotations

import json
import shutil

import pytest

from devtools.toolchain import (
    OVERRIDE_FILE,
    PROVIDER_ADDRESS,
    SUBSTITUTES_FILE,
    Terraform,
    declared_substitutes,
    pin_difference,
    write_override,
)
from emr_constructs.framework import AWS_PROVIDER_VERSION


def test_every_stack_pins_the_apps_provider(synth):
    for name, stack in synth.stacks.items():
        aws = stack["terraform"]["required_providers"]["aws"]
        assert (aws["source"], aws["version"]) == ("hashicorp/aws", AWS_PROVIDER_VERSION), name


def test_the_provider_the_tier_used_is_the_pin_or_a_declared_substitute(synth, toolchain, cli_config, tmp_path):
    copy = tmp_path / "foundation"
    shutil.copytree(synth.folders["foundation"], copy, ignore=shutil.ignore_patterns(".terraform", OVERRIDE_FILE))
    # Exactly what the tier's fixtures and `make validate` write before init.
    write_override(copy, toolchain.provider_version)
    tf = Terraform(toolchain, copy, cli_config)
    tf.init(backend=False)
    used = json.loads(tf.run("version", "-json").stdout)["provider_selections"][PROVIDER_ADDRESS]
    pinned = synth["foundation"]["terraform"]["required_providers"]["aws"]["version"]

    assert used == toolchain.provider_version, "the toolchain reports another provider than terraform selected"
    problem = pin_difference(used, toolchain.source, pinned=pinned)
    assert problem is None, problem


@pytest.mark.parametrize(
    ("used", "source", "declared", "accepted"),
    [
        ("6.25.0", "registry", {}, True),
        ("6.25.0", "mirror", {}, True),
        ("5.100.0", "mirror", {"5.100.0": "offline machine"}, True),
        ("5.100.0", "mirror", {}, False),
        ("5.99.0", "mirror", {"5.100.0": "offline machine"}, False),
        # The registry installs what is asked: a substitute there means the override or the
        # lock file went wrong, declared or not.
        ("5.100.0", "registry", {"5.100.0": "offline machine"}, False),
    ],
)
def test_pin_difference_accepts_only_the_pin_or_a_declared_mirror_substitute(used, source, declared, accepted):
    problem = pin_difference(used, source, pinned="6.25.0", declared=declared)
    assert (problem is None) == accepted, problem
    if not accepted:
        assert f"hashicorp/aws {used}" in problem and "the app pins 6.25.0" in problem


def test_declared_substitutes_each_give_a_reason():
    declared = declared_substitutes()
    assert declared, f"{SUBSTITUTES_FILE} declares nothing"
    assert AWS_PROVIDER_VERSION not in declared
    assert all(len(reason) > 20 for reason in declared.values()), declared
