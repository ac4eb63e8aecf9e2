"""Each behaviour of the stand-in's shim (``devtools/moto_shim.py``), against a running stand-in over
https, as an AWS SDK sees it. The expected answers are the ones the AWS API reference
documents (cited in the shim's docstring)."""

from __future__ import annotations

import json
import threading
import uuid

import pytest
from botocore.exceptions import ClientError

from devtools.moto_shim import LISTS_FLEETS_ON_GROUP_CLUSTER, statement_applies

REGION = "ap-northeast-2"


@pytest.fixture(scope="module")
def aws(standin):
    class Clients:
        emr = standin.client("emr", REGION)
        ec2 = standin.client("ec2", REGION)
        s3 = standin.client("s3", REGION)

    clients = Clients()
    vpc = clients.ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    clients.subnet = clients.ec2.create_subnet(VpcId=vpc, CidrBlock="10.60.1.0/24", AvailabilityZone=f"{REGION}a")[
        "Subnet"
    ]["SubnetId"]
    clients.vpc = vpc
    return clients


def _cluster(aws, **extra) -> str:
    return aws.emr.run_job_flow(
        Name=f"shim-{uuid.uuid4().hex[:6]}",
        ReleaseLabel="emr-7.1.0",
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
        Instances={
            "KeepJobFlowAliveWhenNoSteps": True,
            "Ec2SubnetId": aws.subnet,
            "InstanceGroups": [
                {"Name": "master", "InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1},
                {"Name": "core", "InstanceRole": "CORE", "InstanceType": "r5.xlarge", "InstanceCount": 2},
            ],
        },
        **extra,
    )["JobFlowId"]


def _error(excinfo) -> tuple[str, str]:
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["Error"]["Message"]


def test_emr_takes_the_region_from_the_request_signature(aws, standin):
    cluster = _cluster(aws)
    assert aws.emr.describe_cluster(ClusterId=cluster)["Cluster"]["Id"] == cluster
    with pytest.raises(ClientError):
        standin.client("emr", "us-east-1").describe_cluster(ClusterId=cluster)


def test_list_instance_fleets_refuses_an_instance_group_cluster_as_aws_does(aws):
    cluster = _cluster(aws)
    with pytest.raises(ClientError) as refused:
        aws.emr.list_instance_fleets(ClusterId=cluster)
    assert _error(refused) == ("InvalidRequestException", LISTS_FLEETS_ON_GROUP_CLUSTER)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as unknown:
        aws.emr.list_instance_fleets(ClusterId="j-NOSUCHCLUSTER")
    assert _error(unknown)[0] == "InvalidRequestException"


def test_auto_termination_policy_lives_with_the_cluster(aws):
    cluster = _cluster(aws, AutoTerminationPolicy={"IdleTimeout": 3600})
    assert aws.emr.get_auto_termination_policy(ClusterId=cluster)["AutoTerminationPolicy"] == {"IdleTimeout": 3600}
    aws.emr.put_auto_termination_policy(ClusterId=cluster, AutoTerminationPolicy={"IdleTimeout": 7200})
    assert aws.emr.get_auto_termination_policy(ClusterId=cluster)["AutoTerminationPolicy"] == {"IdleTimeout": 7200}
    aws.emr.remove_auto_termination_policy(ClusterId=cluster)
    assert "AutoTerminationPolicy" not in aws.emr.get_auto_termination_policy(ClusterId=cluster)
    with pytest.raises(ClientError) as refused:
        aws.emr.put_auto_termination_policy(ClusterId=cluster, AutoTerminationPolicy={"IdleTimeout": 30})
    assert _error(refused)[0] == "ValidationException"


def test_a_bad_auto_termination_policy_creates_no_cluster(aws):
    before = len(aws.emr.list_clusters()["Clusters"])
    with pytest.raises(ClientError):
        _cluster(aws, AutoTerminationPolicy={"IdleTimeout": 10})
    assert len(aws.emr.list_clusters()["Clusters"]) == before


def test_managed_scaling_policy_lives_with_the_cluster(aws):
    cluster = _cluster(aws)
    assert "ManagedScalingPolicy" not in aws.emr.get_managed_scaling_policy(ClusterId=cluster)
    limits = {"UnitType": "Instances", "MinimumCapacityUnits": 2, "MaximumCapacityUnits": 10}
    aws.emr.put_managed_scaling_policy(ClusterId=cluster, ManagedScalingPolicy={"ComputeLimits": limits})
    got = aws.emr.get_managed_scaling_policy(ClusterId=cluster)["ManagedScalingPolicy"]["ComputeLimits"]
    assert {k: got[k] for k in limits} == limits
    aws.emr.remove_managed_scaling_policy(ClusterId=cluster)
    assert "ManagedScalingPolicy" not in aws.emr.get_managed_scaling_policy(ClusterId=cluster)


def test_add_instance_groups_returns_ids_and_starts_instances(aws):
    cluster = _cluster(aws)
    answer = aws.emr.add_instance_groups(
        JobFlowId=cluster,
        InstanceGroups=[
            {
                "Name": "task-a",
                "InstanceRole": "TASK",
                "InstanceType": "r5.xlarge",
                "InstanceCount": 2,
                "Market": "SPOT",
                "BidPrice": "0.24",
            },
            {
                "Name": "task-b",
                "InstanceRole": "TASK",
                "InstanceType": "r5.xlarge",
                "InstanceCount": 0,
                "Market": "SPOT",
                "BidPrice": "0.24",
            },
        ],
    )
    assert answer["JobFlowId"] == cluster and answer["ClusterArn"]
    groups = {g["Name"]: g["Id"] for g in aws.emr.list_instance_groups(ClusterId=cluster)["InstanceGroups"]}
    assert answer["InstanceGroupIds"] == [groups["task-a"], groups["task-b"]]
    started = aws.emr.list_instances(ClusterId=cluster, InstanceGroupId=groups["task-a"])["Instances"]
    assert len(started) == 2


def test_instance_group_ids_have_the_shape_aws_gives_them(aws):
    import re

    cluster = _cluster(aws)
    aws.emr.add_instance_groups(
        JobFlowId=cluster,
        InstanceGroups=[{"Name": "task-a", "InstanceRole": "TASK", "InstanceType": "r5.xlarge", "InstanceCount": 1}],
    )
    ids = [g["Id"] for g in aws.emr.list_instance_groups(ClusterId=cluster)["InstanceGroups"]]
    assert ids and all(re.fullmatch(r"ig-[0-9A-Z]{13}", i) for i in ids), ids


def test_gp3_throughput_of_an_instance_group_reads_back(aws):
    cluster = _cluster(aws)
    volume = {"VolumeType": "gp3", "SizeInGB": 128, "Iops": 3000, "Throughput": 250}
    aws.emr.add_instance_groups(
        JobFlowId=cluster,
        InstanceGroups=[
            {
                "Name": "task-gp3",
                "InstanceRole": "TASK",
                "InstanceType": "r5.xlarge",
                "InstanceCount": 1,
                "EbsConfiguration": {
                    "EbsBlockDeviceConfigs": [{"VolumeSpecification": volume, "VolumesPerInstance": 2}]
                },
            }
        ],
    )
    (group,) = [g for g in aws.emr.list_instance_groups(ClusterId=cluster)["InstanceGroups"] if g["Name"] == "task-gp3"]
    specs = [d["VolumeSpecification"] for d in group["EbsBlockDevices"]]
    assert specs == [volume, volume]
    assert len({d["Device"] for d in group["EbsBlockDevices"]}) == 2


def _bucket_with_policy(aws, statement: dict) -> str:
    bucket = f"shim-{uuid.uuid4().hex[:10]}"
    aws.s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    aws.s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "Test",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                        **statement,
                    }
                ],
            }
        ),
    )
    return bucket


def test_tls_only_bucket_policy_lets_https_writes_through(aws):
    bucket = _bucket_with_policy(aws, {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
    aws.s3.put_object(Bucket=bucket, Key="bootstrap/x.py", Body=b"print(1)")
    assert aws.s3.get_object(Bucket=bucket, Key="bootstrap/x.py")["Body"].read() == b"print(1)"


@pytest.mark.parametrize(
    "condition",
    [
        None,  # unconditional deny
        {"Bool": {"aws:SecureTransport": "true"}},  # holds: the stand-in is https
        {"StringNotEqualsIfExists": {"aws:SourceAccount": "1"}},  # absent key + IfExists holds
    ],
)
def test_a_deny_that_applies_still_denies(aws, condition):
    statement = {"Effect": "Deny", **({"Condition": condition} if condition else {})}
    bucket = _bucket_with_policy(aws, statement)
    with pytest.raises(ClientError) as denied:
        aws.s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_a_deny_on_an_absent_key_does_not_apply(aws):
    bucket = _bucket_with_policy(aws, {"Effect": "Deny", "Condition": {"StringEquals": {"aws:SourceAccount": "1"}}})
    aws.s3.put_object(Bucket=bucket, Key="k", Body=b"x")


@pytest.mark.parametrize(
    "statement, applies",
    [
        ({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}, False),
        ({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": ["true"]}}}, True),
        ({"Effect": "Deny", "Condition": {"Null": {"aws:SourceArn": "true"}}}, True),
        ({"Effect": "Deny", "Condition": {"Null": {"aws:SecureTransport": "true"}}}, False),
        ({"Effect": "Allow", "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::x"}}}, False),
        ({"Effect": "Deny", "Condition": {"SomeFutureOperator": {"aws:SecureTransport": "x"}}}, True),
        ({"Effect": "Allow", "Condition": {"SomeFutureOperator": {"aws:SecureTransport": "x"}}}, False),
    ],
)
def test_condition_evaluation(statement, applies):
    assert statement_applies(statement) is applies


def test_concurrent_changes_to_one_security_group_are_not_lost(aws):
    """Ten revokes at once on one group (as the provider sends them) all take effect."""
    ec2 = aws.ec2
    group = ec2.create_security_group(GroupName=f"shim-{uuid.uuid4().hex[:6]}", Description="x", VpcId=aws.vpc)[
        "GroupId"
    ]
    ports = list(range(9000, 9010))
    permissions = [
        {
            "IpProtocol": "tcp",
            "FromPort": p,
            "ToPort": p,
            "IpRanges": [{"CidrIp": "10.60.0.0/16", "Description": f"port {p}"}],
        }
        for p in ports
    ]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=permissions)
    errors = []

    def revoke(permission):
        try:
            ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=[permission])
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=revoke, args=(p,)) for p in permissions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])
    assert [r for r in rules["SecurityGroupRules"] if not r["IsEgress"]] == []


# --- instance fleets (API_RunJobFlow InstanceFleets, API_ListInstanceFleets, API_AddInstanceFleet,
# API_ModifyInstanceFleet, API_Cluster InstanceCollectionType, API_Ec2InstanceAttributes)

_EBS = {"EbsBlockDeviceConfigs": [{"VolumeSpecification": {"VolumeType": "gp3", "SizeInGB": 64, "Iops": 3000}}]}
_SPOT = {"AllocationStrategy": "price-capacity-optimized", "TimeoutAction": "SWITCH_TO_ON_DEMAND"}


def _fleet(kind, types, od=0, spot=0, timeout=20, strategy=True):
    fleet = {
        "Name": kind.lower(),
        "InstanceFleetType": kind,
        "TargetOnDemandCapacity": od,
        "TargetSpotCapacity": spot,
        "InstanceTypeConfigs": [
            {
                "InstanceType": t,
                "WeightedCapacity": w,
                "EbsConfiguration": _EBS,
                **({"BidPrice": "0.49"} if spot else {}),
            }
            for t, w in types
        ],
    }
    if strategy:
        fleet["LaunchSpecifications"] = {
            "OnDemandSpecification": {"AllocationStrategy": "lowest-price"},
            "SpotSpecification": {**_SPOT, "TimeoutDurationMinutes": timeout},
        }
    return fleet


def _fleet_cluster(aws, *fleets, subnets=None) -> str:
    return aws.emr.run_job_flow(
        Name=f"shim-fleet-{uuid.uuid4().hex[:6]}",
        ReleaseLabel="emr-7.5.0",
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
        Instances={
            "KeepJobFlowAliveWhenNoSteps": True,
            "Ec2SubnetIds": subnets or [aws.subnet],
            "InstanceFleets": list(
                fleets
                or (
                    _fleet("MASTER", [("m5.xlarge", 1)], od=1),
                    _fleet("CORE", [("r5.xlarge", 2), ("r5.2xlarge", 4)], od=8),
                )
            ),
        },
    )["JobFlowId"]


def test_a_fleet_cluster_lists_its_fleets_and_refuses_instance_group_calls(aws):
    second = aws.ec2.create_subnet(VpcId=aws.vpc, CidrBlock="10.60.2.0/24", AvailabilityZone=f"{REGION}c")["Subnet"][
        "SubnetId"
    ]
    cluster = _fleet_cluster(aws, subnets=[aws.subnet, second])
    described = aws.emr.describe_cluster(ClusterId=cluster)["Cluster"]
    assert described["InstanceCollectionType"] == "INSTANCE_FLEET"
    attrs = described["Ec2InstanceAttributes"]
    assert attrs["RequestedEc2SubnetIds"] == [aws.subnet, second]
    assert attrs["Ec2SubnetId"] in (aws.subnet, second)
    fleets = {f["InstanceFleetType"]: f for f in aws.emr.list_instance_fleets(ClusterId=cluster)["InstanceFleets"]}
    assert set(fleets) == {"MASTER", "CORE"}
    core = fleets["CORE"]
    assert core["Id"].startswith("if-") and core["Name"] == "core"
    assert (core["TargetOnDemandCapacity"], core["TargetSpotCapacity"]) == (8, 0)
    assert core["ProvisionedOnDemandCapacity"] >= 8 and core["Status"]["State"] == "RUNNING"
    assert [(s["InstanceType"], s["WeightedCapacity"]) for s in core["InstanceTypeSpecifications"]] == [
        ("r5.xlarge", 2),
        ("r5.2xlarge", 4),
    ]
    assert core["InstanceTypeSpecifications"][0]["EbsBlockDevices"][0]["VolumeSpecification"] == {
        "VolumeType": "gp3",
        "SizeInGB": 64,
        "Iops": 3000,
    }
    assert core["LaunchSpecifications"]["SpotSpecification"]["AllocationStrategy"] == "price-capacity-optimized"
    instances = aws.emr.list_instances(ClusterId=cluster)["Instances"]
    assert {i["InstanceFleetId"] for i in instances} == {f["Id"] for f in fleets.values()}
    assert not any(i.get("InstanceGroupId") for i in instances)
    with pytest.raises(ClientError) as refused:
        aws.emr.list_instance_groups(ClusterId=cluster)
    assert _error(refused)[0] == "InvalidRequestException" and "uses instance fleets" in _error(refused)[1]


def test_a_task_fleet_is_added_once_and_resized(aws):
    cluster = _fleet_cluster(aws)
    added = aws.emr.add_instance_fleet(
        ClusterId=cluster, InstanceFleet=_fleet("TASK", [("r5.2xlarge", 4), ("m5.4xlarge", 4)], spot=8)
    )
    assert added["ClusterId"] == cluster and added["InstanceFleetId"].startswith("if-")
    assert added["ClusterArn"].endswith(f":cluster/{cluster}")
    aws.emr.modify_instance_fleet(
        ClusterId=cluster, InstanceFleet={"InstanceFleetId": added["InstanceFleetId"], "TargetSpotCapacity": 16}
    )
    (task,) = [f for f in aws.emr.list_instance_fleets(ClusterId=cluster)["InstanceFleets"] if f["Name"] == "task"]
    assert (task["TargetSpotCapacity"], task["ProvisionedSpotCapacity"]) == (16, 16)
    nodes = [i for i in aws.emr.list_instances(ClusterId=cluster)["Instances"] if i["InstanceFleetId"] == task["Id"]]
    assert len(nodes) == 4 and {n["Market"] for n in nodes} == {"SPOT"}
    aws.emr.modify_instance_fleet(
        ClusterId=cluster, InstanceFleet={"InstanceFleetId": task["Id"], "TargetSpotCapacity": 0}
    )
    assert not [i for i in aws.emr.list_instances(ClusterId=cluster)["Instances"] if i["InstanceFleetId"] == task["Id"]]
    with pytest.raises(ClientError) as again:
        aws.emr.add_instance_fleet(ClusterId=cluster, InstanceFleet=_fleet("TASK", [("r5.2xlarge", 4)], spot=4))
    assert "at most one" in _error(again)[1]
    with pytest.raises(ClientError) as on_groups:
        aws.emr.add_instance_fleet(ClusterId=_cluster(aws), InstanceFleet=_fleet("TASK", [("r5.2xlarge", 4)]))
    assert _error(on_groups)[0] == "InvalidRequestException"


@pytest.mark.parametrize(
    "fleets,expect",
    [
        ((_fleet("MASTER", [("m5.xlarge", 1)], od=2), _fleet("CORE", [("r5.xlarge", 1)], od=1)), "exactly 1"),
        (
            (
                _fleet("MASTER", [("m5.xlarge", 1)], od=1),
                _fleet(
                    "CORE",
                    [
                        (t, 1)
                        for t in ("r5.xlarge", "r5.2xlarge", "r5.4xlarge", "m5.xlarge", "m5.2xlarge", "m5.4xlarge")
                    ],
                    od=1,
                    strategy=False,
                ),
            ),
            "without an allocation strategy",
        ),
        (
            (_fleet("MASTER", [("m5.xlarge", 1)], od=1), _fleet("CORE", [("r5.xlarge", 1)], od=1, timeout=4)),
            "between 5 and 1440",
        ),
    ],
    ids=["master-capacity-2", "six-types-without-strategy", "spot-timeout-4"],
)
def test_fleets_aws_refuses_create_no_cluster(aws, fleets, expect):
    before = {c["Id"] for c in aws.emr.list_clusters()["Clusters"]}
    with pytest.raises(ClientError) as refused:
        _fleet_cluster(aws, *fleets)
    assert _error(refused)[0] == "ValidationException" and expect in _error(refused)[1]
    assert {c["Id"] for c in aws.emr.list_clusters()["Clusters"]} == before


def test_terminating_a_cluster_terminates_its_instances(aws):
    cluster = _fleet_cluster(aws)
    nodes = [i["Ec2InstanceId"] for i in aws.emr.list_instances(ClusterId=cluster)["Instances"]]
    assert nodes
    attached = aws.ec2.describe_network_interfaces(Filters=[{"Name": "attachment.instance-id", "Values": nodes}])
    primaries = [e["NetworkInterfaceId"] for e in attached["NetworkInterfaces"]]
    assert len(primaries) == len(nodes)
    aws.emr.terminate_job_flows(JobFlowIds=[cluster])
    states = {
        i["InstanceId"]: i["State"]["Name"]
        for r in aws.ec2.describe_instances(InstanceIds=nodes)["Reservations"]
        for i in r["Instances"]
    }
    assert set(states.values()) == {"terminated"}, states
    # Their primary network interfaces go with them, as in AWS.
    left = aws.ec2.describe_network_interfaces(Filters=[{"Name": "network-interface-id", "Values": primaries}])
    assert left["NetworkInterfaces"] == []


def test_a_create_retried_with_its_client_token_creates_nothing_more(aws):
    """A retry whose first answer was lost (same ClientToken) answers the first interface,
    as AWS's idempotency does; without the token every call creates one."""
    token = uuid.uuid4().hex
    first = aws.ec2.create_network_interface(SubnetId=aws.subnet, ClientToken=token, Description=token)
    again = aws.ec2.create_network_interface(SubnetId=aws.subnet, ClientToken=token, Description=token)
    assert again["NetworkInterface"]["NetworkInterfaceId"] == first["NetworkInterface"]["NetworkInterfaceId"]
    made = aws.ec2.describe_network_interfaces(Filters=[{"Name": "description", "Values": [token]}])
    assert len(made["NetworkInterfaces"]) == 1
    untokened = [aws.ec2.create_network_interface(SubnetId=aws.subnet, Description=token) for _ in range(2)]
    assert len({u["NetworkInterface"]["NetworkInterfaceId"] for u in untokened}) == 2
    with pytest.raises(ClientError) as excinfo:
        aws.ec2.create_security_group(GroupName=f"shim-{token[:6]}", Description="x", VpcId=aws.vpc) and (
            aws.ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, ClientToken=token)
        )
    assert _error(excinfo)[0] == "IdempotentParameterMismatch"


def test_a_retried_call_gets_the_answer_it_lost_and_runs_once(aws):
    """An SDK retry (same amz-sdk-invocation-id, attempt 2) of a call the stand-in already
    carried out gets that call's answer; a new call (attempt 1) runs."""
    invocation = str(uuid.uuid4())
    attempt = {"n": 1}

    def same_invocation(request, **_):
        request.headers["amz-sdk-invocation-id"] = invocation
        request.headers["amz-sdk-request"] = f"attempt={attempt['n']}; max=3"

    aws.ec2.meta.events.register("before-send.ec2.CreateSecurityGroup", same_invocation)
    try:
        name = f"shim-{invocation[:8]}"
        first = aws.ec2.create_security_group(GroupName=name, Description="x", VpcId=aws.vpc)["GroupId"]
        attempt["n"] = 2  # the answer was lost; the SDK sends the same call again
        again = aws.ec2.create_security_group(GroupName=name, Description="x", VpcId=aws.vpc)["GroupId"]
        assert again == first
        attempt["n"] = 1  # a new call with a new attempt count runs, and AWS refuses the name
        with pytest.raises(ClientError) as excinfo:
            aws.ec2.create_security_group(GroupName=name, Description="x", VpcId=aws.vpc)
        assert _error(excinfo)[0] == "InvalidGroup.Duplicate"
    finally:
        aws.ec2.meta.events.unregister("before-send.ec2.CreateSecurityGroup", same_invocation)
    named = aws.ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])
    assert len(named["SecurityGroups"]) == 1
