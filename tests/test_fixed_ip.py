"""FixedIpReservation (guide tip T4): refused inputs, and what the foundation stack reserves."""

from __future__ import annotations

import dataclasses

import pytest

SUBNET = "10.20.1.0/24"

# The rules are reached through emr_constructs.fixed_ip, which imports the provider bindings.
pytestmark = pytest.mark.synth


def problems(*pairs, mode="eni", masters=None, block=None):
    from emr_constructs.fixed_ip import FixedIp, validate_fixed_ips

    return validate_fixed_ips(
        subnet_cidr=SUBNET,
        mode=mode,
        master_counts=masters,
        block=block,
        assignments=[FixedIp(cluster=c, ip=ip) for c, ip in pairs],
    )


def test_a_contiguous_owned_block_is_accepted():
    assert problems(("a-01", "10.20.1.16"), ("b-01", "10.20.1.17"), ("c-01", "10.20.1.18")) == []


def test_ip_outside_the_subnet_is_refused():
    (p,) = problems(("a-01", "10.20.2.16"))
    assert "outside the subnet 10.20.1.0/24" in p and "10.20.2.16" in p


@pytest.mark.parametrize("ip", ["10.20.1.0", "10.20.1.1", "10.20.1.2", "10.20.1.3", "10.20.1.255"])
def test_addresses_aws_reserves_are_refused(ip):
    found = problems(("a-01", ip))
    assert any("AWS reserves the first four and the last address of 10.20.1.0/24" in p for p in found)


@pytest.mark.parametrize("mode", ["eni", "cidr"])
def test_gaps_are_allowed(mode):
    # Dropping the middle cluster's address must not force renumbering another cluster.
    assert problems(("a-01", "10.20.1.16"), ("c-01", "10.20.1.18"), mode=mode) == []


def test_the_same_ip_twice_is_refused():
    (p,) = problems(("a-01", "10.20.1.16"), ("b-01", "10.20.1.16"))
    assert "the same IP is listed twice (also for 'a-01')" in p


def test_a_cluster_with_two_ips_is_refused():
    (p,) = problems(("a-01", "10.20.1.16"), ("a-01", "10.20.1.17"))
    assert p == "cluster 'a-01' has 2 IPs (10.20.1.16, 10.20.1.17): a master takes exactly one"


def test_an_ip_with_no_owner_is_refused():
    (p,) = problems(("a-01", "10.20.1.16"), ("", "10.20.1.17"))
    assert "an IP with no owner" in p and "10.20.1.17" in p


def test_fixed_ip_on_a_three_master_cluster_is_refused_with_the_reason():
    (p,) = problems(("a-01", "10.20.1.16"), masters={"a-01": 3})
    assert "runs 3 master nodes" in p and "after a failover" in p


def test_cidr_mode_reserves_an_aligned_block_with_spares():
    from emr_constructs.fixed_ip import FixedIp
    from emr_constructs.model.fixed_ip_rules import plan_reservation

    pairs = [FixedIp("a-01", "10.20.1.17"), FixedIp("b-01", "10.20.1.18")]  # not a CIDR by themselves
    assert problems(*[(a.cluster, a.ip) for a in pairs], mode="cidr") == []
    plan = plan_reservation(subnet_cidr=SUBNET, assignments=pairs, mode="cidr")
    assert (plan.cidr_block, plan.spares) == ("10.20.1.16/30", ("10.20.1.16", "10.20.1.19"))
    (p,) = problems(*[(a.cluster, a.ip) for a in pairs], mode="cidr", block="10.20.1.18/30")
    assert "not aligned" in p and "10.20.1.16/30" in p


def test_eni_holder_address_must_not_be_aws_reserved():
    (p,) = problems(("a-01", "10.20.1.4"))
    assert "just below the lowest fixed IP (10.20.1.3)" in p


def test_every_problem_is_reported_at_once(synth_stack):
    from emr_constructs.fixed_ip import FixedIp, FixedIpError, FixedIpReservation

    with pytest.raises(FixedIpError) as info:
        synth_stack(
            lambda app: _stack_with(
                app,
                FixedIpReservation,
                [
                    FixedIp("a-01", "10.20.9.9"),
                    FixedIp("b-01", "10.20.1.255"),
                    FixedIp("c-01", "bogus"),
                ],
            )
        )
    assert len(info.value.problems) == 3
    assert str(info.value).startswith("FixedIpReservation reserved: 3 problem(s)")


def _stack_with(app, cls, assignments, mode="eni"):
    from cdktf import TerraformStack

    stack = TerraformStack(app, "t")
    cls(stack, "reserved", subnet_id="subnet-0a1b2c3d4e5f60701", subnet_cidr=SUBNET, assignments=assignments, mode=mode)
    return stack


def test_foundation_reserves_the_example_block_with_an_explicit_cidr_reservation(synth, settings):
    # cidr is the default mode: the example's block holds its three masters and five spares.
    assert "aws_network_interface" not in synth["foundation"]["resource"]
    (reservation,) = synth.resources("foundation", "aws_ec2_subnet_cidr_reservation").values()
    assert (reservation["cidr_block"], reservation["reservation_type"]) == ("10.20.1.16/29", "explicit")
    assert reservation["subnet_id"] == settings.fixed_ips.subnet_id
    assert "spare: 5" in reservation["description"]


def _eni_settings(settings, masters=None):
    masters = masters or settings.fixed_ips.masters
    return dataclasses.replace(
        settings, fixed_ips=dataclasses.replace(settings.fixed_ips, mode="eni", block=None, masters=masters)
    )


def test_eni_mode_holds_the_range_gaps_included_on_a_holding_interface(synth_stack, settings):
    from stacks.foundation import FoundationStack

    masters = (("spark-batch-production-01", "10.20.1.16"), ("service-presto-01", "10.20.1.18"))
    doc = synth_stack(lambda app: FoundationStack(app, settings=_eni_settings(settings, masters)))
    (eni,) = doc["resource"]["aws_network_interface"].values()
    assert eni["subnet_id"] == settings.fixed_ips.subnet_id
    assert eni["private_ip_list_enabled"] is True
    # The interface's own primary address sits just below the range and never moves; the
    # unowned .17 is held as a spare.
    assert eni["private_ip_list"] == ["10.20.1.15", "10.20.1.16", "10.20.1.17", "10.20.1.18"]
    assert eni["tags"]["emr-cdktf:fixed-ip-reservation"] == "example-emr-masters"
    assert "never attach" in eni["description"]


def test_eni_mode_fails_the_plan_instead_of_showing_an_address_that_is_never_reserved(synth_stack, settings):
    # Terraform cannot add addresses to the holding interface once masters took theirs
    # (its address list is ignored); the range tag keeps what the interface was created
    # with, and the postcondition compares it with what the settings now need.
    from stacks.foundation import FoundationStack

    doc = synth_stack(lambda app: FoundationStack(app, settings=_eni_settings(settings)))
    (eni,) = doc["resource"]["aws_network_interface"].values()
    assert eni["tags"]["emr-cdktf:fixed-ip-range"] == "10.20.1.16-10.20.1.18"
    assert eni["lifecycle"]["ignore_changes"] == [
        "private_ips",
        "private_ips_count",
        "private_ip_list",
        'tags["emr-cdktf:fixed-ip-range"]',
    ]
    (check,) = eni["lifecycle"]["postcondition"]
    assert check["condition"] == '${lookup(self.tags, "emr-cdktf:fixed-ip-range", "") == "10.20.1.16-10.20.1.18"}'
    assert "would NOT be reserved" in check["error_message"]


def _cidr_settings(settings):
    """Two masters at .16/.17 and no block: the block is the CIDR 10.20.1.16/31."""
    masters = (("spark-batch-production-01", "10.20.1.16"), ("spark-batch-operation-01", "10.20.1.17"))
    return dataclasses.replace(
        settings, fixed_ips=dataclasses.replace(settings.fixed_ips, mode="cidr", block=None, masters=masters)
    )


def test_cidr_mode_makes_an_explicit_subnet_reservation(synth_stack, settings):
    from stacks.foundation import FoundationStack

    doc = synth_stack(lambda app: FoundationStack(app, settings=_cidr_settings(settings)))
    assert "aws_network_interface" not in doc["resource"]
    (reservation,) = doc["resource"]["aws_ec2_subnet_cidr_reservation"].values()
    assert reservation["cidr_block"] == "10.20.1.16/31"
    assert reservation["reservation_type"] == "explicit"
    assert reservation["subnet_id"] == settings.fixed_ips.subnet_id


def test_cidr_mode_clusters_take_the_address_without_a_holding_interface(synth_stack, settings):
    from stacks.clusters import declared
    from stacks.purpose import PurposeStack

    doc = synth_stack(lambda app: PurposeStack(app, declared("spark-batch"), settings=_cidr_settings(settings)))
    assert "aws_network_interface" not in doc.get("data", {})
    action = doc["resource"]["aws_emr_cluster"]["spark-batch-operation-01"]["bootstrap_action"][0]
    assert action["name"] == "assign_private_ip" and action["args"][:-2] == ["--ip", "10.20.1.17"]


# --------------------------------------------------------------------------- the cluster side


def _cluster(synth, stack, name):
    return synth.resources(stack, "aws_emr_cluster")[name]


def test_fixed_ip_cluster_runs_the_script_first_with_its_ip(synth, settings):
    cluster = _cluster(synth, "spark-batch", "spark-batch-production-01")
    first = cluster["bootstrap_action"][0]
    assert first["name"] == "assign_private_ip"
    assert first["args"][:-2] == ["--ip", "10.20.1.16"]  # cidr mode: no reservation interface
    assert first["path"].startswith("s3://${aws_s3_object.bootstrap_assign_private_ip.bucket}/")
    assert cluster["ec2_attributes"]["subnet_id"] == settings.fixed_ips.subnet_id
    assert cluster["tags"]["fixed-private-ip"] == "10.20.1.16"


@pytest.fixture(scope="module")
def eni_batch(synth_stack, settings):
    """The spark-batch stack with the reservation in eni mode."""
    from stacks.clusters import declared
    from stacks.purpose import PurposeStack

    return synth_stack(lambda app: PurposeStack(app, declared("spark-batch"), settings=_eni_settings(settings)))


def test_eni_mode_cluster_runs_the_script_with_the_reservation_interface(eni_batch):
    first = eni_batch["resource"]["aws_emr_cluster"]["spark-batch-production-01"]["bootstrap_action"][0]
    (holder,) = eni_batch["data"]["aws_network_interface"]
    assert first["args"][:-2] == [
        "--ip",
        "10.20.1.16",
        "--reservation-eni",
        f"${{data.aws_network_interface.{holder}.id}}",
    ]


def test_purpose_stack_finds_the_reservation_by_tag_and_subnet(eni_batch, settings):
    (lookup,) = eni_batch["data"]["aws_network_interface"].values()
    assert {f["name"]: f["values"] for f in lookup["filter"]} == {
        "tag:emr-cdktf:fixed-ip-reservation": ["example-emr-masters"],
        "subnet-id": [settings.fixed_ips.subnet_id],
    }


def test_eni_mode_may_unassign_from_the_reservation_interface_only(eni_batch):
    statements = _instance_statements(eni_batch)
    (holder,) = eni_batch["data"]["aws_network_interface"]
    take = statements["FixedIpTakeFromReservation"]
    assert take["Action"] == ["ec2:UnassignPrivateIpAddresses"]
    assert take["Resource"] == [
        f"arn:aws:ec2:ap-northeast-2:123456789012:network-interface/${{data.aws_network_interface.{holder}.id}}"
    ]
    assert not any(
        "ec2:UnassignPrivateIpAddresses" in s["Action"]
        for sid, s in statements.items()
        if sid != "FixedIpTakeFromReservation"
    )


def test_fixed_ip_outputs_give_uis_and_ssh_on_the_address(synth):
    outputs = {k: v["value"] for k, v in synth["spark-batch"]["output"].items()}
    assert outputs["spark-batch-production-01_yarn_resourcemanager_url"] == "http://10.20.1.16:8088"
    assert outputs["spark-batch-production-01_spark_history_url"] == "http://10.20.1.16:18080"
    assert outputs["spark-batch-production-01_ssh"] == "ssh hadoop@10.20.1.16"


def _instance_statements(doc):
    import json

    (policy,) = [p for k, p in doc["resource"]["aws_iam_role_policy"].items() if "instance" in k]
    return {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}


def test_fixed_ip_grants_are_scoped_to_the_subnet(synth, settings):
    statements = _instance_statements(synth["spark-batch"])
    # Who holds the address, and whether that instance is shutting down.
    assert statements["FixedIpFindHolder"]["Action"] == ["ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces"]
    assert "FixedIpTakeFromReservation" not in statements  # cidr mode: nothing to unassign
    assign = statements["FixedIpAssignInSubnet"]
    assert assign["Action"] == ["ec2:AssignPrivateIpAddresses"]
    assert assign["Resource"] == ["arn:aws:ec2:ap-northeast-2:123456789012:network-interface/*"]
    assert assign["Condition"] == {
        "ArnEquals": {"ec2:Subnet": f"arn:aws:ec2:ap-northeast-2:123456789012:subnet/{settings.fixed_ips.subnet_id}"}
    }


def test_cluster_without_fixed_ip_gets_no_fixed_ip_grant(synth):
    statements = _instance_statements(synth["spark-stream"])
    assert not any(sid.startswith("FixedIp") for sid in statements)
    assert "fixed-private-ip" not in _cluster(synth, "spark-stream", "spark-stream-01")["tags"]


def test_fixed_ip_on_a_three_master_cluster_is_refused_by_the_stack(synth_stack, settings):
    from emr_constructs.model.errors import EmrConfigError
    from stacks.clusters import declared
    from stacks.purpose import PurposeStack

    masters = settings.fixed_ips.masters + (("spark-stream-01", "10.20.1.19"),)
    ha = dataclasses.replace(settings, fixed_ips=dataclasses.replace(settings.fixed_ips, masters=masters))
    with pytest.raises(EmrConfigError, match="runs 3 master nodes"):
        synth_stack(lambda app: PurposeStack(app, declared("spark-stream"), settings=ha))


def test_fixed_ip_for_an_unknown_cluster_is_refused(settings, tmp_path):
    from emr_constructs.fixed_ip import FixedIpError
    from stacks.app import build_app

    masters = settings.fixed_ips.masters + (("spark-batch-nightly-09", "10.20.1.19"),)
    typo = dataclasses.replace(settings, fixed_ips=dataclasses.replace(settings.fixed_ips, masters=masters))
    with pytest.raises(FixedIpError, match="no stack defines a cluster named 'spark-batch-nightly-09'"):
        build_app(typo, outdir=str(tmp_path))


def test_tag_script_may_only_write_the_name_tag_of_this_purposes_emr_nodes(synth):
    statements = _instance_statements(synth["spark-stream"])
    assert statements["RoleTagsReadInstance"]["Action"] == ["ec2:DescribeInstances"]
    write = statements["RoleTagsWriteName"]
    assert write["Action"] == ["ec2:CreateTags"]
    assert write["Resource"] == ["arn:aws:ec2:ap-northeast-2:123456789012:instance/*"]
    assert write["Condition"] == {
        "StringEquals": {"aws:ResourceTag/purpose": "spark-stream"},
        "StringLike": {"aws:ResourceTag/aws:elasticmapreduce:job-flow-id": "j-*"},
        "ForAllValues:StringEquals": {"aws:TagKeys": ["Name"]},
    }
    assert not any("ec2:DeleteTags" in s["Action"] for s in statements.values())


def test_fixed_ip_script_runs_before_the_clusters_own_bootstrap_actions(synth_stack, settings):
    # EMR runs bootstrap actions in order and stops at the first failure: the address must
    # be in place (or the cluster stopped) before any other action runs on the master.
    from emr_constructs.model.cluster_spec import ClusterSpec, InstanceGroupSpec
    from stacks.clusters import declared
    from stacks.purpose import PurposeStack

    def with_own_action(stack):
        stack.add_cluster(
            ClusterSpec(
                name="spark-batch-production-01",
                release_label="emr-7.5.0",
                applications=("Hadoop", "Spark"),
                master=InstanceGroupSpec("m5.xlarge"),
                core=InstanceGroupSpec("r5.xlarge", instance_count=2),
                bootstrap_actions=(stack.bootstrap.action("tag_instance_role.py", name="own-action"),),
            ),
            tag_node_roles=False,
        )

    doc = synth_stack(
        lambda app: PurposeStack(app, declared("spark-batch"), settings=settings, clusters=(with_own_action,))
    )
    actions = doc["resource"]["aws_emr_cluster"]["spark-batch-production-01"]["bootstrap_action"]
    assert [a["name"] for a in actions] == ["assign_private_ip", "own-action"]
