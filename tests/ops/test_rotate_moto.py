"""``rotate-spot`` against moto in server mode: the requests it sends and its refusals.

moto applies ModifyInstanceGroups instantly (the running count equals the requested
count at once), so here the wait ends at its first check; the waiting, shortage and
interruption behaviour is tested on the simulated EMR (test_rotation_simulated.py).
"""

from __future__ import annotations

from ops.errors import EXIT_OK, EXIT_REFUSED
from ops.rotation import ROTATION_TAG

A, B = "task-spot-static-a", "task-spot-static-b"


def counts(moto, cid):
    groups = moto.groups(cid)
    return groups[A]["RequestedInstanceCount"], groups[B]["RequestedInstanceCount"]


def test_rotation_moves_the_target_from_a_to_b(moto):
    cid = moto.create_cluster(a=4, b=0)
    result = moto.run("rotate-spot", moto.name(), "--yes")
    assert result.code == EXIT_OK, result.err
    assert counts(moto, cid) == (0, 4)
    assert ROTATION_TAG not in moto.tags(cid)


def test_rotation_leaves_other_groups_alone(moto):
    cid = moto.create_cluster(a=4, b=0, dynamic=2)
    before = {n: g["RequestedInstanceCount"] for n, g in moto.groups(cid).items() if n not in (A, B)}
    moto.run("rotate-spot", moto.name(), "--yes")
    after = {n: g["RequestedInstanceCount"] for n, g in moto.groups(cid).items() if n not in (A, B)}
    assert after == before == {"master": 1, "core": 2, "task-spot-dynamic": 2}


def test_second_rotation_moves_it_back_to_a(moto):
    cid = moto.create_cluster(a=4, b=0)
    moto.run("rotate-spot", moto.name(), "--yes")
    result = moto.run("rotate-spot", cid, "--yes")
    assert result.code == EXIT_OK, result.err
    assert counts(moto, cid) == (4, 0)


def test_plan_without_yes_changes_nothing(moto):
    cid = moto.create_cluster(a=4, b=0)
    groups_before, tags_before = moto.groups(cid), moto.tags(cid)
    result = moto.run("rotate-spot", moto.name())
    assert result.code == EXIT_OK
    assert "Dry run: nothing changed" in result.out
    assert moto.groups(cid) == groups_before
    assert moto.tags(cid) == tags_before


def test_plan_names_the_groups_ids_and_counts(moto):
    cid = moto.create_cluster(a=4, b=0)
    groups = moto.groups(cid)
    out = moto.run("rotate-spot", moto.name()).out
    steps = [line.strip() for line in out.splitlines() if line.strip()[:2] in ("1.", "2.", "3.", "4.", "5.")]
    assert steps[1] == f"2. grow {B} ({groups[B]['Id']}) 0 -> 4"
    assert steps[3] == f"4. shrink {A} ({groups[A]['Id']}) 4 -> 0 (EMR drains it in the background)"
    assert steps[0].startswith(f"1. tag the cluster {ROTATION_TAG}")
    assert steps[4] == f"5. remove the tag {ROTATION_TAG}"


def test_resumes_an_interrupted_rotation_from_both_sides_at_target(moto):
    cid = moto.create_cluster(
        a=4, b=4, extra_tags={ROTATION_TAG: f"from={A} to={B} target=4 started=2026-11-24T09:00:00Z"}
    )
    result = moto.run("rotate-spot", moto.name(), "--yes")
    assert result.code == EXIT_OK, result.err
    assert "phase: shrink" in result.out
    assert counts(moto, cid) == (0, 4)
    assert ROTATION_TAG not in moto.tags(cid)


def test_first_rotation_of_a_new_cluster_replaces_the_larger_side(moto):
    cid = moto.create_cluster(a=1, b=4)
    result = moto.run("rotate-spot", moto.name(), "--yes")
    assert result.code == EXIT_OK, result.err
    assert counts(moto, cid) == (4, 0)


def test_refuses_when_both_groups_are_active(moto):
    cid = moto.create_cluster(a=4, b=2)
    result = moto.run("rotate-spot", moto.name(), "--yes")
    assert result.code == EXIT_REFUSED
    assert "both static Spot groups are active" in result.err
    assert counts(moto, cid) == (4, 2)


def test_refuses_when_neither_group_is_active(moto):
    cid = moto.create_cluster(a=0, b=0)
    result = moto.run("rotate-spot", moto.name(), "--yes")
    assert result.code == EXIT_REFUSED
    assert "nothing to rotate" in result.err
    assert counts(moto, cid) == (0, 0)


def test_refuses_a_terminated_cluster(moto):
    cid = moto.create_cluster()
    moto.emr.terminate_job_flows(JobFlowIds=[cid])
    result = moto.run("rotate-spot", cid, "--yes")
    assert result.code == EXIT_REFUSED
    assert "is TERMINATED; rotation needs WAITING or RUNNING" in result.err


def test_refuses_a_cluster_without_the_static_pair(moto):
    cid = moto.create_cluster(static_pair=False)
    result = moto.run("rotate-spot", moto.name(), "--yes")
    assert result.code == EXIT_REFUSED
    assert f"has no usable static Spot pair: 0 instance groups named '{A}'" in result.err
    assert "core, master" in result.err
    assert ROTATION_TAG not in moto.tags(cid)


def test_new_cluster_idle_side_with_one_instance_rotates_without_from(moto):
    cid = moto.create_cluster(a=4, b=1)
    result = moto.run("rotate-spot", moto.name(), "--yes")
    assert result.code == EXIT_OK, result.err
    assert counts(moto, cid) == (0, 4)
