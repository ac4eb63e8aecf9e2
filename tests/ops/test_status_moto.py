"""``status`` and cluster lookup against moto in server mode.

moto models what status reads: clusters, tags, instance groups, the instances of groups
created with the cluster, and ENIs filtered by address. One gap: moto's
``addresses.private-ip-address`` filter matches an ENI's primary address only (AWS also
matches secondary addresses), so the fixed IP is placed as the primary address of an
ENI attached to the master, a layout AWS reports the same way.
"""

from __future__ import annotations

import pytest

from ops.errors import EXIT_OK, EXIT_REFUSED
from tests.ops.conftest import FIXED_IP, later


def row(out: str, group: str) -> list[str]:
    for line in out.splitlines():
        cells = line.split()
        if cells and cells[0] == group:
            return cells
    raise AssertionError(f"no row for {group} in:\n{out}")


def test_status_lists_every_group_with_role_market_bid_and_counts(moto):
    cid = moto.create_cluster(a=4, b=0, dynamic=1)
    result = moto.run("status", moto.name())
    assert result.code == EXIT_OK, result.err
    assert row(result.out, "master")[:8] == ["master", "MASTER", "ON_DEMAND", "m5.xlarge", "-", "1", "1", "RUNNING"]
    assert row(result.out, "core")[:8] == ["core", "CORE", "ON_DEMAND", "r5.xlarge", "-", "2", "2", "RUNNING"]
    assert row(result.out, "task-spot-static-a")[:8] == [
        "task-spot-static-a",
        "TASK",
        "SPOT",
        "r5.xlarge",
        "0.24",
        "4",
        "4",
        "RUNNING",
    ]
    assert row(result.out, "task-spot-static-b")[:8] == [
        "task-spot-static-b",
        "TASK",
        "SPOT",
        "r5.xlarge",
        "0.24",
        "0",
        "0",
        "RUNNING",
    ]
    assert row(result.out, "task-spot-dynamic")[:5] == ["task-spot-dynamic", "TASK", "SPOT", "m5.xlarge", "0.19"]
    assert f"({cid})" in result.out.splitlines()[0]


def test_status_shows_instance_ages(moto):
    cid = moto.create_cluster(a=4)
    created = moto.instance_created(cid)
    result = moto.run("status", moto.name(), now=later(created, days=2, hours=3, minutes=5))
    assert row(result.out, "task-spot-static-a")[8:] == ["oldest", "2d03h,", "newest", "2d03h"]
    assert row(result.out, "master")[8:] == ["2d03h"]
    assert row(result.out, "task-spot-static-b")[8:] == ["-"]


def test_status_names_the_active_static_group(moto):
    moto.create_cluster(a=0, b=3)
    out = moto.run("status", moto.name()).out
    assert "Static Spot pair: task-spot-static-b is active (3 requested, 3 running); task-spot-static-a is idle" in out


def test_status_flags_both_static_groups_active(moto):
    moto.create_cluster(a=2, b=3)
    out = moto.run("status", moto.name()).out
    assert "BOTH active (task-spot-static-a 2, task-spot-static-b 3)" in out
    assert f"rotate-spot {moto.name()} --from task-spot-static-b" in out


def test_status_says_the_first_rotation_of_a_new_cluster_needs_no_option(moto):
    moto.create_cluster(a=4, b=1)
    out = moto.run("status", moto.name()).out
    assert f"`python -m ops rotate-spot {moto.name()}` replaces task-spot-static-a" in out


def test_status_shows_a_rotation_in_progress(moto):
    moto.create_cluster(
        extra_tags={
            "emr-cdktf:spot-rotation": "from=task-spot-static-a to=task-spot-static-b target=4 started=2026-11-24T09:00:00Z"
        }
    )
    out = moto.run("status", moto.name()).out
    assert (
        "ROTATION IN PROGRESS (task-spot-static-a -> task-spot-static-b, target 4, started 2026-11-24T09:00:00Z)" in out
    )


def test_status_by_id_reports_the_same_cluster_as_by_name(moto):
    cid = moto.create_cluster()
    by_name, by_id = moto.run("status", moto.name()), moto.run("status", cid)
    assert by_id.code == EXIT_OK
    assert by_id.out == by_name.out


# --- fixed IP holder -----------------------------------------------------------------


def test_fixed_ip_held_by_the_master_is_ok(moto):
    cid = moto.create_cluster()
    master = moto.master_instance_id(cid)
    eni = moto.ec2.create_network_interface(SubnetId=moto.subnet, PrivateIpAddress=FIXED_IP)["NetworkInterface"]
    moto.ec2.attach_network_interface(NetworkInterfaceId=eni["NetworkInterfaceId"], InstanceId=master, DeviceIndex=1)
    out = moto.run("status", moto.name()).out
    assert f"Fixed IP: {FIXED_IP}: held by the master {master} on {eni['NetworkInterfaceId']}. OK." in out


def test_fixed_ip_still_on_the_reservation_eni_means_the_master_has_not_taken_it(moto):
    moto.create_cluster()
    eni = moto.ec2.create_network_interface(
        SubnetId=moto.subnet, PrivateIpAddress=FIXED_IP, Description="fixed IP reservation"
    )["NetworkInterface"]
    out = moto.run("status", moto.name()).out
    assert f"still held by the unattached ENI {eni['NetworkInterfaceId']} (fixed IP reservation)" in out
    assert "the master has not taken it" in out


def test_fixed_ip_on_another_instance_is_a_conflict(moto):
    cid = moto.create_cluster()
    other = moto.ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=moto.subnet)["Instances"][
        0
    ]["InstanceId"]
    eni = moto.ec2.create_network_interface(SubnetId=moto.subnet, PrivateIpAddress=FIXED_IP)["NetworkInterface"]
    moto.ec2.attach_network_interface(NetworkInterfaceId=eni["NetworkInterfaceId"], InstanceId=other, DeviceIndex=1)
    out = moto.run("status", moto.name()).out
    assert f"CONFLICT, held by {eni['NetworkInterfaceId']} attached to {other}" in out
    assert moto.master_instance_id(cid) in out


def test_fixed_ip_held_by_nobody(moto):
    moto.create_cluster()
    out = moto.run("status", moto.name()).out
    assert f"Fixed IP: {FIXED_IP}: held by nobody" in out


def test_cluster_without_fixed_ip_tag(moto):
    moto.create_cluster(fixed_ip=None)
    assert "Fixed IP: no fixed IP" in moto.run("status", moto.name()).out


# --- lookup --------------------------------------------------------------------------


def test_unknown_cluster_name_is_refused_with_a_hint(moto):
    result = moto.run("status", "spark-batch-nowhere-01")
    assert result.code == EXIT_REFUSED
    assert "no active cluster named 'spark-batch-nowhere-01'" in result.err
    assert "--region" in result.err


def test_unknown_cluster_id_is_refused(moto):
    result = moto.run("status", "j-NOSUCHCLUSTER1")
    assert result.code == EXIT_REFUSED
    assert "unknown cluster id 'j-NOSUCHCLUSTER1'" in result.err


def test_only_ended_clusters_with_that_name_are_listed_by_id(moto):
    cid = moto.create_cluster()
    moto.emr.terminate_job_flows(JobFlowIds=[cid])
    result = moto.run("status", moto.name())
    assert result.code == EXIT_REFUSED
    assert f"Ended clusters with that name: {cid}" in result.err


def test_active_cluster_is_preferred_over_an_ended_one_with_the_same_name(moto):
    old = moto.create_cluster()
    moto.emr.terminate_job_flows(JobFlowIds=[old])
    new = moto.create_cluster()
    out = moto.run("status", moto.name()).out
    assert f"({new})" in out.splitlines()[0]


def test_several_active_clusters_with_the_same_name_are_refused(moto):
    first, second = moto.create_cluster(), moto.create_cluster()
    result = moto.run("status", moto.name())
    assert result.code == EXIT_REFUSED
    assert ", ".join(sorted([first, second])) in result.err


def test_cluster_found_by_name_tag_when_emr_name_differs(moto):
    tag_name = moto.name("service-presto")
    cid = moto.create_cluster(name=f"renamed-{moto.suffix}", extra_tags={"Name": tag_name})
    result = moto.run("status", tag_name)
    assert result.code == EXIT_OK, result.err
    assert f"({cid})" in result.out.splitlines()[0]


@pytest.mark.parametrize("args", [["status"], ["rotate-spot"], ["prices", "refresh"], ["bogus"]])
def test_usage_errors_exit_2(moto, args):
    with pytest.raises(SystemExit) as exc:
        moto.run(*args)
    assert exc.value.code == EXIT_REFUSED
