"""AssetsBucket: the long-lived S3 bucket that holds bootstrap scripts (foundation stack).

Versioned, encrypted with SSE-KMS, public access blocked, TLS-only, access-logged into the
environment's log bucket, and with a lifecycle rule that expires old object versions.
Bootstrap scripts are stored under content-hashed keys (guide tips "fixed IP" and "tags"
need scripts on S3), so a version is never overwritten in normal use; versioning protects
against a manual overwrite.
"""

from __future__ import annotations

import json

from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktf_cdktf_provider_aws.s3_bucket_logging import S3BucketLoggingA
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

from emr_constructs import validation
from emr_constructs.errors import ConstructInputError


class AssetsBucket(Construct):
    """A private, versioned, encrypted bucket.

    Inputs (keyword-only):
      bucket_name: the bucket's name (required).
      access_log_bucket: existing bucket receiving S3 server access logs (required).
      access_log_prefix: key prefix for those logs; default ``s3-access/<bucket_name>/``.
      noncurrent_version_days: days an overwritten version is kept; default 90.

    Attributes: ``bucket_name``, ``bucket_arn`` (a token: the bucket resource's ARN, so
    the partition is right in every region), ``bucket`` (the S3Bucket resource, for
    dependencies).

    Raises ConstructInputError when ``noncurrent_version_days`` is below 1.
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
    ) -> None:
        super().__init__(scope, id)
        problems = [
            f"{arg} = {value!r}: {problem}"
            for arg, value in (("bucket_name", bucket_name), ("access_log_bucket", access_log_bucket))
            if (problem := validation.bucket_problem(value)) is not None
        ]
        if isinstance(bucket_name, str) and bucket_name == access_log_bucket:
            problems.append(f"access_log_bucket = {access_log_bucket!r}: the bucket itself; a bucket never logs "
                            "into itself (every log write would be logged again)")
        if access_log_prefix is not None and (problem := validation.s3_prefix_problem(access_log_prefix)):
            problems.append(f"access_log_prefix = {access_log_prefix!r}: {problem}")
        if isinstance(noncurrent_version_days, bool) or not isinstance(noncurrent_version_days, int) \
                or noncurrent_version_days < 1:
            problems.append(f"noncurrent_version_days = {noncurrent_version_days!r}: a whole number of days, at least 1")
        if problems:
            raise ConstructInputError(f"AssetsBucket {self.node.path}", problems)
        self.bucket = S3Bucket(self, "bucket", bucket=bucket_name)
        self.bucket_name = bucket_name
        # The resource's own ARN, not "arn:aws:s3:::<name>": that is wrong in aws-cn and
        # aws-us-gov regions, which the environment settings accept.
        self.bucket_arn: str = self.bucket.arn
        bucket_id = self.bucket.id

        S3BucketPublicAccessBlock(
            self, "public-access-block", bucket=bucket_id,
            block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True,
        )
        S3BucketVersioningA(
            self, "versioning", bucket=bucket_id,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        S3BucketServerSideEncryptionConfigurationA(
            self, "encryption", bucket=bucket_id,
            rule=[S3BucketServerSideEncryptionConfigurationRuleA(
                apply_server_side_encryption_by_default=(
                    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                        sse_algorithm="aws:kms")),
                bucket_key_enabled=True,
            )],
        )
        S3BucketLoggingA(
            self, "access-logging", bucket=bucket_id, target_bucket=access_log_bucket,
            target_prefix=access_log_prefix or f"s3-access/{bucket_name}/",
        )
        S3BucketLifecycleConfiguration(
            self, "lifecycle", bucket=bucket_id,
            rule=[S3BucketLifecycleConfigurationRule(
                id="expire-old-versions", status="Enabled",
                # An empty filter applies the rule to every object in the bucket.
                filter=[S3BucketLifecycleConfigurationRuleFilter()],
                noncurrent_version_expiration=[
                    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                        noncurrent_days=noncurrent_version_days)],
                abort_incomplete_multipart_upload=[
                    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                        days_after_initiation=7)],
            )],
        )
        S3BucketPolicy(
            self, "tls-only", bucket=bucket_id,
            policy=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [self.bucket_arn, f"{self.bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }],
            }, sort_keys=True),
        )
