"""Foundation and shared stack plumbing: provider, default tags, backends, the assets bucket."""

from __future__ import annotations

import dataclasses
import json

from tests.example_app import PURPOSES

ALL_STACKS = ("foundation", *PURPOSES)


def test_every_stack_is_synthesized(synth):
    assert sorted(synth.stacks) == sorted(ALL_STACKS)


def test_provider_has_region_account_guard_and_default_tags(synth):
    for stack in ALL_STACKS:
        (provider,) = synth[stack]["provider"]["aws"]
        assert provider["region"] == "ap-northeast-2"
        assert provider["allowed_account_ids"] == ["123456789012"]
        assert provider["default_tags"] == [
            {
                "tags": {
                    "project": "emr-cdktf",
                    "environment": "example",
                    "stack": stack,
                    "managed-by": "cdktf",
                }
            }
        ]


def test_provider_leaves_the_rotation_marker_tag_to_operations(synth):
    from ops.rotation import ROTATION_TAG

    for stack in ALL_STACKS:
        (provider,) = synth[stack]["provider"]["aws"]
        assert provider["ignore_tags"] == [{"keys": [ROTATION_TAG]}]


def test_local_backend_by_default_keeps_state_in_project_root(synth):
    for stack in ALL_STACKS:
        assert synth[stack]["terraform"]["backend"] == {
            "local": {"path": f"../../../../terraform.example.{stack}.tfstate"}
        }


def test_s3_backend_when_environment_names_a_state_bucket(settings, synth_stack):
    from stacks.clusters import declared
    from stacks.purpose import PurposeStack

    with_state = dataclasses.replace(settings, state_bucket="example-terraform-state")
    doc = synth_stack(lambda app: PurposeStack(app, declared("spark-batch"), settings=with_state))
    assert doc["terraform"]["backend"] == {
        "s3": {
            "bucket": "example-terraform-state",
            "key": "emr-cdktf/example/spark-batch.tfstate",
            "region": "ap-northeast-2",
            "encrypt": True,
            "use_lockfile": True,
        }
    }


def _one(synth, rtype):
    (res,) = synth.resources("foundation", rtype).values()
    return res


def test_bootstrap_bucket_is_versioned_encrypted_and_private(synth):
    bucket = _one(synth, "aws_s3_bucket")
    assert bucket["bucket"] == "example-emr-bootstrap-assets"
    assert _one(synth, "aws_s3_bucket_versioning")["versioning_configuration"] == {"status": "Enabled"}
    (rule,) = _one(synth, "aws_s3_bucket_server_side_encryption_configuration")["rule"]
    assert rule["apply_server_side_encryption_by_default"]["sse_algorithm"] == "aws:kms"
    pab = _one(synth, "aws_s3_bucket_public_access_block")
    assert all(
        pab[k] is True
        for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    )


def test_bootstrap_bucket_refuses_plain_http_and_logs_access(synth):
    policy = json.loads(_one(synth, "aws_s3_bucket_policy")["policy"])
    deny = {s["Sid"]: s for s in policy["Statement"]}["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    logging = _one(synth, "aws_s3_bucket_logging")
    assert logging["target_bucket"] == "example-emr-logs"
    assert logging["target_prefix"] == "s3-access/example-emr-bootstrap-assets/"


def test_bootstrap_bucket_expires_old_versions_and_aborts_stale_uploads(synth):
    (rule,) = _one(synth, "aws_s3_bucket_lifecycle_configuration")["rule"]
    assert rule["status"] == "Enabled"
    assert rule["filter"] == [{}]
    assert rule["noncurrent_version_expiration"] == [{"noncurrent_days": 90}]
    assert rule["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 7}]


def test_bootstrap_bucket_policy_names_the_bucket_resources_own_arn(synth):
    """The ARN comes from the bucket resource, so it carries the right partition in every
    region (a literal 'arn:aws:s3:::' would be wrong in aws-cn and aws-us-gov)."""
    (logical,) = synth.resources("foundation", "aws_s3_bucket")
    statements = {s["Sid"]: s for s in json.loads(_one(synth, "aws_s3_bucket_policy")["policy"])["Statement"]}
    arn = f"${{aws_s3_bucket.{logical}.arn}}"
    assert statements["DenyInsecureTransport"]["Resource"] == [arn, f"{arn}/*"]
    assert statements["DenyObjectWritesExceptDeployers"]["Resource"] == [f"{arn}/*"]


def test_assets_bucket_refuses_a_retention_below_one_day():
    import pytest
    from cdktf import TerraformStack, Testing

    from emr_constructs.assets_bucket import AssetsBucket
    from emr_constructs.model.errors import ConstructInputError

    stack = TerraformStack(Testing.app(), "bucket-test")
    with pytest.raises(ConstructInputError) as err:
        AssetsBucket(
            stack, "assets", bucket_name="example-assets", access_log_bucket="example-logs", noncurrent_version_days=0
        )
    assert "noncurrent_version_days = 0: a whole number of days, at least 1" in str(err.value)
    assert not [c for c in stack.node.find_all() if type(c).__name__ == "S3Bucket"]
