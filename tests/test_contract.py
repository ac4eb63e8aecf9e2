"""The deploy side and the ops side use the same names (emr_constructs.model.contract).

If ``ops`` wrote a tag the provider does not ignore, the next plan would remove it from a
running cluster in the middle of a Spot rotation; if ops looked for group names the
stacks do not create, ``rotate-spot`` would refuse every cluster. These tests read the
synthesized stacks, so they fail whichever side drifts.
"""

from __future__ import annotations

import ast
import inspect

from emr_constructs.model import contract
from tests.example_app import PURPOSES

ALL_STACKS = ["foundation", *PURPOSES]


def test_contract_module_imports_nothing():
    tree = ast.parse(inspect.getsource(contract))
    assert [type(n).__name__ for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))] == []


def test_provider_ignores_exactly_the_tags_ops_writes(synth):
    from ops.rotation import ROTATION_TAG

    for stack in ALL_STACKS:
        (provider,) = synth[stack]["provider"]["aws"]
        (ignore,) = provider["ignore_tags"]
        assert ROTATION_TAG in ignore["keys"], stack
        assert ignore["keys"] == list(contract.OPERATIONS_TAGS), stack


def test_ops_finds_the_task_groups_the_stacks_create(synth):
    from ops.cluster import DYNAMIC_GROUP, STATIC_PAIR

    created = {
        group["name"] for stack in PURPOSES for group in synth.resources(stack, "aws_emr_instance_group").values()
    }
    assert set(STATIC_PAIR) <= created
    assert DYNAMIC_GROUP in created
    assert created <= {*STATIC_PAIR, DYNAMIC_GROUP}


def test_ops_reads_the_fixed_ip_tag_the_clusters_carry(synth, settings):
    from ops.cluster import FIXED_IP_TAG

    tagged = {
        name: cluster["tags"][FIXED_IP_TAG]
        for stack in PURPOSES
        for name, cluster in synth.resources(stack, "aws_emr_cluster").items()
        if FIXED_IP_TAG in cluster["tags"]
    }
    assert tagged == dict(settings.fixed_ips.masters)


def test_master_and_core_groups_carry_the_contract_names(synth):
    shapes = set()
    for stack in PURPOSES:
        for name, cluster in synth.resources(stack, "aws_emr_cluster").items():
            # A cluster runs either instance groups or instance fleets; both carry the names.
            shape = "group" if "master_instance_group" in cluster else "fleet"
            shapes.add(shape)
            assert cluster[f"master_instance_{shape}"]["name"] == contract.MASTER_GROUP, name
            assert cluster[f"core_instance_{shape}"]["name"] == contract.CORE_GROUP, name
    assert shapes == {"group", "fleet"}, "the example has clusters of both shapes"
