"""Security hardening (docs/security.md): subnet tags for the EMR v2 service policy, the
bootstrap bucket's integrity controls, the security configuration (IMDSv2, local-disk and
in-transit encryption), and the settings that open UIs and grant data access."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path

import pytest

from environments.settings import PurposeSettings, SecuritySettings, SettingsError, parse_settings

ROOT = Path(__file__).resolve().parent.parent
EMR_TAG = "for-use-with-amazon-emr-managed-policies"


def _example_raw() -> dict:
    return tomllib.loads((ROOT / "environments" / "example.toml").read_text())


def _problems(**changes) -> list[str]:
    raw = _example_raw()
    raw.update(changes)
    with pytest.raises(SettingsError) as err:
        parse_settings(raw, "test.toml")
    return err.value.problems


def _security_configuration(doc: dict, name_suffix: str = "-emr") -> dict:
    (config,) = [
        c for c in doc["resource"]["aws_emr_security_configuration"].values() if c["name"].endswith(name_suffix)
    ]
    return json.loads(config["configuration"])


# --- 1. subnet tags ---------------------------------------------------------------------------


def test_foundation_tags_every_private_subnet_for_the_v2_service_policy(synth, settings):
    tags = synth.resources("foundation", "aws_ec2_tag")
    assert sorted((t["resource_id"], t["key"], t["value"]) for t in tags.values()) == sorted(
        (s.id, EMR_TAG, "true") for s in settings.private_subnets
    )
    # Addresses derive from the subnet id, never a position in the list.
    assert all(
        s.id in logical for logical, t in tags.items() for s in settings.private_subnets if t["resource_id"] == s.id
    )


# --- 6. bootstrap integrity ---------------------------------------------------------------------


def _foundation_one(synth, rtype):
    (res,) = synth.resources("foundation", rtype).values()
    return res


def test_bootstrap_bucket_enforces_bucket_owner_and_only_deployers_write(synth, settings):
    assert _foundation_one(synth, "aws_s3_bucket_ownership_controls")["rule"] == {
        "object_ownership": "BucketOwnerEnforced"
    }
    statements = {
        s["Sid"]: s for s in json.loads(_foundation_one(synth, "aws_s3_bucket_policy")["policy"])["Statement"]
    }
    deny = statements["DenyObjectWritesExceptDeployers"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert deny["Action"] == ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObject"]
    assert deny["Condition"] == {"ArnNotLike": {"aws:PrincipalArn": list(settings.security.bootstrap_writers)}}


def test_without_writers_no_write_restriction_is_written(settings, synth_stack):
    from stacks.foundation import FoundationStack

    open_writes = dataclasses.replace(settings, security=SecuritySettings())
    doc = synth_stack(lambda app: FoundationStack(app, settings=open_writes))
    (policy,) = doc["resource"]["aws_s3_bucket_policy"].values()
    assert [s["Sid"] for s in json.loads(policy["policy"])["Statement"]] == ["DenyInsecureTransport"]


def test_customer_managed_bootstrap_key_is_created_and_read_through_s3_only(settings, synth_stack):
    from stacks.clusters import declared
    from stacks.foundation import FoundationStack
    from stacks.purpose import PurposeStack

    cmk = dataclasses.replace(
        settings, security=dataclasses.replace(settings.security, bootstrap_kms="customer-managed")
    )
    foundation = synth_stack(lambda app: FoundationStack(app, settings=cmk))
    keys = foundation["resource"]["aws_kms_key"]
    (bootstrap_key,) = [k for k in keys if k.startswith("bootstrap-assets-key")]
    assert keys[bootstrap_key]["enable_key_rotation"] is True
    (sse,) = foundation["resource"]["aws_s3_bucket_server_side_encryption_configuration"].values()
    assert (
        sse["rule"][0]["apply_server_side_encryption_by_default"]["kms_master_key_id"]
        == f"${{aws_kms_key.{bootstrap_key}.arn}}"
    )
    aliases = {a["name"] for a in foundation["resource"]["aws_kms_alias"].values()}
    assert "alias/example-emr-bootstrap-assets" in aliases

    stack = synth_stack(lambda app: PurposeStack(app, declared("spark-stream"), settings=cmk))
    (policy,) = [p for p in stack["resource"]["aws_iam_role_policy"].values() if p["name"].endswith("-emr-instance")]
    decrypt = {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}["DecryptBootstrapScripts"]
    assert decrypt["Action"] == ["kms:Decrypt"]
    assert decrypt["Resource"] == ["${data.aws_kms_alias.bootstrap-assets-key.target_key_arn}"]
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": ["s3.ap-northeast-2.amazonaws.com"]}}


def test_bootstrap_writers_must_be_role_or_user_arns():
    problems = _problems(security={"bootstrap_writers": ["arn:aws:iam::123456789012:group/admins", "deployer"]})
    assert problems == [
        "security.bootstrap_writers[0] = 'arn:aws:iam::123456789012:group/admins': an IAM role or user ARN, "
        "e.g. arn:aws:iam::123456789012:role/emr-cdktf-deploy",
        "security.bootstrap_writers[1] = 'deployer': an IAM role or user ARN, "
        "e.g. arn:aws:iam::123456789012:role/emr-cdktf-deploy",
    ]


# --- 5. the security configuration -----------------------------------------------------------------


@pytest.mark.parametrize("purpose", ["spark-batch", "spark-stream", "service-presto"])
def test_security_configuration_requires_imdsv2_and_encrypts_local_disks(synth, purpose):
    config = _security_configuration(synth[purpose])
    assert config["InstanceMetadataServiceConfiguration"] == {
        "HttpPutResponseHopLimit": 1,
        "MinimumInstanceMetadataServiceVersion": 2,
    }
    local = config["EncryptionConfiguration"]["AtRestEncryptionConfiguration"]["LocalDiskEncryptionConfiguration"]
    assert local == {
        "AwsKmsKey": "${data.aws_kms_alias.local-disk-key.target_key_arn}",
        "EnableEbsEncryption": True,
        "EncryptionKeyProviderType": "AwsKms",
    }
    assert config["EncryptionConfiguration"]["EnableInTransitEncryption"] is False
    assert synth[purpose]["data"]["aws_kms_alias"]["local-disk-key"]["name"] == "alias/example-emr-local-disk"


def test_the_local_disk_key_lives_in_foundation_and_roles_may_use_it(synth):
    (key,) = synth.resources("foundation", "aws_kms_key").values()
    assert key["enable_key_rotation"] is True
    (alias,) = synth.resources("foundation", "aws_kms_alias").values()
    assert alias["name"] == "alias/example-emr-local-disk"
    policies = {
        p["name"]: json.loads(p["policy"]) for p in synth.resources("spark-batch", "aws_iam_role_policy").values()
    }
    instance = {s["Sid"]: s for s in policies["example-spark-batch-emr-instance"]["Statement"]}
    assert "kms:GenerateDataKey" in instance["EncryptLocalDisks"]["Action"]
    assert "example-spark-batch-emr-service-ebs-key" in policies


@pytest.mark.parametrize(
    "label, supported",
    [
        ("emr-7.5.0", True),
        ("emr-6.2.0", True),
        ("emr-6.1.1", False),
        ("emr-5.32.0", True),
        ("emr-5.31.0", False),
        ("emr-5.27.1", True),
        ("emr-5.27.0", False),
        ("emr-5.23.1", True),
        ("emr-5.23.0", False),
        ("emr-5.28.1", False),
        ("emr-4.9.6", False),
        ("7.5.0", False),
    ],
)
@pytest.mark.synth  # the rule lives in the construct module, which imports the provider bindings
def test_which_releases_may_require_imdsv2(label, supported):
    from emr_constructs.security_configuration import imdsv2_supported

    assert imdsv2_supported(label) is supported


def test_an_older_release_gets_a_configuration_without_the_imdsv2_requirement(settings, synth_stack):
    from stacks.clusters import declared, spark_stream_01
    from stacks.purpose import PurposeStack

    def old_stream(stack):
        cluster = spark_stream_01(stack)
        return cluster

    def build(app):
        import stacks.clusters as clusters

        original = clusters.RELEASE
        clusters.RELEASE = "emr-6.1.0"
        try:
            return PurposeStack(app, declared("spark-stream"), settings=settings, clusters=[old_stream])
        finally:
            clusters.RELEASE = original

    doc = synth_stack(build)
    (cluster,) = doc["resource"]["aws_emr_cluster"].values()
    assert cluster["release_label"] == "emr-6.1.0"
    old = _security_configuration(doc, "-emr-imds-optional")
    assert "InstanceMetadataServiceConfiguration" not in old
    assert "LocalDiskEncryptionConfiguration" in old["EncryptionConfiguration"]["AtRestEncryptionConfiguration"]
    assert cluster["security_configuration"].startswith("${aws_emr_security_configuration.security-configuration-imds")


def test_in_transit_encryption_names_its_certificates_and_the_role_reads_them(settings, synth_stack):
    from stacks.clusters import declared
    from stacks.purpose import PurposeStack

    pem = "s3://example-emr-certificates/emr/certificates.zip"
    tls = dataclasses.replace(
        settings, security=dataclasses.replace(settings.security, in_transit_pem_certificates=pem)
    )
    doc = synth_stack(lambda app: PurposeStack(app, declared("spark-stream"), settings=tls))
    config = _security_configuration(doc)["EncryptionConfiguration"]
    assert config["EnableInTransitEncryption"] is True
    assert config["InTransitEncryptionConfiguration"] == {
        "TLSCertificateConfiguration": {"CertificateProviderType": "PEM", "S3Object": pem}
    }
    (policy,) = [p for p in doc["resource"]["aws_iam_role_policy"].values() if p["name"].endswith("-emr-instance")]
    read = {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}["ReadInTransitCertificates"]
    assert read["Resource"] == ["arn:aws:s3:::example-emr-certificates/emr/certificates.zip"]


def test_local_disk_encryption_can_be_turned_off(settings, synth_stack):
    from stacks.clusters import declared
    from stacks.purpose import PurposeStack

    off = dataclasses.replace(settings, security=dataclasses.replace(settings.security, local_disk_encryption=False))
    doc = synth_stack(lambda app: PurposeStack(app, declared("spark-stream"), settings=off))
    at_rest = _security_configuration(doc)["EncryptionConfiguration"]["AtRestEncryptionConfiguration"]
    assert "LocalDiskEncryptionConfiguration" not in at_rest
    assert "aws_kms_alias" not in doc.get("data", {})


# --- 3. UI ports and 4. data access in the settings ------------------------------------------------------


def test_yarn_resourcemanager_is_refused_without_the_acknowledgement_and_says_why():
    (problem,) = _problems(purposes={"spark-batch": {"open_uis": ["yarn-resourcemanager"]}})
    assert problem.startswith("purposes.spark-batch.open_uis: 'yarn-resourcemanager' (port 8088) is refused")
    assert "REST API accepts application submissions" in problem
    assert "runs their code as the cluster's instance role" in problem
    assert "acknowledge_yarn_resourcemanager_risk = true" in problem


def test_yarn_resourcemanager_opens_with_the_acknowledgement(settings, synth_stack):
    from stacks.clusters import declared
    from stacks.purpose import PurposeStack

    raw = _example_raw()
    raw["purposes"]["spark-batch"].update(open_uis=["yarn-resourcemanager"], acknowledge_yarn_resourcemanager_risk=True)
    opened = parse_settings(raw, "test.toml")
    doc = synth_stack(lambda app: PurposeStack(app, declared("spark-batch"), settings=opened))
    ports = {r["from_port"] for r in doc["resource"]["aws_vpc_security_group_ingress_rule"].values()}
    assert ports == {22, 8088}


def test_a_ui_the_purpose_does_not_serve_is_reported_before_anything_is_built(settings):
    from emr_constructs.model.errors import ConstructInputError
    from stacks.app import build_app

    wrong = dataclasses.replace(
        settings,
        purposes=(
            ("service-presto", PurposeSettings(open_uis=("spark-history",), glue_databases=("analytics",))),
            ("spark-nightly", PurposeSettings()),
        ),
    )
    with pytest.raises(ConstructInputError) as err:
        build_app(wrong)
    assert err.value.problems == [
        "purposes.service-presto.open_uis: 'spark-history' is not a web UI of service-presto; it serves trino",
        "purposes.spark-nightly: no such purpose; declared purposes are spark-batch, spark-stream, service-presto",
    ]


def test_data_access_settings_are_checked_all_at_once():
    problems = _problems(
        purposes={
            "spark-batch": {
                "data": [
                    {"prefix": "raw", "access": "read-only"},
                    {"prefix": "warehouse/", "access": "write"},
                    {"prefix": "tmp/", "access": "read-only", "delete": True},
                    {"prefix": "tmp/", "access": "read-write"},
                ]
            }
        }
    )
    assert problems == [
        "purposes.spark-batch.data[0].prefix = 'raw': a literal key prefix ending with '/' and not starting with "
        "'/' (so 'raw' cannot also grant 'raw-private/'), or \"\" for the whole bucket",
        "purposes.spark-batch.data[1].access = 'write': one of read-only, read-write",
        'purposes.spark-batch.data[2].delete = True: deleting needs access = "read-write"',
        "purposes.spark-batch.data[3].prefix = 'tmp/': already listed as purposes.spark-batch.data[2]; "
        "list each prefix once",
    ]


def test_a_glue_metastore_cluster_needs_glue_databases(settings):
    from cdktf import Testing

    from emr_constructs.model.errors import ConstructInputError
    from stacks.clusters import declared
    from stacks.purpose import PurposeStack

    no_glue = dataclasses.replace(settings, purposes=(("service-presto", PurposeSettings()),))
    with pytest.raises(ConstructInputError) as err:
        PurposeStack(Testing.app(), declared("service-presto"), settings=no_glue)
    (problem,) = err.value.problems
    assert problem.startswith("purposes.service-presto.glue_databases: empty, but cluster 'service-presto-01'")


def test_every_new_setting_is_documented_with_default_and_risk():
    doc = (ROOT / "docs" / "security.md").read_text()
    for key in (
        "bootstrap_writers",
        "bootstrap_kms",
        "require_imdsv2",
        "local_disk_encryption",
        "in_transit_encryption.pem_certificates",
        "open_uis",
        "acknowledge_yarn_resourcemanager_risk",
        "data",
        "glue_databases",
        "glue_write",
    ):
        row = next((line for line in doc.splitlines() if line.startswith(f"| `{key}`")), None)
        assert row is not None, f"{key} has no row in docs/security.md's settings table"
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 4 and all(cells), f"{key}: a row gives key, default, what it does, risk"
