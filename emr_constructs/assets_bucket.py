"""AssetsBucket: the long-lived S3 bucket that holds bootstrap scripts (foundation stack).

Versioned, encrypted with SSE-KMS (the AWS managed key, or a customer-managed key),
public access blocked, ACLs disabled (``BucketOwnerEnforced``), TLS-only, access-logged
into the environment's log bucket, and with a lifecycle rule that expires old object
versions. Bootstrap scripts are stored under content-hashed keys (guide tips "fixed IP"
and "tags" need scripts on S3), so a version is never overwritten in normal use.

Integrity: the scripts run as root on every node, and Terraform cannot notice a script
replaced under the same key (the key does not change, and S3 reports no MD5 ETag for
objects under SSE-KMS). So, with ``writers``, the bucket policy denies ``s3:PutObject``,
``s3:DeleteObject`` and ``s3:DeleteObjectVersion`` to every principal except the named
deploying principals (``aws:PrincipalArn``), whatever their IAM policies allow.
Versioning keeps the replaced version for ``noncurrent_version_days`` either way.
"""

from __future__ import annotations

import json
from typing import Sequence

from cdktf import Token
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktf_cdktf_provider_aws.s3_bucket_logging import S3BucketLoggingA
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import (
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from constructs import Construct

from emr_constructs.model import validation
from emr_constructs.model.errors import ConstructInputError

# An IAM role or user ARN; aws:PrincipalArn of an assumed-role session is its role's ARN.
#: What only the writers may do to objects of the bucket.
PROTECTED_OBJECT_ACTIONS = ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObject")


class AssetsBucket(Construct):
    """A private, versioned, encrypted bucket.

    Inputs (keyword-only):
      bucket_name: the bucket's name (required).
      access_log_bucket: existing bucket receiving S3 server access logs (required).
      access_log_prefix: key prefix for those logs; default ``s3-access/<bucket_name>/``.
      noncurrent_version_days: days an overwritten version is kept; default 90.
      writers: IAM role or user ARNs that alone may put and delete objects (the principals
        that run ``cdktf deploy``); default none, which leaves writes to whatever IAM
        policies of the account allow.
      kms_key_arn: a customer-managed KMS key for default encryption; default None (the
        AWS managed key ``aws/s3``).

    Attributes: ``bucket_name``, ``bucket_arn`` (a token: the bucket resource's ARN, so
    the partition is right in every region), ``bucket`` (the S3Bucket resource, for
    dependencies), ``writers``, ``kms_key_arn``.

    Raises ConstructInputError listing every problem before anything is created.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket_name: str,
        access_log_bucket: str,
        access_log_prefix: str | None = None,
        noncurrent_version_days: int = 90,
        writers: Sequence[str] = (),
        kms_key_arn: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        problems = [
            f"{arg} = {value!r}: {problem}"
            for arg, value in (("bucket_name", bucket_name), ("access_log_bucket", access_log_bucket))
            if (problem := validation.bucket_problem(value)) is not None
        ]
        if isinstance(bucket_name, str) and bucket_name == access_log_bucket:
            problems.append(
                f"access_log_bucket = {access_log_bucket!r}: the bucket itself; a bucket never logs "
                "into itself (every log write would be logged again)"
            )
        if access_log_prefix is not None and (problem := validation.s3_prefix_problem(access_log_prefix)):
            problems.append(f"access_log_prefix = {access_log_prefix!r}: {problem}")
        if (
            isinstance(noncurrent_version_days, bool)
            or not isinstance(noncurrent_version_days, int)
            or noncurrent_version_days < 1
        ):
            problems.append(
                f"noncurrent_version_days = {noncurrent_version_days!r}: a whole number of days, at least 1"
            )
        if isinstance(writers, str):
            problems.append(f"writers = {writers!r}: a list of IAM role or user ARNs")
            writers = ()
        for i, arn in enumerate(writers):
            if not isinstance(arn, str) or not validation.PRINCIPAL_ARN.fullmatch(arn):
                problems.append(
                    f"writers[{i}] = {arn!r}: an IAM role or user ARN, "
                    "e.g. arn:aws:iam::123456789012:role/emr-cdktf-deploy"
                )
        if len(set(writers)) != len(writers):
            problems.append(f"writers = {list(writers)!r}: name each principal once")
        if kms_key_arn is not None and not (
            isinstance(kms_key_arn, str)
            and (Token.is_unresolved(kms_key_arn) or validation.KMS_KEY_ARN.fullmatch(kms_key_arn))
        ):
            problems.append(f"kms_key_arn = {kms_key_arn!r}: the ARN of a customer-managed KMS key")
        if problems:
            raise ConstructInputError(f"AssetsBucket {self.node.path}", problems)
        self.writers = tuple(writers)
        self.kms_key_arn = kms_key_arn
        self.bucket = S3Bucket(self, "bucket", bucket=bucket_name)
        self.bucket_name = bucket_name
        # The resource's own ARN, not "arn:aws:s3:::<name>": that is wrong in aws-cn and
        # aws-us-gov regions, which the environment settings accept.
        self.bucket_arn: str = self.bucket.arn
        bucket_id = self.bucket.id

        S3BucketPublicAccessBlock(
            self,
            "public-access-block",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        # ACLs disabled: the bucket owner owns every object, so no uploader can keep an
        # object the account cannot read or govern through policies.
        S3BucketOwnershipControls(
            self,
            "ownership-controls",
            bucket=bucket_id,
            rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
        )
        S3BucketVersioningA(
            self,
            "versioning",
            bucket=bucket_id,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "encryption",
            bucket=bucket_id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=(
                        S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                            sse_algorithm="aws:kms", kms_master_key_id=kms_key_arn
                        )
                    ),
                    bucket_key_enabled=True,
                )
            ],
        )
        S3BucketLoggingA(
            self,
            "access-logging",
            bucket=bucket_id,
            target_bucket=access_log_bucket,
            target_prefix=access_log_prefix or f"s3-access/{bucket_name}/",
        )
        S3BucketLifecycleConfiguration(
            self,
            "lifecycle",
            bucket=bucket_id,
            rule=[
                S3BucketLifecycleConfigurationRule(
                    id="expire-old-versions",
                    status="Enabled",
                    # An empty filter applies the rule to every object in the bucket. The provider
                    # wants a filter or a prefix on every rule (without either it warns that this
                    # becomes an error), which is why checkov's CKV_AWS_300 stays skipped.
                    filter=[S3BucketLifecycleConfigurationRuleFilter()],
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                            noncurrent_days=noncurrent_version_days
                        )
                    ],
                    abort_incomplete_multipart_upload=[
                        S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=7)
                    ],
                )
            ],
        )
        statements = [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [self.bucket_arn, f"{self.bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ]
        if self.writers:
            statements.append(
                {
                    "Sid": "DenyObjectWritesExceptDeployers",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": list(PROTECTED_OBJECT_ACTIONS),
                    "Resource": [f"{self.bucket_arn}/*"],
                    "Condition": {"ArnNotLike": {"aws:PrincipalArn": sorted(self.writers)}},
                }
            )
        # The construct id predates the writers statement; it is kept so the policy is
        # updated in place, never replaced.
        S3BucketPolicy(
            self,
            "tls-only",
            bucket=bucket_id,
            policy=json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True),
        )
