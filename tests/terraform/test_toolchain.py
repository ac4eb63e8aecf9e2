"""Finding terraform and the provider mirror, and the files written for offline runs. These
run without terraform: they are what decides whether the tier runs or is skipped."""

from __future__ import annotations

import json

import pytest

from devtools import toolchain as tc


def _mirror(root, *versions):
    for version in versions:
        folder = root / tc.PROVIDER_ADDRESS / version / tc._platform()
        folder.mkdir(parents=True)
        (folder / f"terraform-provider-aws_v{version}_x5").write_text("")
    return root


def test_provider_versions_are_read_from_the_mirror_layout_newest_last(tmp_path):
    mirror = _mirror(tmp_path, "5.9.0", "5.100.0", "5.31.0")
    (tmp_path / tc.PROVIDER_ADDRESS / "not-a-version").mkdir()
    other = tmp_path / tc.PROVIDER_ADDRESS / "6.0.0" / "windows_386"
    other.mkdir(parents=True)
    (other / "terraform-provider-aws_v6.0.0_x5.exe").write_text("")
    assert tc.provider_versions(mirror) == ["5.9.0", "5.31.0", "5.100.0"]


def test_the_mirror_variable_wins_over_the_search(tmp_path, monkeypatch):
    mirror = _mirror(tmp_path / "mine", "5.77.0")
    fake = tmp_path / "terraform"
    fake.write_text('#!/bin/sh\necho \'{"terraform_version": "1.9.9"}\'\n')
    fake.chmod(0o755)
    monkeypatch.setenv(tc.MIRROR_VARIABLE, str(mirror))
    monkeypatch.setenv(tc.TERRAFORM_VARIABLE, str(fake))
    found = tc.find_toolchain()
    assert (found.terraform, found.terraform_version) == (str(fake), "1.9.9")
    assert (found.mirror, found.provider_version) == (mirror, "5.77.0")
    assert "hashicorp/aws 5.77.0" in found.describe()


def test_whats_missing_is_named_with_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv(tc.MIRROR_VARIABLE, str(tmp_path / "empty"))
    monkeypatch.setenv(tc.TERRAFORM_VARIABLE, str(tmp_path / "no-terraform"))
    with pytest.raises(tc.ToolchainMissing) as missing:
        tc.find_toolchain()
    message = str(missing.value)
    assert "terraform CLI is not on PATH" in message and tc.TERRAFORM_VARIABLE in message
    assert "no hashicorp/aws provider plugin" in message
    assert "terraform providers mirror" in message and tc.MIRROR_VARIABLE in message


def test_the_usual_places_are_searched(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_DATA_DIRS", "/usr/local/share:/usr/share")
    places = [str(p) for p in tc.mirror_candidates()]
    assert str(tmp_path / ".terraform.d" / "plugins") in places
    assert str(tmp_path / "data" / "terraform" / "plugins") in places
    assert "/usr/share/terraform/plugins" in places


def test_cli_config_installs_from_the_mirror_only_with_a_shared_cache(tmp_path):
    toolchain = tc.Toolchain("terraform", "1.11.4", tmp_path / "mirror", "5.100.0")
    config = toolchain.cli_config(tmp_path / "work").read_text()
    assert f'path    = "{tmp_path / "mirror"}"' in config
    assert 'exclude = ["registry.terraform.io/*/*"]' in config
    assert f'plugin_cache_dir = "{tmp_path / "work" / "plugin-cache"}"' in config


def test_override_pins_the_version_and_points_the_backend_and_provider(tmp_path):
    path = tc.write_override(tmp_path, "5.100.0", backend_path=tmp_path / "s.tfstate", provider={"insecure": True})
    assert path.name == "zz_offline_override.tf.json"  # *_override.tf.json: merged by terraform
    assert json.loads(path.read_text()) == {
        "terraform": {
            "required_providers": {"aws": {"source": "hashicorp/aws", "version": "5.100.0"}},
            "backend": {"local": {"path": str(tmp_path / "s.tfstate")}},
        },
        "provider": {"aws": [{"insecure": True}]},
    }
