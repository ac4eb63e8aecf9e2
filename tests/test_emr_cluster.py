"""EmrCluster: validation (one test per refused input), the named clusters as synthesized,
T7 replication, T5 disk sizing, lifecycle, outputs, and address stability (T3)."""

from __future__ import annotations

import json
import math

import pytest

from emr_constructs.model.cluster_spec import (
    BootstrapAction,
    ClusterSpec,
    Configuration,
    InstanceGroupSpec,
    ManagedScalingSpec,
    default_dfs_replication,
    render_configurations,
    ui_urls,
    validate_cluster_spec,
)
from emr_constructs.model.ebs import EbsSpec
from emr_constructs.model.errors import EmrConfigError

NAMED = {
    "spark-batch": ("spark-batch-production-01", "spark-batch-operation-01", "spark-batch-flex-01"),
    "spark-stream": ("spark-stream-01",),
    "service-presto": ("service-presto-01",),
}


def spec(**overrides) -> ClusterSpec:
    values = dict(
        name="spark-batch-test-01",
        release_label="emr-7.5.0",
        applications=("Hadoop", "Spark"),
        master=InstanceGroupSpec("m5.xlarge"),
        core=InstanceGroupSpec("r5.xlarge", instance_count=2),
    )
    values.update(overrides)
    return ClusterSpec(**values)


def refused(**overrides) -> str:
    with pytest.raises(EmrConfigError) as exc:
        validate_cluster_spec(spec(**overrides))
    return str(exc.value)


def cluster_json(synth, name: str) -> dict:
    stack = next(s for s, names in NAMED.items() if name in names)
    return synth.resources(stack, "aws_emr_cluster")[name]


# --------------------------------------------------------------------------- refused inputs


def test_core_count_below_one_is_refused():
    message = refused(core=InstanceGroupSpec("r5.xlarge", instance_count=0))
    assert "core.instance_count = 0" in message and "at least 1" in message


@pytest.mark.parametrize("count", [0, 2, 5])
def test_master_count_other_than_one_or_three_is_refused(count):
    message = refused(master=InstanceGroupSpec("m5.xlarge", instance_count=count))
    assert f"master.instance_count = {count}" in message and "1, or 3" in message


def test_spot_on_core_is_refused_and_the_error_says_why():
    message = refused(core=InstanceGroupSpec("r5.xlarge", instance_count=2, bid_price="0.24"))
    assert "core.bid_price = '0.24'" in message
    assert "YARN application master" in message and "allow_spot_core=True" in message


def test_spot_on_core_is_accepted_when_explicitly_allowed():
    resolved = validate_cluster_spec(
        spec(core=InstanceGroupSpec("r5.xlarge", instance_count=2, bid_price="0.24"), allow_spot_core=True)
    )
    assert resolved.spec.core.bid_price == "0.24"


def test_spot_on_master_is_refused():
    assert "master.bid_price" in refused(master=InstanceGroupSpec("m5.xlarge", bid_price="0.10"))


@pytest.mark.parametrize(
    "name", ["Spark-Batch-01", "spark_batch_01", "1spark", "spark--batch", "spark-batch-", "x" * 64]
)
def test_invalid_cluster_name_is_refused(name):
    assert f"name = {name!r}" in refused(name=name)


@pytest.mark.parametrize("label", ["emr-7.5", "7.5.0", "emr-7.5.0-latest", "EMR-7.5.0", "emr-v7.5.0"])
def test_malformed_release_label_is_refused(label):
    message = refused(release_label=label)
    assert f"release_label = {label!r}" in message and "emr-X.Y.Z" in message


@pytest.mark.parametrize("iops", [2999, 16001])
def test_gp3_iops_out_of_range_is_refused(iops):
    message = refused(core=InstanceGroupSpec("r5.xlarge", instance_count=2, ebs=EbsSpec.gp3(1000, iops=iops)))
    assert f"core.ebs.iops = {iops}" in message and "3000-16000" in message


@pytest.mark.parametrize("throughput", [124, 1001])
def test_gp3_throughput_out_of_range_is_refused(throughput):
    message = refused(
        core=InstanceGroupSpec("r5.xlarge", instance_count=2, ebs=EbsSpec.gp3(1000, iops=16000, throughput=throughput))
    )
    assert f"core.ebs.throughput = {throughput}" in message and "125-1000" in message


def test_gp3_iops_per_gib_over_500_is_refused():
    message = refused(master=InstanceGroupSpec("m5.xlarge", ebs=EbsSpec.gp3(10, iops=6000)))
    assert "500 IOPS per GiB" in message and "at least 12 GiB" in message


def test_gp3_throughput_per_iops_over_quarter_is_refused():
    message = refused(master=InstanceGroupSpec("m5.xlarge", ebs=EbsSpec.gp3(100, iops=3000, throughput=1000)))
    assert "0.25 MiB/s per IOPS" in message and "at least 4000" in message


def test_gp2_size_over_16384_gib_is_refused():
    message = refused(
        core=InstanceGroupSpec("r5.xlarge", instance_count=2, ebs=EbsSpec.gp2_for_iops(3000, min_size_gib=16385))
    )
    assert "16385 GiB" in message and "16384" in message


def test_gp2_iops_beyond_what_gp2_delivers_is_refused():
    assert "gp2 tops out at 16000 IOPS" in refused(
        core=InstanceGroupSpec("r5.xlarge", instance_count=2, ebs=EbsSpec.gp2_for_iops(20000))
    )


def test_dfs_replication_larger_than_core_count_is_refused():
    message = refused(core=InstanceGroupSpec("r5.xlarge", instance_count=2), dfs_replication=3)
    assert "dfs_replication = 3 with core.instance_count = 2" in message and "at most 2" in message


def test_dfs_replication_given_in_hdfs_site_is_checked_too():
    message = refused(
        core=InstanceGroupSpec("r5.xlarge", instance_count=2), configurations={"hdfs-site": {"dfs.replication": "3"}}
    )
    assert "dfs_replication = 3" in message


def test_non_string_configuration_value_is_refused():
    message = refused(configurations={"spark-defaults": {"spark.dynamicAllocation.enabled": True}})
    assert "spark.dynamicAllocation.enabled" in message and "must be strings" in message


def test_unknown_application_is_refused():
    assert "unknown ['Sparkle']" in refused(applications=("Hadoop", "Sparkle"))


def test_trino_and_presto_together_are_refused():
    assert "Trino and Presto" in refused(applications=("Trino", "Presto"))


@pytest.mark.parametrize("seconds", [59, 604801])
def test_auto_termination_outside_one_minute_to_seven_days_is_refused(seconds):
    assert f"auto_termination_idle_seconds = {seconds}" in refused(auto_termination_idle_seconds=seconds)


def test_reserved_tag_is_refused():
    assert "tags['Name']" in refused(tags={"Name": "other"})


def test_managed_scaling_maximum_below_minimum_is_refused():
    assert "managed_scaling.maximum = 2" in refused(managed_scaling=ManagedScalingSpec(minimum=3, maximum=2))


def test_every_problem_is_reported_at_once():
    with pytest.raises(EmrConfigError) as exc:
        validate_cluster_spec(
            spec(
                name="Bad_Name",
                release_label="7.5.0",
                master=InstanceGroupSpec("m5.xlarge", instance_count=2),
                core=InstanceGroupSpec("r5.xlarge", instance_count=0),
            )
        )
    assert len(exc.value.problems) == 4
    assert "nothing was synthesized" in str(exc.value)


def test_duplicate_cluster_names_in_one_stack_are_refused(settings):
    from cdktf import Testing

    from stacks.clusters import declared
    from stacks.purpose import PurposeStack

    def twice(stack):
        stack.add_cluster(spec(name="spark-batch-twin-01"))
        stack.add_cluster(spec(name="spark-batch-twin-01"))

    with pytest.raises(EmrConfigError, match="already exists in stack 'spark-batch'"):
        PurposeStack(Testing.app(), declared("spark-batch"), settings=settings, clusters=(twice,))


# --------------------------------------------------------------------------- T7, T5, configurations


@pytest.mark.parametrize("core,expected", [(1, 1), (3, 1), (4, 2), (9, 2), (10, 3), (40, 3)])
def test_default_dfs_replication_follows_emrs_rule(core, expected):
    assert default_dfs_replication(core) == expected
    resolved = validate_cluster_spec(spec(core=InstanceGroupSpec("r5.xlarge", instance_count=core)))
    hdfs = next(
        c
        for c in json.loads(render_configurations(resolved.configurations, resolved.dfs_replication))
        if c["Classification"] == "hdfs-site"
    )
    assert hdfs["Properties"]["dfs.replication"] == str(expected)


def test_dfs_replication_is_written_explicitly_on_every_named_cluster(synth):
    for names in NAMED.values():
        for name in names:
            configs = json.loads(cluster_json(synth, name)["configurations_json"])
            hdfs = [c for c in configs if c["Classification"] == "hdfs-site"]
            assert len(hdfs) == 1 and hdfs[0]["Properties"]["dfs.replication"].isdigit(), name


def test_explicit_dfs_replication_above_emrs_default_is_kept(synth):
    configs = json.loads(cluster_json(synth, "spark-stream-01")["configurations_json"])
    assert {"Classification": "hdfs-site", "Properties": {"dfs.replication": "2"}} in configs


@pytest.mark.parametrize("iops,size", [(3000, 1000), (100, 34), (50, 17), (16000, 5334)])
def test_gp2_size_comes_from_the_iops_wanted(iops, size):
    ebs = EbsSpec.gp2_for_iops(iops)
    assert ebs.terraform() == {"size": size, "type": "gp2", "volumes_per_instance": 1}
    assert ebs.baseline_iops() >= iops and size == math.ceil(iops / 3)


def test_gp2_minimum_size_wins_when_larger():
    assert EbsSpec.gp2_for_iops(300, min_size_gib=500).terraform()["size"] == 500


def test_gp3_always_carries_iops_and_throughput():
    assert EbsSpec().terraform() == {
        "size": 64,
        "type": "gp3",
        "iops": 3000,
        "throughput": 125,
        "volumes_per_instance": 1,
    }


def test_operation_cluster_core_uses_gp2_sized_for_3000_iops(synth):
    core = cluster_json(synth, "spark-batch-operation-01")["core_instance_group"]
    assert core["ebs_config"] == [{"size": 1000, "type": "gp2", "volumes_per_instance": 1}]


def test_configurations_json_is_deterministic_and_in_emrs_shape():
    a = [
        Configuration("yarn-site", {"b": "2", "a": "1"}),
        Configuration("spark-env", {}, (Configuration("export", {"PYSPARK_PYTHON": "/usr/bin/python3"}),)),
    ]
    b = list(reversed([Configuration("yarn-site", {"a": "1", "b": "2"}), a[1]]))
    rendered = render_configurations(a, 2)
    assert rendered == render_configurations(b, 2)
    assert json.loads(rendered) == [
        {"Classification": "hdfs-site", "Properties": {"dfs.replication": "2"}},
        {
            "Classification": "spark-env",
            "Configurations": [{"Classification": "export", "Properties": {"PYSPARK_PYTHON": "/usr/bin/python3"}}],
            "Properties": {},
        },
        {"Classification": "yarn-site", "Properties": {"a": "1", "b": "2"}},
    ]
    assert rendered == json.dumps(json.loads(rendered), sort_keys=True, separators=(",", ":"))


def test_applications_are_written_in_emrs_spelling():
    assert validate_cluster_spec(spec(applications=("spark", "HADOOP", "trino"))).applications == (
        "Hadoop",
        "Spark",
        "Trino",
    )


# --------------------------------------------------------------------------- the named clusters


def test_every_named_cluster_has_an_address_equal_to_its_name(synth):
    for stack, names in NAMED.items():
        assert sorted(synth.resources(stack, "aws_emr_cluster")) == sorted(names)
        for name in names:
            assert synth.resources(stack, "aws_emr_cluster")[name]["name"] == name


def test_protected_clusters_have_termination_protection_and_prevent_destroy(synth):
    for name in ("spark-batch-production-01", "spark-stream-01"):
        cluster = cluster_json(synth, name)
        assert cluster["termination_protection"] is True
        assert cluster["lifecycle"]["prevent_destroy"] is True
    for name in ("spark-batch-operation-01", "service-presto-01"):
        cluster = cluster_json(synth, name)
        assert cluster["termination_protection"] is False
        assert "prevent_destroy" not in cluster["lifecycle"]


def test_frozen_clusters_ignore_what_operators_change_from_the_console(synth):
    frozen = {
        "step",
        "core_instance_group[0].instance_count",
        "core_instance_group[0].autoscaling_policy",
        "step_concurrency_level",
        "auto_termination_policy",
    }
    for name in ("spark-batch-production-01", "service-presto-01"):
        assert set(cluster_json(synth, name)["lifecycle"]["ignore_changes"]) == frozen
    for name in ("spark-batch-operation-01", "spark-stream-01"):
        assert cluster_json(synth, name)["lifecycle"]["ignore_changes"] == ["step"]


def test_managed_scaling_ignores_core_count_and_writes_limits(synth_stack, settings):
    from stacks.clusters import declared
    from stacks.purpose import PurposeStack

    def scaled(stack):
        stack.add_cluster(spec(managed_scaling=ManagedScalingSpec(minimum=2, maximum=10, maximum_core=4)))

    out = synth_stack(lambda app: PurposeStack(app, declared("spark-batch"), settings=settings, clusters=(scaled,)))
    cluster = out["resource"]["aws_emr_cluster"]["spark-batch-test-01"]
    assert "core_instance_group[0].instance_count" in cluster["lifecycle"]["ignore_changes"]
    policy = out["resource"]["aws_emr_managed_scaling_policy"]["spark-batch-test-01_managed-scaling"]
    assert policy["cluster_id"] == "${aws_emr_cluster.spark-batch-test-01.id}"
    assert policy["compute_limits"] == [
        {
            "unit_type": "Instances",
            "minimum_capacity_units": 2,
            "maximum_capacity_units": 10,
            "maximum_core_capacity_units": 4,
        }
    ]


FLEET_CLUSTERS = ("spark-batch-flex-01",)


def test_master_and_core_are_on_demand_and_named(synth):
    for names in NAMED.values():
        for name in names:
            cluster = cluster_json(synth, name)
            kind = "fleet" if name in FLEET_CLUSTERS else "group"
            master, core = cluster[f"master_instance_{kind}"], cluster[f"core_instance_{kind}"]
            assert (master["name"], core["name"]) == ("master", "core")
            if kind == "fleet":
                assert (master["target_on_demand_capacity"], master["target_spot_capacity"]) == (1, 0)
                assert core["target_spot_capacity"] == 0
                configs = master["instance_type_configs"] + core["instance_type_configs"]
                assert all("bid_price" not in c for c in configs)
            else:
                assert "bid_price" not in master and "bid_price" not in core


def test_the_fleet_cluster_may_start_in_every_private_subnet(synth, settings):
    attrs = cluster_json(synth, "spark-batch-flex-01")["ec2_attributes"]
    assert attrs["subnet_ids"] == [s.id for s in settings.private_subnets]
    assert "subnet_id" not in attrs


def test_stream_cluster_runs_three_masters(synth):
    assert cluster_json(synth, "spark-stream-01")["master_instance_group"]["instance_count"] == 3


def test_operation_cluster_terminates_itself_when_idle(synth):
    assert cluster_json(synth, "spark-batch-operation-01")["auto_termination_policy"] == {"idle_timeout": 3600}
    assert "auto_termination_policy" not in cluster_json(synth, "spark-batch-production-01")


def test_cluster_uses_the_environment_network_roles_and_log_bucket(synth, settings):
    for stack, names in NAMED.items():
        sgs = synth.resources(stack, "aws_security_group")
        for name in names:
            cluster = cluster_json(synth, name)
            attrs = cluster["ec2_attributes"]
            if name not in FLEET_CLUSTERS:
                assert attrs["subnet_id"] == settings.subnet(0).id
            for key in (
                "emr_managed_master_security_group",
                "emr_managed_slave_security_group",
                "additional_master_security_groups",
                "additional_slave_security_groups",
                "service_access_security_group",
            ):
                assert attrs[key].startswith("${aws_security_group.") and attrs[key].split(".")[1] in sgs
            assert attrs["instance_profile"].startswith("${aws_iam_instance_profile.")
            assert cluster["service_role"].startswith("${aws_iam_role.")
            assert cluster["log_uri"] == f"s3://{settings.buckets.logs}/emr/{stack}/{name}/"


def test_cluster_tags_name_purpose_and_managed_policy_marker(synth):
    for stack, names in NAMED.items():
        for name in names:
            tags = cluster_json(synth, name)["tags"]
            assert tags["Name"] == name and tags["purpose"] == stack
            assert tags["for-use-with-amazon-emr-managed-policies"] == "true"


def test_instance_role_may_write_the_stacks_log_prefix(synth, settings):
    for stack in NAMED:
        assert f"arn:aws:s3:::{settings.buckets.logs}/emr/{stack}/*" in json.dumps(synth[stack])


def test_log_grant_is_one_statement_however_many_clusters(synth_stack, settings):
    from stacks.clusters import declared
    from stacks.purpose import PurposeStack

    def many(stack):
        for n in range(60):
            stack.add_cluster(spec(name=f"spark-batch-many-{n:02d}"))

    doc = synth_stack(lambda app: PurposeStack(app, declared("spark-batch"), settings=settings, clusters=(many,)))
    assert json.dumps(doc).count(f"arn:aws:s3:::{settings.buckets.logs}/emr/spark-batch/*") == 1


def test_outputs_give_id_dns_and_the_uis_of_the_apps_present(synth):
    def outputs(stack, name):
        return {
            k.removeprefix(f"{name}_"): v["value"]
            for k, v in synth[stack]["output"].items()
            if k.startswith(f"{name}_")
        }

    dns = "${aws_emr_cluster.spark-stream-01.master_public_dns}"
    assert outputs("spark-stream", "spark-stream-01") == {
        "cluster_id": "${aws_emr_cluster.spark-stream-01.id}",
        "master_private_dns": dns,
        "yarn_resourcemanager_url": f"http://{dns}:8088",
        "spark_history_url": f"http://{dns}:18080",
    }
    # service-presto-01 has a fixed master IP (tip T4): its UIs and SSH use the address.
    assert outputs("service-presto", "service-presto-01") == {
        "cluster_id": "${aws_emr_cluster.service-presto-01.id}",
        "master_private_dns": "${aws_emr_cluster.service-presto-01.master_public_dns}",
        "yarn_resourcemanager_url": "http://10.20.1.18:8088",
        "trino_url": "http://10.20.1.18:8889",
        "ssh": "ssh hadoop@10.20.1.18",
    }
    batch = outputs("spark-batch", "spark-batch-production-01")
    assert batch["spark_history_url"].endswith(":18080") and "trino_url" not in batch


def test_ui_urls_can_use_any_host():
    assert ui_urls("10.20.1.10", ["Spark", "Hadoop"]) == {
        "yarn_resourcemanager_url": "http://10.20.1.10:8088",
        "spark_history_url": "http://10.20.1.10:18080",
    }


def test_set_ui_host_moves_the_ui_outputs_only(synth_stack, settings):
    from stacks.clusters import declared
    from stacks.purpose import PurposeStack

    def fixed(stack):
        stack.add_cluster(spec()).set_ui_host("10.20.1.10")

    out = synth_stack(lambda app: PurposeStack(app, declared("spark-batch"), settings=settings, clusters=(fixed,)))[
        "output"
    ]
    assert out["spark-batch-test-01_spark_history_url"]["value"] == "http://10.20.1.10:18080"
    assert out["spark-batch-test-01_master_private_dns"]["value"].endswith(".master_public_dns}")


def test_bootstrap_action_added_later_keeps_order(synth_stack, settings):
    from stacks.clusters import declared
    from stacks.purpose import PurposeStack

    def two(stack):
        cluster = stack.add_cluster(
            spec(bootstrap_actions=(stack.bootstrap.action("tag_instance_role.py"),)), tag_node_roles=False
        )
        cluster.add_bootstrap_action(
            BootstrapAction(
                "second", bucket=settings.buckets.bootstrap_assets, key="bootstrap/spark-batch/second.sh", args=("x",)
            )
        )

    out = synth_stack(lambda app: PurposeStack(app, declared("spark-batch"), settings=settings, clusters=(two,)))
    actions = out["resource"]["aws_emr_cluster"]["spark-batch-test-01"]["bootstrap_action"]
    assert [a["name"] for a in actions] == ["tag_instance_role", "second"]
    assert actions[1] == {
        "name": "second",
        "args": ["x"],
        "path": f"s3://{settings.buckets.bootstrap_assets}/bootstrap/spark-batch/second.sh",
    }


# --------------------------------------------------------------------------- T3 address stability


def _cluster_slice(doc: dict, name: str) -> dict:
    """Everything in a synthesized stack that belongs to one cluster: resources whose
    address is the name or starts with ``<name>_``, and its outputs."""
    owned = lambda key: key == name or key.startswith(f"{name}_")  # noqa: E731
    return {
        "resource": {
            rtype: {k: v for k, v in items.items() if owned(k)}
            for rtype, items in doc.get("resource", {}).items()
            if any(owned(k) for k in items)
        },
        "output": {k: v for k, v in doc.get("output", {}).items() if owned(k)},
    }


def test_adding_removing_or_reordering_a_cluster_leaves_the_others_unchanged(synth_stack, settings):
    from stacks.clusters import declared
    from stacks.purpose import PurposeStack

    def define(name):
        def build(stack):
            return stack.add_cluster(spec(name=name))

        return build

    a, b, c, d = (define(f"spark-batch-{n}") for n in ("alpha-01", "bravo-01", "charlie-01", "delta-01"))
    variants = {
        "base": (a, b, c),
        "added": (a, b, c, d),
        "removed": (a, c),
        "reordered": (c, a, b),
    }
    docs = {
        label: synth_stack(
            lambda app, defs=defs: PurposeStack(app, declared("spark-batch"), settings=settings, clusters=defs)
        )
        for label, defs in variants.items()
    }
    for name in ("spark-batch-alpha-01", "spark-batch-charlie-01"):
        base = json.dumps(_cluster_slice(docs["base"], name), sort_keys=True)
        assert name in docs["base"]["resource"]["aws_emr_cluster"]
        for label in ("added", "removed", "reordered"):
            assert json.dumps(_cluster_slice(docs[label], name), sort_keys=True) == base, (name, label)
    assert "spark-batch-bravo-01" not in docs["removed"]["resource"]["aws_emr_cluster"]


def test_clusters_use_the_stacks_security_configuration(synth):
    for stack, names in NAMED.items():
        (config,) = synth.resources(stack, "aws_emr_security_configuration").values()
        doc = json.loads(config["configuration"])
        assert doc["EncryptionConfiguration"]["EnableAtRestEncryption"] is True
        for name in names:
            assert cluster_json(synth, name)["security_configuration"].startswith("${aws_emr_security_configuration.")
