"""The ``python -m ops`` entry point: real processes, credentials and access errors, imports."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import boto3
from botocore.stub import Stubber

from ops.cli import main
from ops.errors import EXIT_ACCESS, EXIT_OK
from ops.runtime import Runtime
from tests.ops.conftest import REGION, aws_env

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable


def clean_env(tmp_path, **extra) -> dict[str, str]:
    """A process environment with no AWS configuration at all beyond ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        HOME=str(tmp_path),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
    )
    env.update(extra)
    return env


def run_module(args, env):
    return subprocess.run([PYTHON, "-m", "ops", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_entry_point_runs_status_in_a_real_process(moto, tmp_path):
    cid = moto.create_cluster()
    proc = run_module(["status", moto.name()], clean_env(tmp_path, **aws_env(moto.endpoint, tmp_path)))
    assert proc.returncode == EXIT_OK, proc.stderr
    assert f"Cluster {moto.name()} ({cid})" in proc.stdout


def test_missing_credentials_exit_3_naming_no_credentials_error(moto, tmp_path):
    env = clean_env(tmp_path, AWS_DEFAULT_REGION=REGION, AWS_ENDPOINT_URL=moto.endpoint)
    proc = run_module(["status", "spark-batch-production-01"], env)
    assert proc.returncode == EXIT_ACCESS
    assert "no AWS credentials found (botocore NoCredentialsError)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_region_is_a_usage_error(moto, tmp_path):
    env = clean_env(tmp_path, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    proc = run_module(["status", "spark-batch-production-01"], env)
    assert proc.returncode == 2
    assert "pass --region REGION, set AWS_DEFAULT_REGION" in proc.stderr


def _stubbed_emr():
    client = boto3.client("emr", region_name="ap-northeast-2", aws_access_key_id="k", aws_secret_access_key="s")
    return client, Stubber(client)


def _run_with(emr, *argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), clients=SimpleNamespace(emr=emr, ec2=None, pricing=None), runtime=Runtime(out=out), err=err)
    return code, err.getvalue()


def test_access_denied_exit_3_naming_the_iam_action():
    emr, stub = _stubbed_emr()
    stub.add_client_error(
        "list_clusters",
        service_error_code="AccessDeniedException",
        http_status_code=400,
        service_message="User: arn:aws:iam::123456789012:user/ops is not authorized to perform: "
        "elasticmapreduce:ListClusters",
    )
    with stub:
        code, err = _run_with(emr, "status", "spark-batch-production-01")
    assert code == EXIT_ACCESS
    assert "access denied: elasticmapreduce:ListClusters" in err
    assert "Grant elasticmapreduce:ListClusters" in err


def test_access_denied_on_modify_names_modify_instance_groups():
    emr, stub = _stubbed_emr()
    summary = {"Id": "j-1ABC", "Name": "spark-batch-production-01", "Status": {"State": "WAITING"}}
    stub.add_response("list_clusters", {"Clusters": [summary]})
    stub.add_response("describe_cluster", {"Cluster": {**summary, "Tags": []}})
    stub.add_response(
        "list_instance_groups",
        {
            "InstanceGroups": [
                {
                    "Id": "ig-A",
                    "Name": "task-spot-static-a",
                    "InstanceGroupType": "TASK",
                    "Market": "SPOT",
                    "InstanceType": "r5.xlarge",
                    "BidPrice": "0.24",
                    "RequestedInstanceCount": 4,
                    "RunningInstanceCount": 4,
                    "Status": {"State": "RUNNING"},
                },
                {
                    "Id": "ig-B",
                    "Name": "task-spot-static-b",
                    "InstanceGroupType": "TASK",
                    "Market": "SPOT",
                    "InstanceType": "r5.xlarge",
                    "BidPrice": "0.24",
                    "RequestedInstanceCount": 0,
                    "RunningInstanceCount": 0,
                    "Status": {"State": "RUNNING"},
                },
            ]
        },
    )
    stub.add_response("add_tags", {})
    stub.add_client_error("modify_instance_groups", service_error_code="AccessDeniedException", http_status_code=400)
    with stub:
        code, err = _run_with(emr, "rotate-spot", "spark-batch-production-01", "--yes")
    assert code == EXIT_ACCESS
    assert "access denied: elasticmapreduce:ModifyInstanceGroups" in err


def test_expired_token_exit_3():
    emr, stub = _stubbed_emr()
    stub.add_client_error(
        "list_clusters",
        service_error_code="ExpiredTokenException",
        http_status_code=400,
        service_message="The security token included in the request is expired",
    )
    with stub:
        code, err = _run_with(emr, "status", "spark-batch-production-01")
    assert code == EXIT_ACCESS
    assert "rejected the credentials on elasticmapreduce:ListClusters" in err


def test_ops_never_imports_cdktf(tmp_path):
    code = (
        "import sys, ops, ops.cli, ops.status, ops.rotation, ops.prices, ops.aws, ops.cluster\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('cdktf', 'cdktf_cdktf_provider_aws', 'jsii'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    proc = subprocess.run([PYTHON, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"ops imported {proc.stdout.strip()} {proc.stderr}"
