"""``python -m deploy`` (``make deploy``): the guarded deploy of one environment.

For each stack, the foundation first:

1. synthesize the environment (bad settings: exit 2, nothing planned, nothing written);
2. ``terraform init``; recover from an interrupted run (``deploy.recovery``): tainted
   clusters that EMR reports alive and as recorded are untainted, resources a killed run
   created but did not record are imported;
3. ``terraform plan -out`` (the state lock is taken for it: a deploy of the same stack and
   environment already running makes this one stop with exit 4, naming who holds the lock
   and how to release a stale one);
4. the review engine on ``terraform show -json`` of that saved plan: its replacement guard
   refuses (exit 3, with the runbook) a plan that replaces or destroys a protected cluster,
   unless ``--allow-replace`` names it and the protection itself does not stand in the way;
   a plan Terraform cannot make because the code keeps ``prevent_destroy`` is reviewed from
   a copy of the plan with the protection lifted, and refused the same way;
5. apply exactly that saved plan (never a new plan between review and apply: Terraform
   refuses a saved plan when the state changed since, so a deploy that ran in between is
   never overwritten), then plan once more to show the stack converged.

Exit status: 0 deployed (or planned, with ``--plan-only``); 1 terraform failed; 2 bad
settings or options (nothing planned); 3 refused by the guard (nothing applied to that
stack or any after it); 4 the state of a stack is locked by another run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Sequence
from contextlib import redirect_stderr
from dataclasses import dataclass, field
from pathlib import Path

from deploy.recovery import AwsView, Finding, adopt_orphans, untaint_healthy
from deploy.runner import LockInfo, Terraform, TerraformError, lock_info, prevents_destroy
from emr_constructs.model.contract import FOUNDATION
from emr_constructs.model.layout import STACK_FILE, synthesized_stacks

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_GUARD = 3
EXIT_LOCKED = 4

PLAN_FILE = "deploy.tfplan"
PLAN_JSON = "deploy.plan.json"
REVIEW_FILE = "deploy-review.md"
LIFT_FILE = "zz_deploy_review_lift_override.tf.json"
OVERRIDE_FILE = "zz_deploy_override.tf.json"
RUNBOOK = 'docs/deploy.md and docs/review.md, "Runbook: Replace a protected cluster"'


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m deploy",
        description="Synthesize, plan, review and apply every stack of one environment (the foundation first), "
        "applying exactly the plan that was reviewed.",
        epilog="Exit status: 0 deployed, 1 terraform failed, 2 bad settings or options, 3 refused by the "
        "replacement guard, 4 a stack's state is locked by another run.",
    )
    p.add_argument(
        "--env",
        default=os.environ.get("EMR_CDKTF_ENV") or "example",
        help="the environment: a name under environments/ or a TOML file (default: $EMR_CDKTF_ENV, else example)",
    )
    p.add_argument(
        "--stacks",
        action="append",
        metavar="STACK[,STACK]",
        help="deploy only these stacks (repeatable or comma-separated; still in dependency order)",
    )
    p.add_argument("--plan-only", action="store_true", help="plan and review every stack; apply nothing")
    p.add_argument(
        "--allow-replace",
        action="append",
        default=[],
        metavar="CLUSTER",
        help="accept the replacement of this protected cluster (name or address), as in python -m review",
    )
    p.add_argument(
        "--auto-approve",
        action="store_true",
        help="apply without asking (for CI; without it the deploy asks on the terminal before each apply)",
    )
    p.add_argument("--outdir", default=os.environ.get("CDKTF_OUT") or "cdktf.out", help="synthesis output folder")
    p.add_argument(
        "--terraform-override",
        metavar="FILE",
        default=os.environ.get("EMR_CDKTF_TF_OVERRIDE") or None,
        help="a Terraform override file (JSON) copied beside every stack before init, e.g. the sandbox's provider "
        "endpoints (default: $EMR_CDKTF_TF_OVERRIDE)",
    )
    p.add_argument(
        "--lock-timeout",
        default="0s",
        help="how long to wait for a stack's state lock held by another run (terraform's -lock-timeout; default 0s)",
    )
    p.add_argument("--no-verify", action="store_true", help="skip the plan after apply that shows the stack converged")
    return p


@dataclass
class StackOutcome:
    stack: str
    status: str  # "applied", "unchanged", "planned", "refused", "locked", "failed"
    summary: str = ""
    recovered: list[Finding] = field(default_factory=list)


class Refused(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _usage_problems(args: argparse.Namespace) -> list[str]:
    problems = []
    if not args.auto_approve and not args.plan_only and not sys.stdin.isatty():
        problems.append(
            "--auto-approve: not given, and there is no terminal to ask on. Give --auto-approve (CI only: the review "
            "guard still refuses protected replacements) or --plan-only"
        )
    if args.terraform_override:
        path = Path(args.terraform_override)
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            problems.append(f"--terraform-override {path}: not a readable JSON file ({exc}); give a *.tf.json override")
    return problems


def synthesize(env: str, outdir: str) -> dict[str, Path]:
    """Synthesize the environment (``main.run``); raise Refused(2) on bad settings."""
    os.environ["EMR_CDKTF_ENV"] = env
    import main

    err = io.StringIO()
    with redirect_stderr(err):
        code = main.run(outdir=outdir)
    if code != 0:
        raise Refused(EXIT_USAGE, err.getvalue().strip() + "\nnothing was planned or applied.")
    return synthesized_stacks(outdir)


def order(stacks: dict[str, Path], wanted: Sequence[str] | None) -> list[str]:
    names = sorted(stacks)
    ordered = ([FOUNDATION] if FOUNDATION in names else []) + [n for n in names if n != FOUNDATION]
    if not wanted:
        return ordered
    unknown = [w for w in wanted if w not in stacks]
    if unknown:
        raise Refused(
            EXIT_USAGE,
            f"--stacks: no stack named {', '.join(repr(u) for u in unknown)}; the stacks of this environment are "
            f"{', '.join(ordered)}. Nothing was planned or applied.",
        )
    return [n for n in ordered if n in wanted]


def _region(folder: Path) -> str:
    doc = json.loads((folder / STACK_FILE).read_text(encoding="utf-8"))
    for block in (doc.get("provider") or {}).get("aws") or []:
        if not block.get("alias") and block.get("region"):
            return str(block["region"])
    raise Refused(EXIT_FAILED, f"{folder / STACK_FILE}: no region in the aws provider block")


def _environment_name(folder: Path) -> str:
    return folder.name  # cdktf.out/stacks/<stack>/<environment>/


def locked_message(stack: str, env: str, folder: Path, lock: LockInfo) -> str:
    return (
        f"stack {stack} of environment {env} is locked: another run holds its state lock.\n"
        f"  held by:   {lock.who}\n  operation: {lock.operation}\n  since:     {lock.created}\n"
        f"  lock id:   {lock.lock_id}\n  state:     {lock.path}\n"
        "Wait for that run to finish (a deploy of a cluster takes 10+ minutes), then deploy again. Only when no "
        "run is left (a killed CI job, a lost laptop: check the holder above) release the stale lock:\n"
        f"  terraform -chdir={folder} force-unlock {lock.lock_id}\n"
        "then deploy again: the deploy recovers what the interrupted run left (docs/deploy.md, 'A stale lock')."
    )


class Deployer:
    def __init__(self, args: argparse.Namespace, out=sys.stdout) -> None:
        self.args = args
        self.out = out
        self.allow = set(args.allow_replace)

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def run(self) -> int:
        problems = _usage_problems(self.args)
        if problems:
            for p in problems:
                print(p, file=sys.stderr)
            return EXIT_USAGE
        wanted = [s for item in self.args.stacks or [] for s in item.split(",") if s]
        try:
            self.say(f"== synthesizing environment {self.args.env} into {self.args.outdir}/")
            stacks = synthesize(self.args.env, self.args.outdir)
            names = order(stacks, wanted)
        except Refused as exc:
            print(exc, file=sys.stderr)
            return exc.code
        outcomes = []
        for name in names:
            try:
                outcomes.append(self.deploy_stack(name, stacks[name]))
            except Refused as exc:
                print(exc, file=sys.stderr)
                self._summary(outcomes, names, failed=name)
                return exc.code
        self._summary(outcomes, names)
        return EXIT_OK

    def _summary(self, outcomes: list[StackOutcome], names: list[str], failed: str | None = None) -> None:
        self.say("\n== summary")
        for o in outcomes:
            self.say(f"  {o.stack}: {o.status}{' — ' + o.summary if o.summary else ''}")
        if failed:
            rest = names[names.index(failed) + 1 :]
            self.say(f"  {failed}: stopped" + (f"; not attempted: {', '.join(rest)}" if rest else ""))

    # --- one stack ------------------------------------------------------------------------

    def deploy_stack(self, stack: str, folder: Path) -> StackOutcome:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self._deploy_stack(stack, folder)
        except (BotoCoreError, ClientError) as exc:
            raise Refused(
                EXIT_FAILED,
                f"{stack}: could not ask AWS what an earlier run left ({exc}); nothing was applied. Check the "
                "credentials and region, then deploy again.",
            ) from None

    def _deploy_stack(self, stack: str, folder: Path) -> StackOutcome:
        env = _environment_name(folder)
        self.say(f"\n== {stack} ({env}): {folder}")
        self._write_override(folder)
        tf = Terraform(folder, lock_timeout=self.args.lock_timeout, echo=self.out)
        self._call(tf, stack, env, tf.init)
        aws = AwsView(_region(folder))
        # A plan-only run (a pull request's review) changes no state: it says what a deploy would recover.
        dry = self.args.plan_only
        recovered = untaint_healthy(
            self._call(tf, stack, env, tf.state_resources),
            aws,
            None if dry else self._guarded(tf, stack, env, tf.untaint),
        )
        for finding in recovered:
            self.say(f"  recovery: {finding.line()}")
        planfile, plan_json = folder / PLAN_FILE, folder / PLAN_JSON
        changes, plan = self._plan(tf, stack, env, planfile)
        importer = None if dry else self._guarded(tf, stack, env, tf.import_)
        filler = None if dry else self._guarded(tf, stack, env, tf.fill_imported)
        adopted = adopt_orphans(plan, aws, env, stack, importer, filler)
        for finding in adopted:
            self.say(f"  recovery: {finding.line()}")
        if any(f.action == "ambiguous" for f in adopted):
            raise Refused(EXIT_FAILED, f"{stack}: resources left by an earlier run are ambiguous; see above")
        recovered += adopted
        rounds = 0
        while any(f.action == "imported" for f in adopted) and rounds < 3:
            # What was imported changes the plan (and lets rules of imported groups be found).
            rounds += 1
            changes, plan = self._plan(tf, stack, env, planfile)
            adopted = adopt_orphans(plan, aws, env, stack, importer, filler)
            for finding in adopted:
                self.say(f"  recovery: {finding.line()}")
            recovered += adopted
        plan_json.write_text(json.dumps(plan), encoding="utf-8")
        review = self._review(stack, env, plan_json, folder)
        if review.blocked:
            planfile.unlink(missing_ok=True)  # a refused plan must not be applied by hand either
            raise Refused(EXIT_GUARD, self._refusal(stack, review.markdown, folder))
        if not changes:
            self.say(f"  no changes: {stack} is as the code says")
            return StackOutcome(stack, "unchanged", recovered=recovered)
        if self.args.plan_only:
            return StackOutcome(stack, "planned", _summary_line(review.markdown), recovered)
        if not self.args.auto_approve and not _confirm(stack, env):
            raise Refused(EXIT_FAILED, f"{stack}: not applied (not confirmed)")
        self.say(f"-- applying the reviewed plan {planfile.name}")
        self._call(tf, stack, env, tf.apply, planfile)
        if not self.args.no_verify:
            again = folder / "deploy-verify.tfplan"
            converged, _ = self._plan(tf, stack, env, again, quiet=True)
            again.unlink(missing_ok=True)
            self.say(
                f"  {stack}: converged (a new plan is empty)"
                if not converged
                else f"  {stack}: WARNING a new plan still has changes; run `make deploy --plan-only` and read them"
            )
        return StackOutcome(stack, "applied", _summary_line(review.markdown), recovered)

    def _write_override(self, folder: Path) -> None:
        target = folder / OVERRIDE_FILE
        if self.args.terraform_override:
            text = Path(self.args.terraform_override).read_text(encoding="utf-8")
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                target.write_text(text, encoding="utf-8")
        elif target.exists():
            target.unlink()

    def _guarded(self, tf: Terraform, stack: str, env: str, fn):
        return lambda *args: self._call(tf, stack, env, fn, *args)

    def _call(self, tf: Terraform, stack: str, env: str, fn, *args):
        try:
            return fn(*args)
        except TerraformError as exc:
            raise self._failure(tf, stack, env, exc) from None

    def _failure(self, tf: Terraform, stack: str, env: str, exc: TerraformError) -> Refused:
        lock = lock_info(exc.output)
        if lock is not None:
            return Refused(EXIT_LOCKED, locked_message(stack, env, tf.folder, lock))
        if "Saved plan is stale" in exc.output:
            return Refused(
                EXIT_FAILED,
                f"{stack}: the state changed after this deploy planned (another run applied in between); nothing "
                "was applied from the stale plan. Deploy again: it plans and reviews anew.",
            )
        stopped = " (interrupted)" if tf.interrupted else ""
        return Refused(
            EXIT_FAILED,
            f"{stack}: {exc}{stopped}. Its output is above. The next `make deploy` recovers what an interrupted "
            "run left (docs/deploy.md).",
        )

    def _plan(self, tf: Terraform, stack: str, env: str, planfile: Path, quiet: bool = False) -> tuple[bool, dict]:
        self.say(f"-- terraform plan -out {planfile.name}")
        try:
            changes = tf.plan(planfile)
        except TerraformError as exc:
            lock = lock_info(exc.output)
            refused = prevents_destroy(exc.output)
            if lock is None and refused:
                self._review_lifted(tf, stack, env, planfile)
            raise self._failure(tf, stack, env, exc) from None
        plan = tf.show_json(planfile)
        if plan.get("errored"):
            raise Refused(
                EXIT_FAILED, f"{stack}: Terraform saved an errored plan; nothing applied. See its errors above."
            )
        return changes, plan

    def _review_lifted(self, tf: Terraform, stack: str, env: str, planfile: Path) -> None:
        """Terraform would not plan it (``prevent_destroy``): review what it refused, from a
        plan with the protection lifted that is never applied, and refuse with the guard."""
        folder = tf.folder
        lift = _lift_prevent_destroy(folder)
        lifted_plan = folder / "deploy-lifted.tfplan"
        try:
            tf.plan(lifted_plan)
            plan = tf.show_json(lifted_plan)
        except TerraformError:
            return  # fall back to terraform's own error
        finally:
            lift.unlink(missing_ok=True)
            lifted_plan.unlink(missing_ok=True)
        planfile.unlink(missing_ok=True)
        plan_json = folder / PLAN_JSON
        plan_json.write_text(json.dumps(plan), encoding="utf-8")
        review = self._review(stack, env, plan_json, folder)
        raise Refused(EXIT_GUARD, self._refusal(stack, review.markdown, folder))

    def _review(self, stack: str, env: str, plan_json: Path, folder: Path):
        from review.tfplan import review_plans

        review = review_plans([f"{stack}={plan_json}"], allow=self.allow, env=env)
        (folder / REVIEW_FILE).write_text(review.markdown, encoding="utf-8")
        self.say(f"-- review of the saved plan ({folder / REVIEW_FILE}):")
        self.say("   " + _summary_line(review.markdown))
        for line in _guard_lines(review.markdown):
            self.say("   " + line)
        return review

    def _refusal(self, stack: str, markdown: str, folder: Path) -> str:
        lines = "\n".join("  " + line for line in _guard_lines(markdown))
        return (
            f"{stack}: REFUSED by the replacement guard; nothing was applied to {stack} or any stack after it.\n"
            f"{lines}\nThe whole review: {folder / REVIEW_FILE}. What to do: {RUNBOOK}."
        )


def _lift_prevent_destroy(folder: Path) -> Path:
    doc = json.loads((folder / STACK_FILE).read_text(encoding="utf-8"))
    lifted = {
        rtype: {
            name: {"lifecycle": {"prevent_destroy": False}}
            for name, body in items.items()
            if (body.get("lifecycle") or {}).get("prevent_destroy")
        }
        for rtype, items in (doc.get("resource") or {}).items()
    }
    path = folder / LIFT_FILE
    path.write_text(json.dumps({"resource": {k: v for k, v in lifted.items() if v}}, indent=2), encoding="utf-8")
    return path


def _summary_line(markdown: str) -> str:
    return next((line for line in markdown.splitlines() if line.startswith("**Summary:**")), "").replace("**", "")


def _guard_lines(markdown: str) -> list[str]:
    return [
        line.replace("**", "")
        for line in markdown.splitlines()
        if line.startswith(("**⛔", "**⚠️")) or line.startswith("Note: `--allow-replace")
    ]


def _confirm(stack: str, env: str) -> bool:
    answer = input(f"Apply this reviewed plan to {stack} in {env}? Only 'yes' applies: ")
    return answer.strip() == "yes"


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else EXIT_OK
    return Deployer(args).run()
