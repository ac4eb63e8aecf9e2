"""Bad arguments to ``python -m review`` and ``python -m ops``: refused with exit 2 before
any synthesis or AWS call, naming the option and the value, no traceback, nothing written
(the price table is unchanged, no report file appears)."""

from __future__ import annotations

import os
import subprocess

import pytest

from emr_constructs.model.pricing import PRICE_TABLE_PATH
from tests.badinput.support import PYTHON, ROOT


def run(tmp_path, *argv):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "EMR_CDKTF_"))}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL="http://127.0.0.1:9",
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
    )
    return subprocess.run([str(PYTHON), "-m", *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def cases(tmp):
    report = str(tmp / "report.md")
    return [
        ("review", ["review", "--base", "main\n", "--output", report], "--base 'main\\n'"),
        ("review", ["review", "--base=--upload-pack=x", "--output", report], "--base '--upload-pack=x'"),
        ("review", ["review", "--base", "main", "--output", str(tmp)], f"--output {tmp}: is a directory"),
        ("review", ["review", "--base", "main", "--output", str(tmp / "no" / "r.md")], "does not exist"),
        (
            "review",
            ["review", "--base", "main", "--head", str(tmp / "nowhere"), "--output", report],
            "no such directory",
        ),
        (
            "review",
            ["review", "--base", "main", "--allow-replace", "spark\x1b[31m", "--output", report],
            "--allow-replace 'spark\\x1b[31m'",
        ),
        ("ops", ["ops", "prices", "refresh", "--region", "xx-fake-9"], "--region 'xx-fake-9': not a known AWS region"),
        ("ops", ["ops", "prices", "refresh", "--region", "eu-west-1\n"], "--region 'eu-west-1\\n'"),
        (
            "ops",
            ["ops", "prices", "refresh", "--region", "eu-west-1", "--instance-types", "r5.huge"],
            "--instance-types 'r5.huge': not a known EC2 instance type",
        ),
        (
            "ops",
            ["ops", "prices", "refresh", "--region", "eu-west-1", "--instance-types", "ｒ5.xlarge"],
            "--instance-types 'ｒ5.xlarge'",
        ),
        (
            "ops",
            ["ops", "prices", "refresh", "--region", "eu-west-1", "--instance-types", "r5.xlarge", "--table", str(tmp)],
            str(tmp),
        ),
        ("ops", ["ops", "status", "spark-batch-production-01\n"], "'spark-batch-production-01\\n'"),
        (
            "ops",
            ["ops", "status", "spark-batch-production-01", "--region", "mars-north-1"],
            "'mars-north-1': not a known AWS region",
        ),
        ("ops", ["ops", "rotate-spot", "spark-batch-production-01", "--profile", "prod\tx"], "'prod\\tx'"),
        ("ops", ["ops", "rotate-spot", "spark-batch-production-01", "--from", "c"], "'c': expected a, b"),
        ("ops", ["ops", "rotate-spot", "spark-batch-production-01", "--timeout", "nan"], "'nan'"),
    ]


CASE_IDS = [f"{c[0]}:{i}" for i, c in enumerate(cases(ROOT))]


@pytest.mark.parametrize("index", range(len(CASE_IDS)), ids=CASE_IDS)
def test_bad_cli_arguments_are_refused(index, tmp_path):
    _, argv, expect = cases(tmp_path)[index]
    before = PRICE_TABLE_PATH.read_bytes()
    result = run(tmp_path, *argv)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-2000:]
    assert expect in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in output
    assert not (tmp_path / "report.md").exists()
    assert PRICE_TABLE_PATH.read_bytes() == before
