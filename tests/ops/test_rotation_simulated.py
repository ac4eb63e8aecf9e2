"""rotate-spot against the simulated EMR (see simulated_emr.py for what moto lacks).

Every test that changes the cluster asserts the capacity invariant on the simulation's
full history: after every API call and every instance event, the RUNNING task instances
of the static pair are >= the target.
"""

from __future__ import annotations

import pytest

from ops.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_REFUSED
from ops.rotation import MIN_POLL, ROTATION_TAG
from tests.ops.simulated_emr import Result, SimulatedEmr, run_cli

A, B = "task-spot-static-a", "task-spot-static-b"
TARGET = 4


def rotate(sim: SimulatedEmr, *args: str) -> Result:
    return run_cli(sim, "rotate-spot", sim.cluster_name, *args)


def assert_capacity_held(sim: SimulatedEmr, target: int = TARGET) -> None:
    low = [h for h in sim.history if sum(h["running"].values()) < target]
    assert not low, f"static task capacity fell below {target}: {low[:3]}"


def assert_rotated(sim: SimulatedEmr, old: str = A, new: str = B) -> None:
    assert sim.group(old).requested == 0
    assert sim.group(new).requested == TARGET
    assert sim.running(new) == TARGET
    assert ROTATION_TAG not in sim.tags


def test_rotation_grows_new_side_waits_then_shrinks_old_side():
    sim = SimulatedEmr(target=TARGET, provision_delay=90, stagger=20)
    result = rotate(sim, "--yes")
    assert result.code == EXIT_OK, result.err
    assert_rotated(sim)
    groups = [p["InstanceGroups"][0] for op, p in sim.mutations() if op == "ModifyInstanceGroups"]
    assert groups == [
        {"InstanceGroupId": sim.group(B).id, "InstanceCount": TARGET},
        {"InstanceGroupId": sim.group(A).id, "InstanceCount": 0},
    ]


@pytest.mark.parametrize(
    ("delay", "stagger", "poll"),
    # Timings chosen so that polls land on every partial count of B (1, 2, 3 of 4 running).
    [(90, 20, 30), (90, 30, 30), (25, 30, 30), (45, 7, 5), (0, 0, 30), (600, 120, 30)],
)
def test_capacity_never_drops_below_target_during_a_rotation_with_provisioning_delay(delay, stagger, poll):
    sim = SimulatedEmr(target=TARGET, provision_delay=delay, stagger=stagger)
    assert rotate(sim, "--yes", "--poll", str(poll), "--timeout", "3600").code == EXIT_OK
    assert_rotated(sim)
    assert_capacity_held(sim)
    if delay:
        # The history really went through the slow part: B partly up while A was still full.
        assert any(0 < h["running"][B] < TARGET and h["running"][A] == TARGET for h in sim.history)


def test_old_side_is_shrunk_only_after_new_side_is_fully_running():
    sim = SimulatedEmr(target=TARGET, provision_delay=90, stagger=20)
    rotate(sim, "--yes")
    shrink = next(h for h in sim.history if h["event"] == "ModifyInstanceGroups" and h["requested"][A] == 0)
    assert shrink["running"][B] == TARGET


def test_waiting_shows_elapsed_time_and_running_over_target():
    sim = SimulatedEmr(target=TARGET, provision_delay=90, stagger=20)
    out = rotate(sim, "--yes").out
    progress = [line for line in out.splitlines() if line.strip().startswith("[")]
    # Instances come up at 90, 110, 130 and 150 s; polls every 30 s print when the count changes.
    assert [line.split("]")[0].strip(" [") for line in progress] == ["0s", "1m30s", "2m00s", "2m30s"]
    assert f"{B}: 0/4 running (RESIZING)" in progress[0]
    assert f"{B}: 1/4 running (RESIZING)" in progress[1]
    assert f"{B}: 4/4 running (RUNNING)" in progress[-1]


def test_a_long_wait_without_change_still_reports_every_five_minutes():
    sim = SimulatedEmr(target=TARGET, provision_delay=60, spot_capacity={B: 2})
    out = rotate(sim, "--yes", "--timeout", "900").out
    stamps = [line.split("]")[0].strip(" [") for line in out.splitlines() if line.strip().startswith("[")]
    # B gets 1 instance at 60 s and its 2nd (and last: shortage) at 80 s, then nothing changes.
    assert stamps == ["0s", "1m00s", "1m30s", "6m30s", "11m30s"]


def test_waiting_polls_at_the_configured_interval_not_in_a_tight_loop():
    sim = SimulatedEmr(target=TARGET, provision_delay=600, stagger=0)
    rotate(sim, "--yes", "--poll", "45")
    assert sim.sleeps and all(s == 45 for s in sim.sleeps)
    assert all(s >= MIN_POLL for s in sim.sleeps)


def test_without_yes_prints_the_plan_and_changes_nothing():
    sim = SimulatedEmr(target=TARGET)
    result = rotate(sim)
    assert result.code == EXIT_OK
    assert sim.mutations() == []
    assert f"grow {B} ({sim.group(B).id}) 0 -> 4" in result.out
    assert f"shrink {A} ({sim.group(A).id}) 4 -> 0" in result.out
    assert "nothing changed" in result.out


def test_rotates_back_from_b_to_a():
    sim = SimulatedEmr(target=TARGET, active=B)
    assert rotate(sim, "--yes").code == EXIT_OK
    assert_rotated(sim, old=B, new=A)
    assert_capacity_held(sim)


# --- Spot shortage -------------------------------------------------------------------


def test_shortage_times_out_leaving_the_old_side_untouched():
    sim = SimulatedEmr(target=TARGET, provision_delay=60, spot_capacity={B: 2})
    result = rotate(sim, "--yes", "--timeout", "600")
    assert result.code == EXIT_FAILED
    assert sim.group(A).requested == TARGET and sim.running(A) == TARGET
    assert not any(
        op == "ModifyInstanceGroups" and p["InstanceGroups"][0]["InstanceGroupId"] == sim.group(A).id
        for op, p in sim.mutations()
    )
    assert_capacity_held(sim)


def test_shortage_message_says_what_happened_and_what_to_do():
    sim = SimulatedEmr(target=TARGET, provision_delay=60, spot_capacity={B: 2})
    err = rotate(sim, "--yes", "--timeout", "600").err
    assert f"{B} reached only 2/4 running instances in 10m00s" in err
    assert f"{A} was left untouched (4 requested, 4 running)" in err
    assert f"python -m ops rotate-spot {sim.cluster_name} --yes" in err
    shrink_back = (
        f"aws emr modify-instance-groups --cluster-id {sim.cluster_id} --instance-groups "
        f"InstanceGroupId={sim.group(B).id},InstanceCount=0 --region ap-northeast-2"
    )
    assert shrink_back in err
    assert f"aws emr remove-tags --resource-id {sim.cluster_id} --tag-keys {ROTATION_TAG}" in err
    assert "another instance type" in err


def test_rerun_after_shortage_continues_waiting_and_completes_once_capacity_returns():
    sim = SimulatedEmr(target=TARGET, provision_delay=60, spot_capacity={B: 2})
    assert rotate(sim, "--yes", "--timeout", "600").code == EXIT_FAILED
    sim.set_capacity(B, None)
    result = rotate(sim, "--yes")
    assert result.code == EXIT_OK, result.err
    assert "phase: wait" in result.out
    # Resumed without asking B to grow again.
    grows = [
        p
        for op, p in sim.mutations()
        if op == "ModifyInstanceGroups" and p["InstanceGroups"][0]["InstanceGroupId"] == sim.group(B).id
    ]
    assert len(grows) == 1
    assert_rotated(sim)
    assert_capacity_held(sim)


def test_shrinking_new_side_back_after_shortage_then_rerun_starts_growing_again():
    sim = SimulatedEmr(target=TARGET, provision_delay=60, spot_capacity={B: 2})
    rotate(sim, "--yes", "--timeout", "300")
    sim.set_requested_externally(B, 0)  # the printed shrink-back command, run by the operator
    sim.set_capacity(B, None)
    result = rotate(sim, "--yes")
    assert result.code == EXIT_OK, result.err
    assert "phase: grow" in result.out
    assert_rotated(sim)
    assert_capacity_held(sim)


# --- interruptions -------------------------------------------------------------------


def test_ctrl_c_while_waiting_leaves_cluster_as_is_and_rerun_completes():
    sim = SimulatedEmr(target=TARGET, provision_delay=90, stagger=20)
    sim.interrupt_on_sleep = 5  # at 2 minutes: B has 2 of 4 running
    first = rotate(sim, "--yes")
    assert first.code == EXIT_INTERRUPTED
    assert "Run the same command again" in first.err
    assert sim.running(B) == 2 and sim.group(A).requested == TARGET and sim.running(A) == TARGET
    assert sim.tags.get(ROTATION_TAG) == f"from={A} to={B} target=4 started=2026-11-24T09:00:00Z"

    second = rotate(sim, "--yes")
    assert second.code == EXIT_OK, second.err
    assert f"Resuming the rotation {A} -> {B} (target 4) started 2026-11-24T09:00:00Z; phase: wait" in second.out
    assert_rotated(sim)
    assert_capacity_held(sim)


@pytest.mark.parametrize(
    ("op", "nth", "resumed_phase"),
    [
        ("AddTags", 1, "grow"),  # died after tagging, before growing
        ("ModifyInstanceGroups", 1, "wait"),  # died right after asking B to grow
        ("ModifyInstanceGroups", 2, "cleanup"),  # died after shrinking A, before untagging
    ],
)
def test_process_killed_after_each_request_then_rerun_finishes_safely(op, nth, resumed_phase):
    sim = SimulatedEmr(target=TARGET, provision_delay=90, stagger=20)
    sim.interrupt_after(op, nth)
    assert rotate(sim, "--yes").code == EXIT_INTERRUPTED
    second = rotate(sim, "--yes")
    assert second.code == EXIT_OK, second.err
    assert f"phase: {resumed_phase}" in second.out
    assert_rotated(sim)
    assert_capacity_held(sim)


def test_rerun_when_both_sides_are_at_target_and_new_side_is_up_only_shrinks_old_side():
    sim = SimulatedEmr(target=TARGET, provision_delay=90, stagger=20)
    sim.interrupt_on_sleep = 5  # Ctrl-C at 2 minutes, B has 2 of 4 running
    assert rotate(sim, "--yes").code == EXIT_INTERRUPTED
    sim.advance(60)  # meanwhile the rest of B comes up
    assert sim.running(B) == TARGET and sim.group(A).requested == TARGET
    before = len(sim.mutations())
    second = rotate(sim, "--yes")
    assert "phase: shrink" in second.out
    assert [op for op, _ in sim.mutations()[before:]] == ["ModifyInstanceGroups", "RemoveTags"]
    assert_rotated(sim)
    assert_capacity_held(sim)


# --- refusals and failures -----------------------------------------------------------


def test_refuses_while_the_active_group_is_resizing():
    sim = SimulatedEmr(target=TARGET)
    sim.group(A).instances[0].state = "PROVISIONING"  # a Spot replacement in flight: 3 of 4 running
    sim.group(A).instances[0].ready_at = 1e9
    result = rotate(sim, "--yes")
    assert result.code == EXIT_REFUSED
    assert f"{A} is resizing" in result.err and "requested 4, running 3, state RESIZING" in result.err
    assert sim.mutations() == []


def test_refuses_while_the_idle_group_is_still_draining():
    sim = SimulatedEmr(target=TARGET, drain_delay=3600)
    rotate(sim, "--yes")  # A drains for an hour after this rotation
    before = len(sim.mutations())
    result = rotate(sim, "--yes")
    assert result.code == EXIT_REFUSED
    assert f"{A} is not settled" in result.err and "still draining" in result.err
    assert len(sim.mutations()) == before


def test_refuses_both_active_without_a_rotation_tag_and_prints_both_shrink_commands():
    sim = SimulatedEmr(target=TARGET)
    sim.set_requested_externally(B, 2)
    result = rotate(sim, "--yes")
    assert result.code == EXIT_REFUSED
    assert "both static Spot groups are active" in result.err
    for g in (A, B):
        assert f"InstanceGroupId={sim.group(g).id},InstanceCount=0" in result.err
    assert sim.mutations() == []


def test_refuses_when_neither_group_is_active():
    sim = SimulatedEmr(target=TARGET, active="")
    result = rotate(sim, "--yes")
    assert result.code == EXIT_REFUSED
    assert "neither static Spot group is active" in result.err


@pytest.mark.parametrize("state", ["STARTING", "BOOTSTRAPPING"])
def test_refuses_when_cluster_is_not_waiting_or_running(state):
    sim = SimulatedEmr(target=TARGET, cluster_state=state)
    result = rotate(sim, "--yes")
    assert result.code == EXIT_REFUSED
    assert f"is {state}; rotation needs WAITING or RUNNING" in result.err
    assert sim.mutations() == []


def test_refuses_a_tag_whose_counts_no_longer_match_and_says_how_to_clear_it():
    sim = SimulatedEmr(target=TARGET)
    sim.tags[ROTATION_TAG] = f"from={A} to={B} target=4 started=2026-11-20T09:00:00Z"
    sim.set_requested_externally(A, 6)  # someone resized the old side mid-rotation
    result = rotate(sim, "--yes")
    assert result.code == EXIT_REFUSED
    assert f"aws emr remove-tags --resource-id {sim.cluster_id} --tag-keys {ROTATION_TAG}" in result.err
    assert sim.mutations() == []


def test_refuses_a_tag_this_command_did_not_write():
    sim = SimulatedEmr(target=TARGET)
    sim.tags[ROTATION_TAG] = "half done, ask Kim"
    result = rotate(sim, "--yes")
    assert result.code == EXIT_REFUSED
    assert "'half done, ask Kim'" in result.err


def test_new_group_arrested_while_waiting_stops_without_shrinking_old_group():
    sim = SimulatedEmr(target=TARGET, provision_delay=90, stagger=20)
    sim.interrupt_on_sleep = None
    original_sleep = sim.sleep

    def sleep_then_arrest(seconds):
        original_sleep(seconds)
        if sim.now >= 60:
            sim.force_state(B, "ARRESTED")

    sim.sleep = sleep_then_arrest
    result = rotate(sim, "--yes")
    assert result.code == EXIT_FAILED
    assert f"{B} is ARRESTED" in result.err and f"{A} was left untouched" in result.err
    assert sim.group(A).requested == TARGET
    assert_capacity_held(sim)


def test_someone_else_resizing_the_old_group_while_waiting_stops_the_rotation():
    sim = SimulatedEmr(target=TARGET, provision_delay=90, stagger=20)
    original_sleep = sim.sleep

    def sleep_then_resize(seconds):
        original_sleep(seconds)
        if sim.group(A).requested == TARGET and sim.now >= 60:
            sim.set_requested_externally(A, 6)

    sim.sleep = sleep_then_resize
    result = rotate(sim, "--yes")
    assert result.code == EXIT_FAILED
    assert "someone changed the static groups while waiting" in result.err
    assert sim.group(A).requested == 6  # not shrunk by the command


# --- a new cluster: SpotTaskGroupPair creates the idle side with 1 instance ----------


def test_first_rotation_of_a_new_cluster_needs_no_option_and_replaces_the_larger_side():
    sim = SimulatedEmr(target=TARGET, idle_count=1, provision_delay=90, stagger=30)
    result = rotate(sim, "--yes")
    assert result.code == EXIT_OK, result.err
    assert f"{A} ({TARGET} requested) is taken as the active side to replace" in result.out
    assert f"grow {B} ({sim.group(B).id}) 1 -> {TARGET}" in result.out
    assert_rotated(sim)
    assert_capacity_held(sim)


def test_first_rotation_of_a_new_cluster_whose_side_b_starts_active_replaces_b():
    sim = SimulatedEmr(target=TARGET, idle_count=1, active=B)
    result = rotate(sim)
    assert result.code == EXIT_OK, result.err
    assert f"grow {A} ({sim.group(A).id}) 1 -> {TARGET}" in result.out
    assert sim.mutations() == []


def test_both_sides_above_one_is_still_refused_with_the_from_hint():
    sim = SimulatedEmr(target=TARGET, idle_count=2)
    result = rotate(sim, "--yes")
    assert result.code == EXIT_REFUSED
    assert f"python -m ops rotate-spot {sim.cluster_name} --from {A}" in result.err
    assert sim.mutations() == []


def test_from_names_the_old_side_on_a_new_cluster_and_grows_the_other_from_one():
    sim = SimulatedEmr(target=TARGET, idle_count=1, provision_delay=90, stagger=30)
    result = rotate(sim, "--yes", "--from", "a")
    assert result.code == EXIT_OK, result.err
    assert f"grow {B} ({sim.group(B).id}) 1 -> 4" in result.out
    assert_rotated(sim)
    assert_capacity_held(sim)


def test_from_after_tagging_interruption_resumes_growing_from_one():
    sim = SimulatedEmr(target=TARGET, idle_count=1)
    sim.interrupt_after("AddTags")
    assert rotate(sim, "--yes", "--from", A).code == EXIT_INTERRUPTED
    second = rotate(sim, "--yes")
    assert second.code == EXIT_OK, second.err
    assert "phase: grow" in second.out
    assert_rotated(sim)
    assert_capacity_held(sim)


def test_from_an_idle_group_is_refused():
    sim = SimulatedEmr(target=TARGET)
    result = rotate(sim, "--yes", "--from", "b")
    assert result.code == EXIT_REFUSED
    assert f"--from {B}: that group is idle" in result.err


def test_from_a_group_smaller_than_the_other_is_refused():
    sim = SimulatedEmr(target=TARGET, idle_count=1)
    result = rotate(sim, "--yes", "--from", "b")
    assert result.code == EXIT_REFUSED
    assert f"Did you mean --from {A}?" in result.err
    assert sim.mutations() == []


def test_from_contradicting_a_rotation_in_progress_is_refused():
    sim = SimulatedEmr(target=TARGET)
    sim.interrupt_on_sleep = 2
    rotate(sim, "--yes")
    result = rotate(sim, "--yes", "--from", "b")
    assert result.code == EXIT_REFUSED
    assert "contradicts the rotation in progress" in result.err


# --- a group EMR has stopped resizing (ARRESTED/SUSPENDED) -----------------------------


def test_arrested_idle_group_is_refused_with_how_to_resume_it_not_told_to_wait():
    sim = SimulatedEmr(target=TARGET)
    sim.force_state(B, "ARRESTED")  # e.g. the last grow failed its bootstrap actions
    result = rotate(sim, "--yes")
    assert result.code == EXIT_REFUSED
    assert f"{B} is ARRESTED" in result.err
    assert "Wait until both settle" not in result.err
    assert f"InstanceGroupId={sim.group(B).id},InstanceCount=0" in result.err
    assert sim.mutations() == []


def test_suspended_old_group_mid_rotation_is_refused_with_its_current_count_to_reset():
    sim = SimulatedEmr(target=TARGET)
    sim.tags[ROTATION_TAG] = f"from={A} to={B} target={TARGET} started=2026-11-20T09:00:00Z"
    sim.force_state(A, "SUSPENDED")
    result = rotate(sim, "--yes")
    assert result.code == EXIT_REFUSED
    assert f"{A} is SUSPENDED" in result.err
    assert f"InstanceGroupId={sim.group(A).id},InstanceCount={TARGET}" in result.err
    assert sim.mutations() == []
