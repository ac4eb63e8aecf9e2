"""Benchmark: synthesis of the whole example app against the floor every cdktf-aws app pays.

(a) a fresh process that only imports cdktf_cdktf_provider_aws;
(b) a fresh process that synthesizes every stack of the example app (main.py).
Prints the median of N fresh-process runs of each (time and peak RSS of the process tree)
and the ratio b/a. Target: b within 1.3x a. Figures, not assertions.

Usage: make bench   (or .venv/bin/python bench/bench.py --runs 5)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import PYTHON, bench_env, median_of  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per measurement (default 3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        env = bench_env(CDKTF_OUTDIR=out)
        floor = median_of([PYTHON, "-c", "import cdktf_cdktf_provider_aws"], args.runs, env=env)
        synth = median_of([PYTHON, "main.py"], args.runs, env=env)
    print(f"runs per figure: {args.runs} (median)")
    print(f"(a) import cdktf_cdktf_provider_aws: {floor.seconds:6.2f} s  peak RSS {floor.peak_rss_mb:7.0f} MB")
    print(f"(b) synthesize example app:          {synth.seconds:6.2f} s  peak RSS {synth.peak_rss_mb:7.0f} MB")
    print(
        f"ratio b/a: time {synth.seconds / floor.seconds:.2f}x  memory {synth.peak_rss_mb / floor.peak_rss_mb:.2f}x  (target: time <= 1.30x)"
    )


if __name__ == "__main__":
    main()
