"""Benchmark: how synthesis time grows with the number of clusters (guide tip T3: one named
construct per cluster).

Synthesizes the example app in fresh processes (median of N, interleaved) twice: as is (4 named
clusters), and with 100 extra clusters ``spark-batch-scale-001`` ... ``-100`` added to the
spark-batch stack. Prints both figures (whole process, and build + synth without the
imports, which is the part that grows) and the difference. Target: +100 clusters adds
under 2 s. Figures, not assertions.

Usage: .venv/bin/python bench/bench_scaling.py [--runs 3] [--extra 100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import PYTHON, Run, bench_env, measure  # noqa: E402


def synthesize(extra: int, outdir: str) -> None:
    """Child process: the example app, with ``extra`` generated clusters in spark-batch."""
    sys.path.insert(0, str(ROOT))
    from cdktf import App

    from emr_constructs.model.cluster_spec import ClusterSpec, InstanceGroupSpec
    from emr_constructs.model.ebs import EbsSpec
    from environments.settings import load_environment
    from stacks.clusters import PURPOSE_DECLARATIONS
    from stacks.foundation import FoundationStack
    from stacks.purpose import PurposeStack

    def generated(n: int):
        def define(stack):
            return stack.add_cluster(
                ClusterSpec(
                    name=f"spark-batch-scale-{n:03d}",
                    release_label="emr-7.5.0",
                    applications=("Hadoop", "Spark"),
                    master=InstanceGroupSpec("m5.xlarge"),
                    core=InstanceGroupSpec("r5.xlarge", instance_count=2, ebs=EbsSpec.gp3(128)),
                )
            )

        return define

    start = time.perf_counter()
    settings = load_environment("example")
    app = App(outdir=outdir)
    FoundationStack(app, settings=settings)
    for purpose in PURPOSE_DECLARATIONS:
        clusters = tuple(purpose.clusters or ())
        if purpose.name == "spark-batch":
            clusters = (*clusters, *(generated(n) for n in range(1, extra + 1)))
        PurposeStack(app, purpose, settings=settings, clusters=clusters)
    app.synth()
    # Build + synth only (imports excluded): the part that grows with the cluster count.
    Path(outdir, "build-seconds").write_text(f"{time.perf_counter() - start:.4f}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per figure (default 3)")
    parser.add_argument("--extra", type=int, default=100, help="clusters added to spark-batch (default 100)")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--outdir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        synthesize(args.child, args.outdir)
        return
    with tempfile.TemporaryDirectory() as out:
        env = bench_env()
        me = str(Path(__file__).resolve())
        # Interleaved (base, grown, base, grown, ...) so load from other processes on a
        # shared machine hits both figures alike.
        runs: dict[str, list] = {"base": [], "grown": []}
        build: dict[str, list[float]] = {"base": [], "grown": []}
        for _ in range(args.runs):
            for label, extra in (("base", 0), ("grown", args.extra)):
                runs[label].append(measure([PYTHON, me, "--child", str(extra), "--outdir", f"{out}/{label}"], env=env))
                build[label].append(float(Path(out, label, "build-seconds").read_text()))
    base, grown = (
        Run(statistics.median(r.seconds for r in rs), statistics.median(r.peak_rss_mb for r in rs))
        for rs in (runs["base"], runs["grown"])
    )
    delta = grown.seconds - base.seconds
    print(
        "per run (s): base "
        + " ".join(f"{r.seconds:.2f}" for r in runs["base"])
        + " | grown "
        + " ".join(f"{r.seconds:.2f}" for r in runs["grown"])
    )
    print(f"runs per figure: {args.runs} (median of fresh processes)")
    print(f"example app, 4 clusters:        {base.seconds:6.2f} s  peak RSS {base.peak_rss_mb:7.0f} MB")
    print(f"with {args.extra} extra clusters:      {grown.seconds:6.2f} s  peak RSS {grown.peak_rss_mb:7.0f} MB")
    b0, b1 = statistics.median(build["base"]), statistics.median(build["grown"])
    print(f"build + synth only (no imports): {b0:6.2f} s -> {b1:6.2f} s, +{b1 - b0:.2f} s")
    print(
        f"+{args.extra} clusters adds {delta:.2f} s ({delta / args.extra * 1000:.1f} ms per cluster; "
        f"target: under 2 s for +100)"
    )


if __name__ == "__main__":
    main()
