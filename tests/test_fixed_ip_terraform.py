"""eni-mode growth checked against Terraform's own plan (guide tip T4).

The holding interface's address list is ignored after creation (masters take their
addresses off it), so a new fixed IP outside the range it was created with could never be
reserved. Here Terraform applies a two-address reservation to moto, a master takes its
address, and then:

- planning the same settings changes nothing (Terraform does not fight the master);
- planning a third address fails with the postcondition's message, instead of showing a
  reservation that would never happen.

Only the holding interface is targeted: the rest of the foundation stack (the assets
bucket) is not what this checks.
"""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

REGION = "ap-northeast-2"
TWO = (("spark-batch-production-01", "10.20.1.16"), ("spark-batch-operation-01", "10.20.1.17"))


@pytest.fixture(scope="module")
def moto_subnet():
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    ec2 = boto3.client(
        "ec2", region_name=REGION, endpoint_url=url, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    yield url, ec2, subnet
    server.stop()


@pytest.fixture(scope="module")
def terraform_env(tmp_path_factory, moto_subnet):
    from devtools.toolchain import ToolchainMissing, find_toolchain

    try:
        toolchain = find_toolchain()
    except ToolchainMissing as exc:
        pytest.skip(str(exc))
    work = tmp_path_factory.mktemp("fixed-ip-terraform")
    return toolchain, work, toolchain.cli_config(work)


def _foundation(settings, subnet, masters):
    first = dataclasses.replace(settings.private_subnets[0], id=subnet)
    settings = dataclasses.replace(settings, private_subnets=(first, *settings.private_subnets[1:]))
    return dataclasses.replace(
        settings,
        fixed_ips=dataclasses.replace(settings.fixed_ips, mode="eni", block=None, subnet_id=subnet, masters=masters),
    )


def _stack(name, masters, settings, moto_subnet, terraform_env):
    """The foundation stack for ``masters``, synthesized and initialized against moto; all
    variants share one state file."""
    from cdktf import App

    from devtools.toolchain import Terraform, write_override
    from stacks.foundation import FoundationStack

    url, _, subnet = moto_subnet
    toolchain, work, cli_config = terraform_env
    outdir = work / name
    shutil.rmtree(outdir, ignore_errors=True)
    app = App(outdir=str(outdir))
    FoundationStack(app, settings=_foundation(settings, subnet, masters))
    app.synth()
    stack_dir = outdir / "stacks" / "foundation"
    write_override(
        stack_dir,
        toolchain.provider_version,
        backend_path=work / "foundation.tfstate",
        provider={
            "region": REGION,
            "access_key": "testing",
            "secret_key": "testing",
            "skip_credentials_validation": True,
            "skip_metadata_api_check": True,
            "endpoints": [{"ec2": url, "sts": url, "iam": url}],
        },
    )
    terraform = Terraform(toolchain, stack_dir, cli_config)
    terraform.init()
    (holder,) = json.loads((stack_dir / "cdk.tf.json").read_text())["resource"]["aws_network_interface"]
    return terraform, f"-target=aws_network_interface.{holder}"


@pytest.fixture(scope="module")
def applied(settings, moto_subnet, terraform_env):
    """Two addresses reserved by Terraform; then the first cluster's master takes its own."""
    _, ec2, subnet = moto_subnet
    terraform, target = _stack("two", TWO, settings, moto_subnet, terraform_env)
    terraform.apply(target)
    (holder,) = ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": [subnet]}])[
        "NetworkInterfaces"
    ]
    held = [a["PrivateIpAddress"] for a in holder["PrivateIpAddresses"]]
    ec2.unassign_private_ip_addresses(
        NetworkInterfaceId=holder["NetworkInterfaceId"], PrivateIpAddresses=["10.20.1.16"]
    )
    return terraform, target, held


def test_apply_reserves_the_range_behind_the_holders_own_address(applied):
    assert applied[2] == ["10.20.1.15", "10.20.1.16", "10.20.1.17"]


def test_a_master_taking_its_address_leaves_the_plan_empty(applied):
    terraform, target, _ = applied
    assert terraform.plan(extra=(target,), detailed_exitcode=True).returncode == 0


def test_a_new_address_outside_the_range_fails_the_plan_instead_of_pretending(
    applied, settings, moto_subnet, terraform_env
):
    grown, target = _stack("three", TWO + (("service-presto-01", "10.20.1.18"),), settings, moto_subnet, terraform_env)
    result = grown.run("plan", "-input=false", "-no-color", "-lock=false", target, ok_codes=(1,))
    output = " ".join((result.stdout + result.stderr).split())
    assert "Resource postcondition failed" in output
    assert (
        "The fixed IPs now need the range 10.20.1.16-10.20.1.18, but this holding interface was "
        "created holding 10.20.1.16-10.20.1.17"
    ) in output
    assert "would NOT be reserved" in output
