"""``python -m review --base <ref> [--head WORKTREE] [--allow-replace CLUSTER ...] [--output FILE]``

Exit status: 0 report written, nothing blocked; 3 a protected cluster would be replaced
or destroyed and no ``--allow-replace`` names it (the report is still written); 2 usage
error (bad option, unknown ref, not a git tree); 1 synthesis failed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from review.plan import diff, load_outdir
from review.report import Review, render
from review.synth import ReviewError, Synthesizer, repo_root, synthesize_both

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_GUARD = 3


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m review",
        description="Compare the synthesized plans of a base git ref and a working tree; "
                    "write a Markdown report and refuse to replace protected EMR clusters.",
        epilog="Exit status: 0 ok, 1 synth failed, 2 usage error, 3 a protected cluster would be "
               "replaced or destroyed (not named by --allow-replace).",
    )
    p.add_argument("--base", required=True, metavar="REF", help="git ref to compare against (e.g. origin/main)")
    p.add_argument("--head", default=".", metavar="WORKTREE",
                   help="working tree to review, as it is on disk (default: the current directory's tree)")
    p.add_argument("--allow-replace", action="append", default=[], metavar="CLUSTER",
                   help="name (or Terraform address) of a protected cluster that may be replaced; repeatable")
    p.add_argument("--output", metavar="FILE", help="write the report here instead of standard output")
    return p


def review_trees(base_ref: str, head: Path, *, allow: set[str], synth: Synthesizer) -> Review:
    repo = repo_root(head)
    head_tree = head.resolve()
    with synthesize_both(repo, base_ref, head_tree, synth) as (base_out, head_out, commit, base_tree):
        plan = diff(load_outdir(base_out, f"{base_ref} ({commit[:10]})", base_tree),
                    load_outdir(head_out, "working tree", head_tree))
        return render(plan, allow=allow)


def main(argv: Sequence[str] | None = None, *, synth: Synthesizer | None = None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    head = Path(args.head)
    if not head.is_dir():
        print(f"--head {args.head}: no such directory", file=sys.stderr)
        return EXIT_USAGE
    try:
        result = review_trees(args.base, head, allow=set(args.allow_replace), synth=synth or Synthesizer())
    except ReviewError as exc:
        print(f"review: {exc}", file=sys.stderr)
        return exc.code
    if args.output:
        Path(args.output).write_text(result.markdown, encoding="utf-8")
    else:
        sys.stdout.write(result.markdown)
    for hit in result.hits:
        if not hit.allowed:
            print(f"review: protected cluster {hit.cluster.name} would be {hit.outcome}; "
                  f"pass --allow-replace {hit.cluster.name} if intended", file=sys.stderr)
    return EXIT_GUARD if result.blocked else EXIT_OK
