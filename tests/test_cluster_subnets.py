"""A cluster's subnet (issue 20 point 4): ``[cluster_subnets]`` names it by subnet id or by
availability zone; without an entry a cluster runs in the first ``[[private_subnets]]``
entry (a fixed-IP cluster in ``fixed_ips.subnet``). Checked in the settings phase with
every problem at once; an entry for a cluster no stack defines is refused at build."""

from __future__ import annotations

import json
import tomllib

import pytest

from environments.settings import ENVIRONMENTS_DIR, SettingsError, parse_settings

EXAMPLE = (ENVIRONMENTS_DIR / "example.toml").read_text()
FIRST, SECOND = "subnet-0a1b2c3d4e5f60701", "subnet-0a1b2c3d4e5f60702"


def settings_with(table: str, text: str = EXAMPLE):
    return parse_settings(tomllib.loads(text + "\n[cluster_subnets]\n" + table), "env.toml")


def test_a_subnet_is_chosen_by_id_or_by_availability_zone():
    s = settings_with(f'"spark-stream-01" = "ap-northeast-2c"\n"spark-batch-adhoc-01" = "{FIRST}"')
    assert s.subnet_of("spark-stream-01").id == SECOND
    assert s.subnet_of("spark-batch-adhoc-01").id == FIRST
    # No entry: the first [[private_subnets]] entry; a fixed master IP: fixed_ips.subnet.
    assert s.subnet_of("anything-else").id == FIRST
    assert s.subnet_of("spark-batch-production-01").id == FIRST


def test_every_cluster_subnets_problem_is_reported_at_once():
    two_in_one_zone = EXAMPLE.replace('availability_zone = "ap-northeast-2c"', 'availability_zone = "ap-northeast-2a"')
    with pytest.raises(SettingsError) as info:
        settings_with(
            '"spark-stream-01" = "ap-northeast-2a"\n'
            '"spark-batch-production-01" = "subnet-0a1b2c3d4e5f60702"\n'
            '"service-presto-01" = "subnet-0000000000000000f"\n',
            two_in_one_zone,
        )
    problems = info.value.problems
    assert len(problems) == 3, problems
    assert any(
        p.startswith("cluster_subnets.spark-stream-01 = 'ap-northeast-2a': 2 private subnets are in") for p in problems
    )
    assert any(
        p.startswith(
            "cluster_subnets.spark-batch-production-01 = 'subnet-0a1b2c3d4e5f60702': the cluster has the fixed master IP 10.20.1.16"
        )
        for p in problems
    )
    assert any(
        p.startswith("cluster_subnets.service-presto-01 = 'subnet-0000000000000000f': the id or the availability zone")
        for p in problems
    )


def _cluster_subnet(outdir, stack: str, cluster: str) -> str:
    doc = json.loads((outdir / "stacks" / stack / "example" / "cdk.tf.json").read_text())
    return doc["resource"]["aws_emr_cluster"][cluster]["ec2_attributes"]["subnet_id"]


def test_the_chosen_subnet_moves_that_cluster_only(tmp_path, synth):
    from stacks.app import build_app

    build_app(settings_with('"spark-stream-01" = "ap-northeast-2c"'), outdir=str(tmp_path)).synth()
    assert _cluster_subnet(tmp_path, "spark-stream", "spark-stream-01") == SECOND
    assert synth.resources("spark-stream", "aws_emr_cluster")["spark-stream-01"]["ec2_attributes"]["subnet_id"] == FIRST
    for stack in ("spark-batch", "service-presto", "foundation"):
        doc = json.loads((tmp_path / "stacks" / stack / "example" / "cdk.tf.json").read_text())
        assert doc["resource"] == synth[stack]["resource"], stack


def test_an_entry_for_a_cluster_no_stack_defines_is_refused(tmp_path):
    from emr_constructs.model.errors import ConstructInputError
    from stacks.app import build_app

    with pytest.raises(ConstructInputError) as info:
        build_app(settings_with('"spark-strem-01" = "ap-northeast-2c"'), outdir=str(tmp_path))
    assert "cluster_subnets.spark-strem-01 = 'subnet-0a1b2c3d4e5f60702': no stack defines a cluster named" in str(
        info.value
    )
