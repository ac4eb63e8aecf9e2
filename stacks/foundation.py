"""Foundation stack: long-lived things that outlive every cluster.

- The bootstrap-assets bucket (scripts that run on EMR nodes): writable only by the
  deploying principals the environment names (``security.bootstrap_writers``), ACLs
  disabled, optionally under a customer-managed KMS key (``security.bootstrap_kms``).
- The ``for-use-with-amazon-emr-managed-policies = true`` tag on every private subnet of
  the environment, without which AmazonEMRServicePolicy_v2 denies EMR launching
  instances there (see ``emr_constructs.subnet_tags``; guide tip T0).
- The customer-managed KMS key for local-disk and EBS encryption of cluster nodes
  (``security.local_disk_encryption``, on by default).
- The private-IP reservation for the masters (guide tip T4).

Purpose stacks find the keys by alias (``*_key_alias`` below), never through this stack's
state.
"""

from __future__ import annotations

from constructs import Construct

from emr_constructs.assets_bucket import AssetsBucket
from emr_constructs.fixed_ip import FixedIp, FixedIpReservation
from emr_constructs.kms_key import CustomerManagedKey
from emr_constructs.model.contract import FOUNDATION
from emr_constructs.subnet_tags import EmrManagedPolicySubnetTags
from environments.settings import Settings
from stacks.base import EmrBaseStack


def fixed_ip_reservation_name(settings: Settings) -> str:
    """Name (and lookup tag) of the masters' IP reservation; purpose stacks find it by this."""
    return f"{settings.name}-emr-masters"


def local_disk_key_alias(settings: Settings) -> str:
    """Alias of the key that encrypts cluster nodes' disks; purpose stacks look it up."""
    return f"alias/{settings.name}-emr-local-disk"


def bootstrap_key_alias(settings: Settings) -> str:
    """Alias of the bootstrap bucket's customer-managed key (``bootstrap_kms``)."""
    return f"alias/{settings.name}-emr-bootstrap-assets"


class FoundationStack(EmrBaseStack):
    def __init__(self, scope: Construct, *, settings: Settings) -> None:
        super().__init__(scope, FOUNDATION, settings=settings)
        security = settings.security
        self.bootstrap_key: CustomerManagedKey | None = None
        if security.bootstrap_kms == "customer-managed":
            self.bootstrap_key = CustomerManagedKey(
                self,
                "bootstrap-assets-key",
                alias=bootstrap_key_alias(settings),
                description=f"{settings.name}: EMR bootstrap scripts (bucket {settings.buckets.bootstrap_assets})",
                account_id=settings.account_id,
                region=settings.region,
            )
        self.assets_bucket = AssetsBucket(
            self,
            "bootstrap-assets",
            bucket_name=settings.buckets.bootstrap_assets,
            access_log_bucket=settings.buckets.logs,
            writers=security.bootstrap_writers,
            kms_key_arn=self.bootstrap_key.key_arn if self.bootstrap_key else None,
        )
        self.subnet_tags = EmrManagedPolicySubnetTags(
            self, "emr-managed-policy-subnet-tags", subnet_ids=[s.id for s in settings.private_subnets]
        )
        self.local_disk_key: CustomerManagedKey | None = None
        if security.local_disk_encryption:
            self.local_disk_key = CustomerManagedKey(
                self,
                "local-disk-key",
                alias=local_disk_key_alias(settings),
                description=f"{settings.name}: EMR cluster nodes' local disks and EBS volumes",
                account_id=settings.account_id,
                region=settings.region,
            )
        self.fixed_ips: FixedIpReservation | None = None
        if settings.fixed_ips:
            fixed = settings.fixed_ips
            self.fixed_ips = FixedIpReservation(
                self,
                "master-fixed-ips",
                subnet_id=fixed.subnet_id,
                subnet_cidr=settings.subnet_by_id(fixed.subnet_id).cidr,
                assignments=[FixedIp(cluster=c, ip=ip) for c, ip in fixed.masters],
                mode=fixed.mode,
                block=fixed.block,
                name=fixed_ip_reservation_name(settings),
            )
