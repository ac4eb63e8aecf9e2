"""The guarded deploy (``make deploy`` / ``python -m deploy``) against the stand-in account:
the whole loop from a committed change to a converged stack, the guard before apply, the
state lock, and the faults a real deploy meets (issue 19).

Every deploy here is the user's command run as a process, with real terraform (the
mirror's provider, see devtools/toolchain.py) against the stand-in (moto + devtools/moto_shim.py). Each
scenario has an environment (and a VPC) of its own in the session's stand-in, so the
scenarios do not see each other's resources.

The loop runs in a scratch git repository made from the project's working tree (the same
files, the same modification times, ``.venv``/``node_modules``/``.tools`` linked): a change
is committed there, reviewed with ``python -m review --base HEAD~1`` and deployed with
``make deploy``, as a user does after merging.

Figures (faults injected, runs that converged, resources orphaned) are printed in the
terminal summary (``FIGURES``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from devtools.standin import DEFAULT_FIXED_IPS, ROOT, DeployRun, create_account

REGION = "ap-northeast-2"
PRODUCTION = "spark-batch-production-01"
OPERATION = "spark-batch-operation-01"
FIGURES: dict[str, int] = {"faults_injected": 0, "runs_converged": 0, "resources_orphaned": 0}


@pytest.fixture(autouse=True)
def _figures(record_property):
    """Each test's share of the figures, reported with the test (also from an xdist worker);
    tests/conftest.py adds them up for the terminal summary."""
    before = dict(FIGURES)
    yield
    record_property("deploy_figures", {key: FIGURES[key] - before[key] for key in FIGURES})


def _deploy_run(toolchain, cli_config, standin, workdir: Path, name: str, *, root: Path = ROOT) -> DeployRun:
    account = create_account(standin, REGION, name=name)
    environment_file = workdir / f"{name}.toml"
    environment_file.write_text(account.environment_toml(fixed_ips=DEFAULT_FIXED_IPS))
    return DeployRun(
        toolchain, standin, cli_config, environment_file, workdir, region=REGION, root=root, account=account
    )


def _module(run: DeployRun, *args: str) -> subprocess.CompletedProcess:
    """``python -m deploy`` itself (its exit status; make turns every failure into 2)."""
    return subprocess.run(
        [
            str(run.root / ".venv" / "bin" / "python"),
            "-m",
            "deploy",
            "--env",
            str(run.environment_file),
            "--outdir",
            str(run.outdir),
            *args,
        ],
        cwd=run.root,
        env=run.env(),
        capture_output=True,
        text=True,
        timeout=1500,
    )


def clusters_of(run: DeployRun, stack: str = "spark-batch") -> set[str]:
    """The EMR clusters the stack's synthesized code declares (by name)."""
    doc = json.loads((run.folder(stack) / "cdk.tf.json").read_text())
    return {body["name"] for body in doc["resource"]["aws_emr_cluster"].values()}


def _replan_empty(run: DeployRun, stack: str) -> bool:
    tf = run.terraform(stack)
    return tf.plan(detailed_exitcode=True).returncode == 0


def _alive_clusters(standin, run: DeployRun) -> dict[str, list[str]]:
    emr = standin.client("emr", REGION)
    out: dict[str, list[str]] = {}
    for c in emr.list_clusters(ClusterStates=["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"])["Clusters"]:
        tags = {t["Key"]: t["Value"] for t in emr.describe_cluster(ClusterId=c["Id"])["Cluster"].get("Tags") or []}
        if tags.get("environment") == run.account.name:
            out.setdefault(c["Name"], []).append(c["Id"])
    return out


def orphans(standin, run: DeployRun, stacks: tuple[str, ...]) -> list[str]:
    """Resources of this environment in the stand-in that no state of it holds: clusters,
    security groups and network interfaces (every ENI in the environment's VPC must be the
    fixed-IP holder of the foundation or belong to an instance of a cluster in a state)."""
    states: dict[str, list[dict]] = {}
    for stack in stacks:
        state = run.terraform(stack).show_json()
        states[stack] = ((state.get("values") or {}).get("root_module") or {}).get("resources") or []
    ids = {str(r["values"].get("id")) for rs in states.values() for r in rs if r.get("values")}
    found = []
    for name, cluster_ids in _alive_clusters(standin, run).items():
        found += [f"cluster {name} {cid}" for cid in cluster_ids if cid not in ids]
    ec2 = standin.client("ec2", REGION)
    vpc = [{"Name": "vpc-id", "Values": [run.account.vpc_id]}]
    for group in ec2.describe_security_groups(Filters=vpc)["SecurityGroups"]:
        if group["GroupName"] != "default" and group["GroupId"] not in ids:
            found.append(f"security group {group['GroupName']} {group['GroupId']}")
    emr = standin.client("emr", REGION)
    cluster_instances = set()
    for cid in ids:
        if cid.startswith("j-"):
            for page in emr.get_paginator("list_instances").paginate(ClusterId=cid):
                cluster_instances |= {i.get("Ec2InstanceId") for i in page["Instances"]}
    for eni in ec2.describe_network_interfaces(Filters=vpc)["NetworkInterfaces"]:
        owner = (eni.get("Attachment") or {}).get("InstanceId")
        if eni["NetworkInterfaceId"] not in ids and owner not in cluster_instances:
            found.append(f"network interface {eni['NetworkInterfaceId']} (instance {owner})")
    return found


# ----------------------------------------------------------------------------- bad input


def test_a_bad_setting_exits_2_before_anything_is_planned_and_writes_nothing(toolchain, cli_config, standin, tmp_path):
    run = _deploy_run(toolchain, cli_config, standin, tmp_path, "badsetting")
    text = run.environment_file.read_text().replace('region = "ap-northeast-2"', 'region = "mars-east-1"')
    run.environment_file.write_text(text)
    run.override_file()  # the harness's own file (the stand-in's endpoints), not the deploy's
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = _module(run, "--auto-approve")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "region" in result.stderr and "mars-east-1" in result.stderr
    assert "nothing was planned or applied" in result.stderr
    assert "terraform plan" not in result.stdout
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing written


# ----------------------------------------------------------------------------- the loop


def _scratch_repository(target: Path) -> Path:
    """The project's tracked files (with their modification times, so make sees its
    install stamps as current) in a new git repository, committed once."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    for linked in (".venv", "node_modules", ".tools"):
        if (ROOT / linked).exists():
            (target / linked).symlink_to(ROOT / linked)
    _git(target, "init", "-q", "-b", "main")
    _commit(target, "the project as it is")
    return target


def _git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True).stdout


def _commit(repo: Path, message: str) -> None:
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)


def _edit(repo: Path, old: str, new: str, *, after: str | None = None) -> None:
    path = repo / "stacks" / "clusters.py"
    text = path.read_text()
    start = text.index(after) if after else 0
    head, tail = text[:start], text[start:]
    assert old in tail, old
    path.write_text(head + tail.replace(old, new, 1))


def _review(repo: Path, env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(repo / ".venv" / "bin" / "python"), "-m", "review", "--base", "HEAD~1", "--env", env, "--quiet"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def loop(toolchain, cli_config, standin, tmp_path_factory):
    repo = _scratch_repository(tmp_path_factory.mktemp("loop-repo"))
    run = _deploy_run(toolchain, cli_config, standin, tmp_path_factory.mktemp("loop"), "loop", root=repo)
    # The environment is the repository's own, as a team keeps it: environments/loop.toml.
    shutil.copy(run.environment_file, repo / "environments" / "loop.toml")
    run.environment_file = repo / "environments" / "loop.toml"
    _commit(repo, "the loop environment")
    first = run.run("--auto-approve", stacks="foundation,spark-batch")
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr
    return run, repo


def _cluster_ids(standin, run) -> dict[str, list[str]]:
    return {name: sorted(ids) for name, ids in _alive_clusters(standin, run).items()}


def test_a_committed_change_is_reviewed_deployed_and_re_plans_empty(loop, standin):
    run, repo = loop
    before = _cluster_ids(standin, run)
    assert set(before) == clusters_of(run) >= {PRODUCTION, OPERATION}
    _edit(repo, "step_concurrency_level=10", "step_concurrency_level=8", after="def spark_batch_operation_01")
    _commit(repo, "operation-01: 8 concurrent steps")
    review = _review(repo, "loop")
    assert review.returncode == 0, review.stdout[-3000:] + review.stderr
    assert "`step_concurrency_level`" in review.stdout and "in place" in review.stdout

    deployed = run.run("--auto-approve", stacks="spark-batch")
    assert deployed.returncode == 0, deployed.stdout[-4000:] + deployed.stderr
    assert "spark-batch: applied" in deployed.stdout
    assert "spark-batch: converged (a new plan is empty)" in deployed.stdout
    assert _replan_empty(run, "spark-batch")
    assert _cluster_ids(standin, run) == before  # updated in place, nothing replaced
    emr = standin.client("emr", REGION)
    [operation] = before[OPERATION]
    assert emr.describe_cluster(ClusterId=operation)["Cluster"]["StepConcurrencyLevel"] == 8
    FIGURES["runs_converged"] += 1


def _state_serial(run: DeployRun, stack: str) -> int:
    return json.loads(run.state_path("loop", stack).read_text())["serial"]


def test_a_protected_replacement_is_refused_before_apply_and_nothing_changes(loop, standin):
    run, repo = loop
    before, serial = _cluster_ids(standin, run), _state_serial(run, "spark-batch")
    _edit(repo, "release_label=RELEASE", 'release_label="emr-7.6.0"', after="def spark_batch_production_01")
    _commit(repo, "production-01: EMR 7.6.0")
    review = _review(repo, "loop")
    assert review.returncode == 3
    assert f"protected cluster `{PRODUCTION}`" in review.stdout

    refused = _module(run, "--auto-approve", "--stacks", "spark-batch")
    assert refused.returncode == 3, refused.stdout[-4000:] + refused.stderr
    assert "REFUSED by the replacement guard" in refused.stderr
    assert "land `protected=False` for this cluster alone first" in refused.stderr
    assert "applying the reviewed plan" not in refused.stdout
    assert _cluster_ids(standin, run) == before
    assert _state_serial(run, "spark-batch") == serial
    _git(repo, "revert", "--no-edit", "HEAD")


def test_re_protecting_in_the_replacing_change_is_refused_as_terraform_refuses_it(loop, standin):
    run, repo = loop
    # Runbook step 1: unprotect alone, deployed.
    _edit(repo, "protected=True", "protected=False", after="def spark_batch_production_01")
    _commit(repo, "production-01: unprotected")
    unprotect = run.run("--auto-approve", stacks="spark-batch")
    assert unprotect.returncode == 0, unprotect.stdout[-4000:] + unprotect.stderr
    [production] = _cluster_ids(standin, run)[PRODUCTION]
    emr = standin.client("emr", REGION)
    assert emr.describe_cluster(ClusterId=production)["Cluster"]["TerminationProtected"] is False

    # The old runbook's step 2: replace and put protected=True back in the same change.
    before, serial = _cluster_ids(standin, run), _state_serial(run, "spark-batch")
    _edit(repo, "protected=False", "protected=True", after="def spark_batch_production_01")
    _edit(repo, "release_label=RELEASE", 'release_label="emr-7.6.0"', after="def spark_batch_production_01")
    _commit(repo, "production-01: EMR 7.6.0, protected again")
    review = _review(repo, "loop")
    assert review.returncode == 3, review.stdout[-3000:]
    assert "the replacing change sets `protected=True` again" in review.stdout

    refused = _module(run, "--auto-approve", "--stacks", "spark-batch", "--allow-replace", PRODUCTION)
    assert refused.returncode == 3, refused.stdout[-4000:] + refused.stderr
    assert "Error: Instance cannot be destroyed" in refused.stdout  # Terraform's own verdict
    assert "the replacing change sets `protected=True` again" in refused.stderr  # the review of its plan
    assert "then land `protected=True` alone" in refused.stderr
    assert _cluster_ids(standin, run) == before
    assert _state_serial(run, "spark-batch") == serial


# ----------------------------------------------------------------------------- locking


def test_a_second_deploy_of_a_locked_stack_stops_and_names_the_holder(toolchain, cli_config, standin, tmp_path):
    run = _deploy_run(toolchain, cli_config, standin, tmp_path, "locked")
    log = tmp_path / "first.log"
    first = run.start("--auto-approve", stacks="foundation,spark-batch", log=log)
    try:
        deadline = time.monotonic() + 900
        while "== spark-batch" not in log.read_text() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        # A congested EMR API (each call answered 3 s late) keeps the first deploy's apply,
        # and so its state lock, going while the second deploy synthesizes and plans.
        standin.faults(services=["elasticmapreduce"], count=60, every=1, kind="slow", seconds=3)
        while "applying the reviewed plan" not in log.read_text().split("== spark-batch", 1)[-1]:
            assert first.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        second = _module(run, "--auto-approve", "--stacks", "spark-batch")
        assert second.returncode == 4, second.stdout[-3000:] + second.stderr
        assert "stack spark-batch of environment locked is locked" in second.stderr
        assert "operation: OperationTypeApply" in second.stderr
        assert "held by:" in second.stderr and "force-unlock" in second.stderr
        assert "applying the reviewed plan" not in second.stdout
    finally:
        standin.faults(services=[], count=0)
        assert first.wait(timeout=900) == 0, log.read_text()[-3000:]
    assert _replan_empty(run, "spark-batch")


# ----------------------------------------------------------------------------- faults


def _wait_for_clusters(standin, run: DeployRun, first, log: Path, timeout: float = 900) -> None:
    """Until every cluster of spark-batch exists in the account (being created)."""
    deadline = time.monotonic() + timeout
    while not run.folder_exists("spark-batch") or set(_alive_clusters(standin, run)) != clusters_of(run):
        assert first.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.5)


def _terraform_children(pid: int) -> list[int]:
    """The terraform processes started by a deploy (its own session, see deploy.runner)."""
    out = subprocess.run(["ps", "-eo", "pid=,ppid=,comm="], capture_output=True, text=True).stdout
    rows = [line.split(None, 2) for line in out.splitlines() if line.strip()]
    children: dict[int, list[tuple[int, str]]] = {}
    for p, pp, comm in rows:
        children.setdefault(int(pp), []).append((int(p), comm))
    found, todo = [], [pid]
    while todo:
        for child, comm in children.get(todo.pop(), []):
            todo.append(child)
            if comm.startswith("terraform"):
                found.append(child)
    return found


def _converges(standin, run: DeployRun, *, expect: str | None = None, earlier: str = "") -> subprocess.CompletedProcess:
    """The next deploy completes and leaves the account as the code says. ``earlier``: what
    the interrupted runs printed, shown when it does not (their end is where the cause is)."""
    again = run.run("--auto-approve", stacks="foundation,spark-batch")
    assert again.returncode == 0, earlier + "\n--- the converging run:\n" + again.stdout[-5000:] + again.stderr
    if expect:
        assert expect in again.stdout, again.stdout[-5000:]
    assert _replan_empty(run, "spark-batch")
    assert {name: len(ids) for name, ids in _alive_clusters(standin, run).items()} == {c: 1 for c in clusters_of(run)}
    left = orphans(standin, run, ("foundation", "spark-batch"))
    FIGURES["resources_orphaned"] += len(left)
    assert left == []
    FIGURES["runs_converged"] += 1
    return again


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_a_deploy_stopped_while_clusters_are_created_converges_on_the_next_run(
    how, toolchain, cli_config, standin, tmp_path
):
    run = _deploy_run(toolchain, cli_config, standin, tmp_path, "stopped" if how == "SIGTERM" else "killed")
    log = tmp_path / "interrupted.log"
    first = run.start("--auto-approve", stacks="foundation,spark-batch", log=log)
    _wait_for_clusters(standin, run, first, log)
    time.sleep(2)  # RunJobFlow answered; the provider waits for the clusters to run
    if how == "SIGTERM":
        # A cancelled CI job: the runner signals the job's processes; the deploy passes the
        # interrupt on to terraform, which stops gracefully and taints what it waited for.
        os.killpg(first.pid, signal.SIGTERM)
        first.wait(timeout=600)
        expect = "untainted"
    else:
        # A runner that gives up: terraform gets SIGTERM and, 0.3 s later, SIGKILL; or a
        # lost machine, SIGKILL alone: terraform cannot record the clusters it created.
        terraform = _terraform_children(first.pid)
        assert terraform, log.read_text()[-2000:]
        if how.startswith("SIGTERM"):
            for pid in terraform:
                os.kill(pid, signal.SIGTERM)
            time.sleep(0.3)
        for pid in terraform:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=600)
        # After SIGTERM, what terraform managed to write decides: recorded, tainted or not at all.
        expect = "imported" if how == "SIGKILL" else None
    FIGURES["faults_injected"] += 1
    assert first.returncode != 0
    state = run.state_path(run.account.name, "spark-batch")
    json.loads(state.read_text())  # the state is whole JSON, not corrupted
    again = _converges(standin, run, expect=expect)
    if expect:
        for cluster in clusters_of(run):
            assert f"aws_emr_cluster.{cluster}: {expect}" in again.stdout


def test_a_deploy_under_throttling_and_server_errors_completes_or_fails_cleanly_then_converges(
    toolchain, cli_config, standin, tmp_path
):
    # The provider's SDK retries throttling and 5xx answers with back-off, as against AWS
    # under load (AWS_MAX_ATTEMPTS as the provider's default would wait minutes per call).
    run = _deploy_run(toolchain, cli_config, standin, tmp_path, "faults")
    env = {**run.env(), "AWS_MAX_ATTEMPTS": "8"}
    outcomes = []
    printed = ""
    injected_before = standin.faults()["injected"]  # the stand-in counts for its whole life
    for kind in ("throttle", "5xx"):
        # Every third EMR, EC2 and IAM call fails, 40 times: creating the stacks, then
        # planning them again (every resource refreshed).
        standin.faults(services=["elasticmapreduce", "ec2", "iam"], count=40, every=3, kind=kind)
        try:
            result = subprocess.run(
                run.command("--auto-approve", stacks="foundation,spark-batch"),
                cwd=run.root,
                env=env,
                capture_output=True,
                text=True,
                timeout=1500,
            )
            injected = standin.faults()["injected"] - injected_before
        finally:
            standin.faults(services=[], count=0)
        injected_before += injected
        FIGURES["faults_injected"] += injected
        outcomes.append((kind, injected, result.returncode))
        printed += (
            f"\n--- the run under {kind} (exit {result.returncode}):\n{result.stdout[-3000:]}{result.stderr[-2000:]}"
        )
        if result.returncode != 0:
            # Failing is allowed, failing dirty is not: a message, no Python traceback.
            assert "Traceback" not in result.stderr, result.stderr
            assert "Its output is above" in result.stderr or "could not ask AWS" in result.stderr, result.stderr
    assert all(injected > 0 for _, injected, _ in outcomes), outcomes
    print(f"faults: {outcomes}")
    _converges(standin, run, earlier=printed)
