"""Benchmark: the fixed-IP checks run in the settings phase, not after the provider import.

(a) a fresh process that loads and validates the example environment (fixed IPs in cidr
    mode, master counts read from stacks/clusters.py);
(b) the same with a bad [fixed_ips] table (a three-master cluster, a misaligned block, an
    address AWS reserves, a duplicate): every problem found and reported;
(c) for scale, a fresh process that only imports cdktf_cdktf_provider_aws, the cost the
    checks avoid by running first.
Prints the median of N fresh-process runs (time and peak RSS). Figures, not assertions.

Usage: .venv/bin/python bench/bench_fixed_ip_settings.py --runs 5
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import PYTHON, bench_env, median_of  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LOAD = (
    "from environments.settings import SettingsError, load_settings\n"
    "try:\n    load_settings({path!r})\nexcept SettingsError as e:\n    print(len(e.problems))\n"
)


def bad_environment(directory: str) -> str:
    text = (ROOT / "environments" / "example.toml").read_text()
    text = text.replace('block = "10.20.1.16/29"', 'block = "10.20.1.17/29"')
    text = text.replace(
        '"service-presto-01" = "10.20.1.18"',
        '"service-presto-01" = "10.20.1.255"\n"spark-stream-01" = "10.20.1.19"\n"spark-batch-nightly-01" = "10.20.1.17"',
    )
    path = Path(directory) / "bad.toml"
    path.write_text(text)
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per measurement (default 3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = bench_env(CDKTF_OUTDIR=tmp)
        good = median_of(
            [PYTHON, "-c", LOAD.format(path=str(ROOT / "environments" / "example.toml"))], args.runs, env=env
        )
        bad = median_of([PYTHON, "-c", LOAD.format(path=bad_environment(tmp))], args.runs, env=env)
        floor = median_of([PYTHON, "-c", "import cdktf_cdktf_provider_aws"], args.runs, env=env)
    print(f"runs per figure: {args.runs} (median)")
    print(f"(a) validate example settings:        {good.seconds:6.2f} s  peak RSS {good.peak_rss_mb:7.0f} MB")
    print(f"(b) validate bad fixed-IP settings:   {bad.seconds:6.2f} s  peak RSS {bad.peak_rss_mb:7.0f} MB")
    print(f"(c) import cdktf_cdktf_provider_aws:  {floor.seconds:6.2f} s  peak RSS {floor.peak_rss_mb:7.0f} MB")


if __name__ == "__main__":
    main()
