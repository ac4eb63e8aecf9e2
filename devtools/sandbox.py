"""``make sandbox``: the whole app in a stand-in AWS account on localhost, to try ``python -m
ops`` with no AWS account. ``make sandbox-down`` stops it and removes what it wrote.

``up``:
1. starts the stand-in (``standin.py``: moto over https, the documented shim) in the
   background on ``127.0.0.1:$SANDBOX_PORT`` (default 4599), state in ``.sandbox/``;
2. creates what an account has before this project (VPC, two private subnets, a log bucket
   that accepts S3 server access logs, a data bucket) and writes ``.sandbox/sandbox.toml``;
3. synthesizes the app for it the user's way: ``cdktf synth`` with
   ``EMR_CDKTF_ENV=.sandbox/sandbox.toml``, into ``cdktf.sandbox.out/``;
4. writes the offline override beside each ``cdk.tf.json`` (provider version from the local
   mirror, provider endpoints of the stand-in; the project's own local backend is kept,
   so state lands in ``terraform.sandbox.<stack>.tfstate`` where ``ops`` looks for it);
5. deploys by the project's deploy path: ``cdktf deploy foundation``, then ``cdktf deploy``
   of every purpose stack, ``--skip-synth --skip-provider-lock --auto-approve`` (the lock
   step would ask the registry for checksums, which an offline machine cannot);
6. prints how to point ``python -m ops`` at the stand-in.

``env``: prints the ``export`` lines again (for ``eval "$(...)"``).

``plan STACK``: what a change of the working tree would do to the deployed sandbox:
synthesizes again for ``.sandbox/sandbox.toml`` (edited by hand too, e.g. with an
``[adopt]`` table), writes the override again, runs ``terraform plan`` in the stack's
folder and writes ``terraform show -json`` of it beside the stack's ``cdk.tf.json``
(``cdktf.sandbox.out/stacks/<stack>/sandbox/plan.json``) for
``python -m review --plan`` or ``python -m ops adoption-report``. Applies nothing.

``apply STACK``: the same, then ``terraform apply`` of exactly that saved plan.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from devtools.standin import (
    DEFAULT_FIXED_IPS,
    PYTHON,
    StandIn,
    create_account,
    deploy_order,
    make_certificate,
)
from devtools.toolchain import DEFAULT_WORKDIR, ROOT, ToolchainMissing, find_toolchain, write_override
from emr_constructs.model.layout import synthesized_stacks

SANDBOX = ROOT / ".sandbox"
OUTDIR = ROOT / "cdktf.sandbox.out"
ENVIRONMENT = SANDBOX / "sandbox.toml"
REGION = "ap-northeast-2"
NAME = "sandbox"
PIDFILE = SANDBOX / "standin.pid"
INFO = SANDBOX / "standin.json"
OVERRIDE = SANDBOX / "terraform-override.tf.json"


def _cdktf_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    bin_dir = ROOT / "node_modules" / ".bin"
    env.update(
        {
            "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
            "JSII_NODE": str(bin_dir / "node"),
            "CDKTF_DISABLE_TELEMETRY": "true",
            "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1",
            "CI": "true",  # cdktf prints plain progress lines instead of redrawing a spinner
        }
    )
    env.update(extra)
    return env


def _run(command: list[str], env: dict[str, str]) -> None:
    print("$ " + " ".join(shlex.quote(c) for c in command), flush=True)
    subprocess.run(command, cwd=ROOT, env=env, check=True)


def _running() -> StandIn | None:
    if not INFO.exists():
        return None
    info = json.loads(INFO.read_text())
    try:
        os.kill(info["pid"], 0)
        return StandIn.attach(info["endpoint"], Path(info["ca_bundle"]))
    except Exception:
        return None


def _start(port: int) -> StandIn:
    SANDBOX.mkdir(exist_ok=True)
    cert, key = make_certificate(SANDBOX)
    log = open(SANDBOX / "standin.log", "ab")
    process = subprocess.Popen(
        [PYTHON, "-m", "devtools.standin", "serve", "--port", str(port), "--cert", str(cert), "--key", str(key)],
        cwd=ROOT,
        env={**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    standin = StandIn(
        endpoint=f"https://127.0.0.1:{port}", ca_bundle=cert, process=process, log_path=SANDBOX / "standin.log"
    )
    standin.wait_ready(90)
    INFO.write_text(json.dumps({"pid": process.pid, "endpoint": standin.endpoint, "ca_bundle": str(cert)}))
    return standin


def export_lines(standin: StandIn) -> str:
    env = standin.aws_env(REGION)
    keys = (
        "AWS_ENDPOINT_URL",
        "AWS_CA_BUNDLE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
        "AWS_EC2_METADATA_DISABLED",
    )
    return "\n".join(f"export {k}={shlex.quote(env[k])}" for k in keys)


def _synth(standin: StandIn, toolchain) -> tuple[dict[str, str], dict[str, Path]]:
    """``cdktf synth`` for the sandbox's environment, then the offline override beside each
    stack (where ``cdktf deploy`` runs terraform: the manifest's folders). Returns the
    environment to run cdktf and terraform with, and the stack folders."""
    env = _cdktf_env(
        {
            "EMR_CDKTF_ENV": str(ENVIRONMENT),
            "TF_CLI_CONFIG_FILE": str(toolchain.cli_config(DEFAULT_WORKDIR)),
            "AWS_CA_BUNDLE": str(standin.ca_bundle),
        }
    )
    _run([*framework_cli(), "synth", "--output", OUTDIR.name], env)
    folders = synthesized_stacks(OUTDIR)
    for folder in folders.values():
        write_override(folder, toolchain.provider_version, provider=standin.provider_settings())
    return env, folders


def framework_cli() -> list[str]:
    """The CLI of the framework this Python runs (EMR_CDKTF_FRAMEWORK, docs/framework.md),
    with this Python as the app (cdktf.json names .venv's)."""
    from emr_constructs.framework import DEFAULT_FRAMEWORK, selected

    chosen = selected()
    if chosen.name == DEFAULT_FRAMEWORK:
        return [chosen.cli]
    return [chosen.cli, "--app", f"{shlex.quote(sys.executable)} main.py"]


def up(port: int) -> int:
    try:
        toolchain = find_toolchain()
    except ToolchainMissing as exc:
        print(exc, file=sys.stderr)
        return 3
    if _running() is not None:
        print("a sandbox is already running; `make sandbox-down` first", file=sys.stderr)
        return 2
    print(f"== stand-in account on https://127.0.0.1:{port}; {toolchain.report()}", flush=True)
    cli = framework_cli()
    standin = _start(port)
    account = create_account(standin, REGION, name=NAME)
    ENVIRONMENT.write_text(account.environment_toml(fixed_ips=DEFAULT_FIXED_IPS))
    print(
        f"== environment {ENVIRONMENT.relative_to(ROOT)}: VPC {account.vpc_id}, subnets "
        f"{', '.join(s[0] for s in account.subnets)}, buckets {account.logs_bucket}, {account.data_bucket}"
    )
    env, _ = _synth(standin, toolchain)
    order = deploy_order(OUTDIR / "stacks")
    # The same override for the guarded deploy (make deploy copies it beside every stack).
    write_override(SANDBOX, toolchain.provider_version, provider=standin.provider_settings()).rename(OVERRIDE)
    start = time.monotonic()
    # --skip-provider-lock: cdktf would otherwise run `terraform providers lock`, which asks
    # the registry for checksums and ignores the CLI configuration's mirror.
    deploy = [*cli, "deploy", "--skip-synth", "--skip-provider-lock", "--output", OUTDIR.name, "--auto-approve"]
    _run([*deploy, order[0]], env)
    _run([*deploy, "--parallelism", "1", *order[1:]], env)
    print(f"== deployed {', '.join(order)} in {time.monotonic() - start:.0f} s\n")
    print(instructions(standin))
    return 0


def plan(stack: str, *, apply: bool = False) -> int:
    standin = _running()
    if standin is None:
        print("no sandbox is running: make sandbox", file=sys.stderr)
        return 2
    toolchain = find_toolchain()
    env, folders = _synth(standin, toolchain)
    if stack not in folders:
        print(f"no stack {stack!r} in {OUTDIR.name}/: stacks are {', '.join(sorted(folders))}", file=sys.stderr)
        return 2
    folder = folders[stack]
    terraform = [toolchain.terraform, f"-chdir={folder.relative_to(ROOT)}"]
    _run([*terraform, "init", "-input=false", "-no-color"], env)
    _run([*terraform, "plan", "-input=false", "-no-color", "-out=sandbox.tfplan"], env)
    shown = subprocess.run(
        [*terraform, "show", "-json", "sandbox.tfplan"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    # Beside cdk.tf.json: review --plan then names the stack and reads its lifecycle there.
    out = folder / "plan.json"
    out.write_text(shown.stdout)
    if apply:
        _run([*terraform, "apply", "-input=false", "-no-color", "sandbox.tfplan"], env)
        print(f"== applied the plan of {stack} (its JSON: {out.relative_to(ROOT)})")
        return 0
    print(
        f"== plan of {stack} written to {out.relative_to(ROOT)}; nothing was applied. Review it with:\n"
        f"  .venv/bin/python -m review --plan {out.relative_to(ROOT)}\n"
        f"  .venv/bin/python -m ops adoption-report {out.relative_to(ROOT)}      # with [adopt] in the environment"
    )
    return 0


def instructions(standin: StandIn) -> str:
    return f"""The example app runs in a stand-in AWS account on {standin.endpoint}.
Point the AWS SDK (and so `python -m ops`) at it:

{export_lines(standin)}

Then try, from the project folder:

  .venv/bin/python -m ops status spark-batch-production-01
  .venv/bin/python -m ops rotate-spot spark-batch-production-01          # the plan only
  .venv/bin/python -m ops rotate-spot spark-batch-production-01 --yes    # rotate A/B

Deploy a change with the guarded deploy (plan, review of the saved plan, apply; docs/deploy.md):

  TF_CLI_CONFIG_FILE={DEFAULT_WORKDIR / "terraformrc"} make deploy EMR_CDKTF_ENV={ENVIRONMENT.relative_to(ROOT)} \\
    CDKTF_OUT={OUTDIR.name} EMR_CDKTF_TF_OVERRIDE={OVERRIDE.relative_to(ROOT)}

Terraform state: terraform.{NAME}.<stack>.tfstate (ops reads it to tell managed groups from
leftovers). Stop and clean up: make sandbox-down"""


def down() -> int:
    info = json.loads(INFO.read_text()) if INFO.exists() else None
    if info:
        try:
            os.killpg(info["pid"], signal.SIGTERM)
            for _ in range(50):
                os.kill(info["pid"], 0)
                time.sleep(0.2)
            os.killpg(info["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass
        print(f"stopped the stand-in (pid {info['pid']})")
    shutil.rmtree(SANDBOX, ignore_errors=True)
    shutil.rmtree(OUTDIR, ignore_errors=True)
    for state in ROOT.glob(f"terraform.{NAME}.*.tfstate*"):
        state.unlink()
    print(f"removed .sandbox/, {OUTDIR.name}/ and terraform.{NAME}.*.tfstate")
    return 0


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "up"
    if command == "up":
        return up(int(os.environ.get("SANDBOX_PORT", "4599")))
    if command == "down":
        return down()
    if command in ("plan", "apply") and len(argv) == 2:
        return plan(argv[1], apply=command == "apply")
    if command == "env":
        standin = _running()
        if standin is None:
            print("no sandbox is running: make sandbox", file=sys.stderr)
            return 2
        print(export_lines(standin))
        return 0
    print("usage: python -m devtools.sandbox up|down|env|plan STACK|apply STACK", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
