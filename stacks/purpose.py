"""Purpose stacks: one stack per declared purpose (guide tip T3 splits clusters by purpose).

What each purpose is (its clusters, web UIs, autoscaling need and data access) is declared
once, in ``stacks.clusters.PURPOSE_DECLARATIONS`` (``stacks.declaration.Purpose``); this
module builds a stack from a declaration. Each stack owns its clusters, security groups
and roles, so deploying one purpose never touches another.

Security groups (tips T0-T2): the purpose's web UIs open to the office CIDRs, SSH 22 only
to the admin CIDRs; all on master-additional.

Roles (tip T0): the instance role writes logs under ``s3://<logs>/emr/<purpose>/``, reads
bootstrap scripts under ``s3://<bootstrap-assets>/bootstrap/<purpose>/``, has the
purpose's declared access to the data bucket, and puts CloudWatch metrics; clusters add
their own grants. The autoscaling role exists only for purposes that declare
``autoscaling=True``: clusters whose custom automatic scaling rules operators edit in the
console (the role is fixed at cluster creation, so it must exist beforehand).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from constructs import Construct

from emr_constructs.bootstrap_assets import BootstrapAssets
from emr_constructs.cluster_spec import ClusterSpec
from emr_constructs.emr_cluster import EmrCluster
from emr_constructs.fixed_ip import ReservedIpHolder, use_fixed_ip
from emr_constructs.iam_roles import EmrRoles
from emr_constructs.node_role_tags import tag_nodes_with_role
from emr_constructs.security_configuration import EmrSecurityConfiguration
from emr_constructs.security_groups import EmrSecurityGroups, IngressRule
from environments.settings import Settings
from stacks.base import EmrBaseStack
from stacks.clusters import PURPOSE_DECLARATIONS, ClusterDefinition
from stacks.declaration import (
    DATA_NONE,
    DATA_READ,
    SSH_PORT,
    DataAccess,
    Purpose,
    PurposeError,
    WebUi,
    check_purposes,
    find_purpose,
)
from stacks.foundation import fixed_ip_reservation_name

SPARK_BATCH = "spark-batch"
SPARK_STREAM = "spark-stream"
SERVICE_PRESTO = "service-presto"
# Names of the declared purposes, i.e. of the purpose stacks (derived, never edited here).
PURPOSES: tuple[str, ...] = tuple(str(p.name) for p in PURPOSE_DECLARATIONS)  # checked: every name is set
# Purposes whose clusters may carry custom automatic scaling policies (derived).
AUTOSCALING_PURPOSES = frozenset(p.name for p in PURPOSE_DECLARATIONS if p.autoscaling)
BOOTSTRAP_DIR = Path(__file__).resolve().parent.parent / "assets" / "bootstrap"
FIXED_IP_SCRIPT = "assign_private_ip.py"
TAG_SCRIPT = "tag_instance_role.py"


def people_rules(web_uis: Sequence[WebUi], settings: Settings) -> tuple[IngressRule, ...]:
    """Inbound rules for people into master-additional (tip T2)."""
    rules = [
        IngressRule(f"{ui.description} from the office", ui.port, cidr=cidr)
        for ui in web_uis for cidr in settings.office_cidrs
    ]
    rules += [IngressRule("SSH from the admins", SSH_PORT, cidr=cidr) for cidr in settings.admin_cidrs]
    return tuple(rules)


class PurposeStack(EmrBaseStack):
    def __init__(
        self,
        scope: Construct,
        purpose: str | Purpose,
        *,
        settings: Settings,
        clusters: Sequence[ClusterDefinition] | None = None,
    ) -> None:
        """``purpose``: a declared purpose's name, or a ``Purpose`` (checked here).
        ``clusters``: the cluster definitions to build (default: the declaration's; tests
        pass variants)."""
        if isinstance(purpose, Purpose):
            check_purposes((purpose,))
            declaration = purpose
        else:
            declaration = find_purpose(PURPOSE_DECLARATIONS, purpose)
        # The checks above refuse a declaration with a field left out; narrowed here as well
        # so nothing below depends on that order.
        name, web_uis, data_access = declaration.name, declaration.web_uis, declaration.data_access
        autoscaling, declared_clusters = declaration.autoscaling, declaration.clusters
        if name is None or web_uis is None or data_access is None or autoscaling is None or declared_clusters is None:
            raise PurposeError("PurposeStack", [f"{declaration!r}: name, clusters, web_uis, autoscaling and "
                                                "data_access are all required"])
        super().__init__(scope, name, settings=settings)
        self.declaration = declaration
        self.purpose = name
        # What this stack opens and grants: the declaration's defaults.
        self.web_uis: tuple[WebUi, ...] = tuple(web_uis)
        self.data_access: DataAccess = data_access
        name_prefix = f"{settings.name}-{self.purpose}"
        self.security_groups = EmrSecurityGroups(
            self, "security-groups",
            vpc_id=settings.vpc_id, name_prefix=name_prefix,
            master_ingress=people_rules(self.web_uis, settings),
            allow_public_sources=settings.allow_public_cidrs,
        )
        self.roles = EmrRoles(
            self, "roles",
            name_prefix=name_prefix, account_id=settings.account_id, region=settings.region,
            autoscaling=autoscaling,
        )
        buckets = settings.buckets
        # Every bootstrap script, uploaded under this purpose's prefix (tips T4, tags).
        self.bootstrap = BootstrapAssets(
            self, "bootstrap-assets",
            directory=BOOTSTRAP_DIR, bucket_name=buckets.bootstrap_assets, purpose=self.purpose,
        )
        # The one place the stack's prefixes are spelled: clusters log under log_prefix,
        # and the scripts' folder is the one BootstrapAssets uploads to.
        self.log_prefix = f"emr/{self.purpose}/"
        self.bootstrap_prefix = self.bootstrap.prefix
        self.roles.grant_log_write(buckets.logs, self.log_prefix)
        self.roles.grant_bootstrap_read(buckets.bootstrap_assets, self.bootstrap_prefix)
        self._grant_data_access(buckets.data)
        self.roles.grant_put_metric_data()

        # Encryption at rest for EMRFS writes, shared by the stack's clusters.
        self.security_configuration = EmrSecurityConfiguration(
            self, "security-configuration", name=f"{name_prefix}-emr")
        self._reservation_holder: ReservedIpHolder | None = None
        self.clusters: dict[str, EmrCluster] = {}
        for define in declared_clusters if clusters is None else clusters:
            define(self)

    def _grant_data_access(self, bucket: str) -> None:
        access = self.data_access
        if access.mode == DATA_NONE:
            return
        grant = self.roles.grant_read if access.mode == DATA_READ else self.roles.grant_read_write
        for prefix in access.prefixes:
            grant(bucket, prefix)

    def add_cluster(self, spec: ClusterSpec, *, tag_node_roles: bool = True) -> EmrCluster:
        """Build one named cluster with its security groups, roles and log bucket (tip T3:
        one construct per named cluster).

        A cluster named in the environment's ``fixed_ips.masters`` runs in the
        reservation's subnet and its master takes that address at bootstrap (tip T4);
        other clusters run in the first private subnet. ``tag_node_roles`` (default on)
        suffixes each node's Name tag with its role.
        """
        settings = self.settings
        fixed_ips = settings.fixed_ips
        fixed_ip = settings.fixed_ip_of(spec.name)
        subnet_id = fixed_ips.subnet_id if fixed_ips and fixed_ip else settings.subnet(0).id
        cluster = EmrCluster(
            self, spec=spec, purpose=self.purpose,
            subnet_id=subnet_id,
            security_groups=self.security_groups, roles=self.roles,
            log_bucket=settings.buckets.logs, log_prefix=self.log_prefix,
            security_configuration=self.security_configuration.name,
        )
        if fixed_ips and fixed_ip:
            args = ["--ip", fixed_ip]
            reservation_eni = self._reservation_interface(fixed_ips.subnet_id) if fixed_ips.mode == "eni" else None
            if reservation_eni:
                args += ["--reservation-eni", reservation_eni]
            use_fixed_ip(
                cluster, ip=fixed_ip, action=self.bootstrap.action(FIXED_IP_SCRIPT, args=args),
                region=settings.region, account_id=settings.account_id, subnet_id=subnet_id,
                reservation_eni=reservation_eni,
            )
        if tag_node_roles:
            tag_nodes_with_role(
                cluster, action=self.bootstrap.action(TAG_SCRIPT), region=settings.region, account_id=settings.account_id)
        self.clusters[spec.name] = cluster
        return cluster

    def _reservation_interface(self, subnet_id: str) -> str:
        if self._reservation_holder is None:
            self._reservation_holder = ReservedIpHolder(
                self, "fixed-ip-reservation",
                name=fixed_ip_reservation_name(self.settings), subnet_id=subnet_id)
        return self._reservation_holder.network_interface_id
