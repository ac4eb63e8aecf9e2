"""``python -m ops`` end to end against clusters Terraform deployed into the stand-in account.

A spark-batch stack with one cluster (static Spot pair A/B, bid 0.40) is applied with real
Terraform into its own account of the stand-in (``devtools/standin.py``); the ``ops`` command runs
as a separate process with the stand-in's AWS environment, as an operator runs it. Then
the bid moves to 0.45 and Terraform replaces both static groups (the provider resizes the
old ones to 0 and EMR keeps them): ``status`` must list the leftovers and ``rotate-spot``
must rotate the groups the Terraform state names.

The stand-in answers a resize at once (moto), so the wait ends at its first check; waiting,
shortage and interruption are tested on the simulated EMR (tests/ops/).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools import standin as standin_module
from emr_constructs.model.layout import synthesized_stacks

REGION = "ap-northeast-2"
CLUSTER = "spark-batch-production-02"
A, B = "task-spot-static-a", "task-spot-static-b"
ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable


def batch_purpose(bid: str):
    """spark-batch with one cluster whose static Spot groups bid ``bid``."""
    from emr_constructs.model.cluster_spec import ClusterSpec, InstanceGroupSpec
    from emr_constructs.model.ebs import EbsSpec
    from emr_constructs.spot_task_groups import SpotGroupSpec, SpotTaskGroupPair
    from stacks.clusters import PURPOSE_DECLARATIONS

    def spark_batch_production_02(stack):
        cluster = stack.add_cluster(
            ClusterSpec(
                name=CLUSTER,
                release_label="emr-7.5.0",
                applications=("Hadoop", "Spark"),
                master=InstanceGroupSpec("m5.xlarge", ebs=EbsSpec.gp3(64)),
                core=InstanceGroupSpec("r5.2xlarge", instance_count=2, ebs=EbsSpec.gp3(128)),
            )
        )
        SpotTaskGroupPair(
            cluster,
            "spot-task-groups",
            cluster=cluster,
            region=stack.settings.region,
            static_a=SpotGroupSpec("r5.2xlarge", ebs=EbsSpec.gp3(128), bid_price=bid),
            static_b=SpotGroupSpec("r5.2xlarge", ebs=EbsSpec.gp3(128), bid_price=bid),
            active="a",
            active_count=6,
        )
        return cluster

    (batch,) = [p for p in PURPOSE_DECLARATIONS if p.name == "spark-batch"]
    return dataclasses.replace(batch, clusters=(spark_batch_production_02,))


@dataclasses.dataclass
class Deployed:
    standin: object
    deployment: object
    workdir: Path
    settings: object

    @property
    def state(self) -> Path:
        return self.deployment.state_dir / "spark-batch.tfstate"

    def synth(self, bid: str, name: str) -> Path:
        from stacks.app import build_app

        outdir = self.workdir / name
        build_app(self.settings, outdir=str(outdir), purposes=(batch_purpose(bid),)).synth()
        return outdir / "stacks"

    def apply(self, stacks: Path, *names: str) -> None:
        for name in names:
            tf = self.deployment.terraform(synthesized_stacks(stacks.parent)[name])
            tf.init()
            tf.apply()

    def ops(self, *args: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            self.standin.aws_env(REGION),
            AWS_CONFIG_FILE=str(self.workdir / "none"),
            AWS_SHARED_CREDENTIALS_FILE=str(self.workdir / "none"),
        )
        return subprocess.run(
            [PYTHON, "-m", "ops", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
        )

    def groups(self) -> list[dict]:
        emr = self.standin.client("emr", REGION)
        (cluster,) = [
            c for c in emr.list_clusters(ClusterStates=["WAITING", "RUNNING"])["Clusters"] if c["Name"] == CLUSTER
        ]
        return emr.list_instance_groups(ClusterId=cluster["Id"])["InstanceGroups"]

    def managed_ids(self) -> dict[str, str]:
        state = json.loads(self.state.read_text())
        return {
            i["attributes"]["name"]: i["attributes"]["id"]
            for r in state["resources"]
            if r["type"] == "aws_emr_instance_group"
            for i in r["instances"]
        }


@pytest.fixture(scope="module")
def deployed(standin, toolchain, cli_config, tmp_path_factory):
    from environments.settings import load_environment

    workdir = tmp_path_factory.mktemp("ops-standin")
    account = standin_module.create_account(standin, REGION, name="opsrun")
    env_file = workdir / "opsrun.toml"
    env_file.write_text(account.environment_toml(presto=False))
    deployment = standin_module.Deployment(toolchain, standin, workdir / "state", cli_config)
    result = Deployed(standin, deployment, workdir, load_environment(str(env_file)))
    v1 = result.synth("0.40", "v1")
    result.apply(v1, "foundation", "spark-batch")
    yield result
    # Clean up this account's stacks; the stand-in (and all in it) goes with the session
    # anyway, so a stand-in gap on destroy only prints.
    folders = synthesized_stacks(v1.parent)
    for name in ("spark-batch", "foundation"):
        standin_module.Deployment.lift_prevent_destroy(folders[name])
        tf = deployment.terraform(folders[name])
        try:
            tf.init()
            tf.destroy()
        except Exception as exc:
            print(f"ops stand-in teardown: destroy of {name} failed: {str(exc)[-500:]}")


def test_status_reads_the_deployed_cluster(deployed):
    result = deployed.ops("status", CLUSTER, "--state", str(deployed.state))
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[:8] for line in result.stdout.splitlines()[1:] if "TASK" in line.split()[:2]}
    assert rows[A] == [A, "TASK", "SPOT", "r5.2xlarge", "0.40", "6", "6", "RUNNING"]
    assert rows[B] == [B, "TASK", "SPOT", "r5.2xlarge", "0.40", "1", "1", "RUNNING"]
    # A new pair starts its idle side with 1 instance (SpotTaskGroupPair): both sides run.
    assert f"BOTH active ({A} 6, {B} 1)" in result.stdout
    assert f"`python -m ops rotate-spot {CLUSTER}` replaces {A}" in result.stdout
    assert "Leftover" not in result.stdout


def test_first_rotation_needs_no_option_moves_the_load_and_terraform_plans_no_change(deployed):
    # The README's first rotation, right after a deploy: both sides run (the idle one with
    # 1 instance), and the command takes the larger side as the one to replace.
    dry = deployed.ops("rotate-spot", CLUSTER, "--state", str(deployed.state))
    assert dry.returncode == 0, dry.stderr
    assert f"{A} (6 requested) is taken as the active side to replace" in dry.stdout
    assert f"grow {B} (" in dry.stdout and ") 1 -> 6" in dry.stdout
    rotated = deployed.ops("rotate-spot", CLUSTER, "--yes", "--poll", "5")
    assert rotated.returncode == 0, rotated.stderr
    counts = {g["Name"]: g["RequestedInstanceCount"] for g in deployed.groups() if g["Name"] in (A, B)}
    assert counts == {A: 0, B: 6}
    # Counts belong to operations (ignore_changes): the next plan does not undo the rotation.
    stacks = deployed.workdir / "v1" / "stacks"
    plan = deployed.deployment.terraform(synthesized_stacks(stacks.parent)["spark-batch"]).plan(detailed_exitcode=True)
    assert plan.returncode == 0, plan.stdout[-3000:]
    back = deployed.ops("rotate-spot", CLUSTER, "--yes", "--poll", "5")
    assert back.returncode == 0, back.stderr
    counts = {g["Name"]: g["RequestedInstanceCount"] for g in deployed.groups() if g["Name"] in (A, B)}
    assert counts == {A: 6, B: 0}


def test_after_a_bid_change_status_lists_leftovers_and_rotate_spot_uses_the_managed_groups(deployed):
    before = {g["Id"] for g in deployed.groups()}
    v2 = deployed.synth("0.45", "v2")
    deployed.apply(v2, "spark-batch")  # replaces both static groups (bid_price forces a new group)
    managed = deployed.managed_ids()
    assert managed[A] not in before and managed[B] not in before

    status = deployed.ops("status", CLUSTER, "--state", str(deployed.state))
    assert status.returncode == 0, status.stderr
    assert (
        f"Leftover groups: 2 (a deploy replaced them; live groups found by Terraform state {deployed.state})"
        in status.stdout
    )
    a_rows = [line.split() for line in status.stdout.splitlines() if line.split()[:2] == [A, "TASK"]]
    assert [(row[4], row[5]) for row in a_rows] == [("0.45", "6"), ("0.40", "0")]
    assert a_rows[1][8] == "leftover"
    assert f"BOTH active ({A} 6, {B} 1)" in status.stdout

    rotated = deployed.ops(
        "rotate-spot", CLUSTER, "--state", str(deployed.state), "--from", "a", "--yes", "--poll", "5"
    )
    assert rotated.returncode == 0, rotated.stderr
    assert f"grow {B} ({managed[B]}) 1 -> 6" in rotated.stdout
    assert f"shrink {A} ({managed[A]}) 6 -> 0" in rotated.stdout
    groups = {g["Id"]: g for g in deployed.groups()}
    assert groups[managed[A]]["RequestedInstanceCount"] == 0
    assert groups[managed[B]]["RequestedInstanceCount"] == 6
    assert all(groups[g]["RequestedInstanceCount"] == 0 for g in before if groups[g]["Name"] in (A, B))

    # Without --state (the state is not at the default local path here) the newest group
    # of each name is the live one: the same groups.
    fallback = deployed.ops("status", CLUSTER)
    assert "live groups found by the newest group of each name" in fallback.stdout
    assert f"Static Spot pair: {B} is active (6 requested, 6 running); {A} is idle" in fallback.stdout
