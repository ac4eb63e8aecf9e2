"""The benchmarks keep working as the app changes (behaviour only; their figures are
printed by `make bench`, never asserted)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_scaling_benchmark_builds_the_app_with_generated_clusters(tmp_path, synth):
    sys.path.insert(0, str(BENCH))
    try:
        import bench_scaling
    finally:
        sys.path.remove(str(BENCH))
    bench_scaling.synthesize(2, str(tmp_path))
    doc = json.loads((tmp_path / "stacks" / "spark-batch" / "cdk.tf.json").read_text())
    clusters = set(doc["resource"]["aws_emr_cluster"])
    assert {"spark-batch-scale-001", "spark-batch-scale-002"} <= clusters
    # The generated clusters leave the named ones exactly as the example app has them.
    for name, body in synth["spark-batch"]["resource"]["aws_emr_cluster"].items():
        assert doc["resource"]["aws_emr_cluster"][name] == body
