"""Benchmark: how long a user waits for a refusal (fresh processes, medians; no pass/fail).

(a) a settings error (``account_id`` with a trailing newline) through ``main.py``: refused
    in the settings phase, before the provider import;
(b) a construct error (a Spot task group of an unknown instance type in a cluster
    definition) through ``main.run``: refused by the construct, after the provider import.

Usage: ``.venv/bin/python bench/bench_refusal.py [--runs N]`` (default 3).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The same import as the other benchmarks (bench/ on the path), so measure.py is one module.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import PYTHON, ROOT, bench_env  # noqa: E402

CONSTRUCT_ERROR = """
import dataclasses, sys
import main
from emr_constructs.spot_task_groups import DYNAMIC, SpotGroupSpec, SpotTaskGroup
from stacks.clusters import PURPOSE_DECLARATIONS, spark_batch_operation_01

def bad(stack):
    cluster = spark_batch_operation_01(stack)
    SpotTaskGroup(cluster, cluster=cluster, group_name="task-spot-extra", region=stack.settings.region,
                  spec=SpotGroupSpec("r5.huge"))
    return cluster

purposes = tuple(dataclasses.replace(p, clusters=(bad,)) if p.name == "spark-batch" else p
                 for p in PURPOSE_DECLARATIONS)
sys.exit(main.run(purposes=purposes, outdir=sys.argv[1]))
"""


def timed(argv: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        bad_env = Path(tmp) / "bad.toml"
        example = (ROOT / "environments" / "example.toml").read_text(encoding="utf-8")
        bad_env.write_text(example.replace('account_id = "123456789012"', 'account_id = "123456789012\\n"'))
        out = str(Path(tmp) / "out")
        cases = {
            "settings error (main.py, bad account_id)": (
                [PYTHON, "main.py"],
                bench_env(EMR_CDKTF_ENV=str(bad_env), CDKTF_OUTDIR=out),
                "account_id = ",
            ),
            "construct error (main.run, unknown Spot instance type)": (
                [PYTHON, "-c", CONSTRUCT_ERROR, out],
                bench_env(),
                "'r5.huge': not a known EC2 instance type",
            ),
        }
        print(f"time to refusal, median of {runs} fresh processes")
        for label, (argv, env, expect) in cases.items():
            times = []
            for _ in range(runs):
                seconds, result = timed(argv, env)
                if result.returncode != 2 or expect not in result.stderr or Path(out).exists():
                    raise SystemExit(f"{label}: unexpected result {result.returncode}:\n{result.stderr[-2000:]}")
                times.append(seconds)
            print(f"  {label}: {statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f})")


if __name__ == "__main__":
    main()
