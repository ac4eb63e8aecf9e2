"""Whole-stack snapshots: the synthesized plan of each stack, reviewed like code.

A change to a snapshot must be intended and named in the commit message
(``pytest tests/test_snapshots.py --snapshot-update``).
"""

from __future__ import annotations

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from stacks.purpose import PURPOSES


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack", ["foundation", *PURPOSES])
def test_stack_snapshot(synth, snapshot_json, stack):
    assert synth[stack] == snapshot_json
