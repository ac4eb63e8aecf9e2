"""Purpose stacks: one stack per cluster purpose (guide tip T3 splits clusters by purpose).

``spark-batch``, ``spark-stream`` and ``service-presto``. Each owns its clusters, security
groups and roles, so deploying one purpose never touches another.

Security groups (tips T0-T2): the web UIs of each purpose open to the office CIDRs
(Spark History 18080 and YARN ResourceManager 8088 on the Spark stacks, Trino/Presto 8889
on service-presto), SSH 22 only to the admin CIDRs; all on master-additional.

Roles (tip T0): the instance role writes logs under ``s3://<logs>/emr/<purpose>/``, reads
bootstrap scripts under ``s3://<bootstrap-assets>/bootstrap/<purpose>/``, reads and writes
the data bucket, and puts CloudWatch metrics; clusters add their own grants. The
autoscaling role exists only where clusters may carry custom automatic scaling policies:
the frozen clusters of spark-batch and service-presto, whose scaling rules operators edit
in the console (the role is fixed at cluster creation, so it must exist beforehand).
spark-stream runs a fixed-size cluster; EMR managed scaling needs no such role.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from constructs import Construct

from emr_constructs.bootstrap_assets import BootstrapAssets
from emr_constructs.emr_cluster import ClusterSpec, EmrCluster
from emr_constructs.fixed_ip import ReservedIpHolder
from emr_constructs.iam_roles import EmrRoles
from emr_constructs.security_configuration import EmrSecurityConfiguration
from emr_constructs.security_groups import EmrSecurityGroups, IngressRule
from environments.settings import Settings
from stacks.base import EmrBaseStack
from stacks.clusters import CLUSTERS, ClusterDefinition
from stacks.foundation import fixed_ip_reservation_name

SPARK_BATCH = "spark-batch"
SPARK_STREAM = "spark-stream"
SERVICE_PRESTO = "service-presto"
PURPOSES = (SPARK_BATCH, SPARK_STREAM, SERVICE_PRESTO)
BOOTSTRAP_DIR = Path(__file__).resolve().parent.parent / "assets" / "bootstrap"
FIXED_IP_SCRIPT = "assign_private_ip.py"
TAG_SCRIPT = "tag_instance_role.py"

SSH_PORT = 22
# (description, port) of the web UIs people open from the office, per purpose.
WEB_UIS: dict[str, tuple[tuple[str, int], ...]] = {
    SPARK_BATCH: (("Spark History Server UI", 18080), ("YARN ResourceManager UI", 8088)),
    SPARK_STREAM: (("Spark History Server UI", 18080), ("YARN ResourceManager UI", 8088)),
    SERVICE_PRESTO: (("Trino/Presto coordinator", 8889),),
}
# Purposes whose clusters may carry custom automatic scaling policies (see module docstring).
AUTOSCALING_PURPOSES = frozenset({SPARK_BATCH, SERVICE_PRESTO})


def people_rules(purpose: str, settings: Settings) -> tuple[IngressRule, ...]:
    """Inbound rules for people into master-additional (tip T2)."""
    rules = [
        IngressRule(f"{ui} from the office", port, cidr=cidr)
        for ui, port in WEB_UIS[purpose] for cidr in settings.office_cidrs
    ]
    rules += [IngressRule("SSH from the admins", SSH_PORT, cidr=cidr) for cidr in settings.admin_cidrs]
    return tuple(rules)


class PurposeStack(EmrBaseStack):
    def __init__(
        self,
        scope: Construct,
        purpose: str,
        *,
        settings: Settings,
        clusters: Sequence[ClusterDefinition] | None = None,
    ) -> None:
        """``clusters``: the cluster definitions to build (default: this purpose's entry in
        ``stacks.clusters.CLUSTERS``; tests pass variants)."""
        if purpose not in PURPOSES:
            raise ValueError(f"purpose = {purpose!r}: allowed purposes are {', '.join(PURPOSES)}")
        super().__init__(scope, purpose, settings=settings)
        self.purpose = purpose
        name_prefix = f"{settings.name}-{purpose}"
        self.security_groups = EmrSecurityGroups(
            self, "security-groups",
            vpc_id=settings.vpc_id, name_prefix=name_prefix,
            master_ingress=people_rules(purpose, settings),
        )
        self.roles = EmrRoles(
            self, "roles",
            name_prefix=name_prefix, account_id=settings.account_id, region=settings.region,
            autoscaling=purpose in AUTOSCALING_PURPOSES,
        )
        buckets = settings.buckets
        # Every bootstrap script, uploaded under this purpose's prefix (tips T4, tags).
        self.bootstrap = BootstrapAssets(
            self, "bootstrap-assets",
            directory=BOOTSTRAP_DIR, bucket_name=buckets.bootstrap_assets, purpose=purpose,
        )
        # The one place the stack's prefixes are spelled: clusters log under log_prefix,
        # and the scripts' folder is the one BootstrapAssets uploads to.
        self.log_prefix = f"emr/{purpose}/"
        self.bootstrap_prefix = self.bootstrap.prefix
        self.roles.grant_log_write(buckets.logs, self.log_prefix)
        self.roles.grant_bootstrap_read(buckets.bootstrap_assets, self.bootstrap_prefix)
        self.roles.grant_read_write(buckets.data)
        self.roles.grant_put_metric_data()

        # Encryption at rest for EMRFS writes, shared by the stack's clusters.
        self.security_configuration = EmrSecurityConfiguration(
            self, "security-configuration", name=f"{name_prefix}-emr")
        self._reservation_holder: ReservedIpHolder | None = None
        self.clusters: dict[str, EmrCluster] = {}
        for define in CLUSTERS[purpose] if clusters is None else clusters:
            define(self)

    def add_cluster(self, spec: ClusterSpec, *, tag_node_roles: bool = True) -> EmrCluster:
        """Build one named cluster with its security groups, roles and log bucket (tip T3:
        one construct per named cluster).

        A cluster named in the environment's ``fixed_ips.masters`` runs in the
        reservation's subnet and its master takes that address at bootstrap (tip T4);
        other clusters run in the first private subnet. ``tag_node_roles`` (default on)
        suffixes each node's Name tag with its role.
        """
        settings = self.settings
        fixed_ip = settings.fixed_ip_of(spec.name)
        subnet_id = settings.fixed_ips.subnet_id if fixed_ip else settings.subnet(0).id
        cluster = EmrCluster(
            self, spec=spec, purpose=self.purpose,
            subnet_id=subnet_id,
            security_groups=self.security_groups, roles=self.roles,
            log_bucket=settings.buckets.logs, log_prefix=self.log_prefix,
            security_configuration=self.security_configuration.name,
        )
        if fixed_ip:
            args = ["--ip", fixed_ip]
            if settings.fixed_ips.mode == "eni":
                args += ["--reservation-eni", self._reservation_interface()]
            cluster.use_fixed_ip(
                ip=fixed_ip, action=self.bootstrap.action(FIXED_IP_SCRIPT, args=args),
                region=settings.region, account_id=settings.account_id, subnet_id=subnet_id,
            )
        if tag_node_roles:
            cluster.tag_nodes_with_role(
                action=self.bootstrap.action(TAG_SCRIPT), region=settings.region, account_id=settings.account_id)
        self.clusters[spec.name] = cluster
        return cluster

    def _reservation_interface(self) -> str:
        if self._reservation_holder is None:
            self._reservation_holder = ReservedIpHolder(
                self, "fixed-ip-reservation",
                name=fixed_ip_reservation_name(self.settings), subnet_id=self.settings.fixed_ips.subnet_id)
        return self._reservation_holder.network_interface_id
