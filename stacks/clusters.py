"""The purposes of the app and their named clusters (guide tips T0-T3: one named resource
per cluster, one declaration per purpose).

Each function below defines one cluster and what hangs off it (Spot task groups), in the
stack it is given. ``PURPOSE_DECLARATIONS`` at the end declares each purpose stack once:
its clusters, the web UIs its masters serve, whether it needs the autoscaling role, and
its access to the data bucket (``stacks.declaration.Purpose``). Order does not matter,
since every Terraform address derives from the cluster's name. To add a cluster, write a
function and add it to its purpose's ``clusters``; to add a purpose, add a ``Purpose``
(every field is required and checked before anything is synthesized); to retire a
cluster, remove it (protected clusters first need ``protected=False`` applied on its own,
because ``prevent_destroy`` stops the plan).

Each cluster shows a different, realistic use of the options:

* ``spark-batch-production-01``: scheduled batch. Protected and frozen (operators resize
  core and tune auto-scaling from the console), Spot pair A/B for task capacity, YARN
  application masters pinned to core nodes, gp3 disks.
* ``spark-batch-operation-01``: N-day backfills. Terraform-managed (not frozen), shuts
  itself down after an idle hour, its own dynamic Spot task group resized by hand, gp2
  disks sized from the IOPS wanted, explicit HDFS replication above EMR's default.
* ``spark-batch-flex-01``: re-runnable batch (jobs whose output is rebuilt from the
  lake if a run is lost) on instance fleets. Its work is mostly Spot task capacity, and
  what limits it is Spot *capacity*, not price: a task fleet of four 64-GiB-class types
  (weighted by size) with ``price-capacity-optimized`` draws from many Spot pools, the
  cluster lists every private subnet so EMR starts it in the AZ that has capacity, and
  EMR refills reclaimed capacity itself, which is what the A/B rotation (T8) does by hand
  for instance groups. Core stays on-demand (T6). Not protected and shuts down after an
  idle hour: a replacement costs one re-run.
* ``spark-stream-01``: long-running streaming. Protected, three masters (HA), no Spot at
  all, dynamic allocation off, explicit replication for checkpoints.
* ``service-presto-01``: interactive SQL on Trino with the Glue catalog. Frozen
  (operators add workers at peak), not protected (stateless: tables live in S3/Glue).
"""

from __future__ import annotations

from types import MappingProxyType

from emr_constructs.emr_cluster import EmrCluster
from emr_constructs.instance_fleet import TaskInstanceFleet
from emr_constructs.model.cluster_spec import ClusterSpec, Configuration, InstanceGroupSpec
from emr_constructs.model.ebs import EbsSpec
from emr_constructs.model.fleet_spec import FleetInstanceType, InstanceFleetSpec
from emr_constructs.spot_task_groups import DYNAMIC, SpotGroupSpec, SpotTaskGroup, SpotTaskGroupPair
from environments.schema import READ_ONLY, READ_WRITE
from stacks.declaration import (
    SPARK_HISTORY_UI,
    TRINO_UI,
    YARN_RESOURCEMANAGER_UI,
    DataAccess,
    Purpose,
    find_purpose,
)
from stacks.purpose import ClusterDefinition, PurposeStack

RELEASE = "emr-7.5.0"

# T6 on current releases: keep every YARN application master on core (on-demand) nodes,
# so a Spot reclaim on a task node never kills a whole job.
AM_ON_CORE = Configuration(
    "yarn-site",
    {
        "yarn.node-labels.enabled": "true",
        "yarn.node-labels.am.default-node-label-expression": "CORE",
    },
)


def spark_batch_production_01(stack: PurposeStack) -> EmrCluster:
    cluster = stack.add_cluster(
        ClusterSpec(
            name="spark-batch-production-01",
            release_label=RELEASE,
            applications=("Hadoop", "Spark", "Hive", "Livy"),
            master=InstanceGroupSpec("m5.xlarge", ebs=EbsSpec.gp3(64)),
            core=InstanceGroupSpec("r5.2xlarge", instance_count=4, ebs=EbsSpec.gp3(500, iops=6000, throughput=250)),
            configurations=(
                AM_ON_CORE,
                Configuration(
                    "spark-defaults",
                    {
                        "spark.dynamicAllocation.enabled": "true",
                        "spark.sql.adaptive.enabled": "true",
                    },
                ),
            ),
            step_concurrency_level=4,
            frozen=True,
            protected=True,
        )
    )
    # r5.2xlarge and m5.4xlarge both have 64 GiB: same YARN memory per node, two Spot pools.
    SpotTaskGroupPair(
        cluster,
        "spot-task-groups",
        cluster=cluster,
        region=stack.settings.region,
        static_a=SpotGroupSpec("r5.2xlarge", ebs=EbsSpec.gp3(128)),
        static_b=SpotGroupSpec("m5.4xlarge", ebs=EbsSpec.gp3(128)),
        active="a",
        active_count=6,
    )
    return cluster


def spark_batch_operation_01(stack: PurposeStack) -> EmrCluster:
    cluster = stack.add_cluster(
        ClusterSpec(
            name="spark-batch-operation-01",
            release_label=RELEASE,
            applications=("Hadoop", "Spark", "Hive"),
            master=InstanceGroupSpec("m5.xlarge", ebs=EbsSpec.gp3(64)),
            # Backfills spill shuffle data to disk: gp2 sized for 3000 IOPS is 1000 GiB (T5).
            core=InstanceGroupSpec("r5.xlarge", instance_count=2, ebs=EbsSpec.gp2_for_iops(3000)),
            configurations=(AM_ON_CORE,),
            # EMR's rule gives 1 below four core nodes; a lost node would lose backfill output.
            dfs_replication=2,
            auto_termination_idle_seconds=3600,
            step_concurrency_level=10,
        )
    )
    # Operators size this group for each backfill; a higher bid than production trades
    # cost for fewer interruptions of long backfill days.
    SpotTaskGroup(
        cluster,
        cluster=cluster,
        group_name=DYNAMIC,
        region=stack.settings.region,
        spec=SpotGroupSpec("r5.2xlarge", ebs=EbsSpec.gp3(128)),
        instance_count=1,
        bid_factor="0.9",
    )
    return cluster


def spark_batch_flex_01(stack: PurposeStack) -> EmrCluster:
    cluster = stack.add_cluster(
        ClusterSpec(
            name="spark-batch-flex-01",
            release_label=RELEASE,
            applications=("Hadoop", "Spark"),
            master=InstanceFleetSpec(
                (
                    FleetInstanceType("m5.xlarge", ebs=EbsSpec.gp3(64)),
                    FleetInstanceType("r5.xlarge", ebs=EbsSpec.gp3(64)),
                ),
                target_on_demand_capacity=1,
            ),
            # Units are 16 GiB of memory: r5.xlarge counts 2, r5.2xlarge 4.
            core=InstanceFleetSpec(
                (
                    FleetInstanceType("r5.xlarge", weighted_capacity=2, ebs=EbsSpec.gp3(256)),
                    FleetInstanceType("r5.2xlarge", weighted_capacity=4, ebs=EbsSpec.gp3(256)),
                ),
                target_on_demand_capacity=8,
            ),
            configurations=(AM_ON_CORE,),
            auto_termination_idle_seconds=3600,
            step_concurrency_level=4,
        ),
        # EMR picks the subnet (and so the AZ) with capacity for every fleet at launch.
        all_subnets=True,
    )
    # Same unit as core (16 GiB of memory): four types of two families, so EMR can
    # draw from many Spot pools; 24 units = 384 GiB, e.g. six r5.2xlarge.
    TaskInstanceFleet(
        cluster,
        cluster=cluster,
        region=stack.settings.region,
        spec=InstanceFleetSpec(
            (
                FleetInstanceType("r5.2xlarge", weighted_capacity=4, ebs=EbsSpec.gp3(128)),
                FleetInstanceType("m5.4xlarge", weighted_capacity=4, ebs=EbsSpec.gp3(128)),
                FleetInstanceType("r5.4xlarge", weighted_capacity=8, ebs=EbsSpec.gp3(128)),
                FleetInstanceType("m5.2xlarge", weighted_capacity=2, ebs=EbsSpec.gp3(128)),
            ),
            target_spot_capacity=24,
            allocation_strategy="price-capacity-optimized",
            spot_timeout_minutes=20,
            spot_timeout_action="SWITCH_TO_ON_DEMAND",
        ),
    )
    return cluster


def spark_stream_01(stack: PurposeStack) -> EmrCluster:
    return stack.add_cluster(
        ClusterSpec(
            name="spark-stream-01",
            release_label=RELEASE,
            applications=("Hadoop", "Spark"),
            master=InstanceGroupSpec("m5.xlarge", instance_count=3, ebs=EbsSpec.gp3(64)),
            core=InstanceGroupSpec("r5.xlarge", instance_count=3, ebs=EbsSpec.gp3(256)),
            configurations=(
                AM_ON_CORE,
                Configuration(
                    "spark-defaults",
                    {
                        "spark.dynamicAllocation.enabled": "false",
                        "spark.yarn.am.attemptFailuresValidityInterval": "1h",
                        "spark.yarn.maxAppAttempts": "4",
                    },
                ),
            ),
            # Streaming checkpoints live in HDFS: two copies, not EMR's default 1 for 3 nodes.
            dfs_replication=2,
            step_concurrency_level=4,
            protected=True,
        )
    )


def service_presto_01(stack: PurposeStack) -> EmrCluster:
    return stack.add_cluster(
        ClusterSpec(
            name="service-presto-01",
            release_label=RELEASE,
            applications=("Hadoop", "Trino"),
            master=InstanceGroupSpec("m5.2xlarge", ebs=EbsSpec.gp3(64)),
            core=InstanceGroupSpec("r5.2xlarge", instance_count=3, ebs=EbsSpec.gp3(128)),
            configurations=(Configuration("trino-connector-hive", {"hive.metastore": "glue"}),),
            frozen=True,
        )
    )


PURPOSE_DECLARATIONS: tuple[Purpose, ...] = (
    Purpose(
        name="spark-batch",
        summary="scheduled Spark batch and N-day backfills",
        clusters=(spark_batch_production_01, spark_batch_operation_01, spark_batch_flex_01),
        web_uis=(SPARK_HISTORY_UI, YARN_RESOURCEMANAGER_UI),
        # Operators edit the frozen production cluster's scaling rules in the console.
        autoscaling=True,
        data_access=DataAccess(READ_WRITE),
    ),
    Purpose(
        name="spark-stream",
        summary="long-running Spark streaming",
        clusters=(spark_stream_01,),
        web_uis=(SPARK_HISTORY_UI, YARN_RESOURCEMANAGER_UI),
        # A fixed-size cluster; EMR managed scaling would need no role either.
        autoscaling=False,
        data_access=DataAccess(READ_WRITE),
    ),
    Purpose(
        name="service-presto",
        summary="interactive SQL on Trino with the Glue catalog",
        clusters=(service_presto_01,),
        web_uis=(TRINO_UI,),
        # Operators add workers at peak; scaling rules are edited in the console.
        autoscaling=True,
        # Interactive SQL only reads the lake (issue 14); writes need the environment's
        # [[purposes.service-presto.data]] and glue_write.
        data_access=DataAccess(READ_ONLY),
    ),
)

# A read-only view per purpose name, for tools and benchmarks; declare clusters above.
CLUSTERS: MappingProxyType[str, tuple[ClusterDefinition, ...]] = MappingProxyType(
    {p.name: tuple(p.clusters or ()) for p in PURPOSE_DECLARATIONS if isinstance(p, Purpose) and p.name is not None}
)


def declared(name: str) -> Purpose:
    """The declaration of the purpose called ``name``; an undeclared name is refused,
    naming the declared ones."""
    return find_purpose(PURPOSE_DECLARATIONS, name)
