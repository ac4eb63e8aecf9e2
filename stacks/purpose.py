"""Purpose stacks: one stack per declared purpose (guide tip T3 splits clusters by purpose).

What each purpose is (its clusters, web UIs, autoscaling need and data access) is declared
once, in ``stacks.clusters.PURPOSE_DECLARATIONS`` (``stacks.declaration.Purpose``); this
module builds a stack from the declaration it is given (it never imports the declarations,
so ``stacks.clusters`` can name ``PurposeStack`` in its types without an import cycle). Each stack owns its clusters, security groups
and roles, so deploying one purpose never touches another.

Security groups (tips T0-T2): SSH 22 only from the admin CIDRs, on master-additional. No
web UI port is open unless the environment opens one of the purpose's declared UIs
(``[purposes.<purpose>] open_uis``, to the office CIDRs); people reach the UIs through SSH
or SSM port forwarding (docs/security.md). YARN ResourceManager 8088 also needs
``acknowledge_yarn_resourcemanager_risk`` (checked in the settings).

Roles (tip T0): the instance role writes logs under ``s3://<logs>/emr/<purpose>/``, reads
bootstrap scripts under ``s3://<bootstrap-assets>/bootstrap/<purpose>/``, gets the data
bucket prefixes the environment names for the purpose (``[[purposes.<purpose>.data]]``,
never ``s3:DeleteObject`` unless an entry asks for it; without entries, the purpose's
declared access, again without delete), the Glue databases the environment names
(read-only unless ``glue_write``), and the KMS keys of the security settings; clusters
add their own grants. Nothing gets ``cloudwatch:PutMetricData``: nothing publishes
metrics. The autoscaling role exists only for purposes that declare
``autoscaling=True``: clusters whose custom automatic scaling rules operators edit in the
console (the role is fixed at cluster creation, so it must exist beforehand).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from cdktf_cdktf_provider_aws.data_aws_kms_alias import DataAwsKmsAlias
from constructs import Construct

from emr_constructs.bootstrap_assets import BootstrapAssets
from emr_constructs.emr_cluster import EmrCluster
from emr_constructs.fixed_ip import ReservedIpHolder, use_fixed_ip
from emr_constructs.iam_roles import EmrRoles
from emr_constructs.model.cluster_spec import ClusterSpec
from emr_constructs.model.errors import ConstructInputError
from emr_constructs.model.fleet_spec import ClusterSubnet
from emr_constructs.node_role_tags import tag_nodes_with_role
from emr_constructs.security_configuration import EmrSecurityConfiguration, imdsv2_supported
from emr_constructs.security_groups import EmrSecurityGroups, IngressRule
from environments.schema import READ_ONLY
from environments.settings import PrefixAccess, Settings
from stacks.base import EmrBaseStack
from stacks.declaration import (
    DATA_NONE,
    SSH_PORT,
    DataAccess,
    Purpose,
    PurposeError,
    WebUi,
    check_purposes,
)
from stacks.foundation import bootstrap_key_alias, fixed_ip_reservation_name, local_disk_key_alias

BOOTSTRAP_DIR = Path(__file__).resolve().parent.parent / "assets" / "bootstrap"
FIXED_IP_SCRIPT = "assign_private_ip.py"
TAG_SCRIPT = "tag_instance_role.py"
# What the instance role does with the local-disk key: EMR's LUKS set-up asks KMS for data
# keys and decrypts them on every boot (AWS EMR Management Guide, "Providing keys for
# encrypting data at rest": the instance profile is a key user).
LOCAL_DISK_KEY_ACTIONS = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)
# Hive connector classifications whose ``hive.metastore = glue`` makes the cluster a Glue
# metastore client.
_GLUE_METASTORE_CLASSIFICATIONS = ("trino-connector-hive", "presto-connector-hive")
# A cluster definition (stacks/clusters.py): builds one named cluster in the stack it is given.
ClusterDefinition = Callable[["PurposeStack"], EmrCluster]


class PurposeSettingsError(ConstructInputError):
    """The environment's ``[purposes.*]`` settings ask for what a purpose cannot honour;
    every problem is listed, nothing was synthesized."""

    def __init__(self, settings: Settings, problems: list[str]):
        super().__init__(f"{settings.source or settings.name}: [purposes] settings", problems)


def purpose_settings_problems(settings: Settings, purposes: Sequence[Purpose]) -> list[str]:
    """What the environment's ``[purposes.*]`` tables ask that the declarations cannot
    honour: an undeclared purpose, or a UI the purpose does not serve."""
    declared = {p.name: p for p in purposes}
    problems = []
    for name, chosen in settings.purposes:
        if name not in declared:
            problems.append(
                f"purposes.{name}: no such purpose; declared purposes are {', '.join(str(n) for n in declared)}"
            )
            continue
        for ui in chosen.open_uis:
            if ui not in declared[name].ui_keys:
                problems.append(
                    f"purposes.{name}.open_uis: {ui!r} is not a web UI of {name}; it serves "
                    f"{', '.join(declared[name].ui_keys) or 'none'}"
                )
    return problems


def declared_data_access(access: DataAccess) -> tuple[PrefixAccess, ...]:
    """A declaration's default data access as per-prefix grants, never with delete."""
    if access.mode == DATA_NONE:
        return ()
    return tuple(PrefixAccess(prefix=prefix, access=access.mode) for prefix in access.prefixes)


def uses_glue_metastore(spec: ClusterSpec) -> bool:
    """Whether the cluster's Trino/Presto hive connector keeps its metastore in Glue."""
    configurations = spec.configurations or ()
    if isinstance(configurations, Mapping):  # {classification: {property: value}}
        pairs: list[tuple[Any, Any]] = [(c, p or {}) for c, p in configurations.items()]
    else:
        pairs = [(getattr(c, "classification", None), getattr(c, "properties", None) or {}) for c in configurations]
    return any(c in _GLUE_METASTORE_CLASSIFICATIONS and p.get("hive.metastore") == "glue" for c, p in pairs)


def people_rules(web_uis: Sequence[WebUi], settings: Settings) -> tuple[IngressRule, ...]:
    """Inbound rules for people into master-additional (tip T2): SSH from the admins, and
    ``web_uis`` (the ones the environment opens) from the office."""
    rules = [
        IngressRule(f"{ui.description} from the office", ui.port, cidr=cidr)
        for ui in web_uis
        for cidr in settings.office_cidrs
    ]
    rules += [IngressRule("SSH from the admins", SSH_PORT, cidr=cidr) for cidr in settings.admin_cidrs]
    return tuple(rules)


class PurposeStack(EmrBaseStack):
    def __init__(
        self,
        scope: Construct,
        purpose: Purpose,
        *,
        settings: Settings,
        clusters: Sequence[ClusterDefinition] | None = None,
    ) -> None:
        """``purpose``: the purpose's declaration (checked here; ``stacks.clusters.declared``
        finds a declared one by name). ``clusters``: the cluster definitions to build
        (default: the declaration's; tests pass variants)."""
        check_purposes((purpose,))
        declaration = purpose
        # The checks above refuse a declaration with a field left out; narrowed here as well
        # so nothing below depends on that order.
        name, web_uis, data_access = declaration.name, declaration.web_uis, declaration.data_access
        autoscaling, declared_clusters = declaration.autoscaling, declaration.clusters
        if name is None or web_uis is None or data_access is None or autoscaling is None or declared_clusters is None:
            raise PurposeError(
                "PurposeStack",
                [f"{declaration!r}: name, clusters, web_uis, autoscaling and data_access are all required"],
            )
        problems = [p for p in purpose_settings_problems(settings, (declaration,)) if p.startswith(f"purposes.{name}.")]
        if problems:
            raise PurposeSettingsError(settings, problems)
        super().__init__(scope, name, settings=settings)
        self.declaration = declaration
        self.purpose = name
        chosen = settings.purpose(self.purpose)
        security = settings.security
        # What this stack opens and grants: the declared UIs the environment opens (none
        # by default), and the environment's data prefixes (else the declared access).
        self.web_uis: tuple[WebUi, ...] = tuple(declaration.ui(key) for key in chosen.open_uis)
        self.data_access: tuple[PrefixAccess, ...] = (
            chosen.data if chosen.data is not None else declared_data_access(data_access)
        )
        name_prefix = f"{settings.name}-{self.purpose}"
        self.name_prefix = name_prefix
        self.security_groups = EmrSecurityGroups(
            self,
            "security-groups",
            vpc_id=settings.vpc_id,
            name_prefix=name_prefix,
            master_ingress=people_rules(self.web_uis, settings),
            allow_public_sources=settings.allow_public_cidrs,
        )
        self.roles = EmrRoles(
            self,
            "roles",
            name_prefix=name_prefix,
            account_id=settings.account_id,
            region=settings.region,
            autoscaling=autoscaling,
        )
        buckets = settings.buckets
        # The bootstrap scripts the clusters run, uploaded under this purpose's prefix on
        # first use (tips T4, tags).
        self.bootstrap = BootstrapAssets(
            self,
            "bootstrap-assets",
            directory=BOOTSTRAP_DIR,
            bucket_name=buckets.bootstrap_assets,
            purpose=self.purpose,
        )
        # The one place the stack's prefixes are spelled: clusters log under log_prefix,
        # and the scripts' folder is the one BootstrapAssets uploads to.
        self.log_prefix = f"emr/{self.purpose}/"
        self.bootstrap_prefix = self.bootstrap.prefix
        self.roles.grant_log_write(buckets.logs, self.log_prefix)
        self.roles.grant_bootstrap_read(buckets.bootstrap_assets, self.bootstrap_prefix)
        self._grant_data_access(buckets.data)
        if chosen.glue_databases:
            self.roles.grant_glue_catalog(chosen.glue_databases, write=chosen.glue_write)
        if security.bootstrap_kms == "customer-managed":
            bootstrap_key = DataAwsKmsAlias(self, "bootstrap-assets-key", name=bootstrap_key_alias(settings))
            self.roles.grant_kms_key_use(
                bootstrap_key.target_key_arn,
                sid="DecryptBootstrapScripts",
                actions=["kms:Decrypt"],
                via_services=[f"s3.{settings.region}.amazonaws.com"],
            )
        local_disk_key_arn = None
        if security.local_disk_encryption:
            local_disk_key = DataAwsKmsAlias(self, "local-disk-key", name=local_disk_key_alias(settings))
            local_disk_key_arn = local_disk_key.target_key_arn
            self.roles.grant_kms_key_use(local_disk_key_arn, sid="EncryptLocalDisks", actions=LOCAL_DISK_KEY_ACTIONS)
            self.roles.allow_ebs_encryption_key(local_disk_key_arn)
        pem = security.in_transit_pem_certificates
        if pem:
            self.roles.add_statement(
                sid="ReadInTransitCertificates",
                actions=["s3:GetObject"],
                resources=[f"arn:{self.roles.partition}:s3:::{pem.removeprefix('s3://')}"],
            )

        # Shared by the stack's clusters: EMRFS writes encrypted at rest, local disks and
        # EBS encrypted, IMDSv2 required, TLS between nodes when certificates are named.
        self._security_options: dict[str, Any] = dict(
            local_disk_key_arn=local_disk_key_arn, in_transit_pem_certificates=pem
        )
        self.security_configuration = EmrSecurityConfiguration(
            self,
            "security-configuration",
            name=f"{name_prefix}-emr",
            require_imdsv2=security.require_imdsv2,
            **self._security_options,
        )
        self._imds_optional_configuration: EmrSecurityConfiguration | None = None
        self._reservation_holder: ReservedIpHolder | None = None
        self.clusters: dict[str, EmrCluster] = {}
        for define in declared_clusters if clusters is None else clusters:
            define(self)

    def _grant_data_access(self, bucket: str) -> None:
        for entry in self.data_access:
            if entry.access == READ_ONLY:
                self.roles.grant_read(bucket, entry.prefix)
            else:
                self.roles.grant_read_write(bucket, entry.prefix, delete=entry.delete)

    def security_configuration_for(self, release_label: str) -> EmrSecurityConfiguration:
        """The stack's security configuration, or, for a release whose EMR components still
        call IMDSv1 (``imdsv2_supported``), the same configuration without the IMDSv2
        requirement (created on first use, named ``<prefix>-emr-imds-optional``)."""
        if not self.security_configuration.require_imdsv2 or imdsv2_supported(release_label):
            return self.security_configuration
        if self._imds_optional_configuration is None:
            self._imds_optional_configuration = EmrSecurityConfiguration(
                self,
                "security-configuration-imds-optional",
                name=f"{self.name_prefix}-emr-imds-optional",
                require_imdsv2=False,
                **self._security_options,
            )
        return self._imds_optional_configuration

    def add_cluster(self, spec: ClusterSpec, *, tag_node_roles: bool = True, all_subnets: bool = False) -> EmrCluster:
        """Build one named cluster with its security groups, roles and log bucket (tip T3:
        one construct per named cluster).

        A cluster named in the environment's ``fixed_ips.masters`` runs in the
        reservation's subnet and its master takes that address at bootstrap (tip T4);
        other clusters run in their ``[cluster_subnets]`` subnet, else in the first
        ``[[private_subnets]]`` entry (``Settings.subnet_of``). ``all_subnets`` (instance fleets
        only; default off) lists every private subnet of the environment instead, and EMR
        launches the cluster in the one with capacity; a fixed IP is then refused, since
        the address lives in one subnet. ``tag_node_roles`` (default on) suffixes each
        node's Name tag with its role. Fleets bid from the environment's region.
        """
        settings = self.settings
        fixed_ips = settings.fixed_ips
        if uses_glue_metastore(spec) and not settings.purpose(self.purpose).glue_databases:
            raise PurposeSettingsError(
                settings,
                [
                    f"purposes.{self.purpose}.glue_databases: empty, but cluster {spec.name!r} keeps its Trino/Presto "
                    "metastore in Glue (hive.metastore = glue); name the Glue databases it queries, e.g. "
                    f'[purposes.{self.purpose}] glue_databases = ["analytics"]'
                ],
            )
        fixed_ip = settings.fixed_ip_of(spec.name)
        subnet_id = settings.subnet_of(spec.name).id
        subnets = tuple(ClusterSubnet(s.id, settings.vpc_id) for s in settings.private_subnets) if all_subnets else ()
        cluster = EmrCluster(
            self,
            spec=spec,
            purpose=self.purpose,
            subnet_id=None if subnets else subnet_id,
            subnets=subnets,
            region=settings.region,
            security_groups=self.security_groups,
            roles=self.roles,
            log_bucket=settings.buckets.logs,
            log_prefix=self.log_prefix,
            security_configuration=self.security_configuration_for(spec.release_label).name,
        )
        if fixed_ips and fixed_ip:
            args = ["--ip", fixed_ip]
            reservation_eni = self._reservation_interface(fixed_ips.subnet_id) if fixed_ips.mode == "eni" else None
            if reservation_eni:
                args += ["--reservation-eni", reservation_eni]
            use_fixed_ip(
                cluster,
                ip=fixed_ip,
                action=self.bootstrap.action(FIXED_IP_SCRIPT, args=args),
                region=settings.region,
                account_id=settings.account_id,
                subnet_id=subnet_id,
                reservation_eni=reservation_eni,
            )
        if tag_node_roles:
            tag_nodes_with_role(
                cluster,
                action=self.bootstrap.action(TAG_SCRIPT),
                region=settings.region,
                account_id=settings.account_id,
            )
        self.clusters[spec.name] = cluster
        return cluster

    def _reservation_interface(self, subnet_id: str) -> str:
        if self._reservation_holder is None:
            self._reservation_holder = ReservedIpHolder(
                self, "fixed-ip-reservation", name=fixed_ip_reservation_name(self.settings), subnet_id=subnet_id
            )
        return self._reservation_holder.network_interface_id
