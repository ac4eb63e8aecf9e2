"""status and rotate-spot after Terraform replaced a static Spot group (a new bid or
instance type): EMR keeps the old group under the same name at 0 instances, so each name
may have a live group and leftovers. The live one is the group the stack's Terraform
state names, else the newest that has not ended.

On the simulated EMR (timing, capacity invariant) and on moto in server mode (the
requests the command sends, status output).
"""

from __future__ import annotations

import json

import pytest

from ops.errors import EXIT_OK, EXIT_REFUSED
from ops.rotation import ROTATION_TAG
from tests.ops.simulated_emr import SimulatedEmr, run_cli

A, B = "task-spot-static-a", "task-spot-static-b"
TARGET = 4


def state_document(cluster_id: str, groups: dict[str, str]) -> dict:
    """A Terraform state (v4) holding the given aws_emr_instance_group ids (name -> id)."""
    return {
        "version": 4,
        "terraform_version": "1.11.0",
        "serial": 3,
        "lineage": "test",
        "outputs": {},
        "resources": [
            {
                "mode": "managed",
                "type": "aws_emr_instance_group",
                "name": f"cluster_{name}",
                "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
                "instances": [{"schema_version": 0, "attributes": {"id": gid, "name": name, "cluster_id": cluster_id}}],
            }
            for name, gid in groups.items()
        ],
    }


def assert_capacity_held(sim: SimulatedEmr, target: int = TARGET) -> None:
    low = [h for h in sim.history if sum(h["running"].values()) < target]
    assert not low, f"static task capacity fell below {target}: {low[:3]}"


def after_bid_change_on_active_side(**kw) -> tuple[SimulatedEmr, str]:
    """A runs 4, B idle; a deploy moved A's bid: old A to 0, new A created with 4 and up."""
    sim = SimulatedEmr(target=TARGET, provision_delay=90, stagger=20, **kw)
    old = sim.group(A).id
    sim.advance(86400)  # the cluster ran for a day before the deploy
    sim.replace_group(A, count=TARGET, bid_price="0.30")
    sim.advance(600)
    return sim, old


# --- simulated EMR --------------------------------------------------------------------


def test_rotation_after_a_bid_change_rotates_the_live_groups():
    sim, old_a = after_bid_change_on_active_side()
    sim.history.clear()
    result = run_cli(sim, "rotate-spot", sim.cluster_name, "--yes")
    assert result.code == EXIT_OK, result.err
    assert sim.group(A).requested == 0 and sim.group(B).requested == TARGET and sim.running(B) == TARGET
    assert ROTATION_TAG not in sim.tags
    touched = {p["InstanceGroups"][0]["InstanceGroupId"] for op, p in sim.mutations() if op == "ModifyInstanceGroups"}
    assert touched == {sim.group(A).id, sim.group(B).id} and old_a not in touched
    assert_capacity_held(sim)


def test_rotation_lists_the_leftover_and_says_it_needs_nothing():
    sim, old_a = after_bid_change_on_active_side()
    out = run_cli(sim, "rotate-spot", sim.cluster_name).out
    assert (
        "Leftover groups (replaced; live groups found by the newest group of each name (no Terraform state given)), "
        "not rotated:" in out
    )
    assert (
        f"{A} ({old_a}): requested 0, running 0, state RUNNING, bid 0.24, r5.xlarge, created 2026-11-24 09:00 UTC: "
        "empty; nothing to do (EMR lists it until the cluster ends, at no cost)."
    ) in out
    assert f"grow {B} ({sim.group(B).id}) 0 -> 4" in out
    assert f"shrink {A} ({sim.group(A).id}) 4 -> 0" in out


def test_a_leftover_that_still_has_instances_gets_the_command_that_empties_it():
    sim, old_a = after_bid_change_on_active_side()
    sim._resize(next(g for g in sim.replaced if g.id == old_a), 2)  # someone set the leftover to 2 by hand
    out = run_cli(sim, "rotate-spot", sim.cluster_name).out
    assert f"{A} ({old_a}): requested 2" in out
    assert "still requests 2 instance(s) that no Terraform configuration manages; remove them with:" in out
    assert (
        f"aws emr modify-instance-groups --cluster-id {sim.cluster_id} --instance-groups "
        f"InstanceGroupId={old_a},InstanceCount=0 --region ap-northeast-2"
    ) in out


def test_rotation_after_the_idle_side_was_replaced_grows_the_live_group_without_options():
    sim = SimulatedEmr(target=TARGET, provision_delay=90, stagger=20)
    old_b = sim.group(B).id
    sim.advance(86400)
    sim.replace_group(B, count=1, instance_type="m5.4xlarge")  # SpotTaskGroupPair creates the idle side with 1
    sim.advance(600)
    result = run_cli(sim, "rotate-spot", sim.cluster_name, "--yes")
    assert result.code == EXIT_OK, result.err
    assert f"grow {B} ({sim.group(B).id}) 1 -> 4" in result.out
    assert f"grow {B} ({old_b})" not in result.out
    assert sim.group(B).requested == TARGET and sim.group(A).requested == 0
    assert_capacity_held(sim)


def test_an_interrupted_rotation_after_a_replacement_resumes_on_the_live_groups():
    sim, old_a = after_bid_change_on_active_side()
    sim.interrupt_on_sleep = 3
    assert run_cli(sim, "rotate-spot", sim.cluster_name, "--yes").code == 130
    second = run_cli(sim, "rotate-spot", sim.cluster_name, "--yes")
    assert second.code == EXIT_OK, second.err
    assert "phase: wait" in second.out
    assert sim.group(A).requested == 0 and sim.running(B) == TARGET
    assert old_a not in {
        p["InstanceGroups"][0]["InstanceGroupId"] for op, p in sim.mutations() if op == "ModifyInstanceGroups"
    }


def test_terraform_state_decides_over_creation_time(tmp_path):
    """Someone added a second 'task-spot-static-a' by hand after the deploy: the newest is
    not Terraform's. With the state, the managed group stays the live one."""
    sim, _ = after_bid_change_on_active_side()
    managed_a = sim.group(A)
    by_hand = sim.add_group_by_hand(A, count=2)  # newer, same name
    sim.advance(600)
    state = tmp_path / "terraform.example.spark-batch.tfstate"
    state.write_text(json.dumps(state_document(sim.cluster_id, {A: managed_a.id, B: sim.group(B).id})))
    result = run_cli(sim, "rotate-spot", sim.cluster_name, "--state", str(state))
    assert result.code == EXIT_OK, result.err
    assert f"live groups found by Terraform state {state}" in result.out
    assert f"shrink {A} ({managed_a.id})" in result.out
    assert f"{A} ({by_hand.id}): requested 2" in result.out and "still requests 2 instance(s)" in result.out


def test_default_local_state_is_found_from_the_cluster_tags(tmp_path, monkeypatch):
    import ops.state

    sim, _ = after_bid_change_on_active_side(tags={"environment": "acme", "stack": "spark-batch"})
    managed_a = sim.group(A)
    sim.add_group_by_hand(A, count=2)
    sim.advance(600)
    monkeypatch.setattr(ops.state, "PROJECT_ROOT", tmp_path)
    (tmp_path / "terraform.acme.spark-batch.tfstate").write_text(
        json.dumps(state_document(sim.cluster_id, {A: managed_a.id, B: sim.group(B).id}))
    )
    out = run_cli(sim, "rotate-spot", sim.cluster_name).out
    assert "live groups found by Terraform state terraform.acme.spark-batch.tfstate" in out
    assert f"shrink {A} ({managed_a.id})" in out


def test_groups_tied_without_state_are_refused_naming_state():
    sim, _ = after_bid_change_on_active_side()
    sim.replaced[0].created = sim.group(A).created  # same creation time: nothing tells them apart
    result = run_cli(sim, "rotate-spot", sim.cluster_name, "--yes")
    assert result.code == EXIT_REFUSED
    assert f"2 instance groups named '{A}'" in result.err and "--state" in result.err
    assert sim.mutations() == []


def test_ops_looks_for_state_where_the_stack_writes_it(settings, synth_stack, tmp_path):
    """The stack's backend path and default tags (synthesized) lead ops to the same file."""
    import dataclasses
    from pathlib import PurePosixPath

    from ops.state import find_managed_groups
    from stacks.clusters import declared
    from stacks.purpose import PurposeStack

    acme = dataclasses.replace(settings, name="acme", fixed_ips=None)
    doc = synth_stack(lambda app: PurposeStack(app, declared("spark-batch"), settings=acme))
    tags = doc["provider"]["aws"][0]["default_tags"][0]["tags"]
    written = PurePosixPath(doc["terraform"]["backend"]["local"]["path"])
    assert written.parent == PurePosixPath("../../../..")  # the project root, from cdktf.out/stacks/<stack>/<env>
    sim = SimulatedEmr(tags=tags)
    (tmp_path / written.name).write_text(json.dumps(state_document(sim.cluster_id, {A: sim.group(A).id})))
    managed = find_managed_groups(sim.cluster_id, sim.tags, state=None, root=tmp_path)
    assert managed is not None and managed.source == "terraform.acme.spark-batch.tfstate"
    assert dict(managed.ids) == {sim.group(A).id: A}


# --- moto -----------------------------------------------------------------------------


def _rows(out: str, group: str) -> list[list[str]]:
    return [cells for cells in (line.split() for line in out.splitlines()) if cells[:2] == [group, "TASK"]]


def test_status_after_a_bid_change_shows_the_live_group_active_and_the_leftover(moto):
    cid = moto.create_cluster(a=6, b=0)
    old, new = moto.replace_group(cid, A, count=6, bid="0.30")
    result = moto.run("status", moto.name())
    assert result.code == EXIT_OK, result.err
    rows = _rows(result.out, A)
    assert [r[:9] for r in rows] == [
        [A, "TASK", "SPOT", "r5.xlarge", "0.30", "6", "6", "RUNNING", "-" if len(rows[0]) == 9 else rows[0][8]],
        [A, "TASK", "SPOT", "r5.xlarge", "0.24", "0", "0", "RUNNING", "leftover"],
    ]
    assert f"Static Spot pair: {A} is active (6 requested, 6 running); {B} is idle" in result.out
    assert (
        "Leftover groups: 1 (a deploy replaced them; live groups found by the newest group of each name" in result.out
    )
    assert f"{A} ({old}): requested 0, running 0" in result.out and "empty; nothing to do" in result.out
    assert "pass --state terraform.<environment>.<stack>.tfstate" in result.out
    assert new not in result.out.split("Leftover groups")[1]


def test_rotate_spot_after_a_bid_change_on_moto(moto):
    cid = moto.create_cluster(a=6, b=0)
    old, new = moto.replace_group(cid, A, count=6, bid="0.30")
    result = moto.run("rotate-spot", moto.name(), "--yes")
    assert result.code == EXIT_OK, result.err
    groups = {g["Id"]: g for g in moto.group_list(cid)}
    b_id = next(g["Id"] for g in groups.values() if g["Name"] == B)
    assert (groups[new]["RequestedInstanceCount"], groups[b_id]["RequestedInstanceCount"]) == (0, 6)
    assert groups[old]["RequestedInstanceCount"] == 0
    assert f"Requested {A} ({new}) -> 0" in result.out and f"Requested {B} ({b_id}) -> 6" in result.out
    after = moto.run("status", moto.name()).out
    assert f"Static Spot pair: {B} is active (6 requested, 6 running); {A} is idle" in after


def test_status_with_a_state_file_tells_groups_apart_by_id(moto, tmp_path):
    cid = moto.create_cluster(a=4, b=0)
    old, new = moto.replace_group(cid, A, count=4, bid="0.30")
    b_id = next(g["Id"] for g in moto.group_list(cid) if g["Name"] == B)
    # The state names the *older* group (say the newer one was added by hand): the state wins.
    moto.emr.modify_instance_groups(
        ClusterId=cid,
        InstanceGroups=[{"InstanceGroupId": old, "InstanceCount": 4}, {"InstanceGroupId": new, "InstanceCount": 2}],
    )
    state = tmp_path / "state.json"
    state.write_text(json.dumps(state_document(cid, {A: old, B: b_id})))
    out = moto.run("status", moto.name(), "--state", str(state)).out
    assert f"live groups found by Terraform state {state}" in out
    assert f"{A} ({new}): requested 2" in out and "still requests 2 instance(s)" in out
    assert f"InstanceGroupId={new},InstanceCount=0" in out
    assert f"Static Spot pair: {A} is active (4 requested, 4 running)" in out


def test_status_with_a_missing_state_file_is_refused(moto, tmp_path):
    moto.create_cluster()
    result = moto.run("status", moto.name(), "--state", str(tmp_path / "nope.tfstate"))
    assert result.code == EXIT_REFUSED
    assert f"--state {tmp_path / 'nope.tfstate'}: no such file" in result.err


def test_state_in_s3_is_read_with_get_object(moto):
    import boto3

    cid = moto.create_cluster(a=4, b=0)
    old, new = moto.replace_group(cid, A, count=4, bid="0.30")
    b_id = next(g["Id"] for g in moto.group_list(cid) if g["Name"] == B)
    s3 = boto3.client(
        "s3",
        endpoint_url=moto.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    bucket = f"state-{moto.suffix}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(
        Bucket=bucket,
        Key="emr-cdktf/acme/spark-batch.tfstate",
        Body=json.dumps(state_document(cid, {A: new, B: b_id})).encode(),
    )
    out = moto.run("status", moto.name(), "--state", f"s3://{bucket}/emr-cdktf/acme/spark-batch.tfstate").out
    assert f"live groups found by Terraform state s3://{bucket}/emr-cdktf/acme/spark-batch.tfstate" in out
    assert f"{A} ({old}): requested 0" in out


@pytest.mark.parametrize("uri", ["s3://", "s3://bucket-only"])
def test_a_malformed_s3_state_uri_is_refused(moto, uri):
    moto.create_cluster()
    result = moto.run("status", moto.name(), "--state", uri)
    assert result.code == EXIT_REFUSED
    assert "expected s3://BUCKET/KEY" in result.err
