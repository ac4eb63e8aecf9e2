"""Benchmark: a plan review's wall time against one synthesis (goal: review <= 1.3x).

On a temporary git repository holding the files synthesis reads from this project (one
commit), with review.sample's sample change applied in the working tree (a bootstrap
script edit and a widened office CIDR: shared code, so every environment is reviewed):

(a) one synthesis of the example environment (a fresh ``main.py`` process);
(b) ``python -m review --base HEAD`` with an empty cache: base and head synthesized
    concurrently, then compared and rendered;
(c) the same review again after the base commit's synthesis is in the cache (the usual
    case in CI and for a second local run): only the head is synthesized.

Prints the median of N runs of each, and (b)/(a), (c)/(a). Figures, not assertions.

Usage: make bench   (or .venv/bin/python bench/bench_review.py --runs 3)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import PYTHON, ROOT, bench_env

sys.path.insert(0, str(ROOT))
from review.sample import SAMPLE_CHANGE, _apply, _copy, _inputs


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def _timed(argv: list[str], *, cwd: Path, env: dict, ok=(0,)) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode not in ok:
        raise SystemExit(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="runs per figure (default 1; each costs a synthesis)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-review-") as scratch_name:
        scratch = Path(scratch_name)
        repo = scratch / "repo"
        _copy(ROOT, _inputs(ROOT), repo)
        for link in ("node_modules", ".venv"):  # the project's toolchains, as in a worktree
            (repo / link).symlink_to(ROOT / link)
        (repo / ".gitignore").write_text("node_modules\n.venv\ncdktf.out/\n")
        _git(repo, "init", "-q", "-b", "main")
        _git(repo, "add", "-A")
        _git(repo, "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-qm", "base")
        _apply(repo, SAMPLE_CHANGE)

        env = bench_env(CDKTF_OUTDIR=str(scratch / "one-synth"), EMR_CDKTF_ENV="example")
        review = [
            PYTHON,
            "-m",
            "review",
            "--base",
            "HEAD",
            "--head",
            str(repo),
            "--quiet",
            "--output",
            str(scratch / "review.md"),
        ]
        synth_times, cold_times, warm_times = [], [], []
        for i in range(args.runs):
            shutil.rmtree(scratch / "one-synth", ignore_errors=True)
            synth_times.append(_timed([PYTHON, "main.py"], cwd=repo, env=env))
            cache = scratch / f"cache-{i}"
            review_env = {**bench_env(), "EMR_CDKTF_REVIEW_CACHE": str(cache)}
            review_env.pop("EMR_CDKTF_ENV", None)
            # The guard trips on this change (protected clusters): exit 3 is a finished review.
            cold_times.append(_timed(review, cwd=ROOT, env=review_env, ok=(0, 3)))
            # Keep only the base's synthesis in the cache (the head's entry is dropped).
            entries = sorted(cache.iterdir(), key=lambda p: (p / "review-cache.json").stat().st_mtime)
            head_entries = [
                e
                for e in entries
                if (e / "review-cache.json").exists() and str(repo) in (e / "review-cache.json").read_text()
            ]
            for entry in head_entries:
                shutil.rmtree(entry)
            warm_times.append(_timed(review, cwd=ROOT, env=review_env, ok=(0, 3)))
    a, b, c = (statistics.median(t) for t in (synth_times, cold_times, warm_times))
    print(
        f"runs per figure: {args.runs} (median); machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    print(f"(a) one synthesis (example):                 {a:6.1f} s")
    print(f"(b) review, empty cache (base + head):       {b:6.1f} s   {b / a:.2f}x (a)")
    print(f"(c) review, base synthesis cached:           {c:6.1f} s   {c / a:.2f}x (a)   (goal: <= 1.30x)")


if __name__ == "__main__":
    main()
