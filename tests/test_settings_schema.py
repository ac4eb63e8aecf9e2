"""The JSON Schema of environments/*.toml that editors use (docs/settings.md, "Editor
support"): generated from the settings model, never stale, and it agrees with the settings
check on what a valid file is."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import jsonschema
import pytest

from environments import schema
from environments.settings import ENVIRONMENTS_DIR, SettingsError, parse_settings

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = tomllib.loads((ENVIRONMENTS_DIR / "example.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    committed = json.loads(schema.SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(committed)
    return jsonschema.Draft202012Validator(committed)


def test_the_committed_schema_is_what_the_model_generates():
    result = subprocess.run(
        [sys.executable, "-m", "environments.schema", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_a_stale_schema_is_reported_with_the_command_that_fixes_it(tmp_path, monkeypatch):
    stale = tmp_path / "settings.schema.json"
    stale.write_text(schema.schema_text().replace("twelve digits", "eleven digits"), encoding="utf-8")
    monkeypatch.setattr(schema, "SCHEMA_PATH", stale)
    assert schema.main(["--check"]) == 1
    assert schema.main([]) == 0 and schema.main(["--check"]) == 0


@pytest.mark.parametrize("path", sorted(ENVIRONMENTS_DIR.glob("*.toml")), ids=lambda p: p.name)
def test_every_environment_file_validates_against_the_schema(validator, path):
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    assert [e.message for e in validator.iter_errors(raw)] == []
    parse_settings(raw, path.name)  # and the settings check agrees


# Mistakes an editor underlines as you type, each also refused by the settings check.
EDITOR_MISTAKES = [
    ("unknown key", lambda raw: raw.update(regoin="eu-west-1"), [], "regoin"),
    ("number for text", lambda raw: raw.update(account_id=123456789012), ["account_id"], "account_id"),
    ("unknown region", lambda raw: raw.update(region="eu-west-9"), ["region"], "region"),
    ("bad vpc id", lambda raw: raw.update(vpc_id="vpc-XYZ"), ["vpc_id"], "vpc_id"),
    ("empty people list", lambda raw: raw.update(admin_cidrs=[]), ["admin_cidrs"], "admin_cidrs"),
    ("missing bucket", lambda raw: raw["buckets"].pop("data"), ["buckets"], "buckets.data"),
    (
        "quoted boolean",
        lambda raw: raw["security"].update(require_imdsv2="true"),
        ["security", "require_imdsv2"],
        "security.require_imdsv2",
    ),
    ("unknown mode", lambda raw: raw["fixed_ips"].update(mode="elastic"), ["fixed_ips", "mode"], "fixed_ips.mode"),
    ("bad purpose name", lambda raw: raw["purposes"].update(Spark={}), ["purposes"], "purposes"),
    (
        "unknown data access",
        lambda raw: raw["purposes"]["spark-batch"]["data"][0].update(access="write"),
        ["purposes", "spark-batch", "data", 0, "access"],
        "purposes.spark-batch.data[0].access",
    ),
]


@pytest.mark.parametrize("edit, where, key", [m[1:] for m in EDITOR_MISTAKES], ids=[m[0] for m in EDITOR_MISTAKES])
def test_the_schema_and_the_settings_check_refuse_the_same_mistakes(validator, edit, where, key):
    raw = json.loads(json.dumps(EXAMPLE))  # a deep copy (the example holds no dates)
    edit(raw)
    assert [list(e.absolute_path) for e in validator.iter_errors(raw)] == [where]
    with pytest.raises(SettingsError) as refused:
        parse_settings(raw, "env.toml")
    assert any(p.startswith(key) for p in refused.value.problems), refused.value.problems


def test_editors_find_the_schema_for_every_environment_file():
    """.taplo.toml associates environments/*.toml with the committed schema."""
    config = tomllib.loads((ROOT / ".taplo.toml").read_text(encoding="utf-8"))
    (rule,) = [r for r in config["rule"] if "environments/*.toml" in r["include"]]
    assert (ROOT / rule["schema"]["path"]).resolve() == schema.SCHEMA_PATH
