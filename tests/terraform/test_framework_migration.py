"""Moving a deployed environment from cdktf to CDK Terrain changes no resource
(docs/framework.md, "Migrating a deployed environment").

The session's example app is deployed into the stand-in with the framework this pytest
runs on (cdktf by default: ``applied_example_app``). The same environment is then
synthesized with the other framework, in its own virtualenv, and every stack is planned
against the deployed state, in deploy order: each plan must be empty. Run on CDK Terrain
(``make test FRAMEWORK=cdktn``), the same test proves the way back.
"""

from __future__ import annotations

import json

import pytest

from emr_constructs import framework
from emr_constructs.model.layout import synthesized_stacks
from tests.frameworks import install_hint, python_of, synth_with

CURRENT = framework.selected().name
OTHER = "cdktn" if CURRENT == "cdktf" else "cdktf"


@pytest.fixture(scope="module")
def migrated(applied_example_app, tmp_path_factory):
    if python_of(OTHER) is None:
        pytest.skip(install_hint(OTHER))
    outdir = synth_with(
        OTHER, tmp_path_factory.mktemp(f"migrated-{OTHER}"), environment=str(applied_example_app.environment_file)
    )
    return synthesized_stacks(outdir)


def test_the_other_framework_plans_no_change_to_the_deployed_environment(applied_example_app, migrated):
    assert sorted(migrated) == sorted(applied_example_app.order)
    for stack in applied_example_app.order:
        folder = migrated[stack]
        metadata = json.loads((folder / "cdk.tf.json").read_text())["//"]["metadata"]
        current = framework.selected()
        assert metadata["version"] != framework.versions(current)[current.distribution], "not the other framework"
        plan = applied_example_app.plan_json(folder, folder / "migration.tfplan")
        changes = [
            f"{c['address']}: {c['change']['actions']}"
            for c in plan.get("resource_changes", [])
            if c["change"]["actions"] != ["no-op"] and not (c["mode"] == "data" and c["change"]["actions"] == ["read"])
        ]
        assert changes == [], f"{stack}: synthesized with {OTHER}, the deployed stack would change: {changes}"
        # The state kept its resources under the same addresses and provider (no state mv).
        state = {r["address"] for r in plan["prior_state"]["values"]["root_module"].get("resources", [])}
        planned = {c["address"] for c in plan.get("resource_changes", []) if c["mode"] == "managed"}
        assert {a for a in state if not a.startswith("data.")} == planned, stack
