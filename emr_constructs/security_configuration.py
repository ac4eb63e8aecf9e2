"""EmrSecurityConfiguration: the EMR security configuration a purpose stack's clusters share.

Encryption at rest for what EMRFS writes to S3 (``SSE-S3`` by default, or ``SSE-KMS`` with a
key), so data written by a cluster is encrypted whatever the target bucket's default is.
In-transit encryption needs a TLS certificate bundle per environment and local-disk
encryption a customer-managed KMS key; both are left for when the environment provides
them (the inputs are not offered rather than half-implemented).

The configuration is immutable in EMR: any change replaces it, and a cluster's
``security_configuration`` forces a new cluster. The JSON is written deterministically
(sorted keys) so an unchanged configuration never shows a diff.
"""

from __future__ import annotations

import json
import re

from cdktf_cdktf_provider_aws.emr_security_configuration import EmrSecurityConfiguration as _Resource
from constructs import Construct

from emr_constructs.errors import EmrConfigError

S3_MODES = ("SSE-S3", "SSE-KMS")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$", re.ASCII)


def security_configuration_json(s3_mode: str = "SSE-S3", kms_key_arn: str | None = None) -> str:
    s3: dict = {"EncryptionMode": s3_mode}
    if kms_key_arn:
        s3["AwsKmsKey"] = kms_key_arn
    doc = {"EncryptionConfiguration": {
        "EnableAtRestEncryption": True,
        "EnableInTransitEncryption": False,
        "AtRestEncryptionConfiguration": {"S3EncryptionConfiguration": s3},
    }}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


class EmrSecurityConfiguration(Construct):
    """Inputs (keyword-only):
      name: the configuration's name (required; letters, digits, ``_.-``); clusters refer
        to it by name, so renaming replaces every cluster using it.
      s3_encryption: ``SSE-S3`` (default) or ``SSE-KMS``.
      kms_key_arn: the key for ``SSE-KMS`` (required then, refused otherwise).

    Attributes: ``name`` (token: clusters depend on the configuration), ``resource``.
    """

    def __init__(self, scope: Construct, id: str, *, name: str, s3_encryption: str = "SSE-S3",
                 kms_key_arn: str | None = None) -> None:
        problems = []
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            problems.append(f"name = {name!r}: letters, digits, '_', '.', '-', at most 255 characters")
        if s3_encryption not in S3_MODES:
            problems.append(f"s3_encryption = {s3_encryption!r}: allowed {', '.join(S3_MODES)}")
        elif (s3_encryption == "SSE-KMS") != bool(kms_key_arn):
            problems.append(f"kms_key_arn = {kms_key_arn!r}: required with SSE-KMS and only with it")
        if problems:
            raise EmrConfigError(f"EmrSecurityConfiguration {id!r}", problems)
        super().__init__(scope, id)
        self.resource = _Resource(self, "configuration", name=name,
                                  configuration=security_configuration_json(s3_encryption, kms_key_arn))
        self.name: str = self.resource.name
