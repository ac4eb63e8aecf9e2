"""The sample report in docs/review.md, generated from the project's own stacks.

``python -m review.sample --write`` (``make review-sample``) copies the files synthesis
reads from this repository (tracked and new, not ignored) into two temporary trees,
applies ``SAMPLE_CHANGE`` to the second, synthesizes the ``example`` environment of both
(review.synth: concurrently, cached) and writes the report between the markers of
docs/review.md. ``--check`` exits 1 with a diff when the block is out of date;
tests/review/test_sample_report.py runs the same check, so the sample cannot go stale.

An edit that no longer applies (its text is gone from the file) stops the generator with
the file and the text it looked for: update ``SAMPLE_CHANGE`` to the code as it is.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from review.plan import diff, load_outdir
from review.report import render_environments
from review.scope import synthesized
from review.synth import (
    PROJECT_ROOT,
    Job,
    Progress,
    ReviewError,
    SynthCache,
    Synthesizer,
    default_cache_dir,
    synthesize_jobs,
)

DOC = PROJECT_ROOT / "docs" / "review.md"
START, END = "<!-- review-sample:start -->", "<!-- review-sample:end -->"
ENVIRONMENT = "example"


@dataclass(frozen=True)
class Edit:
    path: str
    old: str  # "" appends ``new`` to the file
    new: str
    why: str


SAMPLE_CHANGE = (
    Edit(
        "assets/bootstrap/tag_instance_role.py",
        "",
        "# Sample change (docs/review.md): one more line in the tag script.\n",
        "the instance-role tag script gains a line",
    ),
    Edit(
        "stacks/clusters.py",
        'active="a",\n        active_count=6,\n',
        'active="a",\n        active_count=6,\n        bid_factor="0.9",\n',
        "the Spot bid of spark-batch-production-01's static pair goes from 0.8 to 0.9 of on-demand",
    ),
)


def _inputs(root: Path) -> list[str]:
    listed = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-co", "--exclude-standard", "-z"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    return sorted(f for f in listed if f and synthesized(f) and (root / f).is_file())


def _copy(root: Path, files: list[str], dest: Path) -> None:
    for rel in files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target)


def _apply(tree: Path, edits: tuple[Edit, ...]) -> None:
    problems = []
    for e in edits:
        path = tree / e.path
        if not path.is_file():
            problems.append(f"{e.path}: no such file (the sample edit '{e.why}' needs it)")
            continue
        text = path.read_text(encoding="utf-8")
        if e.old and e.old not in text:
            problems.append(
                f"{e.path}: text {e.old!r} not found (the sample edit '{e.why}' no longer applies; "
                "update review.sample.SAMPLE_CHANGE)"
            )
            continue
        path.write_text(text.replace(e.old, e.new, 1) if e.old else text + e.new, encoding="utf-8")
    if problems:
        raise ReviewError("sample change:\n" + "\n".join(f"  - {p}" for p in problems), 2)


def _addressed(tree: Path, files: list[str]) -> str:
    digest = hashlib.sha256()
    for rel in files:
        digest.update(rel.encode() + b"\0" + (tree / rel).read_bytes() + b"\0")
    return digest.hexdigest()


def generate(
    *,
    synth: Synthesizer | None = None,
    cache: SynthCache | None = None,
    progress: Progress | None = None,
    root: Path = PROJECT_ROOT,
) -> str:
    """The sample report's Markdown."""
    synth = synth or Synthesizer()
    progress = progress or Progress(enabled=False)
    files = _inputs(root)
    with tempfile.TemporaryDirectory(prefix="review-sample-") as scratch_name:
        scratch = Path(scratch_name)
        trees = {"base": scratch / "base", "head": scratch / "head"}
        _copy(root, files, trees["base"])
        _copy(root, files, trees["head"])
        _apply(trees["head"], SAMPLE_CHANGE)
        ids = {side: _addressed(tree, files) for side, tree in trees.items()}
        jobs = [
            Job("base", ENVIRONMENT, f"sample base · {ENVIRONMENT}"),
            Job("head", ENVIRONMENT, f"sample head · {ENVIRONMENT}"),
        ]
        outputs = synthesize_jobs(
            jobs,
            trees={"base": lambda: trees["base"], "head": lambda: trees["head"]},
            tree_ids=ids,
            synth=synth,
            scratch=scratch / "out",
            cache=cache,
            progress=progress,
        )
        base = load_outdir(outputs[("base", ENVIRONMENT)].outdir, "main", outputs[("base", ENVIRONMENT)].tree)
        head = load_outdir(outputs[("head", ENVIRONMENT)].outdir, "sample change", outputs[("head", ENVIRONMENT)].tree)
        note = "Sample change: " + "; ".join(e.why for e in SAMPLE_CHANGE) + "."
        review = render_environments(
            [(ENVIRONMENT, diff(base, head))], scope_note=note, title="Plan review: `main` → `sample change`"
        )
        return review.markdown


def block(markdown: str) -> str:
    return "\n".join(
        [
            START,
            "",
            "<details><summary>review.md</summary>",
            "",
            "~~~~markdown",
            markdown.rstrip("\n"),
            "~~~~",
            "",
            "</details>",
            "",
            END,
        ]
    )


def replace_block(doc: str, markdown: str) -> str:
    if doc.count(START) != 1 or doc.count(END) != 1 or doc.index(START) > doc.index(END):
        raise ReviewError(f"{DOC}: expected one {START} ... {END} block", 2)
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    return head + block(markdown) + tail


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m review.sample", description=__doc__.splitlines()[0])
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help=f"regenerate the block in {DOC.relative_to(PROJECT_ROOT)}")
    mode.add_argument("--check", action="store_true", help="exit 1 with a diff when the block is out of date")
    args = p.parse_args(argv)
    try:
        doc = DOC.read_text(encoding="utf-8")
        wanted = replace_block(doc, generate(cache=SynthCache(default_cache_dir()), progress=Progress()))
    except ReviewError as exc:
        print(f"review.sample: {exc}", file=sys.stderr)
        return exc.code
    if args.write:
        DOC.write_text(wanted, encoding="utf-8")
        return 0
    if wanted != doc:
        sys.stdout.writelines(
            difflib.unified_diff(doc.splitlines(True), wanted.splitlines(True), "docs/review.md", "generated")
        )
        print("review.sample: the sample report is out of date; run `make review-sample`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
