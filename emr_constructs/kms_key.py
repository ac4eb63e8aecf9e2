"""CustomerManagedKey: a customer-managed KMS key with an alias (foundation stack).

Used for EMR local-disk and EBS encryption of the cluster nodes (the security
configuration's ``LocalDiskEncryptionConfiguration``, which takes a key ARN and cannot use
an AWS managed key) and, as an option, for the bootstrap-assets bucket.

The key policy is KMS's default one written out: it delegates every use of the key to IAM
policies of this account, so that the purpose stacks grant exactly the roles that need
the key (instance roles: data keys for the disks; service roles: grants for EBS), in
their own IAM policies. Rotation is on (yearly). The purpose stacks find the key by its
alias (a data source), so stacks stay independent of each other's state.
"""

from __future__ import annotations

import json
import re

from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from emr_constructs.iam_roles import partition_of
from emr_constructs.model.errors import ConstructInputError

_ALIAS = re.compile(r"^alias/(?!aws/)[A-Za-z0-9/_-]{1,250}$")
_ACCOUNT = re.compile(r"^[0-9]{12}$", re.ASCII)


def default_key_policy(account_id: str, partition: str) -> str:
    """KMS's default key policy: the account's IAM policies decide who uses the key."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DelegateKeyUseToIamPoliciesOfThisAccount",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        },
        sort_keys=True,
    )


class CustomerManagedKey(Construct):
    """Inputs (keyword-only):
      alias: ``alias/<name>`` (required; not ``alias/aws/...``, which AWS reserves). The
        purpose stacks look the key up by it, so renaming it breaks their lookup.
      description: what the key encrypts (required).
      account_id, region: the key's account and region (required; the key policy).
      deletion_window_days: days a deleted key can still be recovered, 7-30; default 30.

    Attributes: ``key_arn`` (token), ``alias_name``, ``key`` (the KmsKey resource).
    Raises ConstructInputError listing every problem before anything is created.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        alias: str,
        description: str,
        account_id: str,
        region: str,
        deletion_window_days: int = 30,
    ) -> None:
        problems = []
        if not isinstance(alias, str) or not _ALIAS.fullmatch(alias):
            problems.append(
                f"alias = {alias!r}: alias/ followed by letters, digits, '/', '_' or '-' "
                "(not alias/aws/, which AWS reserves)"
            )
        if not isinstance(description, str) or not description.strip():
            problems.append(f"description = {description!r}: say what the key encrypts")
        if not isinstance(account_id, str) or not _ACCOUNT.fullmatch(account_id):
            problems.append(f"account_id = {account_id!r}: twelve digits")
        if (
            isinstance(deletion_window_days, bool)
            or not isinstance(deletion_window_days, int)
            or not 7 <= deletion_window_days <= 30
        ):
            problems.append(f"deletion_window_days = {deletion_window_days!r}: a whole number from 7 to 30")
        if problems:
            raise ConstructInputError(f"CustomerManagedKey {id!r}", problems)
        super().__init__(scope, id)
        self.key = KmsKey(
            self,
            "key",
            description=description,
            enable_key_rotation=True,
            deletion_window_in_days=deletion_window_days,
            policy=default_key_policy(account_id, partition_of(region)),
        )
        KmsAlias(self, "alias", name=alias, target_key_id=self.key.key_id)
        self.alias_name = alias
        self.key_arn: str = self.key.arn
