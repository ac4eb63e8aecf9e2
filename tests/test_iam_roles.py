"""EmrRoles (tip T0): custom service, instance and autoscaling roles; every instance-role
statement names its need and is scoped (no '*' action, no s3:*, no S3 action on '*', no
wildcard bucket); grants made after construction still reach the policy; bad grants are
refused with every problem at once."""

from __future__ import annotations

import json
import re

import pytest

from tests.example_app import AUTOSCALING_PURPOSES, PURPOSES

ACCOUNT = "123456789012"
REGION = "ap-northeast-2"


def _one(resources: dict, suffix: str) -> dict:
    (match,) = [r for logical, r in resources.items() if logical.startswith(f"roles_{suffix}_")]
    return match


def _roles(stack: dict) -> dict[str, dict]:
    """Role kind (service, instance, autoscaling) -> aws_iam_role."""
    return {r["name"].rsplit("-emr-", 1)[1]: r for r in stack["resource"]["aws_iam_role"].values()}


def _policy(stack: dict, name_suffix: str) -> dict:
    (policy,) = [p for p in stack["resource"]["aws_iam_role_policy"].values() if p["name"].endswith(name_suffix)]
    return json.loads(policy["policy"])


def _statements(stack: dict) -> dict[str, dict]:
    return {s["Sid"]: s for s in _policy(stack, "-emr-instance")["Statement"]}


def _role_ref(stack: dict, kind: str, attr: str) -> str:
    (logical,) = [k for k, r in stack["resource"]["aws_iam_role"].items() if r["name"].endswith(f"-emr-{kind}")]
    return f"${{aws_iam_role.{logical}.{attr}}}"


# --- the synthesized example app -----------------------------------------------------------


@pytest.mark.parametrize("purpose", PURPOSES)
def test_service_role_trusts_emr_of_this_account_and_region_only(synth, settings, purpose):
    trust = json.loads(_roles(synth[purpose])["service"]["assume_role_policy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "elasticmapreduce.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": settings.account_id},
        "ArnLike": {"aws:SourceArn": f"arn:aws:elasticmapreduce:{settings.region}:{settings.account_id}:*"},
    }


@pytest.mark.parametrize("purpose", PURPOSES)
def test_service_role_gets_the_v2_service_policy(synth, purpose):
    attachments = synth.resources(purpose, "aws_iam_role_policy_attachment")
    service = _one(attachments, "service-role-policy")
    assert service["policy_arn"] == "arn:aws:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2"
    assert service["role"] == _role_ref(synth[purpose], "service", "name")


@pytest.mark.parametrize("purpose", PURPOSES)
def test_service_role_passes_exactly_its_own_roles(synth, purpose):
    stack = synth[purpose]
    statements = {s["Sid"]: s for s in _policy(stack, "-emr-service-pass-role")["Statement"]}
    expected = {"PassInstanceRoleToEc2": ("instance", "ec2.amazonaws.com")}
    if purpose in AUTOSCALING_PURPOSES:
        expected["PassAutoscalingRoleToApplicationAutoscaling"] = (
            "autoscaling",
            "application-autoscaling.amazonaws.com",
        )
    assert set(statements) == set(expected)
    for sid, (kind, service) in expected.items():
        assert statements[sid]["Action"] == ["iam:PassRole"]
        assert statements[sid]["Resource"] == [_role_ref(stack, kind, "arn")]
        assert statements[sid]["Condition"] == {"StringEquals": {"iam:PassedToService": service}}


@pytest.mark.parametrize("purpose", PURPOSES)
def test_instance_profile_has_the_instance_role_and_its_name(synth, purpose):
    stack = synth[purpose]
    (profile,) = stack["resource"]["aws_iam_instance_profile"].values()
    assert profile["name"] == _roles(stack)["instance"]["name"] == f"example-{purpose}-emr-instance"
    assert profile["role"] == _role_ref(stack, "instance", "name")
    trust = json.loads(_roles(stack)["instance"]["assume_role_policy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "ec2.amazonaws.com"}]


@pytest.mark.parametrize("purpose", PURPOSES)
def test_autoscaling_role_only_where_custom_autoscaling_is_used(synth, purpose):
    roles = _roles(synth[purpose])
    assert ("autoscaling" in roles) == (purpose in AUTOSCALING_PURPOSES)
    assert AUTOSCALING_PURPOSES == {"spark-batch", "service-presto"}


def test_autoscaling_role_trusts_emr_and_application_autoscaling(synth, settings):
    stack = synth["spark-batch"]
    trust = json.loads(_roles(stack)["autoscaling"]["assume_role_policy"])
    by_principal = {s["Principal"]["Service"]: s["Condition"] for s in trust["Statement"]}
    acct, region = settings.account_id, settings.region
    assert by_principal == {
        "elasticmapreduce.amazonaws.com": {
            "StringEquals": {"aws:SourceAccount": acct},
            "ArnLike": {"aws:SourceArn": f"arn:aws:elasticmapreduce:{region}:{acct}:*"},
        },
        "application-autoscaling.amazonaws.com": {
            "StringEquals": {"aws:SourceAccount": acct},
            "ArnLike": {"aws:SourceArn": f"arn:aws:application-autoscaling:{region}:{acct}:scalable-target/*"},
        },
    }
    (attachment,) = [
        a
        for a in stack["resource"]["aws_iam_role_policy_attachment"].values()
        if a["role"] == _role_ref(stack, "autoscaling", "name")
    ]
    assert attachment["policy_arn"].endswith("service-role/AmazonElasticMapReduceforAutoScalingRole")


def _scoping_problems(statement: dict) -> list[str]:
    problems = []
    actions, resources = statement["Action"], statement["Resource"]
    if not re.fullmatch(r"[A-Za-z0-9]+", statement.get("Sid", "")):
        problems.append("no Sid")
    for action in actions:
        if "*" in action:
            problems.append(f"wildcard action {action}")
    for resource in resources:
        if resource == "*" and any(a.startswith("s3:") for a in actions):
            problems.append("S3 action on *")
        bucket = re.match(r"arn:aws:s3:::([^/]*)", resource)
        if bucket and ("*" in bucket.group(1) or not bucket.group(1)):
            problems.append(f"wildcard bucket {resource}")
    return problems


@pytest.mark.parametrize("purpose", PURPOSES)
def test_every_statement_of_every_role_policy_is_scoped(synth, purpose):
    policies = synth.resources(purpose, "aws_iam_role_policy").values()
    statements = [s for p in policies for s in json.loads(p["policy"])["Statement"]]
    assert len(statements) > 4
    assert {(s["Sid"], p) for s in statements for p in _scoping_problems(s)} == set()


@pytest.mark.parametrize("purpose", PURPOSES)
def test_stack_grants_logs_bootstrap_and_the_data_prefixes_the_environment_names(synth, settings, purpose):
    by_resource = {}
    for s in _statements(synth[purpose]).values():
        for r in s["Resource"]:
            by_resource.setdefault(r, set()).update(s["Action"])
    b = settings.buckets
    assert by_resource[f"arn:aws:s3:::{b.logs}/emr/{purpose}/*"] == {"s3:PutObject"}
    assert by_resource[f"arn:aws:s3:::{b.bootstrap_assets}/bootstrap/{purpose}/*"] == {"s3:GetObject"}
    data = settings.purpose(purpose).data
    assert data, "the example names data prefixes for every purpose"
    for entry in data:
        actions = by_resource[f"arn:aws:s3:::{b.data}/{entry.prefix}*"]
        assert "s3:GetObject" in actions
        assert ("s3:PutObject" in actions) == (entry.access == "read-write")
        assert ("s3:DeleteObject" in actions) == entry.delete
    # Nothing beyond the named prefixes: no whole-bucket object grant.
    assert f"arn:aws:s3:::{b.data}/*" not in by_resource
    # Only calls without resource-level permissions run on "*": the describe calls of the
    # node scripts (tag script everywhere; fixed-IP script where a cluster has a fixed
    # master IP). No unconditioned cloudwatch:PutMetricData: nothing publishes metrics.
    fixed_ip = any(settings.fixed_ip_of(c) for c in synth.resources(purpose, "aws_emr_cluster"))
    assert by_resource["*"] == {"ec2:DescribeInstances"} | ({"ec2:DescribeNetworkInterfaces"} if fixed_ip else set())


def test_service_presto_only_reads_by_default_and_gets_its_glue_databases(synth, settings):
    statements = _statements(synth["service-presto"])
    data_bucket = f"arn:aws:s3:::{settings.buckets.data}"
    actions = {
        a for s in statements.values() if any(r.startswith(data_bucket) for r in s["Resource"]) for a in s["Action"]
    }
    assert "s3:GetObject" in actions
    assert not {"s3:PutObject", "s3:DeleteObject"} & actions
    read = statements["GlueCatalogRead"]
    assert "GlueCatalogWrite" not in statements
    acct, region = settings.account_id, settings.region
    assert read["Resource"] == sorted(
        [
            f"arn:aws:glue:{region}:{acct}:catalog",
            f"arn:aws:glue:{region}:{acct}:database/analytics",
            f"arn:aws:glue:{region}:{acct}:table/analytics/*",
        ]
    )
    assert {"glue:GetDatabase", "glue:GetTable", "glue:GetPartitions", "glue:BatchGetPartition"} <= set(read["Action"])
    assert not [a for a in read["Action"] if not a.startswith("glue:Get") and a != "glue:BatchGetPartition"]


def test_default_data_access_when_the_environment_names_none(settings, synth_stack):
    import dataclasses

    from stacks.clusters import declared
    from stacks.purpose import PurposeStack

    bare = dataclasses.replace(
        settings, purposes=tuple((p, dataclasses.replace(c, data=None)) for p, c in settings.purposes)
    )
    for purpose, writes in (("spark-stream", True), ("service-presto", False)):
        statements = _statements(synth_stack(lambda app, p=purpose: PurposeStack(app, declared(p), settings=bare)))
        objects = {
            a
            for s in statements.values()
            if s["Resource"] == [f"arn:aws:s3:::{settings.buckets.data}/*"]
            for a in s["Action"]
        }
        assert ("s3:PutObject" in objects) == writes
        assert "s3:DeleteObject" not in objects


@pytest.mark.parametrize("purpose", PURPOSES)
def test_only_the_stacks_buckets_appear(synth, settings, purpose):
    b = settings.buckets
    buckets = {
        m.group(1)
        for s in _statements(synth[purpose]).values()
        for r in s["Resource"]
        if (m := re.match(r"arn:aws:s3:::([^/]+)", r))
    }
    assert buckets <= {b.logs, b.bootstrap_assets, b.data}


# --- variants built in this process ------------------------------------------------------------


def _roles_stack(app, grants=(), **kwargs):
    from cdktf import TerraformStack
    from cdktf_cdktf_provider_aws.provider import AwsProvider

    from emr_constructs.iam_roles import EmrRoles

    stack = TerraformStack(app, "roles-test")
    AwsProvider(stack, "aws", region=REGION)
    kwargs = {"name_prefix": "test-purpose", "account_id": ACCOUNT, "region": REGION, **kwargs}
    stack.roles = EmrRoles(stack, "roles", **kwargs)
    for grant in grants:
        grant(stack.roles)
    return stack


def test_grants_made_after_construction_reach_the_policy(synth_stack):
    from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket

    def build(app):
        stack = _roles_stack(app, [lambda r: r.grant_log_write("example-emr-logs", "emr/test/")])
        S3Bucket(stack, "later-resource", bucket="something-built-later")
        stack.roles.add_statement(
            sid="AssignFixedMasterIp",
            actions=["ec2:AssignPrivateIpAddresses"],
            resources=["arn:aws:ec2:ap-northeast-2:123456789012:network-interface/*"],
        )
        return stack

    statements = _statements(synth_stack(build))
    assert set(statements) == {"WriteLogsExampleEmrLogsEmrTest", "AssignFixedMasterIp"}


def test_policy_is_the_same_whatever_the_order_of_grants(synth_stack):
    grants = [
        lambda r: r.grant_read_write("example-data-lake", "warehouse/"),
        lambda r: r.grant_put_metric_data(namespaces=["SparkStreaming", "Custom"]),
        lambda r: r.grant_read("example-reference-data"),
        lambda r: r.add_statement(
            sid="DescribeOwnInstance", actions=["ec2:DescribeTags", "ec2:DescribeInstances"], resources=["*"]
        ),
    ]
    one = _policy(synth_stack(lambda app: _roles_stack(app, grants)), "-emr-instance")
    two = _policy(synth_stack(lambda app: _roles_stack(app, grants[::-1])), "-emr-instance")
    assert one == two
    sids = [s["Sid"] for s in one["Statement"]]
    assert sids == sorted(sids)
    describe = next(s for s in one["Statement"] if s["Sid"] == "DescribeOwnInstance")
    assert describe["Action"] == ["ec2:DescribeInstances", "ec2:DescribeTags"]


def test_prefix_grant_limits_listing_to_the_prefix(synth_stack):
    statements = _statements(
        synth_stack(lambda app: _roles_stack(app, [lambda r: r.grant_read("example-data-lake", "reference/")]))
    )
    assert statements["ReadExampleDataLakeReferenceList"]["Condition"] == {"StringLike": {"s3:prefix": ["reference/*"]}}
    assert statements["ReadExampleDataLakeReferenceObjects"] == {
        "Sid": "ReadExampleDataLakeReferenceObjects",
        "Effect": "Allow",
        "Action": ["s3:GetObject"],
        "Resource": ["arn:aws:s3:::example-data-lake/reference/*"],
    }


def test_bootstrap_read_of_one_script_grants_exactly_that_object(synth_stack):
    key = "bootstrap/spark-batch/tag_instance_role-0123456789abcdef.py"
    statements = _statements(
        synth_stack(
            lambda app: _roles_stack(app, [lambda r: r.grant_bootstrap_read("example-emr-bootstrap-assets", key)])
        )
    )
    (statement,) = statements.values()
    assert statement["Resource"] == [f"arn:aws:s3:::example-emr-bootstrap-assets/{key}"]


def test_metric_namespaces_become_a_condition(synth_stack):
    statements = _statements(
        synth_stack(lambda app: _roles_stack(app, [lambda r: r.grant_put_metric_data(namespaces=["SparkStreaming"])]))
    )
    assert statements["PutMetricData"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": ["SparkStreaming"]}}


def test_read_write_deletes_only_when_asked(synth_stack):
    statements = _statements(
        synth_stack(
            lambda app: _roles_stack(
                app,
                [
                    lambda r: r.grant_read_write("example-data-lake", "staging/"),
                    lambda r: r.grant_read_write("example-data-lake", "warehouse/", delete=True),
                ],
            )
        )
    )
    assert "s3:DeleteObject" not in statements["ReadWriteExampleDataLakeStagingObjects"]["Action"]
    assert "s3:PutObject" in statements["ReadWriteExampleDataLakeStagingObjects"]["Action"]
    assert "s3:DeleteObject" in statements["ReadWriteDeleteExampleDataLakeWarehouseObjects"]["Action"]


def test_glue_writes_only_when_asked_and_never_databases(synth_stack):
    statements = _statements(
        synth_stack(lambda app: _roles_stack(app, [lambda r: r.grant_glue_catalog(["analytics", "raw"], write=True)]))
    )
    write = statements["GlueCatalogWrite"]
    assert {"glue:CreateTable", "glue:BatchCreatePartition", "glue:DeleteTable"} <= set(write["Action"])
    assert not [a for a in write["Action"] if "Database" in a]
    assert write["Resource"] == statements["GlueCatalogRead"]["Resource"]
    assert f"arn:aws:glue:{REGION}:{ACCOUNT}:table/raw/*" in write["Resource"]
    assert not [r for r in write["Resource"] if r.endswith(":database/*") or r.endswith(":table/*")]


def test_china_regions_use_china_service_principals(synth_stack):
    stack = synth_stack(lambda app: _roles_stack(app, region="cn-north-1", autoscaling=True))
    roles = _roles(stack)
    service_trust = json.loads(roles["service"]["assume_role_policy"])["Statement"][0]
    assert service_trust["Principal"] == {
        "Service": ["elasticmapreduce.amazonaws.com.cn", "elasticmapreduce.amazonaws.com"]
    }
    assert service_trust["Condition"]["ArnLike"]["aws:SourceArn"].startswith("arn:aws-cn:elasticmapreduce:cn-north-1:")
    instance_trust = json.loads(roles["instance"]["assume_role_policy"])["Statement"][0]
    assert instance_trust["Principal"] == {"Service": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}
    passes = {s["Sid"]: s for s in _policy(stack, "-emr-service-pass-role")["Statement"]}
    assert passes["PassInstanceRoleToEc2"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}
    }
    attachments = stack["resource"]["aws_iam_role_policy_attachment"].values()
    assert all(a["policy_arn"].startswith("arn:aws-cn:iam::aws:policy/") for a in attachments)


def test_ebs_key_grants_only_for_aws_resources(synth_stack):
    key = "arn:aws:kms:ap-northeast-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    stack = synth_stack(lambda app: _roles_stack(app, [lambda r: r.allow_ebs_encryption_key(key)]))
    statements = {s["Sid"]: s for s in _policy(stack, "-emr-service-ebs-key")["Statement"]}
    grant = statements["GrantEbsEncryptionKeyToAwsResources"]
    assert grant["Action"] == ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    assert {s["Resource"][0] for s in statements.values()} == {key}


def test_no_grant_means_no_instance_policy(synth_stack):
    out = synth_stack(lambda app: _roles_stack(app))
    names = [p["name"] for p in out["resource"]["aws_iam_role_policy"].values()]
    assert names == ["test-purpose-emr-service-pass-role"]


def test_instance_profile_waits_for_the_instance_policy(synth_stack):
    out = synth_stack(lambda app: _roles_stack(app, [lambda r: r.grant_read("example-data-lake")]))
    (profile,) = out["resource"]["aws_iam_instance_profile"].values()
    (logical,) = [k for k, p in out["resource"]["aws_iam_role_policy"].items() if p["name"].endswith("-emr-instance")]
    # A bare address: Terraform rejects "${...}" in depends_on.
    assert profile["depends_on"] == [f"aws_iam_role_policy.{logical}"]


def test_the_same_grant_twice_is_harmless(synth_stack):
    grant = lambda r: r.grant_read("example-data-lake")  # noqa: E731
    once = _policy(synth_stack(lambda app: _roles_stack(app, [grant])), "-emr-instance")
    twice = _policy(synth_stack(lambda app: _roles_stack(app, [grant, grant])), "-emr-instance")
    assert once == twice


def test_policy_too_large_for_iam_is_reported_at_synthesis():
    from cdktf import Testing

    app = Testing.app()
    stack = _roles_stack(
        app, [lambda r, i=i: r.grant_read("example-data-lake", f"tables/table-{i:03d}/") for i in range(60)]
    )
    (problem,) = stack.roles.node.validate()
    assert "IAM allows 10240 of inline policy per role" in problem


def test_the_app_reports_construct_validations_before_synthesis():
    """build_app runs every validation, so main.py reports the oversize policy with exit 2
    like any input problem instead of a traceback from inside synthesis."""
    from cdktf import Testing

    from emr_constructs.model.errors import ConstructInputError
    from stacks.app import _run_validations

    app = Testing.app()
    _roles_stack(app, [lambda r, i=i: r.grant_read("example-data-lake", f"tables/table-{i:03d}/") for i in range(60)])
    with pytest.raises(ConstructInputError) as info:
        _run_validations(app)
    (problem,) = info.value.problems
    assert "/roles: instance policy is " in problem  # names the construct that failed
    assert "IAM allows 10240 of inline policy per role" in problem


# --- refused grants: one test each ----------------------------------------------------------------


def refused(grant) -> str:
    from cdktf import Testing

    from emr_constructs.iam_roles import IamGrantError

    stack = _roles_stack(Testing.app())
    with pytest.raises(IamGrantError) as err:
        grant(stack.roles)
    assert stack.roles.instance_policy_statements() == [], "nothing may be granted before the error"
    return str(err.value)


def test_refuses_put_metric_data_without_a_namespace():
    message = refused(lambda r: r.grant_put_metric_data(namespaces=[]))
    assert "an unconditioned PutMetricData lets a node write into any namespace" in message


def test_refuses_glue_wildcards_and_empty_database_lists():
    assert "databases[0] = 'analytics*'" in refused(lambda r: r.grant_glue_catalog(["analytics*"]))
    assert "a non-empty list of Glue database names" in refused(lambda r: r.grant_glue_catalog([]))


def test_refuses_a_kms_grant_on_something_that_is_not_a_key():
    message = refused(lambda r: r.grant_kms_key_use("*", sid="UseKey", actions=["kms:Decrypt", "s3:GetObject"]))
    assert "key_arn = '*'" in message and "actions[1] = 's3:GetObject'" in message


def test_refuses_every_bucket():
    message = refused(lambda r: r.grant_read("*"))
    assert "grant_read(bucket='*', prefix='')" in message
    assert "bucket = '*': every bucket of the account is never granted" in message


def test_refuses_a_wildcard_in_the_bucket_name():
    assert "bucket = 'example-*': wildcards in bucket names are never granted" in refused(
        lambda r: r.grant_read_write("example-*")
    )


def test_refuses_an_empty_bucket_name():
    assert "bucket = '': empty; name the bucket" in refused(lambda r: r.grant_log_write("", "emr/x/"))


def test_refuses_a_prefix_without_trailing_slash():
    assert "prefix = 'logs': end it with '/'" in refused(lambda r: r.grant_read("example-emr-logs", "logs"))


def test_refuses_the_star_action():
    message = refused(lambda r: r.add_statement(sid="Everything", actions=["*"], resources=["*"]))
    assert "add_statement(sid='Everything')" in message
    assert "action '*' (every action of every service) is never granted" in message


def test_refuses_s3_star():
    assert "action 's3:*' (every action of the service) is never granted" in refused(
        lambda r: r.add_statement(sid="AllS3", actions=["s3:*"], resources=["arn:aws:s3:::example-data-lake/*"])
    )


def test_refuses_an_s3_action_on_every_resource():
    assert "S3 action(s) s3:GetObject on resource '*' (every bucket) are never granted" in refused(
        lambda r: r.add_statement(sid="ReadAnything", actions=["s3:GetObject"], resources=["*"])
    )


def test_refuses_a_wildcard_bucket_arn():
    assert "a wildcard bucket is never granted" in refused(
        lambda r: r.add_statement(sid="ReadAll", actions=["s3:GetObject"], resources=["arn:aws:s3:::*/*"])
    )


def test_refuses_a_duplicate_sid_with_different_content():
    from cdktf import Testing

    from emr_constructs.iam_roles import IamGrantError

    stack = _roles_stack(
        Testing.app(),
        [lambda r: r.add_statement(sid="DescribeInstances", actions=["ec2:DescribeInstances"], resources=["*"])],
    )
    with pytest.raises(IamGrantError) as err:
        stack.roles.add_statement(sid="DescribeInstances", actions=["ec2:DescribeTags"], resources=["*"])
    assert "Sid 'DescribeInstances' already grants" in str(err.value)
    assert [s["Action"] for s in stack.roles.instance_policy_statements()] == [["ec2:DescribeInstances"]]


def test_refuses_a_sid_that_is_not_alphanumeric():
    assert "sid = 'fixed-ip': letters and digits only" in refused(
        lambda r: r.add_statement(sid="fixed-ip", actions=["ec2:AssignPrivateIpAddresses"], resources=["*"])
    )


def test_reports_every_problem_of_a_call_at_once():
    message = refused(
        lambda r: r.add_statement(
            sid="Bad", actions=["*", "s3:*", "s3:GetObject"], resources=["*", "arn:aws:s3:::data-*"]
        )
    )
    assert "4 problem(s)" in message
    for part in ("action '*'", "action 's3:*'", "on resource '*'", "'arn:aws:s3:::data-*': a wildcard bucket"):
        assert part in message


def test_refuses_bad_constructor_inputs():
    from cdktf import Testing

    from emr_constructs.iam_roles import IamGrantError

    with pytest.raises(IamGrantError) as err:
        _roles_stack(Testing.app(), name_prefix="x" * 49, account_id="1234")
    message = str(err.value)
    assert "name_prefix = 'xxxxxxxxx" in message and "account_id = '1234': twelve digits" in message


@pytest.mark.parametrize("resource", ["arn:*:s3:::*", "arn:aws:s3:*:*:*", "arn:aws:*", "arn:*"])
def test_refuses_an_s3_action_on_every_bucket_spelled_another_way(resource):
    message = refused(lambda r: r.add_statement(sid="ReadAnything", actions=["s3:GetObject"], resources=[resource]))
    assert (
        f"S3 action(s) s3:GetObject on resource {resource!r}: S3 actions are granted only on ARNs "
        "that name a bucket" in message
    )


def test_s3_actions_on_a_named_access_point_or_a_bucket_token_are_granted(synth_stack):
    from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket

    access_point = "arn:aws:s3:ap-northeast-2:123456789012:accesspoint/reference-data/object/*"

    def build(app):
        stack = _roles_stack(app)
        bucket = S3Bucket(stack, "scratch", bucket="example-scratch")
        stack.roles.add_statement(sid="ReadReferenceAccessPoint", actions=["s3:GetObject"], resources=[access_point])
        stack.roles.add_statement(sid="WriteScratch", actions=["s3:PutObject"], resources=[f"{bucket.arn}/*"])
        return stack

    statements = _statements(synth_stack(build))
    assert statements["ReadReferenceAccessPoint"]["Resource"] == [access_point]
    assert statements["WriteScratch"]["Resource"] == ["${aws_s3_bucket.scratch.arn}/*"]
