"""EmrSecurityConfiguration: the EMR security configuration a purpose stack's clusters share.

What it sets (AWS EMR Management Guide, "Create a security configuration"):

- Encryption at rest for what EMRFS writes to S3: ``SSE-S3`` by default, or ``SSE-KMS``
  with a key, so data a cluster writes is encrypted whatever the target bucket's default.
- Local-disk encryption (``local_disk_key_arn``): instance-store and EBS data volumes are
  encrypted with LUKS under a customer-managed KMS key, and ``EnableEbsEncryption`` also
  encrypts the EBS volumes themselves, root volume included (emr-5.24.0 and later). The
  instance role needs data keys from the key, the service role grants for EBS.
- In-transit encryption (``in_transit_pem_certificates``, an option): TLS between the
  applications' nodes, with certificates from a zip of PEM files on S3 (``privateKey.pem``,
  ``certificateChain.pem``, ``trustedCertificates.pem``), EMR's ``PEM`` certificate provider.
- IMDSv2 required on every node (``require_imdsv2``): ``InstanceMetadataServiceConfiguration``
  with ``MinimumInstanceMetadataServiceVersion = 2`` and a PUT response hop limit of 1, so
  a container or a forwarded request on a node cannot read the instance role's
  credentials through IMDSv1. EMR's own components use IMDSv2 only from emr-5.32.0 and
  emr-6.2.0, and in the point releases emr-5.23.1 and emr-5.27.1 (AWS "What's new",
  2021-03-30, "Amazon EMR now supports Amazon EC2 Instance Metadata Service v2"); every
  emr-7.x release does. ``imdsv2_supported(release_label)`` says which releases may
  require it; the purpose stack gives clusters of older releases a configuration
  without the requirement.

The configuration is immutable in EMR: any change replaces the resource, and clusters
keep the configuration they were created with until they are replaced themselves. The
JSON is written deterministically (sorted keys) so an unchanged configuration never
shows a diff.
"""

from __future__ import annotations

import json
import re

from cdktf import Token
from cdktf_cdktf_provider_aws.emr_security_configuration import EmrSecurityConfiguration as _Resource
from constructs import Construct

from emr_constructs.model import validation
from emr_constructs.model.errors import EmrConfigError

S3_MODES = ("SSE-S3", "SSE-KMS")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$", re.ASCII)
_RELEASE = re.compile(r"^emr-([0-9]+)\.([0-9]+)\.([0-9]+)$", re.ASCII)


def imdsv2_supported(release_label: str) -> bool:
    """True when the release's EMR components use IMDSv2 only, so the nodes may require it:
    emr-7.x, emr-6.2.0 and later, emr-5.32.0 and later, and the point releases emr-5.23.1+
    and emr-5.27.1+ of their series. False for anything else, including labels that are not
    ``emr-X.Y.Z``."""
    match = _RELEASE.fullmatch(release_label or "")
    if not match:
        return False
    major, minor, patch = (int(g) for g in match.groups())
    if major >= 7:
        return True
    if major == 6:
        return (minor, patch) >= (2, 0)
    if major == 5:
        return minor >= 32 or (minor in (23, 27) and patch >= 1)
    return False


def security_configuration_json(
    s3_mode: str = "SSE-S3",
    kms_key_arn: str | None = None,
    *,
    local_disk_key_arn: str | None = None,
    in_transit_pem_certificates: str | None = None,
    require_imdsv2: bool = False,
) -> str:
    s3: dict = {"EncryptionMode": s3_mode}
    if kms_key_arn:
        s3["AwsKmsKey"] = kms_key_arn
    at_rest: dict = {"S3EncryptionConfiguration": s3}
    if local_disk_key_arn:
        at_rest["LocalDiskEncryptionConfiguration"] = {
            "AwsKmsKey": local_disk_key_arn,
            "EnableEbsEncryption": True,
            "EncryptionKeyProviderType": "AwsKms",
        }
    encryption: dict = {
        "EnableAtRestEncryption": True,
        "EnableInTransitEncryption": bool(in_transit_pem_certificates),
        "AtRestEncryptionConfiguration": at_rest,
    }
    if in_transit_pem_certificates:
        encryption["InTransitEncryptionConfiguration"] = {
            "TLSCertificateConfiguration": {"CertificateProviderType": "PEM", "S3Object": in_transit_pem_certificates}
        }
    doc: dict = {"EncryptionConfiguration": encryption}
    if require_imdsv2:
        doc["InstanceMetadataServiceConfiguration"] = {
            "HttpPutResponseHopLimit": 1,
            "MinimumInstanceMetadataServiceVersion": 2,
        }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


class EmrSecurityConfiguration(Construct):
    """Inputs (keyword-only):
      name: the configuration's name (required; letters, digits, ``_.-``); clusters refer
        to it by name, so renaming replaces every cluster using it.
      s3_encryption: ``SSE-S3`` (default) or ``SSE-KMS``.
      kms_key_arn: the key for ``SSE-KMS`` (required then, refused otherwise).
      local_disk_key_arn: a customer-managed KMS key ARN (or a token) for local-disk and
        EBS encryption; default None (nodes' disks are not encrypted by EMR).
      in_transit_pem_certificates: ``s3://bucket/key.zip`` of PEM certificates for TLS
        between nodes; default None (in-transit encryption off).
      require_imdsv2: require IMDSv2 on every node; default False here (the purpose
        stacks pass True for releases where ``imdsv2_supported``).

    Attributes: ``name`` (token: clusters depend on the configuration), ``resource``,
    ``require_imdsv2``, ``local_disk_key_arn``, ``in_transit_pem_certificates``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        s3_encryption: str = "SSE-S3",
        kms_key_arn: str | None = None,
        local_disk_key_arn: str | None = None,
        in_transit_pem_certificates: str | None = None,
        require_imdsv2: bool = False,
    ) -> None:
        problems = []
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            problems.append(f"name = {name!r}: letters, digits, '_', '.', '-', at most 255 characters")
        if s3_encryption not in S3_MODES:
            problems.append(f"s3_encryption = {s3_encryption!r}: allowed {', '.join(S3_MODES)}")
        elif (s3_encryption == "SSE-KMS") != bool(kms_key_arn):
            problems.append(f"kms_key_arn = {kms_key_arn!r}: required with SSE-KMS and only with it")
        if local_disk_key_arn is not None and not (
            isinstance(local_disk_key_arn, str)
            and (Token.is_unresolved(local_disk_key_arn) or validation.KMS_KEY_ARN.fullmatch(local_disk_key_arn))
        ):
            problems.append(
                f"local_disk_key_arn = {local_disk_key_arn!r}: the ARN of a customer-managed KMS key "
                "(arn:aws:kms:<region>:<account>:key/<id>); AWS managed keys cannot be used"
            )
        if in_transit_pem_certificates is not None and not (
            isinstance(in_transit_pem_certificates, str) and validation.PEM_ZIP.fullmatch(in_transit_pem_certificates)
        ):
            problems.append(
                f"in_transit_pem_certificates = {in_transit_pem_certificates!r}: an S3 URI of a zip "
                "of PEM files, e.g. s3://example-emr-certificates/emr/certificates.zip"
            )
        if not isinstance(require_imdsv2, bool):
            problems.append(f"require_imdsv2 = {require_imdsv2!r}: True or False")
        if problems:
            raise EmrConfigError(f"EmrSecurityConfiguration {id!r}", problems)
        super().__init__(scope, id)
        self.require_imdsv2 = require_imdsv2
        self.local_disk_key_arn = local_disk_key_arn
        self.in_transit_pem_certificates = in_transit_pem_certificates
        self.resource = _Resource(
            self,
            "configuration",
            name=name,
            configuration=security_configuration_json(
                s3_encryption,
                kms_key_arn,
                local_disk_key_arn=local_disk_key_arn,
                in_transit_pem_certificates=in_transit_pem_certificates,
                require_imdsv2=require_imdsv2,
            ),
        )
        self.name: str = self.resource.name
