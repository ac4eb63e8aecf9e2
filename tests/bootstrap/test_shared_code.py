"""The code both bootstrap scripts carry (metadata client, AWS CLI calls with throttling
backoff, info-file reading), checked in each script.

EMR downloads and runs one file per bootstrap action, so the scripts cannot import a common
module: each carries the same block between ``shared block: begin`` and ``end`` markers.
These tests keep the copies identical and run that code for real in both scripts.
"""

from __future__ import annotations

import ast
import os
import socket
from dataclasses import dataclass
from typing import Callable

import pytest

from tests.bootstrap.conftest import ASSIGN, RESERVED_BLOCK, TAG, master_info

KOREAN = "스파크 배치 운영"  # "spark batch operation": text the CLI prints under any locale

BEGIN = "# ---- shared block: begin"
END = "# ---- shared block: end ----"


def shared_block(path) -> str:
    text = path.read_text()
    return text[text.index(BEGIN) : text.index(END)]


@dataclass(frozen=True)
class Script:
    """How to run one script successfully on a primary node and what success leaves."""

    path: object
    write_action: str
    args: Callable
    succeeded: Callable

    def __str__(self):
        return self.path.name


SCRIPTS = [
    Script(
        ASSIGN,
        "AssignPrivateIpAddresses",
        lambda n: ["--ip", RESERVED_BLOCK[0], "--reservation-eni", n.reservation_eni_id],
        lambda n: RESERVED_BLOCK[0] in n.ips(n.eni_id),
    ),
    Script(TAG, "CreateTags", lambda n: [], lambda n: n.tags()["Name"] == "spark-batch-production-01-MASTER"),
]
BOTH = pytest.mark.parametrize("script", SCRIPTS, ids=str)


def test_shared_block_is_identical_in_both_scripts():
    assert shared_block(ASSIGN) == shared_block(TAG)


@pytest.mark.parametrize("path", [ASSIGN, TAG], ids=lambda p: p.name)
def test_script_parses_as_python_3_7_the_python3_of_emr_6(path):
    ast.parse(path.read_text(), filename=str(path), feature_version=(3, 7))


@pytest.mark.parametrize("path", [ASSIGN, TAG], ids=lambda p: p.name)
def test_script_is_executable_with_env_python3_shebang(path):
    assert path.read_text().startswith("#!/usr/bin/env python3\n")
    assert os.access(path, os.X_OK)


@BOTH
def test_retries_five_throttling_errors_then_succeeds(node_ns, script):
    node_ns.proxy.throttle[script.write_action] = 5
    result = node_ns.run(script.path, *script.args(node_ns))
    assert result.returncode == 0, result.log
    assert node_ns.proxy.actions().count(script.write_action) == 6  # the last allowed attempt
    assert result.log.count("throttled (RequestLimitExceeded)") == 5
    assert script.succeeded(node_ns)


@BOTH
def test_fails_clearly_when_metadata_service_stays_unreachable(node_ns, script):
    with socket.socket() as probe:  # a local port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    node_ns.env_extra["EMR_BOOTSTRAP_IMDS_ENDPOINT"] = f"http://127.0.0.1:{port}"
    result = node_ns.run(script.path, *script.args(node_ns))
    assert result.returncode == 1
    # 60 s of retrying, scaled by EMR_BOOTSTRAP_BACKOFF_BASE=0.01 in these tests.
    assert f"instance metadata service at http://127.0.0.1:{port} unreachable for 1s (" in result.log
    assert node_ns.proxy.actions() == []


@BOTH
def test_rides_out_metadata_429_5xx_and_dropped_connections(node_ns, script):
    # A dozen bad answers in a row (about 20 s of backoff on a node): the old four
    # attempts gave up after the fourth, and never retried 429.
    node_ns.imds.failures = [("/latest/api/token", 429), ("/latest/api/token", "drop")] + [
        ("/latest/meta-data/", status) for status in (429, 503, 500, 502, 504, "drop") * 2
    ]
    result = node_ns.run(script.path, *script.args(node_ns))
    assert result.returncode == 0, result.log
    assert node_ns.imds.failures == []  # every planned failure was served
    assert script.succeeded(node_ns)


@BOTH
def test_the_cli_rides_out_a_slow_credentials_fetch(node_ns, script):
    # No keys: the CLI takes the instance role's credentials from metadata, as on a node,
    # and the first three answers fail (its own default is one attempt).
    node_ns.env_extra.update(
        {
            "AWS_ACCESS_KEY_ID": None,
            "AWS_SECRET_ACCESS_KEY": None,
            "AWS_EC2_METADATA_DISABLED": None,
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": node_ns.imds.url + "/",
        }
    )
    node_ns.imds.failures = [("/latest/meta-data/iam/security-credentials", 503)] * 3
    result = node_ns.run(script.path, *script.args(node_ns))
    assert result.returncode == 0, result.log
    assert node_ns.imds.failures == []
    assert script.succeeded(node_ns)


@BOTH
def test_non_ascii_text_in_aws_answers_survives_an_ascii_locale(node_ns, script):
    # EMR runs bootstrap actions with a bare environment; under an ASCII locale the
    # Python-based CLI crashed printing another interface's description or a Korean Name.
    node_ns.ec2.create_network_interface(SubnetId=node_ns.subnet_id, Description=KOREAN, PrivateIpAddress="10.20.1.70")
    node_ns.ec2.create_tags(Resources=[node_ns.instance_id], Tags=[{"Key": "Owner", "Value": KOREAN}])
    node_ns.env_extra.update({"LANG": "POSIX", "LC_ALL": "POSIX", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"})
    result = node_ns.run(script.path, *script.args(node_ns))
    assert result.returncode == 0, result.log
    assert script.succeeded(node_ns)


@BOTH
def test_reads_info_files_from_the_instance_controller_location(node_ns, script):
    node_ns.write_info(None, None, where=0)  # nothing in /mnt/var/lib/info
    node_ns.write_info(master_info(), {"jobFlowId": "j-1", "instanceGroups": []}, where=1)
    # Without EMR's role tag the tag script must learn MASTER from instance.json too.
    node_ns.ec2.delete_tags(Resources=[node_ns.instance_id], Tags=[{"Key": "aws:elasticmapreduce:instance-group-role"}])
    result = node_ns.run(script.path, *script.args(node_ns))
    assert result.returncode == 0, result.log
    assert script.succeeded(node_ns)
