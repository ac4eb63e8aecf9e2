"""Measuring fresh processes: wall time and peak RSS of a whole process tree.

The jsii kernel runs in a node child process, so the peak is sampled over the tree
(python + node), summing the resident set of every live descendant from /proc.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_mb: float


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(c) for c in fh.read().split()]
    except OSError:
        return []


def _tree_rss(pid: int) -> int:
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/statm") as fh:
                total += int(fh.read().split()[1]) * PAGE
        except OSError:
            continue
        stack.extend(_children(p))
    return total


def measure(argv: list[str], *, env: dict | None = None, sample_every: float = 0.02) -> Run:
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(sample_every)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}"
        )
    return Run(elapsed, peak / 2**20)


def median_of(argv: list[str], runs: int, **kw) -> Run:
    results = [measure(argv, **kw) for _ in range(runs)]
    return Run(statistics.median(r.seconds for r in results), statistics.median(r.peak_rss_mb for r in results))


def bench_env(**extra) -> dict:
    env = dict(os.environ)
    node_bin = ROOT / "node_modules" / ".bin"
    env["PATH"] = f"{node_bin}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("JSII_NODE", str(node_bin / "node"))
    env.update(extra)
    return env
