"""``python -m review --base <ref> [options]`` and ``python -m review --plan <plan.json> ...``

Synthesized mode (``--base``): every environment the change touches (review.scope) is
synthesized on the base ref and on the working tree (review.synth: concurrently, cached,
with progress on standard error) and compared. Plan mode (``--plan``): the report comes
from Terraform's own plans (``terraform show -json``), one per stack (review.tfplan).

Exit status: 0 report written, nothing blocked; 3 a protected cluster would be replaced
or destroyed and ``--allow-replace`` does not name it, or cannot help (the report is
still written); 2 usage error (bad option, unknown ref or environment, not a git tree,
unreadable plan); 1 synthesis failed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import traceback
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from review.plan import Side, diff, load_outdir
from review.report import Review, render_environments
from review.scope import (
    changed_files,
    choose,
    environments_at,
    environments_in,
    synthesized,
)
from review.synth import (
    Job,
    Progress,
    ReviewError,
    SynthCache,
    Synthesizer,
    commit_tree,
    default_cache_dir,
    repo_root,
    resolve_ref,
    synthesize_jobs,
    worktree,
    worktree_tree,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_GUARD = 3


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m review",
        description="Compare the synthesized plans of a base git ref and a working tree in every environment the "
        "change touches (or read Terraform's own plans with --plan); write a report and refuse to "
        "replace protected EMR clusters.",
        epilog="Exit status: 0 ok, 1 synth failed, 2 usage error, 3 a protected cluster would be replaced or "
        "destroyed (not named by --allow-replace, or protected in a way --allow-replace cannot pass).",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--base", metavar="REF", help="git ref to compare against (e.g. origin/main)")
    source.add_argument(
        "--plan",
        action="append",
        metavar="[STACK=]FILE",
        help="a stack's `terraform show -json <planfile>` output; repeatable, one per stack. The stack "
        "name defaults to the stack whose folder holds the file (cdktf.out/stacks/<stack>/<env>/)",
    )
    p.add_argument(
        "--head",
        default=".",
        metavar="WORKTREE",
        help="working tree to review, as it is on disk (default: the current directory's tree)",
    )
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME",
        help="review this environment (environments/<NAME>.toml); repeatable. Default: every environment "
        "the change touches, all of them when shared code changes. With --plan: the environment "
        "the plans belong to (a label)",
    )
    p.add_argument("--all-envs", action="store_true", help="review every environment of the base and the head")
    p.add_argument(
        "--allow-replace",
        action="append",
        default=[],
        metavar="CLUSTER",
        help="name (or Terraform address) of a protected cluster that may be replaced; repeatable",
    )
    p.add_argument("--output", metavar="FILE", help="write the report here instead of standard output")
    p.add_argument(
        "--json",
        action="store_true",
        help="write machine-readable verdicts (per environment and stack: created, destroyed, replaced, "
        "updated addresses; the guard's findings; the summary) instead of Markdown",
    )
    p.add_argument(
        "--json-output", metavar="FILE", help="also write the machine-readable verdicts (as --json prints them) to FILE"
    )
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="synthesize the base even when a cached synthesis of the same commit and environment exists",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines on standard error")
    return p


def review_trees(
    base_ref: str,
    head: Path,
    *,
    allow: set[str],
    synth: Synthesizer,
    envs: Sequence[str] = (),
    all_envs: bool = False,
    cache: SynthCache | None = None,
    progress: Progress | None = None,
    base_label: str | None = None,
    head_label: str | None = None,
) -> Review:
    progress = progress or Progress(enabled=False)
    repo = repo_root(head)
    head_tree = head.resolve()
    commit = resolve_ref(repo, base_ref)
    base_envs, head_envs = environments_at(repo, commit), environments_in(head_tree)
    changed = changed_files(head_tree, commit)
    if base_envs or head_envs:
        scope = choose(changed, base_envs, head_envs, requested=tuple(envs), all_envs=all_envs)
        chosen: list[str | None] = list(scope.environments)
        reason = scope.reason
    else:  # an app without environments/ (one configuration)
        chosen = [None] if (all_envs or any(synthesized(f) for f in changed)) else []
        reason = "the app has no environments/ folder" if chosen else "no file that synthesis reads changed"
    progress(f"environments to review: {', '.join(e or '(default)' for e in chosen) or 'none'} — {reason}")
    base_label = base_label or f"{base_ref} ({commit[:10]})"
    head_label = head_label or "working tree"

    jobs = []
    for env in chosen:
        where = f" · {env}" if env else ""
        if env is None or env in base_envs:
            jobs.append(Job("base", env or "", f"base {base_ref}{where}"))
        if env is None or env in head_envs:
            jobs.append(Job("head", env or "", f"working tree{where}"))
    tree_ids = {"base": commit_tree(repo, commit), "head": None}
    if cache is not None:
        try:
            tree_ids["head"] = worktree_tree(head_tree)
        except ReviewError:
            tree_ids["head"] = None  # not cacheable; synthesized every time
    with ExitStack() as stack:
        made: dict[str, Path] = {}

        def base_tree() -> Path:
            if "base" not in made:
                made["base"] = stack.enter_context(worktree(repo, commit))
            return made["base"]

        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="review-out-")))
        outputs = synthesize_jobs(
            jobs,
            trees={"base": base_tree, "head": lambda: head_tree},
            tree_ids=tree_ids,
            synth=synth,
            scratch=scratch,
            cache=cache,
            progress=progress,
        )
        plans = []
        for env in chosen:
            sides = []
            for side, label in (("base", base_label), ("head", head_label)):
                out = outputs.get((side, env or ""))
                sides.append(load_outdir(out.outdir, label, out.tree) if out else Side(label, {}, None))
            plans.append((env, diff(*sides)))
        progress("synthesized plans compared")
        skipped = sorted((base_envs | head_envs) - {e for e in chosen if e})
        note = (
            f"Environments reviewed: {', '.join(f'`{e}`' for e in chosen if e) or 'none'} — {reason}."
            if (base_envs or head_envs)
            else None
        )
        if not chosen:
            note = f"Nothing to review: {reason}."
        return render_environments(
            plans, allow=allow, scope_note=note, skipped=skipped, title=f"Plan review: `{base_label}` → `{head_label}`"
        )


def _emit(result: Review, args) -> None:
    text = json.dumps(result.as_json(), indent=2, sort_keys=True) + "\n" if args.json else result.markdown
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    if args.json_output:
        Path(args.json_output).write_text(
            json.dumps(result.as_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )


def _terminated(signum, frame):
    """SIGTERM (a CI job cancelled, ``timeout``) unwinds like Ctrl-C, so running syntheses
    are stopped and the base worktree and temporary folders are removed."""
    raise KeyboardInterrupt


def main(
    argv: Sequence[str] | None = None, *, synth: Synthesizer | None = None, cache: SynthCache | None = None
) -> int:
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminated) if main_thread else None
    try:
        return _main(argv, synth=synth, cache=cache)
    except Exception as exc:  # noqa: BLE001 - reported as a message, never a traceback
        if os.environ.get("EMR_CDKTF_DEBUG", "").strip() not in ("", "0"):
            traceback.print_exception(exc, file=sys.stderr)
        print(
            f"review: unexpected error: {type(exc).__name__}: {exc} (set EMR_CDKTF_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


def _usage_problems(args) -> list[str]:
    """Argument problems found before anything is synthesized (exit 2)."""
    problems = []
    texts = [
        ("--base", args.base),
        ("--head", args.head),
        ("--output", args.output),
        ("--json-output", args.json_output),
        *(("--allow-replace", v) for v in args.allow_replace),
        *(("--env", v) for v in args.env),
        *(("--plan", v) for v in args.plan or ()),
    ]
    for option, value in texts:
        if value is None:
            continue
        if not value or any(not ch.isprintable() for ch in value):
            problems.append(f"{option} {value!r}: empty or contains a control character")
        elif option == "--base" and value.startswith("-"):
            problems.append(f"{option} {value!r}: a git ref never starts with '-'")
    for option, value in (("--output", args.output), ("--json-output", args.json_output)):
        if value and not problems:
            out = Path(value)
            if out.is_dir():
                problems.append(f"{option} {value}: is a directory; name a file")
            elif not out.parent.is_dir():
                problems.append(f"{option} {value}: folder {out.parent} does not exist")
    return problems


def _main(argv: Sequence[str] | None, *, synth: Synthesizer | None, cache: SynthCache | None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    problems = _usage_problems(args)
    if problems:
        for problem in problems:
            print(f"review: {problem}", file=sys.stderr)
        return EXIT_USAGE
    progress = Progress(enabled=not args.quiet)
    try:
        if args.plan:
            from review.tfplan import review_plans

            result = review_plans(args.plan, allow=set(args.allow_replace), env=args.env[0] if args.env else None)
        else:
            head = Path(args.head)
            if not head.is_dir():
                print(f"--head {args.head}: no such directory", file=sys.stderr)
                return EXIT_USAGE
            if cache is None and not args.no_cache:
                cache = SynthCache(default_cache_dir())
            result = review_trees(
                args.base,
                head,
                allow=set(args.allow_replace),
                synth=synth or Synthesizer(),
                envs=args.env,
                all_envs=args.all_envs,
                cache=None if args.no_cache else cache,
                progress=progress,
            )
    except ReviewError as exc:
        print(f"review: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("review: interrupted; the syntheses were stopped and temporary files removed", file=sys.stderr)
        return 130
    _emit(result, args)
    progress(f"report written ({'blocked by the guard' if result.blocked else 'nothing blocked'})")
    for hit in result.hits:
        if hit.blockers:
            print(
                f"review: protected cluster {hit.cluster.name} would be {hit.outcome}, and --allow-replace cannot "
                f"make that succeed while it is protected: land protected=False for it alone first, apply it, "
                f"then the {'replacing' if hit.outcome == 'replaced' else 'removing'} change",
                file=sys.stderr,
            )
        elif not hit.allowed:
            print(
                f"review: protected cluster {hit.cluster.name} would be {hit.outcome}; "
                f"pass --allow-replace {hit.cluster.name} if intended",
                file=sys.stderr,
            )
    return EXIT_GUARD if result.blocked else EXIT_OK
