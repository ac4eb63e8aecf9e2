"""EmrRoles: custom IAM roles for one EMR cluster purpose (guide tip T0).

``aws emr create-default-roles`` makes three roles, and the default EC2 role can read and
write every S3 bucket of the account. This construct makes the same three roles with
permissions derived from what the clusters declare they need:

- service role: trusted by EMR's service principal only for this account and region
  (``aws:SourceAccount`` / ``aws:SourceArn``, against the confused deputy);
  ``AmazonEMRServicePolicy_v2``; and ``iam:PassRole`` for exactly this construct's instance
  role (to EC2) and autoscaling role (to Application Auto Scaling), because the v2 policy's
  own PassRole statements cover only the default role names.
- instance role and an instance profile of the same name (EMR refuses different names):
  one inline policy built from grant calls (S3 read, read-write with or without delete,
  log write, bootstrap read, Glue Data Catalog read or read-write, KMS key use,
  ``cloudwatch:PutMetricData`` into named namespaces only, and ``add_statement`` for
  later needs such as the fixed-IP and tagging bootstrap scripts). Every statement has a
  Sid naming its need.
- autoscaling role, only with ``autoscaling=True`` (custom automatic scaling policies;
  EMR managed scaling does not use it).

Grants may be called after construction (clusters created later in the stack add what
they need), so the instance policy document is produced lazily at synthesis, sorted
(statements by Sid, actions and resources alphabetically, keys sorted): the same grants in
any order give the same plan. No ``*`` action, no service-wide wildcard such as ``s3:*``,
no S3 action on resource ``*``, no wildcard bucket: such grants are refused with an error
listing every problem of the call.

Service principals follow the partition (see ``service_principals``): every AWS service is
``<service>.amazonaws.com`` in every partition, except EMR in the China regions, whose
principal is ``elasticmapreduce.amazonaws.com.cn`` (the AWS CDK's region table,
``region-info`` ``Default.servicePrincipal``, keeps exactly this exception). In aws-cn the
trust policies and ``iam:PassedToService`` also accept the ``.amazonaws.com.cn`` spelling
of EC2, which AWS's China documentation has used, so a role works whichever spelling the
service presents.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping, Sequence

import jsii
from cdktf import IResolveContext, IStringProducer, Lazy, TerraformResource, Token
from cdktf_cdktf_provider_aws.iam_instance_profile import IamInstanceProfile
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct, IValidation

from emr_constructs.model import validation
from emr_constructs.model.contract import MANAGED_POLICY_TAG  # noqa: F401  (re-exported to security_groups)
from emr_constructs.model.errors import ConstructInputError

SERVICE_POLICY = "AmazonEMRServicePolicy_v2"
AUTOSCALING_POLICY = "AmazonElasticMapReduceforAutoScalingRole"
#: The tag SERVICE_POLICY requires on every resource it acts on: ``MANAGED_POLICY_TAG``
#: (defined in emr_constructs.model.contract, imported above).
#: IAM's limit for all inline policies of one role, in characters without whitespace.
INLINE_POLICY_LIMIT = 10_240

# Actions each grant gives. Chosen from the AWS EMR Management Guide page "Service role for
# cluster EC2 instances (EC2 instance profile)", least-privilege section.
READ_OBJECT_ACTIONS = ("s3:GetObject",)
WRITE_OBJECT_ACTIONS = (
    "s3:AbortMultipartUpload",
    "s3:GetObject",
    "s3:ListMultipartUploadParts",
    "s3:PutObject",
)
# Only with delete=True: overwrites (INSERT OVERWRITE, Spark's overwrite mode) and the
# committers' temporary markers need it; reading and appending do not.
DELETE_OBJECT_ACTIONS = ("s3:DeleteObject",)
# EMRFS asks for the bucket's region; read-write also lists unfinished multipart uploads
# so that committers can clean them up. Neither action accepts an s3:prefix condition.
READ_BUCKET_ACTIONS = ("s3:GetBucketLocation",)
WRITE_BUCKET_ACTIONS = ("s3:GetBucketLocation", "s3:ListBucketMultipartUploads")
LOG_WRITE_ACTIONS = ("s3:PutObject",)

# Glue Data Catalog actions of a Hive-compatible Glue metastore client (Trino's and
# Presto's hive connector with hive.metastore=glue, EMR's Glue client for Hive and Spark).
# Partitions and column statistics are authorised against their table's ARN.
GLUE_READ_ACTIONS = (
    "glue:BatchGetPartition",
    "glue:GetColumnStatisticsForPartition",
    "glue:GetColumnStatisticsForTable",
    "glue:GetDatabase",
    "glue:GetDatabases",
    "glue:GetPartition",
    "glue:GetPartitions",
    "glue:GetTable",
    "glue:GetTables",
)
# Table and partition writes inside the named databases; never CreateDatabase or
# DeleteDatabase (databases are named in the settings, so they exist already).
GLUE_WRITE_ACTIONS = (
    "glue:BatchCreatePartition",
    "glue:BatchDeletePartition",
    "glue:BatchUpdatePartition",
    "glue:CreatePartition",
    "glue:CreateTable",
    "glue:DeleteColumnStatisticsForPartition",
    "glue:DeleteColumnStatisticsForTable",
    "glue:DeletePartition",
    "glue:DeleteTable",
    "glue:UpdateColumnStatisticsForPartition",
    "glue:UpdateColumnStatisticsForTable",
    "glue:UpdatePartition",
    "glue:UpdateTable",
)
# The service role's use of the key that encrypts the cluster's EBS volumes (AWS EMR
# Management Guide, "Providing keys for encrypting data at rest": the service role is a key
# user, and EC2 receives a grant for the volumes).
EBS_KEY_USE_ACTIONS = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)
EBS_KEY_GRANT_ACTIONS = ("kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant")
_GLUE_DATABASE = re.compile(r"^[a-z0-9_]{1,255}$", re.ASCII)

_NAME_PREFIX = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,48}$", re.ASCII)
_SID = re.compile(r"^[A-Za-z0-9]+$", re.ASCII)
_ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$", re.ASCII)
_S3_ARN = re.compile(r"^arn:aws[a-z-]*:s3:::(?P<bucket>[^/]*)")
# S3 resources in a named region and account (access points, Object Lambda, Outposts).
_S3_REGIONAL_ARN = re.compile(r"^arn:aws[a-z-]*:s3[a-z-]*:[a-z0-9-]+:[0-9]{12}:[^*?]")
# e.g. StringEquals, ArnLikeIfExists, ForAllValues:StringEquals
_CONDITION_OPERATOR = re.compile(r"^(ForAllValues:|ForAnyValue:)?[A-Za-z]+$", re.ASCII)


class IamGrantError(ConstructInputError):
    """Every problem found in one EmrRoles call, reported together; nothing was granted."""

    def __init__(self, construct_path: str, call: str, problems: list[str]):
        self.call = call
        super().__init__(f"EmrRoles {construct_path}: {call}", problems, outcome="nothing was granted")


def _trust(sid: str, service: str | list[str], account_id: str | None = None, source_arn: str | None = None) -> dict:
    """A trust statement for an AWS service; with ``account_id`` it holds only for calls
    on behalf of this account and its resources (confused-deputy guard)."""
    statement = {"Sid": sid, "Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if account_id is not None:
        statement["Condition"] = {
            "StringEquals": {"aws:SourceAccount": account_id},
            "ArnLike": {"aws:SourceArn": source_arn},
        }
    return statement


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def service_principals(service: str, partition: str) -> list[str]:
    """The service principal(s) of ``service`` (e.g. ``ec2``) in ``partition``, first the
    one AWS documents. Everywhere ``<service>.amazonaws.com``; in aws-cn EMR's is
    ``elasticmapreduce.amazonaws.com.cn`` and the ``.cn`` spelling of the others is
    accepted as well."""
    universal, china = f"{service}.amazonaws.com", f"{service}.amazonaws.com.cn"
    if partition != "aws-cn":
        return [universal]
    return [china, universal] if service == "elasticmapreduce" else [universal, china]


def _one_or_list(values: list[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else values


def regional_arn(service: str, region: str, account_id: str, resource: str) -> str:
    """``arn:<partition>:<service>:<region>:<account>:<resource>``, the partition taken
    from the region (aws-cn and aws-us-gov regions are accepted)."""
    return f"arn:{partition_of(region)}:{service}:{region}:{account_id}:{resource}"


def _camel(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", text) if part)


def _policy(statements: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


@jsii.implements(IStringProducer)
class _InstancePolicyProducer:
    """Produces the instance policy at synthesis, after every grant has been made."""

    def __init__(self, roles: "EmrRoles") -> None:
        self._roles = roles

    def produce(self, context: IResolveContext) -> str:
        return self._roles.instance_policy_json()


@jsii.implements(IValidation)
class _InstancePolicySize:
    def __init__(self, roles: "EmrRoles") -> None:
        self._roles = roles

    def validate(self) -> list[str]:
        size = len(re.sub(r"\s", "", self._roles.instance_policy_json()))
        if size > INLINE_POLICY_LIMIT:
            return [
                f"instance policy is {size} characters; IAM allows {INLINE_POLICY_LIMIT} of inline "
                "policy per role: grant whole prefixes instead of many small ones, or split the purpose"
            ]
        return []


class EmrRoles(Construct):
    """Service role, instance role + profile, and (optionally) autoscaling role for EMR.

    Inputs (keyword-only):
      name_prefix: prefix of the role names, e.g. ``production-spark-batch`` (required; at
        most 48 characters of letters, digits and ``+=,.@_-``). Roles are named
        ``<prefix>-emr-service``, ``<prefix>-emr-instance`` (also the instance profile),
        ``<prefix>-emr-autoscaling``.
      account_id: the 12-digit account the roles live in (required; trust conditions).
      region: the clusters' region (required; ``aws:SourceArn`` of the trust policies).
      autoscaling: also create the autoscaling role; default False. Only clusters with
        custom automatic scaling policies need it; managed scaling does not.
      tags: tags for the roles and the instance profile; default none (the stack's tags
        come from the provider's default tags).

    Attributes: ``service_role_arn``, ``service_role_name``, ``instance_role_arn``,
    ``instance_role_name``, ``instance_profile_arn``, ``instance_profile_name`` (tokens),
    ``autoscaling_role_arn`` (token, or None without autoscaling), and
    ``cluster_dependencies`` (the policy resources a cluster should depend on, so that it
    is created only once its roles carry their permissions).

    Grants (each raises IamGrantError listing every problem before anything is granted):
      ``grant_read(bucket, prefix="")``, ``grant_read_write(bucket, prefix="", delete=False)``,
      ``grant_log_write(bucket, prefix)``, ``grant_bootstrap_read(bucket, prefix)``,
      ``grant_glue_catalog(databases, write=False)``, ``grant_kms_key_use(key_arn, sid=,
      actions=, via_services=())``, ``grant_put_metric_data(namespaces=)``,
      ``add_statement(sid=, actions=, resources=, conditions=None)``. A prefix is ``""`` (the whole bucket) or ends with ``/``. The same
      grant twice is a no-op; a different statement under an existing Sid is refused.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name_prefix: str,
        account_id: str,
        region: str,
        autoscaling: bool = False,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, id)
        self._validate(name_prefix, account_id, region, autoscaling)
        self.name_prefix = name_prefix
        self.account_id = account_id
        self.region = region
        self.partition = partition_of(region)
        self._tags = dict(tags or {})
        self._statements: dict[str, dict] = {}
        self._instance_policy: IamRolePolicy | None = None
        self._ebs_key_policy: IamRolePolicy | None = None
        emr_principal = _one_or_list(service_principals("elasticmapreduce", self.partition))
        ec2_principal = _one_or_list(service_principals("ec2", self.partition))
        autoscaling_principal = _one_or_list(service_principals("application-autoscaling", self.partition))
        managed = f"arn:{self.partition}:iam::aws:policy/service-role"
        emr_source_arn = regional_arn("elasticmapreduce", region, account_id, "*")

        self.service_role = IamRole(
            self,
            "service-role",
            name=f"{name_prefix}-emr-service",
            description="EMR service role: provisions this purpose's clusters (tip T0)",
            assume_role_policy=_policy([_trust("EmrAssumesServiceRole", emr_principal, account_id, emr_source_arn)]),
            tags=self._tags or None,
        )
        service_attachment = IamRolePolicyAttachment(
            self,
            "service-role-policy",
            role=self.service_role.name,
            policy_arn=f"{managed}/{SERVICE_POLICY}",
        )

        self.instance_role = IamRole(
            self,
            "instance-role",
            name=f"{name_prefix}-emr-instance",
            description="EMR instance role: what this purpose's cluster nodes may do (tip T0)",
            assume_role_policy=_policy([_trust("Ec2AssumesInstanceRole", ec2_principal)]),
            tags=self._tags or None,
        )
        # EMR rejects an instance profile whose name differs from its role's.
        self.instance_profile = IamInstanceProfile(
            self,
            "instance-profile",
            name=f"{name_prefix}-emr-instance",
            role=self.instance_role.name,
            tags=self._tags or None,
        )

        pass_role = [
            {
                "Sid": "PassInstanceRoleToEc2",
                "Effect": "Allow",
                "Action": ["iam:PassRole"],
                "Resource": [self.instance_role.arn],
                "Condition": {"StringEquals": {"iam:PassedToService": ec2_principal}},
            }
        ]
        self._cluster_dependencies: list[TerraformResource] = [service_attachment]
        self.autoscaling_role: IamRole | None = None
        if autoscaling:
            self.autoscaling_role = IamRole(
                self,
                "autoscaling-role",
                name=f"{name_prefix}-emr-autoscaling",
                description="EMR autoscaling role: custom automatic scaling policies (tip T0)",
                assume_role_policy=_policy(
                    [
                        _trust("EmrAssumesAutoscalingRole", emr_principal, account_id, emr_source_arn),
                        _trust(
                            "ApplicationAutoscalingAssumesAutoscalingRole",
                            autoscaling_principal,
                            account_id,
                            regional_arn("application-autoscaling", region, account_id, "scalable-target/*"),
                        ),
                    ]
                ),
                tags=self._tags or None,
            )
            self._cluster_dependencies.append(
                IamRolePolicyAttachment(
                    self,
                    "autoscaling-role-policy",
                    role=self.autoscaling_role.name,
                    policy_arn=f"{managed}/{AUTOSCALING_POLICY}",
                )
            )
            pass_role.append(
                {
                    "Sid": "PassAutoscalingRoleToApplicationAutoscaling",
                    "Effect": "Allow",
                    "Action": ["iam:PassRole"],
                    "Resource": [self.autoscaling_role.arn],
                    "Condition": {"StringEquals": {"iam:PassedToService": autoscaling_principal}},
                }
            )
        self._cluster_dependencies.append(
            IamRolePolicy(
                self,
                "service-role-pass-role",
                name=f"{name_prefix}-emr-service-pass-role",
                role=self.service_role.id,
                policy=_policy(pass_role),
            )
        )

        self.service_role_arn: str = self.service_role.arn
        self.service_role_name: str = self.service_role.name
        self.instance_role_arn: str = self.instance_role.arn
        self.instance_role_name: str = self.instance_role.name
        self.instance_profile_arn: str = self.instance_profile.arn
        self.instance_profile_name: str = self.instance_profile.name
        self.autoscaling_role_arn: str | None = self.autoscaling_role.arn if self.autoscaling_role else None
        self.node.add_validation(_InstancePolicySize(self))

    @property
    def cluster_dependencies(self) -> list[TerraformResource]:
        """Policy resources a cluster should list in ``depends_on``: EMR validates the roles'
        permissions when the cluster is created, not when it is planned."""
        extra = [self._instance_policy] if self._instance_policy is not None else []
        return [*self._cluster_dependencies, *extra]

    # --- grants ------------------------------------------------------------------------------

    def grant_read(self, bucket: str, prefix: str = "", *, sid: str | None = None) -> None:
        """List and read objects under ``s3://bucket/prefix`` (prefix "" = whole bucket).
        Statements ``<sid>Bucket``, ``<sid>List``, ``<sid>Objects``; default sid
        ``Read<Bucket><Prefix>`` in CamelCase."""
        self._grant_objects("grant_read", "Read", bucket, prefix, sid, READ_BUCKET_ACTIONS, READ_OBJECT_ACTIONS)

    def grant_read_write(self, bucket: str, prefix: str = "", *, delete: bool = False, sid: str | None = None) -> None:
        """List, read and write objects under ``s3://bucket/prefix``, including multipart
        uploads; ``s3:DeleteObject`` only with ``delete=True`` (default False). Default sid
        ``ReadWrite<Bucket><Prefix>``, or ``ReadWriteDelete<Bucket><Prefix>`` with delete."""
        if not isinstance(delete, bool):
            raise IamGrantError(
                self.node.path,
                f"grant_read_write(bucket={bucket!r}, prefix={prefix!r})",
                [f"delete = {delete!r}: True or False"],
            )
        verb = "ReadWriteDelete" if delete else "ReadWrite"
        objects = WRITE_OBJECT_ACTIONS + (DELETE_OBJECT_ACTIONS if delete else ())
        self._grant_objects("grant_read_write", verb, bucket, prefix, sid, WRITE_BUCKET_ACTIONS, objects)

    def grant_log_write(self, bucket: str, prefix: str) -> None:
        """``s3:PutObject`` under the cluster's log URI (EMR's log pusher only uploads).
        Sid ``WriteLogs<Bucket><Prefix>``."""
        call = self._checked_call("grant_log_write", bucket, prefix)
        sid = f"WriteLogs{_camel(bucket)}{_camel(prefix)}"
        self._add(call, [self._statement(sid, LOG_WRITE_ACTIONS, [self._objects_arn(bucket, prefix)])])

    def grant_bootstrap_read(self, bucket: str, prefix: str) -> None:
        """``s3:GetObject`` on bootstrap scripts (EMR downloads each bootstrap action with
        the instance profile): every object under ``prefix`` when it ends with ``/``,
        otherwise exactly the one object whose key is ``prefix`` (a content-hashed script).
        Sid ``ReadBootstrap<Bucket><Prefix>``."""
        call = self._checked_call("grant_bootstrap_read", bucket, prefix, allow_key=True)
        sid = f"ReadBootstrap{_camel(bucket)}{_camel(prefix)}"
        self._add(call, [self._statement(sid, READ_OBJECT_ACTIONS, [self._objects_arn(bucket, prefix)])])

    def grant_put_metric_data(self, *, namespaces: Sequence[str]) -> None:
        """``cloudwatch:PutMetricData`` into ``namespaces`` only (required, at least one: the
        action has no resource type, so the ``cloudwatch:namespace`` condition is its only
        scope). Sid ``PutMetricData``."""
        call = f"grant_put_metric_data(namespaces={tuple(namespaces)!r})"
        problems = [
            f"namespaces[{i}] = {ns!r}: a non-empty CloudWatch namespace without wildcards, "
            "not one of AWS's own (AWS/...)"
            for i, ns in enumerate(namespaces)
            if not isinstance(ns, str) or not ns.strip() or "*" in ns or ns.startswith("AWS/")
        ]
        if not namespaces:
            problems.append(
                "namespaces = (): name the namespaces the nodes publish into; an unconditioned "
                "PutMetricData lets a node write into any namespace of the account"
            )
        if problems:
            raise IamGrantError(self.node.path, call, problems)
        conditions = {"StringEquals": {"cloudwatch:namespace": list(namespaces)}}
        self._add(call, [self._statement("PutMetricData", ["cloudwatch:PutMetricData"], ["*"], conditions)])

    def grant_glue_catalog(self, databases: Sequence[str], *, write: bool = False) -> None:
        """The Glue Data Catalog actions a Hive-compatible Glue metastore client needs, on
        this account's catalog in this region and on the named ``databases`` and their
        tables only. Read-only unless ``write=True`` (create, update and delete tables and
        partitions; never databases). Sids ``GlueCatalogRead`` and ``GlueCatalogWrite``."""
        call = (
            f"grant_glue_catalog(databases={tuple(databases) if _is_str_list(databases) else databases!r}, "
            f"write={write!r})"
        )
        problems = []
        if isinstance(databases, str) or not _is_str_list(databases) or not databases:
            problems.append(f"databases = {databases!r}: a non-empty list of Glue database names")
            databases = []
        for i, name in enumerate(databases):
            if not _GLUE_DATABASE.fullmatch(name):
                problems.append(
                    f"databases[{i}] = {name!r}: a Glue database name (lower-case letters, digits, "
                    "'_'; Glue folds names to lower case) without wildcards"
                )
        if len(set(databases)) != len(databases):
            problems.append(f"databases = {list(databases)!r}: name each database once")
        if not isinstance(write, bool):
            problems.append(f"write = {write!r}: True or False")
        if problems:
            raise IamGrantError(self.node.path, call, problems)
        glue = lambda resource: regional_arn("glue", self.region, self.account_id, resource)  # noqa: E731
        resources = [glue("catalog")]
        for name in databases:
            resources += [glue(f"database/{name}"), glue(f"table/{name}/*")]
        statements = [self._statement("GlueCatalogRead", GLUE_READ_ACTIONS, resources)]
        if write:
            statements.append(self._statement("GlueCatalogWrite", GLUE_WRITE_ACTIONS, resources))
        self._add(call, statements)

    def grant_kms_key_use(
        self, key_arn: str, *, sid: str, actions: Sequence[str], via_services: Sequence[str] = ()
    ) -> None:
        """Use of one KMS key by the instance role (e.g. ``kms:Decrypt`` of objects under a
        customer-managed key, or EMR's local-disk encryption). ``via_services`` (e.g.
        ``s3.<region>.amazonaws.com``) limits the use to requests those services make on
        the role's behalf (``kms:ViaService``)."""
        call = f"grant_kms_key_use(sid={sid!r})"
        problems = [
            f"actions[{i}] = {a!r}: a kms: action"
            for i, a in enumerate(actions)
            if not isinstance(a, str) or not a.startswith("kms:")
        ]
        if not isinstance(key_arn, str) or not (
            Token.is_unresolved(key_arn)
            or re.fullmatch(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]+$", key_arn)
        ):
            problems.append(f"key_arn = {key_arn!r}: the ARN of one KMS key (arn:aws:kms:<region>:<account>:key/<id>)")
        if problems:
            raise IamGrantError(self.node.path, call, problems)
        conditions = {"StringEquals": {"kms:ViaService": list(via_services)}} if via_services else None
        self._add(call, [self._statement(sid, actions, [key_arn], conditions)])

    def add_statement(
        self,
        *,
        sid: str,
        actions: Sequence[str],
        resources: Sequence[str],
        conditions: Mapping | None = None,
    ) -> None:
        """Allow ``actions`` on ``resources`` (optionally under ``conditions``, IAM's
        ``{operator: {key: value(s)}}`` shape) for needs the named grants do not cover,
        e.g. ``ec2:AssignPrivateIpAddresses`` for the fixed-IP bootstrap script."""
        call = f"add_statement(sid={sid!r})"
        self._add(call, [self._statement(sid, actions, resources, conditions)])

    def allow_ebs_encryption_key(self, key_arn: str) -> None:
        """Let the service role use ``key_arn`` for EBS encryption of the cluster volumes
        (the security configuration's ``EnableEbsEncryption``): EMR, acting as the service
        role, encrypts the volumes and hands EC2 a grant on the key. Grants are limited to
        ones for AWS resources (``kms:GrantIsForAWSResource``). Inline policy
        ``<prefix>-emr-service-ebs-key``; called once."""
        if self._ebs_key_policy is not None:
            raise IamGrantError(
                self.node.path,
                "allow_ebs_encryption_key(...)",
                ["the service role already has its EBS key policy; call this once"],
            )
        statements = [
            self._statement("UseEbsEncryptionKey", EBS_KEY_USE_ACTIONS, [key_arn]),
            self._statement(
                "GrantEbsEncryptionKeyToAwsResources",
                EBS_KEY_GRANT_ACTIONS,
                [key_arn],
                {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
        ]
        problems = [p for st in statements for p in _statement_problems(st)]
        if problems:
            raise IamGrantError(self.node.path, "allow_ebs_encryption_key(...)", problems)
        self._ebs_key_policy = IamRolePolicy(
            self,
            "service-role-ebs-key",
            name=f"{self.name_prefix}-emr-service-ebs-key",
            role=self.service_role.id,
            policy=_policy(statements),
        )
        self._cluster_dependencies.append(self._ebs_key_policy)

    # --- the policy document -------------------------------------------------------------------

    def instance_policy_statements(self) -> list[dict]:
        """The instance policy's statements as they stand now, sorted by Sid."""
        return [self._statements[sid] for sid in sorted(self._statements)]

    def instance_policy_json(self) -> str:
        return _policy(self.instance_policy_statements())

    # --- internals -------------------------------------------------------------------------------

    def _validate(self, name_prefix, account_id, region, autoscaling) -> None:
        problems = []
        if not isinstance(name_prefix, str) or not _NAME_PREFIX.fullmatch(name_prefix):
            problems.append(
                f"name_prefix = {name_prefix!r}: 1-48 letters, digits or +=,.@_- "
                "(role names add up to 16 characters and IAM allows 64)"
            )
        if (problem := validation.ACCOUNT_ID.problem(account_id)) is not None:
            problems.append(f"account_id = {account_id!r}: {problem}")
        if (problem := validation.region_problem(region)) is not None:
            problems.append(f"region = {region!r}: {problem}")
        if not isinstance(autoscaling, bool):
            problems.append(f"autoscaling = {autoscaling!r}: True or False")
        if problems:
            raise IamGrantError(self.node.path, "EmrRoles(...)", problems)

    def _checked_call(
        self, method: str, bucket: Any, prefix: Any, sid: str | None = None, *, allow_key: bool = False
    ) -> str:
        """The grant call as errors name it; raises IamGrantError listing every problem
        with ``bucket`` and ``prefix``."""
        call = f"{method}(bucket={bucket!r}, prefix={prefix!r})"
        problems = self._location_problems(bucket, prefix, sid, allow_key=allow_key)
        if problems:
            raise IamGrantError(self.node.path, call, problems)
        return call

    def _grant_objects(self, method, verb, bucket, prefix, sid, bucket_actions, object_actions) -> None:
        call = self._checked_call(method, bucket, prefix, sid)
        base = sid or f"{verb}{_camel(bucket)}{_camel(prefix)}"
        bucket_arn = self._bucket_arn(bucket)
        list_conditions = {"StringLike": {"s3:prefix": [f"{prefix}*"]}} if prefix else None
        self._add(
            call,
            [
                self._statement(f"{base}Bucket", bucket_actions, [bucket_arn]),
                self._statement(f"{base}List", ["s3:ListBucket"], [bucket_arn], list_conditions),
                self._statement(f"{base}Objects", object_actions, [self._objects_arn(bucket, prefix)]),
            ],
        )

    def _bucket_arn(self, bucket: str) -> str:
        return f"arn:{self.partition}:s3:::{bucket}"

    def _objects_arn(self, bucket: str, prefix: str) -> str:
        if prefix and not prefix.endswith("/"):
            return f"{self._bucket_arn(bucket)}/{prefix}"  # one object key
        return f"{self._bucket_arn(bucket)}/{prefix}*"

    @staticmethod
    def _location_problems(bucket: Any, prefix: Any, sid: str | None, *, allow_key: bool = False) -> list[str]:
        problems = []
        if not isinstance(bucket, str) or not bucket.strip():
            problems.append(f"bucket = {bucket!r}: empty; name the bucket")
        elif bucket == "*":
            problems.append(
                "bucket = '*': every bucket of the account is never granted (that is what "
                "EMR's default EC2 role does); name the bucket"
            )
        elif "*" in bucket or "?" in bucket:
            problems.append(f"bucket = {bucket!r}: wildcards in bucket names are never granted; name each bucket")
        elif Token.is_unresolved(bucket):
            if sid is None:
                problems.append(f"bucket = {bucket!r} is only known at deploy time: pass sid= to name the statements")
        elif (problem := validation.bucket_problem(bucket)) is not None:
            problems.append(f"bucket = {bucket!r}: {problem}")
        if not isinstance(prefix, str):
            problems.append(f"prefix = {prefix!r}: a key prefix such as 'logs/spark-batch/', or ''")
        elif (problem := validation.text_problem(prefix, min_len=0, max_len=512)) is not None:
            problems.append(f"prefix = {prefix!r}: {problem}")
        elif prefix:
            if prefix.startswith("/"):
                problems.append(f"prefix = {prefix!r}: S3 keys do not start with '/'; drop the leading '/'")
            if not prefix.endswith("/") and not allow_key:
                problems.append(
                    f"prefix = {prefix!r}: end it with '/', so that {prefix!r} does not also "
                    f"grant {prefix + '-other/'!r}"
                )
            if any(c in prefix for c in "*?") or "${" in prefix:
                problems.append(
                    f"prefix = {prefix!r}: wildcards and policy variables are not granted; give a literal prefix"
                )
        return problems

    @staticmethod
    def _statement(sid, actions, resources, conditions=None) -> dict:
        statement: dict[str, Any] = {
            "Sid": sid,
            "Effect": "Allow",
            "Action": sorted(actions) if _is_str_list(actions) else actions,
            "Resource": sorted(resources) if _is_str_list(resources) else resources,
        }
        if conditions:
            statement["Condition"] = (
                {
                    op: {key: sorted(v) if _is_str_list(v) else v for key, v in dict(block).items()}
                    if isinstance(block, Mapping)
                    else block
                    for op, block in dict(conditions).items()
                }
                if isinstance(conditions, Mapping)
                else conditions
            )
        return statement

    def _add(self, call: str, statements: list[dict]) -> None:
        problems = []
        for statement in statements:
            problems.extend(_statement_problems(statement))
            sid = statement["Sid"]
            existing = self._statements.get(sid)
            if existing is not None and existing != statement:
                problems.append(
                    f"Sid {sid!r} already grants {json.dumps(existing, sort_keys=True)}; "
                    "a different statement needs its own sid="
                )
        if problems:
            raise IamGrantError(self.node.path, call, problems)
        for statement in statements:
            self._statements[statement["Sid"]] = statement
        if self._instance_policy is None:
            # Created on the first grant: an inline policy must hold at least one statement.
            self._instance_policy = IamRolePolicy(
                self,
                "instance-role-policy",
                name=f"{self.name_prefix}-emr-instance",
                role=self.instance_role.id,
                policy=Lazy.string_value(_InstancePolicyProducer(self)),
            )
            # Clusters reference the profile: they then wait for the permissions as well.
            # depends_on takes a bare address ("type.name"): ``fqn`` is a reference token
            # that synthesizes as "${type.name}", which Terraform rejects ("A single static
            # variable reference is required"). The constructor's depends_on= strips the
            # braces; a late assignment must give the address itself.
            policy = self._instance_policy
            self.instance_profile.depends_on = [f"{policy.terraform_resource_type}.{policy.friendly_unique_id}"]


def _is_str_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)


# Complexity over the cap (C901): one short if per least-privilege rule, kept together so
# the whole policy on grants reads in one place.
def _statement_problems(statement: Mapping[str, Any]) -> list[str]:  # noqa: C901
    """Least-privilege checks shared by every grant: the statement names its need (Sid),
    names its actions, and never opens S3 to every bucket."""
    sid = statement["Sid"]
    problems = []
    if not isinstance(sid, str) or not _SID.fullmatch(sid):
        problems.append(f"sid = {sid!r}: letters and digits only, naming the need, e.g. 'AssignFixedMasterIp'")
    actions, resources = statement["Action"], statement["Resource"]
    if not _is_str_list(actions) or not actions:
        problems.append(f"{sid}: actions = {actions!r}: a non-empty list of actions such as 's3:GetObject'")
        actions = []
    if not _is_str_list(resources) or not resources:
        problems.append(f"{sid}: resources = {resources!r}: a non-empty list of ARNs")
        resources = []
    for action in actions:
        if action == "*":
            problems.append(f"{sid}: action '*' (every action of every service) is never granted; name the actions")
        elif action.endswith(":*"):
            problems.append(
                f"{sid}: action {action!r} (every action of the service) is never granted; "
                "name the actions, e.g. 's3:GetObject'"
            )
        elif "*" in action or "?" in action:
            problems.append(f"{sid}: action {action!r}: wildcard actions are not granted; name each action")
        elif not _ACTION.fullmatch(action):
            problems.append(f"{sid}: action {action!r}: expected service:Action, e.g. 'ec2:CreateTags'")
    s3_actions = [a for a in actions if a.lower().startswith("s3:")]
    for resource in resources:
        if not resource:
            problems.append(f"{sid}: empty resource; give an ARN")
        elif resource == "*" and s3_actions:
            problems.append(
                f"{sid}: S3 action(s) {', '.join(s3_actions)} on resource '*' (every bucket) "
                "are never granted; name the bucket ARN"
            )
        elif (m := _S3_ARN.match(resource)) and (
            "*" in m.group("bucket") or "?" in m.group("bucket") or not m.group("bucket")
        ):
            problems.append(f"{sid}: resource {resource!r}: a wildcard bucket is never granted; name the bucket")
        elif s3_actions and not m and not _S3_REGIONAL_ARN.match(resource) and not Token.is_unresolved(resource):
            # e.g. 'arn:*:s3:::*', 'arn:aws:s3:*:*:*' or 'arn:aws:*': every bucket under another spelling.
            problems.append(
                f"{sid}: S3 action(s) {', '.join(s3_actions)} on resource {resource!r}: S3 actions "
                "are granted only on ARNs that name a bucket, arn:aws:s3:::<bucket>[/<key prefix>]"
            )
    problems.extend(_identity_wildcard_problems(sid, actions, resources))
    conditions = statement.get("Condition")
    if conditions is not None:
        if not isinstance(conditions, Mapping) or not all(
            isinstance(op, str)
            and _CONDITION_OPERATOR.fullmatch(op)
            and isinstance(block, Mapping)
            and all(isinstance(k, str) and (isinstance(v, str) or _is_str_list(v)) for k, v in block.items())
            for op, block in conditions.items()
        ):
            problems.append(
                f"{sid}: conditions = {conditions!r}: expected {{operator: {{condition key: value or list of values}}}}"
            )
    return problems


# Services whose wildcard resources hand out power over identities and keys: iam:PassRole
# on '*' lets a node hand any role (an admin role too) to a service it starts, and IAM or
# KMS actions on '*' reach every role, user or key of the account.
_IDENTITY_SERVICES = ("iam:", "kms:")


def _identity_wildcard_problems(sid: str, actions: list, resources: list) -> list[str]:
    sensitive = [a for a in actions if isinstance(a, str) and a.lower().startswith(_IDENTITY_SERVICES)]
    if not sensitive:
        return []
    return [
        f"{sid}: {', '.join(sensitive)} on resource {resource!r}: IAM and KMS actions (iam:PassRole above all) "
        "are granted only on named ARNs without wildcards, e.g. arn:aws:iam::123456789012:role/<role name>"
        for resource in resources
        if isinstance(resource, str) and not Token.is_unresolved(resource) and ("*" in resource or "?" in resource)
    ]
