"""Every argument of the replace and in-place lists (docs/design.md), changed one at a time.

How the review tests are split (synthesis costs ~10-15 s per process):

* Here, ~40 variants of the fixture app (tests/review/fixture_app.py, the same app the
  test repository of test_cli_e2e.py runs) are synthesized in THIS pytest process with
  the session's ``synth_stack`` fixture (the provider import is paid once), and each
  variant is compared with the base by the same engine the CLI uses
  (``review.plan.diff`` + ``review.report.render``). A variant changes exactly one value
  of the data file, like one commit of the test repository would.
* test_cli_e2e.py runs the real command (git worktree of a base commit, one synth
  process per tree, exit codes) on a few commits of a temporary git repository.
* test_engine.py covers the engine on hand-written JSON (no synthesis).
"""

from __future__ import annotations

import pytest

from review import rules
from tests.review.fixture_app import base_data

PROD = "aws_emr_cluster.batch-prod-01"
GROUP_A = "aws_emr_instance_group.batch-prod-01_task-spot-static-a"


def _prod(d):
    return d["clusters"][0]


def _set(path, value):
    def mutate(d):
        node = _prod(d)
        keys = path.split(".")
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return mutate


def _override(construct_path, attribute, value):
    """An edit the constructs do not expose (see fixture_app's docstring)."""

    def mutate(d):
        d["overrides"].append([construct_path, attribute, value])

    return mutate


def _spot(field, value):
    def mutate(d):
        _prod(d)["spot"][field] = value

    return mutate


def _data(key, value):
    def mutate(d):
        d[key] = value

    return mutate


def _add_script(d):
    _prod(d)["bootstrap"].append({"script": "fixed-ip.sh", "args": []})


CLUSTER = "batch-prod-01/cluster"

# (id, mutation, resource address, attribute path the report must show)
REPLACES_CLUSTER = [
    ("name", _set("name", "batch-prod-02"), None, "name"),
    ("release_label", _set("release_label", "emr-7.2.0"), PROD, "release_label"),
    ("applications", _set("applications", ["Hadoop", "Spark", "Hive"]), PROD, "applications"),
    ("bootstrap_action list", _add_script, PROD, "bootstrap_action"),
    (
        "bootstrap_action args",
        lambda d: _prod(d)["bootstrap"][0].update(args=["--role-suffix", "--verbose"]),
        PROD,
        "bootstrap_action",
    ),
    (
        "configurations_json",
        lambda d: _prod(d)["configurations"]["spark-defaults"].update({"spark.executor.memory": "8g"}),
        PROD,
        "configurations_json",
    ),
    ("ec2_attributes.subnet_id", _set("subnet", 1), PROD, "ec2_attributes.subnet_id"),
    ("ec2_attributes.key_name", _set("key_name", "ops-key"), PROD, "ec2_attributes.key_name"),
    (
        "ec2_attributes.instance_profile",
        _override(CLUSTER, "ec2_attributes.instance_profile", "emr-instance-v2"),
        PROD,
        "ec2_attributes.instance_profile",
    ),
    ("service_role", _override(CLUSTER, "service_role", "emr-service-v2"), PROD, "service_role"),
    ("log_uri", _data("log_bucket", "example-emr-logs-2"), PROD, "log_uri"),
    ("ebs_root_volume_size", _set("ebs_root_volume_size", 64), PROD, "ebs_root_volume_size"),
    ("master.instance_type", _set("master.type", "m5.2xlarge"), PROD, "master_instance_group.instance_type"),
    ("master.instance_count", _set("master.count", 3), PROD, "master_instance_group.instance_count"),
    ("master.ebs_config", _set("master.ebs_size", 128), PROD, "master_instance_group.ebs_config"),
    ("master.name", _override(CLUSTER, "master_instance_group.name", "primary"), PROD, "master_instance_group.name"),
    (
        "master.bid_price",
        _override(CLUSTER, "master_instance_group.bid_price", "0.20"),
        PROD,
        "master_instance_group.bid_price",
    ),
    ("core.instance_type", _set("core.type", "r5.2xlarge"), PROD, "core_instance_group.instance_type"),
    ("core.bid_price", _set("core.bid_price", "0.25"), PROD, "core_instance_group.bid_price"),
    ("core.ebs_config", _set("core.ebs_size", 256), PROD, "core_instance_group.ebs_config"),
    ("core.name", _override(CLUSTER, "core_instance_group.name", "workers"), PROD, "core_instance_group.name"),
]

IN_PLACE_CLUSTER = [
    # 2 -> 3 keeps EmrCluster's derived dfs.replication (1 below 4 core nodes, tip T7).
    ("core.instance_count", _set("core.count", 3), "core_instance_group.instance_count"),
    (
        "core.autoscaling_policy",
        _override(
            CLUSTER,
            "core_instance_group.autoscaling_policy",
            '{"Constraints":{"MinCapacity":2,"MaxCapacity":6},"Rules":[]}',
        ),
        "core_instance_group.autoscaling_policy",
    ),
    ("step_concurrency_level", _set("step_concurrency_level", 4), "step_concurrency_level"),
    ("termination_protection", _set("protected", False), "termination_protection"),
    ("auto_termination_policy", _set("auto_termination_idle", 7200), "auto_termination_policy.idle_timeout"),
    ("tags", lambda d: _prod(d)["tags"].update(owner="platform"), "tags.owner"),
    ("visible_to_all_users", _override(CLUSTER, "visible_to_all_users", False), "visible_to_all_users"),
]

# (id, mutation, path, effect, applied): SpotTaskGroup ignores instance_count after creation.
GROUP_CHANGES = [
    ("bid_price", _spot("bid_price", "0.30"), "bid_price", rules.REPLACES, True),
    ("instance_type", _spot("type", "r5.2xlarge"), "instance_type", rules.REPLACES, True),
    (
        "name",
        _override("batch-prod-01-spot/task-spot-static-a/group", "name", "task-spot-static-x"),
        "name",
        rules.REPLACES,
        True,
    ),
    ("ebs_config", _spot("ebs_size", 128), "ebs_config", rules.REPLACES, True),
    ("instance_count", _spot("active_count", 5), "instance_count", rules.IN_PLACE, False),
]


def _variant(mutate):
    data = base_data()
    mutate(data)
    return data


def _change(review, address):
    return next(c for s in review.plan.stacks for c in s.changes if c.address == address)


def _row(review, path):
    return next(line for line in review.markdown.splitlines() if line.startswith(f"| `{path}` |"))


@pytest.mark.parametrize("label,mutate,address,path", REPLACES_CLUSTER, ids=[r[0] for r in REPLACES_CLUSTER])
def test_replace_list_argument_is_reported_as_replacing_the_cluster(synth_data, compare, label, mutate, address, path):
    review = compare(synth_data(_variant(mutate)), allow={"batch-prod-01"})
    if address is None:  # renaming a cluster moves its address: destroy + create
        assert any(c.action == "removed" and c.address == PROD for s in review.plan.stacks for c in s.changes)
        assert "**Destroyed: the cluster is removed.**" in review.markdown
        return
    change = _change(review, address)
    assert change.replaced
    attr = next(a for a in change.attrs if a.path == path)
    assert attr.replaces
    assert "**replaces the cluster**" in _row(review, path)


@pytest.mark.parametrize("label,mutate,path", IN_PLACE_CLUSTER, ids=[r[0] for r in IN_PLACE_CLUSTER])
def test_in_place_argument_is_reported_in_place(synth_data, compare, label, mutate, path):
    review = compare(synth_data(_variant(mutate)))
    change = _change(review, PROD)
    assert not change.replaced, [a.path for a in change.attrs if a.replaces]
    assert "| in place |" in _row(review, path)
    assert not review.blocked


@pytest.mark.parametrize("label,mutate,path,effect,applied", GROUP_CHANGES, ids=[g[0] for g in GROUP_CHANGES])
def test_instance_group_argument_classification(synth_data, compare, label, mutate, path, effect, applied):
    review = compare(synth_data(_variant(mutate)))
    if not applied:
        # Only ignored differences: Terraform plans no change, so the review counts the
        # group as unchanged and says why.
        assert _change_or_none(review, GROUP_A) is None
        change = _inert(review, GROUP_A)
        assert [a.path for a in change.attrs] == [path] and change.attrs[0].effect == effect
        assert f"- `{GROUP_A}`: `{path}`" in review.markdown and "Counted as unchanged (1)" in review.markdown
        return
    change = _change(review, GROUP_A)
    attr = next(a for a in change.attrs if a.path == path)
    assert attr.effect == effect and attr.applied is applied
    expected = "**replaces the group**" if effect == rules.REPLACES else "in place"
    assert expected in _row(review, path)
    assert not _change_or_none(review, PROD)  # a group change never touches the cluster


def _inert(review, address):
    return next(c for s in review.plan.stacks for c in s.inert if c.address == address)


def _change_or_none(review, address):
    return next((c for s in review.plan.stacks for c in s.changes if c.address == address), None)


def test_growing_core_past_a_replication_threshold_replaces_the_cluster(synth_data, compare):
    # EmrCluster writes dfs.replication from the core count (tip T7): 4 core nodes move
    # it from 1 to 2, which changes configurations_json, which replaces the cluster. The
    # count itself is in place; the review shows both and why.
    review = compare(synth_data(_variant(_set("core.count", 4))), allow={"batch-prod-01"})
    change = _change(review, PROD)
    assert [a.path for a in change.attrs if a.replaces] == ["configurations_json"]
    assert "| in place |" in _row(review, "core_instance_group.instance_count")
    assert "`[hdfs-site].Properties.dfs.replication`: `1` → `2`" in review.markdown


def test_replacing_a_security_group_replaces_the_clusters_that_use_it(synth_data, compare):
    # The description of a security group is ForceNew: a new group, a new id, which the
    # cluster names in ec2_attributes.
    data = _variant(_override("security-groups/service-access", "description", "EMR service access (v2)"))
    review = compare(synth_data(data), allow={"batch-prod-01"})
    change = _change(review, PROD)
    attr = next(a for a in change.attrs if a.path == "ec2_attributes.service_access_security_group")
    assert attr.replaces and attr.via_reference
    assert "unchanged in code; the value it references changes" in _row(review, attr.path)


def test_change_listed_in_ignore_changes_is_not_applied(synth_data, compare):
    data = _variant(_override(CLUSTER, "lifecycle.ignore_changes", ["configurations_json"]))
    _prod(data)["configurations"]["spark-defaults"]["spark.executor.memory"] = "8g"
    review = compare(synth_data(data))
    change = _inert(review, PROD)
    assert not change.replaced and _change_or_none(review, PROD) is None
    assert f"- `{PROD}`: `configurations_json`" in review.markdown
    assert not review.blocked


def test_protected_cluster_replacement_trips_the_guard_even_when_allowed(synth_data, compare):
    # protected=True keeps prevent_destroy and termination protection in the head:
    # Terraform cannot replace it, whatever --allow-replace says.
    head = synth_data(_variant(_set("release_label", "emr-7.2.0")))
    blocked = compare(head)
    allowed = compare(head, allow={"batch-prod-01"})
    assert blocked.blocked and allowed.blocked
    assert blocked.markdown.splitlines()[4].startswith("**⛔ Replacement guard: protected cluster `batch-prod-01`")
    line = allowed.markdown.splitlines()[4]
    assert "`--allow-replace batch-prod-01` is given, but it cannot make this change succeed" in line
    assert "`Error: Instance cannot be destroyed`" in line
    assert "land `protected=False` for this cluster alone first" in line


def test_unprotected_cluster_replacement_does_not_trip_the_guard(synth_data, compare):
    data = base_data()
    data["clusters"][1]["release_label"] = "emr-7.2.0"
    review = compare(synth_data(data))
    assert _change(review, "aws_emr_cluster.batch-dev-01").replaced
    assert not review.blocked
