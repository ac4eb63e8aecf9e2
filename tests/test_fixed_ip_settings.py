"""The fixed-IP rules of the environment file (guide tip T4), checked in the settings
phase: before the provider bindings are imported, all problems at once, each naming the
key, the value and what is allowed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from environments.settings import SettingsError, load_settings
from tests.test_settings import GOOD

ROOT = Path(__file__).resolve().parents[1]


def fixed(masters: dict[str, str], **table: str) -> str:
    lines = [f'{key} = "{value}"' for key, value in table.items()]
    pairs = "\n".join(f'"{cluster}" = "{ip}"' for cluster, ip in masters.items())
    return GOOD + textwrap.dedent("""
        [fixed_ips]
        subnet = "subnet-0123456789abcdef0"
        {lines}

        [fixed_ips.masters]
        {pairs}
        """).format(lines="\n".join(lines), pairs=pairs)


def load(tmp_path, text):
    path = tmp_path / "env.toml"
    path.write_text(text)
    return load_settings(path)


def problems(tmp_path, text) -> list[str]:
    with pytest.raises(SettingsError) as info:
        load(tmp_path, text)
    return info.value.problems


BATCH = {
    "spark-batch-production-01": "10.40.1.16",
    "spark-batch-operation-01": "10.40.1.17",
    "service-presto-01": "10.40.1.18",
}


def test_mode_defaults_to_cidr_with_the_smallest_block(tmp_path):
    settings = load(tmp_path, fixed(BATCH))
    assert (settings.fixed_ips.mode, settings.fixed_ips.block) == ("cidr", None)


@pytest.mark.parametrize("mode", ["cidr", "eni"])
def test_gaps_are_allowed_so_dropping_a_middle_cluster_keeps_the_others(tmp_path, mode):
    without_middle = {k: v for k, v in BATCH.items() if k != "spark-batch-operation-01"}
    settings = load(tmp_path, fixed(without_middle, mode=mode))
    assert dict(settings.fixed_ips.masters) == without_middle


def test_cidr_block_may_hold_spare_unowned_addresses(tmp_path):
    settings = load(tmp_path, fixed(BATCH, block="10.40.1.16/29"))
    assert settings.fixed_ips.block == "10.40.1.16/29"


def test_a_misaligned_block_names_the_aligned_one(tmp_path):
    assert problems(tmp_path, fixed(BATCH, block="10.40.1.17/29")) == [
        "fixed_ips.block = '10.40.1.17/29': not aligned (host bits set); the CIDR block starting at a "
        "multiple of its size is 10.40.1.16/29"
    ]


def test_a_block_must_hold_every_fixed_ip(tmp_path):
    (p,) = problems(tmp_path, fixed({**BATCH, "spark-stream-02": "10.40.1.30"}, block="10.40.1.16/29"))
    assert p.startswith("fixed_ips.block = '10.40.1.16/29': does not hold fixed IP(s) 10.40.1.30; widen the block")
    assert "the smallest CIDR holding them all is 10.40.1.16/28" in p


def test_a_block_must_avoid_the_addresses_aws_reserves(tmp_path):
    (p,) = problems(tmp_path, fixed({"spark-batch-production-01": "10.40.1.5"}, block="10.40.1.0/29"))
    assert p == (
        "fixed_ips.block = '10.40.1.0/29': includes 10.40.1.0, 10.40.1.1, 10.40.1.2, 10.40.1.3, "
        "which AWS reserves; pick a block that avoids the first four and the last address of 10.40.1.0/24"
    )


def test_without_a_block_the_smallest_cidr_must_avoid_reserved_addresses(tmp_path):
    (p,) = problems(tmp_path, fixed({"spark-batch-production-01": "10.40.1.5", "service-presto-01": "10.40.1.9"}))
    assert p.startswith(
        "fixed_ips.mode = 'cidr': the smallest CIDR holding every fixed IP (10.40.1.5 to "
        "10.40.1.9) is 10.40.1.0/28, which includes 10.40.1.0, 10.40.1.1, 10.40.1.2, 10.40.1.3"
    )
    assert "set fixed_ips.block" in p


@pytest.mark.parametrize("ip", ["10.40.1.0", "10.40.1.3", "10.40.1.255"])
def test_addresses_aws_reserves_are_refused_by_key(tmp_path, ip):
    (p,) = problems(tmp_path, fixed({"spark-batch-production-01": ip}, mode="eni"))
    assert p.startswith(
        f"fixed_ips.masters.spark-batch-production-01 = '{ip}': AWS reserves the first four "
        "and the last address of 10.40.1.0/24"
    )


def test_eni_holder_address_must_not_be_reserved(tmp_path):
    (p,) = problems(tmp_path, fixed({"spark-batch-production-01": "10.40.1.4"}, mode="eni"))
    assert "just below the lowest fixed IP (10.40.1.3), which AWS reserves" in p


def test_block_is_for_cidr_mode_only(tmp_path):
    (p,) = problems(tmp_path, fixed(BATCH, mode="eni", block="10.40.1.16/29"))
    assert p.startswith("fixed_ips.block = '10.40.1.16/29': a block applies to mode = 'cidr' only")


def test_the_same_ip_twice_is_refused(tmp_path):
    (p,) = problems(tmp_path, fixed({"spark-batch-production-01": "10.40.1.16", "service-presto-01": "10.40.1.16"}))
    assert p == (
        "fixed_ips.masters.service-presto-01 = '10.40.1.16': the same IP is listed twice (also for "
        "'spark-batch-production-01'); give each cluster its own"
    )


def test_a_multi_master_cluster_is_refused_naming_the_key_and_the_declaration(tmp_path):
    (p,) = problems(tmp_path, fixed({**BATCH, "spark-stream-01": "10.40.1.19"}))
    assert p.startswith(
        "fixed_ips.masters.spark-stream-01 = '10.40.1.19': cluster 'spark-stream-01' asks for a "
        "fixed IP but runs 3 master nodes"
    )
    assert "(stacks/clusters.py line " in p
    assert "declares 'spark-stream-01' with master=InstanceGroupSpec(instance_count=3))" in p


def test_every_fixed_ip_problem_is_reported_at_once(tmp_path):
    found = problems(
        tmp_path,
        fixed(
            {
                "spark-stream-01": "10.40.1.19",
                "spark-batch-production-01": "10.40.1.255",
                "service-presto-01": "10.40.1.19",
            },
            block="10.40.1.17/29",
        ),
    )
    assert len(found) == 4, found


def test_the_settings_check_imports_no_provider_bindings():
    # The settings phase must stay fast (figures: bench/bench_fixed_ip_settings.py): a
    # three-master check that imported stacks/clusters.py would import the provider.
    code = (
        "import sys; from environments.settings import load_environment; load_environment(); "
        "print(sorted(m for m in sys.modules if m.startswith(('cdktf', 'cdktf_cdktf_provider_aws', 'jsii'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_main_refuses_a_three_master_fixed_ip_in_the_settings_phase(tmp_path):
    example = (ROOT / "environments" / "example.toml").read_text()
    bad = example.replace(
        '"service-presto-01" = "10.20.1.18"', '"service-presto-01" = "10.20.1.18"\n"spark-stream-01" = "10.20.1.19"'
    )
    assert bad != example
    path = tmp_path / "bad.toml"
    path.write_text(bad)
    env = dict(os.environ, EMR_CDKTF_ENV=str(path), CDKTF_OUTDIR=str(tmp_path / "out"))
    result = subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "problem(s) in the environment settings; nothing was synthesized" in result.stderr
    assert "fixed_ips.masters.spark-stream-01 = '10.20.1.19'" in result.stderr
    assert not (tmp_path / "out").exists()
