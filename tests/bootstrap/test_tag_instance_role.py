"""assets/bootstrap/tag_instance_role.py run as a process against moto and the metadata
stand-in (see conftest.py). moto keeps EMR's ``aws:elasticmapreduce:*`` tags as given at
launch, the way EMR sets them on its instances.
"""

from __future__ import annotations

import contextlib
from types import SimpleNamespace

import pytest

from tests.bootstrap.conftest import CLUSTER_ID, TAG, emr_node, job_flow_info

ROLE_TAG = "aws:elasticmapreduce:instance-group-role"
CLUSTER_TAG = "aws:elasticmapreduce:job-flow-id"


@pytest.fixture(scope="module")
def master_twice(moto_ec2, moto_url, tmp_path_factory, require_aws_cli):
    """A primary node tagged by EMR, the script run twice; the Name tag after each run."""
    with emr_node(moto_ec2, moto_url, tmp_path_factory.mktemp("tag-master")) as node:
        runs = []
        for _ in range(2):
            node.proxy.calls.clear()
            result = node.run(TAG)
            runs.append(SimpleNamespace(result=result, actions=node.proxy.actions(), name=node.tags().get("Name")))
        yield SimpleNamespace(
            first=runs[0],
            second=runs[1],
            metadata_reads=len(node.imds.reads),
            tokenless_reads=node.imds.tokenless_reads,
        )


@pytest.fixture
def tagged_node(moto_ec2, moto_url, tmp_path, require_aws_cli):
    """Build a primary node with the given instance tags (None: no tags at all)."""
    with contextlib.ExitStack() as stack:
        yield lambda tags: stack.enter_context(emr_node(moto_ec2, moto_url, tmp_path, instance_tags=tags or {}))


def test_appends_the_role_from_emr_tag_to_the_name(master_twice):
    assert master_twice.first.result.returncode == 0, master_twice.first.result.log
    assert master_twice.first.name == "spark-batch-production-01-MASTER"


def test_every_metadata_read_carries_a_session_token(master_twice):
    assert master_twice.metadata_reads > 0
    assert master_twice.tokenless_reads == 0


def test_second_run_writes_no_tag_and_keeps_the_name(master_twice):
    second = master_twice.second
    assert second.result.returncode == 0, second.result.log
    assert "CreateTags" not in second.actions
    assert second.name == "spark-batch-production-01-MASTER"


def test_second_run_says_nothing_changed(master_twice):
    assert "nothing changed" in master_twice.second.result.log


@pytest.mark.parametrize(
    ("instance_info", "role"),
    [
        ({"isMaster": False, "instanceGroupId": "ig-CORE"}, "CORE"),
        ({"isMaster": False, "instanceGroupId": "ig-TASK"}, "TASK"),
    ],
)
def test_takes_the_role_from_info_files_without_the_emr_tag(tagged_node, instance_info, role):
    node = tagged_node({"Name": "etl-01", CLUSTER_TAG: CLUSTER_ID})
    node.write_info(instance_info, job_flow_info())
    result = node.run(TAG)
    assert result.returncode == 0, result.log
    assert node.tags()["Name"] == f"etl-01-{role}"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("etl-01-MASTER-MASTER", "etl-01-MASTER"),  # left by the guide's script run twice
        ("etl-01-CORE", "etl-01-MASTER"),  # a copied suffix: the node's real role wins
        ("etl-01-MASTER ", "etl-01-MASTER"),  # a trailing space, not a new suffix
        ("-MASTER", f"{CLUSTER_ID}-MASTER"),  # only a suffix: the guide's script on no Name
        ("스파크-배치-01", "스파크-배치-01-MASTER"),
    ],
)
def test_replaces_role_suffixes_already_on_the_name(tagged_node, name, expected):
    node = tagged_node({"Name": name, ROLE_TAG: "MASTER"})
    result = node.run(TAG)
    assert result.returncode == 0, result.log
    assert node.tags()["Name"] == expected


def test_names_an_unnamed_instance_after_its_cluster(tagged_node):
    node = tagged_node({ROLE_TAG: "CORE", CLUSTER_TAG: CLUSTER_ID})
    result = node.run(TAG)
    assert result.returncode == 0, result.log
    assert node.tags()["Name"] == f"{CLUSTER_ID}-CORE"


def test_names_an_untagged_instance_from_job_flow_json(tagged_node):
    node = tagged_node(None)  # no tags at all: role and cluster id from the info files
    result = node.run(TAG)
    assert result.returncode == 0, result.log
    assert node.tags()["Name"] == f"{CLUSTER_ID}-MASTER"


def test_fails_when_nothing_tells_the_role(tagged_node):
    node = tagged_node({"Name": "etl-01"})
    node.write_info(None, None)
    result = node.run(TAG)
    assert result.returncode == 1
    assert "cannot tell this node's role" in result.log
    assert "CreateTags" not in node.proxy.actions()


# ----------------------------------------------------------------- cosmetic failures


def test_a_name_over_the_tag_limit_warns_and_leaves_the_node_alone(tagged_node):
    name = "n" * 250  # + "-MASTER" would be 257 characters; EC2 allows 256
    node = tagged_node({"Name": name, ROLE_TAG: "MASTER", CLUSTER_TAG: CLUSTER_ID})
    result = node.run(TAG)
    assert result.returncode == 0, result.log
    assert "warning: the new Name would be 257 characters, over EC2's limit of 256" in result.log
    assert "CreateTags" not in node.proxy.actions()
    assert node.tags()["Name"] == name


def test_create_tags_denied_warns_and_leaves_the_node_alone(tagged_node):
    node = tagged_node({"Name": "etl-01", ROLE_TAG: "MASTER", CLUSTER_TAG: CLUSTER_ID})
    node.proxy.deny.add("CreateTags")
    result = node.run(TAG)
    assert result.returncode == 0, result.log
    assert "warning: not allowed to write the Name tag" in result.log
    assert "UnauthorizedOperation" in result.log
    assert node.tags()["Name"] == "etl-01"


def test_other_create_tags_failures_still_fail(tagged_node):
    node = tagged_node({"Name": "etl-01", ROLE_TAG: "MASTER", CLUSTER_TAG: CLUSTER_ID})
    node.proxy.throttle["CreateTags"] = 1000
    result = node.run(TAG)
    assert result.returncode == 1
    assert "FAILED: aws ec2 create-tags failed" in result.log
