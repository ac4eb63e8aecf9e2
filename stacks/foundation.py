"""Foundation stack: long-lived things that outlive every cluster.

The bootstrap-assets bucket (scripts that run on EMR nodes) and, with the fixed-IP issue,
the private-IP reservation for the masters (guide tip T4).
"""

from __future__ import annotations

from constructs import Construct

from emr_constructs.assets_bucket import AssetsBucket
from emr_constructs.fixed_ip import FixedIp, FixedIpReservation
from environments.settings import Settings
from stacks.base import EmrBaseStack

FOUNDATION = "foundation"


def fixed_ip_reservation_name(settings: Settings) -> str:
    """Name (and lookup tag) of the masters' IP reservation; purpose stacks find it by this."""
    return f"{settings.name}-emr-masters"


class FoundationStack(EmrBaseStack):
    def __init__(self, scope: Construct, *, settings: Settings) -> None:
        super().__init__(scope, FOUNDATION, settings=settings)
        self.assets_bucket = AssetsBucket(
            self, "bootstrap-assets",
            bucket_name=settings.buckets.bootstrap_assets,
            access_log_bucket=settings.buckets.logs,
        )
        self.fixed_ips: FixedIpReservation | None = None
        if settings.fixed_ips:
            fixed = settings.fixed_ips
            self.fixed_ips = FixedIpReservation(
                self, "master-fixed-ips",
                subnet_id=fixed.subnet_id,
                subnet_cidr=settings.subnet_by_id(fixed.subnet_id).cidr,
                assignments=[FixedIp(cluster=c, ip=ip) for c, ip in fixed.masters],
                mode=fixed.mode,
                block=fixed.block,
                name=fixed_ip_reservation_name(settings),
            )
