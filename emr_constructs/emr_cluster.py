"""EmrCluster: one named, production EMR cluster (guide tips T3, T5, T6, T7).

The construct only: what a cluster is made of (``ClusterSpec`` and its rules) lives in
``emr_constructs.model.cluster_spec``, EBS sizing in ``emr_constructs.model.ebs``; the fixed master
IP (T4) is ``emr_constructs.fixed_ip.use_fixed_ip`` and the node Name tags
``emr_constructs.node_role_tags.tag_nodes_with_role``.

T3  One construct per named cluster. The construct id is the cluster name and every
    Terraform address it creates derives from that name (``aws_emr_cluster.<name>``,
    ``aws_emr_managed_scaling_policy.<name>_managed-scaling``, outputs ``<name>_...``),
    never from a list position, so adding, removing or reordering a cluster leaves every
    other cluster's JSON byte-identical. Per-cluster lifecycle: ``frozen`` and ``protected``.
T5  EBS as gp3 with explicit IOPS and throughput (default), or gp2 sized from the IOPS
    wanted (3 IOPS per GiB, minimum 100).
T6  Master and core are on-demand; Spot on core only with ``allow_spot_core=True``.
T7  ``hdfs-site`` ``dfs.replication`` always written explicitly and checked against the
    core count. Configurations are emitted deterministically because any change to them
    replaces the cluster.

Instance groups (the default) or instance fleets (``InstanceFleetSpec`` for master and
core; ``emr_constructs.instance_fleet.TaskInstanceFleet`` for task capacity): a fleet
cluster may list several subnets (``subnets``) and EMR launches it in one of them. Every
argument of ``master_instance_fleet`` and ``core_instance_fleet`` forces a new cluster in
the provider, target capacities included, so the core fleet's capacities are ignored when
EMR (managed scaling) or the operators (``frozen``) own them, like the core group's count.

Lifecycle ``ignore_changes`` written by this construct, and why:

* ``step`` (every cluster): steps submitted after creation (schedulers, the ops command,
  the console) are read back into ``step`` from ListSteps; the argument forces a new
  cluster, and the provider documentation asks for ``ignore_changes`` whenever steps are
  managed outside Terraform. No cluster here declares steps.
* ``core_instance_group[0].instance_count`` when ``frozen`` (operators resize core from
  the console, guide T3) or when managed scaling is on (EMR itself resizes core; without
  the ignore every plan would try to undo it). With fleets,
  ``core_instance_fleet[0].target_on_demand_capacity`` and ``target_spot_capacity`` for
  the same reasons; there a difference would even replace the cluster.
* ``core_instance_group[0].autoscaling_policy`` when ``frozen``: operators attach and edit
  custom auto-scaling rules in the console (guide T3), and the provider reads the policy
  back in its own normalised form (it drops the ``JobFlowId`` dimension).
* ``step_concurrency_level`` and ``auto_termination_policy`` when ``frozen``: both are
  edited from the console (Steps tab, cluster settings) and are changed in place.
* ``compute_limits`` of the managed-scaling policy when ``frozen``: operators change the
  limits from the console.

Attributes that would otherwise read back differently, handled without ``ignore_changes``
(so a code change still shows up in the plan):

* ``configurations_json`` is written in the shape EMR returns it: ``Classification`` and
  ``Properties`` on every entry (``{}`` when empty), ``Configurations`` only when nested
  entries exist, every property value a string; the provider compares it as JSON.
* application names are written in EMR's own spelling (``Spark``, not ``spark``): the set
  is read back from the API and a different case would force a new cluster.
* master and core groups are named ``master`` and ``core`` explicitly: the name is read
  back and an unset name would differ from what EMR reports.
* gp3 volumes always carry ``iops`` and ``throughput``: EMR reports its defaults back and
  an omitted value would differ (and force a new cluster).
* ``log_uri`` uses ``s3://``; the provider already treats EMR's ``s3n://`` as equal.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cdktf import TerraformOutput, TerraformResourceLifecycle, TerraformStack
from cdktf_cdktf_provider_aws import emr_cluster as emr_cluster_types
from cdktf_cdktf_provider_aws.emr_cluster import (
    EmrCluster as EmrClusterResource,
    EmrClusterAutoTerminationPolicy,
    EmrClusterBootstrapAction,
    EmrClusterCoreInstanceFleet,
    EmrClusterCoreInstanceGroup,
    EmrClusterCoreInstanceGroupEbsConfig,
    EmrClusterEc2Attributes,
    EmrClusterMasterInstanceFleet,
    EmrClusterMasterInstanceGroup,
    EmrClusterMasterInstanceGroupEbsConfig,
)
from cdktf_cdktf_provider_aws.emr_managed_scaling_policy import (
    EmrManagedScalingPolicy,
    EmrManagedScalingPolicyComputeLimits,
)
from constructs import Construct

from emr_constructs.model.cluster_spec import (
    RESERVED_TAGS,
    BootstrapAction,
    ClusterSpec,
    InstanceGroupSpec,
    render_configurations,
    ui_urls,
)
from emr_constructs.model.contract import CORE_GROUP, MANAGED_POLICY_TAG, MASTER_GROUP
from emr_constructs.model.errors import EmrConfigError
from emr_constructs.model.fleet_spec import CORE_FLEET, MASTER_FLEET, ClusterSubnet, InstanceFleetSpec, subnet_problems
from emr_constructs.model.pricing import PriceTable

if TYPE_CHECKING:
    from cdktf_cdktf_provider_aws.emr_instance_fleet import EmrInstanceFleet
    from cdktf_cdktf_provider_aws.emr_instance_group import EmrInstanceGroup

__all__ = ["EmrCluster"]

# Cluster names already used in each stack: names are global inside one stack's state,
# and a duplicate would silently merge two resources once logical ids are overridden.
_NAMES_BY_STACK: "weakref.WeakKeyDictionary[TerraformStack, set[str]]" = weakref.WeakKeyDictionary()


class EmrCluster(Construct):
    """One named EMR cluster (guide tips T3, T5, T6, T7).

    Inputs (keyword-only):
      spec: ClusterSpec (see its docstring for every option and default).
      purpose: the stack's purpose (``spark-batch`` ...), written as the ``purpose`` tag.
      subnet_id: private subnet the cluster runs in (give this or ``subnets``).
      subnets: ClusterSubnet entries (id and VPC) for a fleet cluster: EMR launches it in
        one of them, where capacity is; each must be in the security groups' VPC.
        Default none (``subnet_id``). Instance-group clusters take ``subnet_id`` only.
      region: the cluster's region, for the Spot bids of its fleets (on-demand x
        ``bid_factor`` from the price table); required when a fleet bids without an
        explicit ``bid_price``. Default None.
      price_table: PriceTable for those bids (default: the checked-in table).
      security_groups: object with ``master_managed_id``, ``slave_managed_id``,
        ``master_additional_id``, ``slave_additional_id``, ``service_access_id``
        (EmrSecurityGroups).
      roles: EmrRoles: ``service_role_arn``, ``instance_profile_arn``,
        ``autoscaling_role_arn`` (or None) and the grant helpers. The cluster grants its
        instance role write on its log prefix and read on its bootstrap scripts.
      log_bucket: the environment's log bucket (required).
      log_prefix: folder for the stack's cluster logs, ending with '/'; default
        ``emr/<purpose>/``. Logs go to ``s3://<log_bucket>/<log_prefix><name>/``. The
        instance role is granted write on ``log_prefix`` (one statement for all clusters
        of a stack: they share the role, and a statement per cluster would outgrow IAM's
        10240-character inline policy at about 50 clusters).
      security_configuration: name of an EMR security configuration
        (EmrSecurityConfiguration.name); default None. Changing it replaces the cluster.

    Attributes: ``name``, ``cluster_id`` (token), ``master_dns`` (token; in a private
    subnet EMR reports the master's private DNS name), ``applications``,
    ``dfs_replication``, ``configurations_json``, ``log_uri``, ``ui_host``, ``resource``
    (the aws_emr_cluster), ``outputs`` (suffix -> TerraformOutput), ``task_groups`` (group
    name -> aws_emr_instance_group, filled by SpotTaskGroup), ``task_group_names``,
    ``uses_fleets``, ``subnet_ids``, ``fleet_bids`` (role -> instance type -> bid or None),
    ``task_fleet`` (the aws_emr_instance_fleet, set by TaskInstanceFleet, else None).

    Hooks for features built on a cluster (``fixed_ip.use_fixed_ip``, guide tip T4, and
    ``node_role_tags.tag_nodes_with_role``): ``add_bootstrap_action``, ``add_tag``,
    ``set_ui_host``, ``add_output``.
    """

    def __init__(
        self,
        scope: Construct,
        *,
        spec: ClusterSpec,
        purpose: str,
        security_groups,
        roles,
        log_bucket: str,
        subnet_id: str | None = None,
        subnets: Sequence[ClusterSubnet] = (),
        log_prefix: str | None = None,
        security_configuration: str | None = None,
        region: str | None = None,
        price_table: PriceTable | None = None,
    ) -> None:
        resolved = spec.resolve()
        fleet_bids = self._placement_and_bids(spec, subnet_id, subnets, security_groups, region, price_table)
        stack = TerraformStack.of(scope)
        used = _NAMES_BY_STACK.setdefault(stack, set())
        if spec.name in used:
            raise EmrConfigError(
                f"EmrCluster {spec.name!r}",
                [
                    f"name = {spec.name!r}: a cluster of that name already exists in stack "
                    f"{stack.node.id!r}; cluster names are unique per stack (they are its Terraform addresses)"
                ],
            )
        # Checked before the construct exists: a refused prefix leaves no half-built
        # cluster in the tree and its name free.
        log_prefix = f"emr/{purpose}/" if log_prefix is None else log_prefix
        if not log_prefix.endswith("/") or log_prefix.startswith("/"):
            raise EmrConfigError(
                f"EmrCluster {spec.name!r}",
                [f"log_prefix = {log_prefix!r}: a folder such as 'emr/spark-batch/' (ends with '/')"],
            )
        super().__init__(scope, spec.name)
        used.add(spec.name)

        self.spec = spec
        self.name = spec.name
        self.purpose = purpose
        self.applications = resolved.applications
        self.dfs_replication = resolved.dfs_replication
        self.configurations_json = render_configurations(resolved.configurations, resolved.dfs_replication)
        self.log_uri = f"s3://{log_bucket}/{log_prefix}{spec.name}/"
        self.roles = roles
        self._bootstrap_actions: list[BootstrapAction] = []
        self._task_group_names: set[str] = set()
        #: The task instance groups added to this cluster (SpotTaskGroup), by group name.
        self.task_groups: dict[str, EmrInstanceGroup] = {}
        self._tags = {
            **dict(sorted(spec.tags.items())),
            "Name": spec.name,
            "purpose": purpose,
            MANAGED_POLICY_TAG: "true",
        }

        self.uses_fleets = spec.uses_fleets
        self.subnet_ids: tuple[str, ...] = tuple(s.id for s in subnets) if subnets else (str(subnet_id),)
        self.fleet_bids = fleet_bids
        #: The task instance fleet (TaskInstanceFleet), if any: EMR allows one per cluster.
        self.task_fleet: EmrInstanceFleet | None = None
        ignore = ["step"]
        if spec.frozen or spec.managed_scaling is not None:
            if self.uses_fleets:
                ignore += [
                    "core_instance_fleet[0].target_on_demand_capacity",
                    "core_instance_fleet[0].target_spot_capacity",
                ]
            else:
                ignore.append("core_instance_group[0].instance_count")
        if spec.frozen:
            if not self.uses_fleets:
                ignore.append("core_instance_group[0].autoscaling_policy")
            ignore += ["step_concurrency_level", "auto_termination_policy"]

        # Grant before creating the cluster: the roles' policies are what it depends on.
        roles.grant_log_write(log_bucket, log_prefix)

        self.resource = EmrClusterResource(
            self,
            "cluster",
            name=spec.name,
            release_label=spec.release_label,
            applications=list(resolved.applications),
            service_role=roles.service_role_arn,
            autoscaling_role=roles.autoscaling_role_arn,
            log_uri=self.log_uri,
            security_configuration=security_configuration,
            configurations_json=self.configurations_json,
            keep_job_flow_alive_when_no_steps=True,
            termination_protection=spec.protected,
            step_concurrency_level=spec.step_concurrency_level,
            ebs_root_volume_size=spec.ebs_root_volume_size,
            auto_termination_policy=(
                EmrClusterAutoTerminationPolicy(idle_timeout=spec.auto_termination_idle_seconds)
                if spec.auto_termination_idle_seconds is not None
                else None
            ),
            ec2_attributes=EmrClusterEc2Attributes(
                subnet_id=None if subnets else subnet_id,
                subnet_ids=list(self.subnet_ids) if subnets else None,
                instance_profile=roles.instance_profile_arn,
                emr_managed_master_security_group=security_groups.master_managed_id,
                emr_managed_slave_security_group=security_groups.slave_managed_id,
                additional_master_security_groups=security_groups.master_additional_id,
                additional_slave_security_groups=security_groups.slave_additional_id,
                service_access_security_group=security_groups.service_access_id,
                key_name=spec.key_name,
            ),
            **self._instances(spec, fleet_bids),
            tags=dict(self._tags),
            lifecycle=TerraformResourceLifecycle(ignore_changes=ignore, prevent_destroy=spec.protected or None),
            # EMR checks the roles' permissions when it creates the cluster, not at plan time.
            depends_on=roles.cluster_dependencies,
        )
        self.resource.override_logical_id(spec.name)
        self.cluster_id: str = self.resource.id
        self.master_dns: str = self.resource.master_public_dns

        for action in spec.bootstrap_actions:
            self.add_bootstrap_action(action)

        self.managed_scaling = None
        if spec.managed_scaling is not None:
            ms = spec.managed_scaling
            self.managed_scaling = EmrManagedScalingPolicy(
                self,
                "managed-scaling",
                cluster_id=self.cluster_id,
                compute_limits=[
                    EmrManagedScalingPolicyComputeLimits(
                        # Fleet clusters count capacity in the fleets' units.
                        unit_type="InstanceFleetUnits" if self.uses_fleets else "Instances",
                        minimum_capacity_units=ms.minimum,
                        maximum_capacity_units=ms.maximum,
                        maximum_core_capacity_units=ms.maximum_core,
                        maximum_ondemand_capacity_units=ms.maximum_on_demand,
                    )
                ],
                lifecycle=TerraformResourceLifecycle(ignore_changes=["compute_limits"]) if spec.frozen else None,
            )
            self.managed_scaling.override_logical_id(f"{spec.name}_managed-scaling")

        self.outputs: dict[str, TerraformOutput] = {}
        self.add_output("cluster_id", self.cluster_id, "EMR cluster id (j-...)")
        self.add_output(
            "master_private_dns",
            self.master_dns,
            "master node DNS name (private: the cluster runs in a private subnet)",
        )
        self.ui_host = self.master_dns
        for suffix, url in ui_urls(self.ui_host, self.applications).items():
            self.add_output(suffix, url, f"{suffix.removesuffix('_url').replace('_', ' ')} web UI")

    # -- master and core ----------------------------------------------------------------

    @staticmethod
    def _placement_and_bids(
        spec: ClusterSpec, subnet_id, subnets, security_groups, region, price_table
    ) -> dict[str, dict[str, str | None]]:
        """Where the cluster runs and its fleets' Spot bids, or EmrConfigError listing
        every problem (checked before the construct exists, like the spec)."""
        p: list[str] = []
        if (subnet_id is None) == (not subnets):
            p.append(
                f"subnet_id = {subnet_id!r}, subnets = {list(subnets)!r}: give one of them (subnets: several, "
                "for instance fleets only)"
            )
        p += subnet_problems(list(subnets), getattr(security_groups, "vpc_id", None), uses_fleets=spec.uses_fleets)
        bids: dict[str, dict[str, str | None]] = {}
        if spec.uses_fleets:
            for role in (MASTER_FLEET, CORE_FLEET):
                fleet = getattr(spec, role)
                assert isinstance(fleet, InstanceFleetSpec)  # spec.resolve() refused a mix
                bids[role], problems = fleet.bids(role, region, price_table)
                p += problems
        if p:
            raise EmrConfigError(f"EmrCluster {spec.name!r}", p)
        return bids

    @staticmethod
    def _instances(spec: ClusterSpec, bids: dict[str, dict[str, str | None]]) -> dict:
        """The master and core arguments: instance groups, or instance fleets."""
        master, core = spec.master, spec.core
        if isinstance(master, InstanceFleetSpec) and isinstance(core, InstanceFleetSpec):
            return {
                "master_instance_fleet": fleet_block(
                    EmrClusterMasterInstanceFleet, master.terraform(MASTER_GROUP, bids[MASTER_FLEET])
                ),
                "core_instance_fleet": fleet_block(
                    EmrClusterCoreInstanceFleet, core.terraform(CORE_GROUP, bids[CORE_FLEET])
                ),
            }
        assert isinstance(master, InstanceGroupSpec) and isinstance(core, InstanceGroupSpec)
        return {
            "master_instance_group": EmrClusterMasterInstanceGroup(
                name=MASTER_GROUP,
                instance_type=master.instance_type,
                instance_count=master.instance_count,
                ebs_config=[EmrClusterMasterInstanceGroupEbsConfig(**master.ebs.terraform())],
            ),
            "core_instance_group": EmrClusterCoreInstanceGroup(
                name=CORE_GROUP,
                instance_type=core.instance_type,
                instance_count=core.instance_count,
                bid_price=core.bid_price,
                ebs_config=[EmrClusterCoreInstanceGroupEbsConfig(**core.ebs.terraform())],
            ),
        }

    # -- hooks ------------------------------------------------------------------------

    def add_bootstrap_action(self, action: BootstrapAction, *, first: bool = False) -> None:
        """Append a bootstrap action (run after those already added; with ``first=True``
        run before all of them) and grant the instance role read on its object. Changing
        the list replaces the cluster."""
        if not isinstance(action, BootstrapAction):
            raise EmrConfigError(
                f"EmrCluster {self.name!r}", [f"bootstrap action {action!r}: expected a BootstrapAction"]
            )
        if any(a.name == action.name for a in self._bootstrap_actions):
            raise EmrConfigError(
                f"EmrCluster {self.name!r}", [f"bootstrap action name {action.name!r} is already used on this cluster"]
            )
        self._bootstrap_actions.insert(0 if first else len(self._bootstrap_actions), action)
        self.roles.grant_bootstrap_read(action.bucket, action.grant_prefix)
        self.resource.put_bootstrap_action(
            [
                EmrClusterBootstrapAction(name=a.name, path=a.s3_path, args=list(a.args) or None)
                for a in self._bootstrap_actions
            ]
        )

    @property
    def bootstrap_actions(self) -> tuple[BootstrapAction, ...]:
        return tuple(self._bootstrap_actions)

    def add_tag(self, key: str, value: str) -> None:
        """Add a cluster tag (in place, no replacement). Reserved tags cannot be changed."""
        if key in RESERVED_TAGS:
            raise EmrConfigError(f"EmrCluster {self.name!r}", [f"tags[{key!r}]: set by EmrCluster itself"])
        self._tags[key] = value
        self.resource.tags = dict(self._tags)

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._tags)

    def set_ui_host(self, host: str) -> None:
        """Point the UI address outputs at ``host`` (e.g. the master's fixed private IP)."""
        self.ui_host = host
        for suffix, url in ui_urls(host, self.applications).items():
            self.outputs[suffix].value = url

    def register_task_group(self, group_name: str) -> None:
        """Reserve an instance-group name on this cluster (used by SpotTaskGroup)."""
        if self.uses_fleets:
            raise EmrConfigError(
                f"EmrCluster {self.name!r}",
                [
                    f"task group {group_name!r}: this cluster uses instance fleets, and EMR does not mix instance "
                    "groups and fleets in one cluster; add task capacity with TaskInstanceFleet"
                ],
            )
        if group_name in (MASTER_GROUP, CORE_GROUP) or group_name in self._task_group_names:
            raise EmrConfigError(
                f"EmrCluster {self.name!r}", [f"instance group name {group_name!r} is already used on this cluster"]
            )
        self._task_group_names.add(group_name)

    @property
    def task_group_names(self) -> tuple[str, ...]:
        return tuple(sorted(self._task_group_names))

    def add_output(self, suffix: str, value: str, description: str) -> None:
        """A Terraform output ``<cluster name>_<suffix>`` (the address derives from the name, T3)."""
        out = TerraformOutput(self, f"output-{suffix}", value=value, description=f"{self.name}: {description}")
        out.override_logical_id(f"{self.name}_{suffix}")
        self.outputs[suffix] = out


def fleet_block(cls: Any, args: dict, module: Any = emr_cluster_types) -> Any:
    """A fleet's provider struct (``cls``, e.g. EmrClusterCoreInstanceFleet) from the
    snake_case arguments of ``InstanceFleetSpec.terraform``; nested structs are the
    classes of ``module`` named after ``cls`` (``...InstanceTypeConfigs``,
    ``...InstanceTypeConfigsEbsConfig``, ``...LaunchSpecifications...``)."""
    prefix = cls.__name__

    def struct(suffix: str, values: dict) -> Any:
        return getattr(module, prefix + suffix)(**values)

    configs = [
        struct(
            "InstanceTypeConfigs",
            {**c, "ebs_config": [struct("InstanceTypeConfigsEbsConfig", e) for e in c["ebs_config"]]},
        )
        for c in args["instance_type_configs"]
    ]
    out = {**args, "instance_type_configs": configs}
    launch = args.get("launch_specifications")
    if launch is not None:
        out["launch_specifications"] = struct(
            "LaunchSpecifications",
            {
                "on_demand_specification": [
                    struct("LaunchSpecificationsOnDemandSpecification", v) for v in launch["on_demand_specification"]
                ],
                "spot_specification": [
                    struct("LaunchSpecificationsSpotSpecification", v) for v in launch["spot_specification"]
                ],
            },
        )
    return cls(**out)
