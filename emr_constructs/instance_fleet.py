"""TaskInstanceFleet: the task instance fleet of a fleet cluster (guide tips T3, T8 and
"bid price").

A fleet cluster's Spot capacity lives in one task fleet: several instance types, a Spot
allocation strategy (``price-capacity-optimized`` by default), and EMR refilling reclaimed
capacity from whichever type and pool has it. That covers what the guide's A/B rotation
(T8) works around on instance groups, so fleets have no rotation: EMR picks the types and
the instances, and ``ops rotate-spot`` refuses fleet clusters.

T3  The address derives from the cluster's name: ``aws_emr_instance_fleet.<cluster>_task``.
    EMR allows one task fleet per cluster, so the address is stable.

What the provider does (terraform-provider-aws ``internal/service/emr/instance_fleet.go``):
``cluster_id``, ``name``, ``instance_type_configs`` and ``launch_specifications`` force a
new fleet; the target capacities change in place (``ModifyInstanceFleet``); a destroyed
fleet is only resized to 0 (EMR cannot remove a fleet from a running cluster).

Target capacities: operators and managed scaling resize the task fleet, so both targets
are in ``ignore_changes`` when the cluster is ``frozen`` or has managed scaling (a plan
then never undoes them); otherwise the code owns them and a change is an in-place resize.
"""

from __future__ import annotations

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws import emr_instance_fleet as fleet_types
from cdktf_cdktf_provider_aws.emr_instance_fleet import EmrInstanceFleet
from constructs import Construct

from emr_constructs.emr_cluster import EmrCluster, fleet_block
from emr_constructs.model.errors import EmrConfigError
from emr_constructs.model.fleet_spec import TASK_FLEET, InstanceFleetSpec
from emr_constructs.model.pricing import PriceTable

TASK_FLEET_NAME = "task"
_CAPACITIES = ["target_on_demand_capacity", "target_spot_capacity"]


class TaskInstanceFleet(Construct):
    """The task instance fleet of an EmrCluster that uses instance fleets.

    Inputs (keyword-only):
      cluster: the EmrCluster (required; its master and core must be fleets).
      spec: InstanceFleetSpec (required). Spot capacity is the usual content; on-demand
        units are allowed. Each type bids on-demand x ``spec.bid_factor`` unless it gives
        ``bid_price``.
      region: region whose on-demand prices give the bids (required unless every type
        has ``bid_price``).
      price_table: PriceTable (default: the checked-in table).

    The construct id is ``task-fleet``; the fleet is named ``task``.

    Attributes: ``resource`` (aws_emr_instance_fleet), ``fleet_id`` (token), ``bids``
    (instance type -> bid price).
    """

    def __init__(
        self,
        scope: Construct,
        *,
        cluster: EmrCluster,
        spec: InstanceFleetSpec,
        region: str | None = None,
        price_table: PriceTable | None = None,
    ) -> None:
        problems: list[str] = []
        if not cluster.uses_fleets:
            problems.append(
                f"cluster {cluster.name!r} uses instance groups: a task fleet needs master and core fleets (EMR "
                "does not mix groups and fleets in one cluster); add Spot task groups with SpotTaskGroupPair"
            )
        if cluster.task_fleet is not None:
            problems.append(f"cluster {cluster.name!r} already has a task fleet: EMR allows one per cluster")
        bids: dict[str, str | None] = {}
        if isinstance(spec, InstanceFleetSpec):
            problems += spec.problems(TASK_FLEET)
            if not problems:
                bids, bid_problems = spec.bids(TASK_FLEET, region, price_table)
                problems += bid_problems
        else:
            problems.append(f"spec = {spec!r}: expected an InstanceFleetSpec")
        if problems:
            raise EmrConfigError(f"TaskInstanceFleet {cluster.name}/{TASK_FLEET_NAME}", problems)
        super().__init__(scope, "task-fleet")
        self.bids = bids
        owned_elsewhere = cluster.spec.frozen or cluster.spec.managed_scaling is not None
        args = spec.terraform(TASK_FLEET_NAME, bids)
        self.resource = fleet_block(
            EmrInstanceFleet,
            {
                **args,
                "scope": self,
                "id_": "fleet",
                "cluster_id": cluster.cluster_id,
                "lifecycle": TerraformResourceLifecycle(ignore_changes=_CAPACITIES) if owned_elsewhere else None,
            },
            module=fleet_types,
        )
        self.resource.override_logical_id(f"{cluster.name}_{TASK_FLEET_NAME}")
        cluster.task_fleet = self.resource
        self.fleet_id: str = self.resource.id


__all__ = ["TASK_FLEET_NAME", "TaskInstanceFleet"]
