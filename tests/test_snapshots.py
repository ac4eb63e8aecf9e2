"""Whole-stack snapshots: the synthesized plan of each stack, reviewed like code.

The snapshots hold the reviewable form of every stack (``tests/snapshot_format.py``: no
``//`` metadata, embedded policies and configurations pretty-printed). A change to a
snapshot must be intended and named in the commit message
(``pytest tests/test_snapshots.py --snapshot-update``).

Together the two tests pin every byte of each synthesized ``cdk.tf.json`` outside its
``//`` metadata blocks, so a refactor that must not change the JSON is proven by this file
passing unchanged.
"""

from __future__ import annotations

import json

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from emr_constructs.framework import selected
from tests.example_app import PURPOSES
from tests.snapshot_format import denormalize, normalize, render_like_cdktf, strip_metadata

STACKS = ["foundation", *PURPOSES]


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack", STACKS)
def test_stack_snapshot(synth, snapshot_json, stack):
    assert normalize(synth[stack]) == snapshot_json


@pytest.mark.parametrize("stack", STACKS)
def test_snapshot_form_loses_nothing_but_metadata(synth, stack):
    raw = (synth.folders[stack] / "cdk.tf.json").read_text()
    doc = json.loads(raw)
    # The file is a pure function of its parsed content: equal content, equal bytes (CDK
    # Terrain writes empty objects as {}, cdktf over two lines).
    assert render_like_cdktf(doc, compact_empty=selected().name == "cdktn") == raw
    # The reviewable form gives back every value exactly, embedded JSON strings included.
    assert render_like_cdktf(denormalize(normalize(doc))) == render_like_cdktf(strip_metadata(doc))


def _strings(node):
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)
    elif isinstance(node, str):
        yield node


@pytest.mark.parametrize("stack", STACKS)
def test_snapshot_form_is_reviewable(synth, stack):
    """No metadata and no one-line JSON document is left: every policy, trust policy and
    configuration shows one statement or property per line."""
    form = normalize(synth[stack])
    left = [s[:80] for s in _strings(form) if s == "//" or s.startswith(("{", "["))]
    assert left == []


def test_json_that_would_not_round_trip_stays_a_string():
    """Only text the reviewable form can give back exactly is unwrapped (here: unsorted keys)."""
    doc = {"policy": '{"b": 1, "a": 2}', "configurations_json": '[{"a":1}]', "name": "{not json"}
    form = normalize(doc)
    assert form == {
        "policy": '{"b": 1, "a": 2}',
        "configurations_json": {"json:compact": [{"a": 1}]},
        "name": "{not json",
    }
    assert denormalize(form) == doc
