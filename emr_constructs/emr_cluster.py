"""EmrCluster: one named, production EMR cluster (guide tips T3, T5, T6, T7).

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

Lifecycle ``ignore_changes`` written by this construct, and why:

* ``step`` (every cluster): steps submitted after creation (schedulers, the ops command,
  the console) are read back into ``step`` from ListSteps; the argument forces a new
  cluster, and the provider documentation asks for ``ignore_changes`` whenever steps are
  managed outside Terraform. No cluster here declares steps.
* ``core_instance_group[0].instance_count`` when ``frozen`` (operators resize core from
  the console, guide T3) or when managed scaling is on (EMR itself resizes core; without
  the ignore every plan would try to undo it).
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

import json
import math
import re
import weakref
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from cdktf import TerraformOutput, TerraformResourceLifecycle, TerraformStack
from cdktf_cdktf_provider_aws.emr_cluster import (
    EmrCluster as EmrClusterResource,
    EmrClusterAutoTerminationPolicy,
    EmrClusterBootstrapAction,
    EmrClusterCoreInstanceGroup,
    EmrClusterCoreInstanceGroupEbsConfig,
    EmrClusterEc2Attributes,
    EmrClusterMasterInstanceGroup,
    EmrClusterMasterInstanceGroupEbsConfig,
)
from cdktf_cdktf_provider_aws.emr_managed_scaling_policy import (
    EmrManagedScalingPolicy,
    EmrManagedScalingPolicyComputeLimits,
)
from constructs import Construct

from emr_constructs.errors import ConstructInputError
from emr_constructs.fixed_ip import three_master_problem
from emr_constructs.iam_roles import MANAGED_POLICY_TAG, regional_arn
from emr_constructs.pricing import check_bid_price

# --------------------------------------------------------------------------- constants

CLUSTER_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
CLUSTER_NAME_MAX = 63
RELEASE_LABEL_PATTERN = re.compile(r"^emr-(\d+)\.(\d+)\.(\d+)$")
INSTANCE_TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")

#: EMR's own spelling of the applications it installs (lower-case -> canonical).
APPLICATIONS = {
    name.lower(): name
    for name in (
        "Flink", "Ganglia", "HBase", "HCatalog", "Hadoop", "Hive", "Hue",
        "JupyterEnterpriseGateway", "JupyterHub", "Livy", "MXNet", "Oozie", "Phoenix",
        "Pig", "Presto", "Spark", "Sqoop", "TensorFlow", "Tez", "Trino", "Zeppelin",
        "ZooKeeper",
    )
}

#: Tags every cluster carries; callers may not override them.
RESERVED_TAGS = ("Name", "purpose", MANAGED_POLICY_TAG)
# Cluster tag naming the master's fixed private IP; ``python -m ops status`` reads it.
FIXED_IP_TAG = "fixed-private-ip"

#: Web UIs on the master node: (output suffix, port, application that must be present).
#: YARN's ResourceManager runs whenever Hadoop does, and EMR always installs Hadoop.
UI_PORTS = (
    ("yarn_resourcemanager_url", 8088, None),
    ("spark_history_url", 18080, "Spark"),
    ("trino_url", 8889, "Trino"),
    ("presto_url", 8889, "Presto"),
)

GP3_IOPS = (3000, 16000)
GP3_THROUGHPUT = (125, 1000)
GP3_MAX_IOPS_PER_GIB = 500
GP3_MAX_THROUGHPUT_PER_IOPS = 0.25
GP2_IOPS_PER_GIB = 3
GP2_MIN_IOPS = 100
GP2_MAX_IOPS = 16000
EBS_MAX_GIB = 16384

AUTO_TERMINATION_SECONDS = (60, 604800)


class EmrConfigError(ConstructInputError):
    """Every problem found in a cluster's (or its task groups') inputs."""


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class EbsSpec:
    """EBS volumes attached to every instance of a group (guide tip T5).

    gp3 (default): ``size_gib`` (default 64), ``iops`` (default 3000) and ``throughput``
    MiB/s (default 125) are always written out. Limits: IOPS 3000-16000, throughput
    125-1000, at most 500 IOPS per GiB, at most 0.25 MiB/s per IOPS.

    gp2: IOPS come from the size (3 per GiB, at least 100). Give the IOPS you need as
    ``iops`` and the size becomes ``ceil(iops / 3)`` GiB (3000 IOPS -> 1000 GiB); give
    ``size_gib`` as well for a larger disk. At most 16000 IOPS and 16384 GiB.
    """

    volume_type: str = "gp3"
    size_gib: int | None = None
    iops: int | None = None
    throughput: int | None = None
    volumes_per_instance: int = 1

    @classmethod
    def gp3(cls, size_gib: int, *, iops: int = 3000, throughput: int = 125, volumes_per_instance: int = 1) -> "EbsSpec":
        return cls("gp3", size_gib, iops, throughput, volumes_per_instance)

    @classmethod
    def gp2_for_iops(cls, iops: int, *, min_size_gib: int | None = None, volumes_per_instance: int = 1) -> "EbsSpec":
        return cls("gp2", min_size_gib, iops, None, volumes_per_instance)

    def problems(self, where: str) -> list[str]:
        p: list[str] = []
        if self.volume_type not in ("gp3", "gp2"):
            return [f"{where}.volume_type = {self.volume_type!r}: allowed are 'gp3' (explicit IOPS and "
                    "throughput) or 'gp2' (IOPS from size)"]
        if not isinstance(self.volumes_per_instance, int) or not 1 <= self.volumes_per_instance <= 25:
            p.append(f"{where}.volumes_per_instance = {self.volumes_per_instance!r}: allowed 1-25")
        for attr in ("size_gib", "iops", "throughput"):
            value = getattr(self, attr)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                p.append(f"{where}.{attr} = {value!r}: must be a positive whole number")
        if p:
            return p
        if self.volume_type == "gp3":
            size, iops, tput = self.resolved_size(), self.resolved_iops(), self.resolved_throughput()
            if not GP3_IOPS[0] <= iops <= GP3_IOPS[1]:
                p.append(f"{where}.iops = {iops}: gp3 allows {GP3_IOPS[0]}-{GP3_IOPS[1]} IOPS; "
                         "use io1/io2 outside EMR's instance groups or lower the figure")
            if not GP3_THROUGHPUT[0] <= tput <= GP3_THROUGHPUT[1]:
                p.append(f"{where}.throughput = {tput}: gp3 allows {GP3_THROUGHPUT[0]}-{GP3_THROUGHPUT[1]} MiB/s")
            if not 1 <= size <= EBS_MAX_GIB:
                p.append(f"{where}.size_gib = {size}: allowed 1-{EBS_MAX_GIB} GiB")
            elif iops > GP3_MAX_IOPS_PER_GIB * size:
                p.append(f"{where}.iops = {iops} on {size} GiB: gp3 allows at most {GP3_MAX_IOPS_PER_GIB} IOPS "
                         f"per GiB; use at least {math.ceil(iops / GP3_MAX_IOPS_PER_GIB)} GiB")
            if tput > GP3_MAX_THROUGHPUT_PER_IOPS * iops:
                p.append(f"{where}.throughput = {tput} with {iops} IOPS: gp3 allows at most "
                         f"{GP3_MAX_THROUGHPUT_PER_IOPS} MiB/s per IOPS; raise iops to at least "
                         f"{math.ceil(tput / GP3_MAX_THROUGHPUT_PER_IOPS)}")
        else:
            if self.throughput is not None:
                p.append(f"{where}.throughput = {self.throughput!r}: gp2 has no throughput setting; "
                         "use volume_type='gp3' to choose it")
            if self.iops is None and self.size_gib is None:
                p.append(f"{where}: gp2 needs the IOPS wanted (iops=...) or a size (size_gib=...)")
            elif self.iops is not None and self.iops > GP2_MAX_IOPS:
                p.append(f"{where}.iops = {self.iops}: gp2 tops out at {GP2_MAX_IOPS} IOPS; use gp3")
            else:
                size = self.resolved_size()
                if size > EBS_MAX_GIB:
                    p.append(f"{where}: gp2 size {size} GiB is over the {EBS_MAX_GIB} GiB limit; "
                             "lower size_gib or iops, or add volumes_per_instance")
        return p

    def resolved_size(self) -> int:
        if self.volume_type == "gp2":
            from_iops = math.ceil(self.iops / GP2_IOPS_PER_GIB) if self.iops else 0
            return max(from_iops, self.size_gib or 0)
        return self.size_gib if self.size_gib is not None else 64

    def resolved_iops(self) -> int | None:
        """IOPS written to Terraform: gp3 only (gp2 IOPS follow from the size)."""
        if self.volume_type == "gp2":
            return None
        return self.iops if self.iops is not None else GP3_IOPS[0]

    def resolved_throughput(self) -> int | None:
        if self.volume_type == "gp2":
            return None
        return self.throughput if self.throughput is not None else GP3_THROUGHPUT[0]

    def baseline_iops(self) -> int:
        """IOPS each volume delivers."""
        if self.volume_type == "gp2":
            return max(GP2_MIN_IOPS, min(GP2_MAX_IOPS, GP2_IOPS_PER_GIB * self.resolved_size()))
        return self.resolved_iops()

    def terraform(self) -> dict:
        out = {"size": self.resolved_size(), "type": self.volume_type,
               "volumes_per_instance": self.volumes_per_instance}
        if self.volume_type == "gp3":
            out["iops"] = self.resolved_iops()
            out["throughput"] = self.resolved_throughput()
        return out


@dataclass(frozen=True)
class InstanceGroupSpec:
    """Master or core group. ``instance_count``: master 1 or 3 (HA); core at least 1
    (default 1). ``ebs`` default: gp3 64 GiB, 3000 IOPS, 125 MiB/s. ``bid_price`` makes
    the group Spot: refused on master, on core only with ``allow_spot_core``."""

    instance_type: str
    instance_count: int = 1
    ebs: EbsSpec = field(default_factory=EbsSpec)
    bid_price: str | None = None


@dataclass(frozen=True)
class Configuration:
    """One EMR configuration classification, optionally with nested classifications
    (``spark-env`` -> ``export``)."""

    classification: str
    properties: Mapping[str, str] = field(default_factory=dict)
    configurations: tuple["Configuration", ...] = ()


@dataclass(frozen=True)
class BootstrapAction:
    """A script EMR runs on every node, at creation and on every node added later.
    ``bucket``/``key`` name the object (the cluster grants its instance role read on
    that key's folder); ``path`` defaults to ``s3://bucket/key`` and may be a token
    referencing the uploaded object, so Terraform uploads before it creates the cluster."""

    name: str
    bucket: str
    key: str
    args: tuple[str, ...] = ()
    path: str | None = None

    @property
    def s3_path(self) -> str:
        return self.path or f"s3://{self.bucket}/{self.key}"

    @property
    def grant_prefix(self) -> str:
        """The folder of the key (``bootstrap/<purpose>/``): what the instance role may read."""
        return self.key.rsplit("/", 1)[0] + "/" if "/" in self.key else ""


@dataclass(frozen=True)
class ManagedScalingSpec:
    """EMR managed scaling limits, in instances. ``maximum_core`` caps how far core may
    grow (default: no extra cap); ``maximum_on_demand`` caps on-demand instances (default:
    no extra cap), so the rest comes from Spot task groups."""

    minimum: int
    maximum: int
    maximum_core: int | None = None
    maximum_on_demand: int | None = None


@dataclass(frozen=True)
class ClusterSpec:
    """Everything that describes one named cluster.

    name: lower-case letters, digits and '-' (e.g. ``spark-batch-production-01``); also
        the construct id and the root of every Terraform address. Required.
    release_label: ``emr-X.Y.Z``. Required.
    applications: EMR application names, any case (written in EMR's spelling). Required.
    master / core: InstanceGroupSpec. Required.
    configurations: Configuration entries or ``{classification: {property: value}}``;
        default none. Values must be strings.
    dfs_replication: HDFS replication; default EMR's rule from the core count (1 below 4
        nodes, 2 below 10, else 3). Always written explicitly (T7).
    bootstrap_actions: BootstrapAction entries, run in order; default none.
    auto_termination_idle_seconds: terminate after this many idle seconds (60-604800);
        default None (stays up). For operation clusters.
    managed_scaling: ManagedScalingSpec; default None.
    step_concurrency_level: steps run in parallel, 1-256; default 1.
    frozen: ignore what operators change from the console (see module docstring);
        default False.
    protected: termination protection and ``prevent_destroy``; default False.
    allow_spot_core: allow ``core.bid_price`` (tests only, T6); default False.
    key_name: EC2 key pair for SSH; default None.
    ebs_root_volume_size: root volume GiB (15-100); default EMR's.
    tags: extra tags; default none. ``Name``, ``purpose`` and
        ``for-use-with-amazon-emr-managed-policies`` are always set and may not be given.
    """

    name: str
    release_label: str
    applications: Sequence[str]
    master: InstanceGroupSpec
    core: InstanceGroupSpec
    configurations: Sequence[Configuration] | Mapping[str, Mapping[str, str]] = ()
    dfs_replication: int | None = None
    bootstrap_actions: Sequence[BootstrapAction] = ()
    auto_termination_idle_seconds: int | None = None
    managed_scaling: ManagedScalingSpec | None = None
    step_concurrency_level: int = 1
    frozen: bool = False
    protected: bool = False
    allow_spot_core: bool = False
    key_name: str | None = None
    ebs_root_volume_size: int | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- pure helpers


def default_dfs_replication(core_count: int) -> int:
    """EMR's own default for ``dfs.replication`` (guide tip T7)."""
    if core_count < 4:
        return 1
    if core_count < 10:
        return 2
    return 3


def canonical_applications(applications: Iterable[str]) -> tuple[str, ...]:
    """Known applications in EMR's spelling, sorted (unknown names are left out;
    validation reports them)."""
    return tuple(sorted({APPLICATIONS[a.lower()] for a in applications if isinstance(a, str) and a.lower() in APPLICATIONS}))


def ui_urls(host: str, applications: Iterable[str]) -> dict[str, str]:
    """Web UI addresses on ``host`` for the applications present, keyed by output
    suffix. Reusable with any host: the master's DNS name or a fixed private IP."""
    present = set(canonical_applications(applications))
    return {suffix: f"http://{host}:{port}" for suffix, port, app in UI_PORTS if app is None or app in present}


def _release(label: str) -> tuple[int, int, int] | None:
    m = RELEASE_LABEL_PATTERN.match(label) if isinstance(label, str) else None
    return tuple(int(x) for x in m.groups()) if m else None  # type: ignore[return-value]


def _at_least(release: tuple[int, int, int] | None, v5: tuple[int, int, int], v6: tuple[int, int, int]) -> bool:
    """Features that arrived in both the 5.x and the 6.x line."""
    if release is None:
        return True  # the label itself is reported
    if release[0] == 5:
        return release >= v5
    if release[0] == 6:
        return release >= v6
    return release[0] > 6


def _normalise_configurations(value, problems: list[str]) -> list[Configuration]:
    if isinstance(value, Mapping):
        return [Configuration(c, dict(props) if isinstance(props, Mapping) else props) for c, props in value.items()]
    if isinstance(value, (list, tuple)):
        return list(value)
    problems.append(f"configurations = {value!r}: expected Configuration entries or "
                    "{classification: {property: value}}")
    return []


def _configuration_problems(configs: Sequence[Configuration], where: str) -> list[str]:
    p: list[str] = []
    seen: set[str] = set()
    for c in configs:
        if not isinstance(c, Configuration):
            p.append(f"{where} entry {c!r}: expected a Configuration")
            continue
        label = f"{where}[{c.classification!r}]"
        if not isinstance(c.classification, str) or not c.classification:
            p.append(f"{where}: classification = {c.classification!r}: a non-empty name such as 'spark-defaults'")
        elif c.classification in seen:
            p.append(f"{label}: classification given twice; merge the properties into one entry")
        seen.add(c.classification)
        if not isinstance(c.properties, Mapping):
            p.append(f"{label}.properties = {c.properties!r}: expected a mapping of strings")
            continue
        for key, val in c.properties.items():
            if not isinstance(key, str) or not isinstance(val, str):
                p.append(f"{label}.properties[{key!r}] = {val!r}: keys and values must be strings, because EMR "
                         "stores and returns strings and a non-string would differ on every plan; write it in quotes")
        p.extend(_configuration_problems(c.configurations, f"{label}.configurations"))
    return p


def _configuration_doc(c: Configuration) -> dict:
    doc: dict = {"Classification": c.classification, "Properties": {k: c.properties[k] for k in sorted(c.properties)}}
    if c.configurations:
        doc["Configurations"] = [_configuration_doc(n) for n in sorted(c.configurations, key=lambda n: n.classification)]
    return doc


def render_configurations(configs: Sequence[Configuration], dfs_replication: int) -> str:
    """Deterministic ``configurations_json``: classifications sorted, properties sorted,
    ``dfs.replication`` merged into ``hdfs-site``, compact separators."""
    merged: dict[str, Configuration] = {c.classification: c for c in configs}
    hdfs = merged.get("hdfs-site", Configuration("hdfs-site"))
    merged["hdfs-site"] = Configuration(
        "hdfs-site", {**hdfs.properties, "dfs.replication": str(dfs_replication)}, hdfs.configurations)
    docs = [_configuration_doc(merged[k]) for k in sorted(merged)]
    return json.dumps(docs, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class ResolvedCluster:
    """The validated, normalised form of a ClusterSpec."""

    spec: ClusterSpec
    applications: tuple[str, ...]
    configurations: tuple[Configuration, ...]
    dfs_replication: int


def validate_cluster_spec(spec: ClusterSpec) -> ResolvedCluster:
    """All validation for a cluster, in one place: raise EmrConfigError listing every
    problem (setting, value, what is allowed, how to fix)."""
    p: list[str] = []
    name = spec.name
    if not isinstance(name, str) or not CLUSTER_NAME_PATTERN.match(name) or len(name) > CLUSTER_NAME_MAX:
        p.append(f"name = {name!r}: lower-case letters, digits and single '-' between words, starting with a "
                 f"letter, at most {CLUSTER_NAME_MAX} characters (e.g. 'spark-batch-production-01')")
    release = _release(spec.release_label)
    if release is None:
        p.append(f"release_label = {spec.release_label!r}: expected 'emr-X.Y.Z', e.g. 'emr-7.5.0' "
                 "(see `aws emr list-release-labels`)")

    apps = list(spec.applications) if isinstance(spec.applications, (list, tuple)) else []
    if not apps:
        p.append(f"applications = {spec.applications!r}: give at least one application, e.g. ('Hadoop', 'Spark')")
    unknown = [a for a in apps if not isinstance(a, str) or a.lower() not in APPLICATIONS]
    if unknown:
        p.append(f"applications: unknown {unknown!r}; known: {', '.join(sorted(APPLICATIONS.values()))}")
    canon = canonical_applications(apps)
    if len(canon) != len([a for a in apps if a not in unknown]):
        p.append(f"applications = {apps!r}: an application is listed twice")
    if "Trino" in canon and "Presto" in canon:
        p.append("applications: Trino and Presto cannot run on the same cluster; keep one")

    for role in ("master", "core"):
        group = getattr(spec, role)
        if not isinstance(group, InstanceGroupSpec):
            p.append(f"{role} = {group!r}: expected an InstanceGroupSpec")
            continue
        if not isinstance(group.instance_type, str) or not INSTANCE_TYPE_PATTERN.match(group.instance_type):
            p.append(f"{role}.instance_type = {group.instance_type!r}: an EC2 instance type such as 'r5.xlarge'")
        if isinstance(group.ebs, EbsSpec):
            p.extend(group.ebs.problems(f"{role}.ebs"))
        else:
            p.append(f"{role}.ebs = {group.ebs!r}: expected an EbsSpec")
    master, core = spec.master, spec.core
    core_count = None
    if isinstance(master, InstanceGroupSpec):
        if master.instance_count not in (1, 3):
            p.append(f"master.instance_count = {master.instance_count!r}: 1, or 3 for high availability")
        elif master.instance_count == 3 and not _at_least(release, (5, 23, 0), (6, 0, 0)):
            p.append(f"master.instance_count = 3 with release_label = {spec.release_label!r}: three masters need "
                     "emr-5.23.0 or later")
        if master.bid_price is not None:
            p.append(f"master.bid_price = {master.bid_price!r}: the master is always on-demand (losing it loses "
                     "the cluster); remove bid_price")
    if isinstance(core, InstanceGroupSpec):
        if not isinstance(core.instance_count, int) or isinstance(core.instance_count, bool) or core.instance_count < 1:
            p.append(f"core.instance_count = {core.instance_count!r}: at least 1 core node (HDFS and the YARN "
                     "application masters run there)")
        else:
            core_count = core.instance_count
        if core.bid_price is not None:
            if not spec.allow_spot_core:
                p.append(f"core.bid_price = {core.bid_price!r}: Spot on core is refused because the YARN application "
                         "master of every job runs on core nodes, so a Spot reclaim fails whole jobs and loses HDFS "
                         "blocks (guide tip T6). Put Spot capacity in task groups (SpotTaskGroupPair), or pass "
                         "allow_spot_core=True for a test cluster")
            else:
                problem = check_bid_price(core.bid_price)
                if problem:
                    p.append(f"core.{problem}")

    raw_configs = _normalise_configurations(spec.configurations, p)
    p.extend(_configuration_problems(raw_configs, "configurations"))
    given_in_hdfs = next((c.properties.get("dfs.replication") for c in raw_configs
                          if isinstance(c, Configuration) and c.classification == "hdfs-site"
                          and isinstance(c.properties, Mapping)), None)
    replication = spec.dfs_replication
    if given_in_hdfs is not None and replication is not None:
        p.append(f"dfs_replication = {replication!r} and hdfs-site dfs.replication = {given_in_hdfs!r}: give it once "
                 "(prefer dfs_replication)")
    elif given_in_hdfs is not None:
        replication = int(given_in_hdfs) if str(given_in_hdfs).isdigit() else given_in_hdfs
    if replication is None and core_count is not None:
        replication = default_dfs_replication(core_count)
    if replication is not None:
        if not isinstance(replication, int) or isinstance(replication, bool) or replication < 1:
            p.append(f"dfs_replication = {replication!r}: a whole number of at least 1")
        elif core_count is not None and replication > core_count:
            p.append(f"dfs_replication = {replication} with core.instance_count = {core_count}: HDFS cannot keep more "
                     f"copies than there are core nodes (every write would stay under-replicated); use at most "
                     f"{core_count} or add core nodes (guide tip T7)")

    for i, action in enumerate(spec.bootstrap_actions):
        if not isinstance(action, BootstrapAction):
            p.append(f"bootstrap_actions[{i}] = {action!r}: expected a BootstrapAction (from BootstrapAssets.action)")
        elif not action.name or not action.bucket or not action.key:
            p.append(f"bootstrap_actions[{i}] = {action!r}: name, bucket and key are required")
    names = [a.name for a in spec.bootstrap_actions if isinstance(a, BootstrapAction)]
    if len(set(names)) != len(names):
        p.append(f"bootstrap_actions: names {names!r} repeat; EMR lists them by name, so give each a distinct name")

    idle = spec.auto_termination_idle_seconds
    if idle is not None:
        if not isinstance(idle, int) or isinstance(idle, bool) or not AUTO_TERMINATION_SECONDS[0] <= idle <= AUTO_TERMINATION_SECONDS[1]:
            p.append(f"auto_termination_idle_seconds = {idle!r}: allowed {AUTO_TERMINATION_SECONDS[0]}-"
                     f"{AUTO_TERMINATION_SECONDS[1]} seconds (1 minute to 7 days)")
        elif not _at_least(release, (5, 30, 0), (6, 1, 0)):
            p.append(f"auto_termination_idle_seconds with release_label = {spec.release_label!r}: needs emr-5.30.0 / "
                     "emr-6.1.0 or later")

    ms = spec.managed_scaling
    if ms is not None:
        if not isinstance(ms, ManagedScalingSpec):
            p.append(f"managed_scaling = {ms!r}: expected a ManagedScalingSpec")
        else:
            if not isinstance(ms.minimum, int) or ms.minimum < 1:
                p.append(f"managed_scaling.minimum = {ms.minimum!r}: at least 1 instance")
            elif not isinstance(ms.maximum, int) or ms.maximum < ms.minimum:
                p.append(f"managed_scaling.maximum = {ms.maximum!r}: at least minimum ({ms.minimum})")
            for attr in ("maximum_core", "maximum_on_demand"):
                v = getattr(ms, attr)
                if v is not None and (not isinstance(v, int) or v < 1 or (isinstance(ms.maximum, int) and v > ms.maximum)):
                    p.append(f"managed_scaling.{attr} = {v!r}: between 1 and maximum ({ms.maximum})")
            if core_count is not None and isinstance(ms.maximum_core, int) and ms.maximum_core < core_count:
                p.append(f"managed_scaling.maximum_core = {ms.maximum_core} is below core.instance_count = {core_count}")
            if not _at_least(release, (5, 30, 0), (6, 1, 0)):
                p.append(f"managed_scaling with release_label = {spec.release_label!r}: needs emr-5.30.0 / emr-6.1.0 "
                         "or later")

    scl = spec.step_concurrency_level
    if not isinstance(scl, int) or isinstance(scl, bool) or not 1 <= scl <= 256:
        p.append(f"step_concurrency_level = {scl!r}: allowed 1-256")
    if spec.ebs_root_volume_size is not None and (
            not isinstance(spec.ebs_root_volume_size, int) or not 15 <= spec.ebs_root_volume_size <= 100):
        p.append(f"ebs_root_volume_size = {spec.ebs_root_volume_size!r}: allowed 15-100 GiB")
    for key in sorted(set(spec.tags) & set(RESERVED_TAGS)):
        p.append(f"tags[{key!r}]: set by EmrCluster itself; remove it from tags")
    for key, val in spec.tags.items():
        if not isinstance(key, str) or not isinstance(val, str):
            p.append(f"tags[{key!r}] = {val!r}: tag keys and values are strings")

    if p:
        raise EmrConfigError(f"EmrCluster {name!r}", p)
    return ResolvedCluster(spec=spec, applications=canon, configurations=tuple(raw_configs),
                           dfs_replication=replication)


# --------------------------------------------------------------------------- construct

# Cluster names already used in each stack: names are global inside one stack's state,
# and a duplicate would silently merge two resources once logical ids are overridden.
_NAMES_BY_STACK: "weakref.WeakKeyDictionary[TerraformStack, set[str]]" = weakref.WeakKeyDictionary()


class EmrCluster(Construct):
    """One named EMR cluster (guide tips T3, T5, T6, T7).

    Inputs (keyword-only):
      spec: ClusterSpec (see its docstring for every option and default).
      purpose: the stack's purpose (``spark-batch`` ...), written as the ``purpose`` tag.
      subnet_id: private subnet the cluster runs in.
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
    (the aws_emr_cluster), ``outputs`` (suffix -> TerraformOutput).

    Hooks for later constructs (fixed private IP, guide tip T4): ``add_bootstrap_action``,
    ``add_tag``, ``set_ui_host``.
    """

    def __init__(
        self,
        scope: Construct,
        *,
        spec: ClusterSpec,
        purpose: str,
        subnet_id: str,
        security_groups,
        roles,
        log_bucket: str,
        log_prefix: str | None = None,
        security_configuration: str | None = None,
    ) -> None:
        resolved = validate_cluster_spec(spec)
        stack = TerraformStack.of(scope)
        used = _NAMES_BY_STACK.setdefault(stack, set())
        if spec.name in used:
            raise EmrConfigError(
                f"EmrCluster {spec.name!r}",
                [f"name = {spec.name!r}: a cluster of that name already exists in stack "
                 f"{stack.node.id!r}; cluster names are unique per stack (they are its Terraform addresses)"])
        # Checked before the construct exists: a refused prefix leaves no half-built
        # cluster in the tree and its name free.
        log_prefix = f"emr/{purpose}/" if log_prefix is None else log_prefix
        if not log_prefix.endswith("/") or log_prefix.startswith("/"):
            raise EmrConfigError(f"EmrCluster {spec.name!r}",
                                 [f"log_prefix = {log_prefix!r}: a folder such as 'emr/spark-batch/' (ends with '/')"])
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
        self._tags = {
            **dict(sorted(spec.tags.items())),
            "Name": spec.name,
            "purpose": purpose,
            MANAGED_POLICY_TAG: "true",
        }

        ignore = ["step"]
        if spec.frozen or spec.managed_scaling is not None:
            ignore.append("core_instance_group[0].instance_count")
        if spec.frozen:
            ignore += ["core_instance_group[0].autoscaling_policy", "step_concurrency_level", "auto_termination_policy"]

        # Grant before creating the cluster: the roles' policies are what it depends on.
        roles.grant_log_write(log_bucket, log_prefix)

        master, core = spec.master, spec.core
        self.resource = EmrClusterResource(
            self, "cluster",
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
                if spec.auto_termination_idle_seconds is not None else None),
            ec2_attributes=EmrClusterEc2Attributes(
                subnet_id=subnet_id,
                instance_profile=roles.instance_profile_arn,
                emr_managed_master_security_group=security_groups.master_managed_id,
                emr_managed_slave_security_group=security_groups.slave_managed_id,
                additional_master_security_groups=security_groups.master_additional_id,
                additional_slave_security_groups=security_groups.slave_additional_id,
                service_access_security_group=security_groups.service_access_id,
                key_name=spec.key_name,
            ),
            master_instance_group=EmrClusterMasterInstanceGroup(
                name="master",
                instance_type=master.instance_type,
                instance_count=master.instance_count,
                ebs_config=[EmrClusterMasterInstanceGroupEbsConfig(**master.ebs.terraform())],
            ),
            core_instance_group=EmrClusterCoreInstanceGroup(
                name="core",
                instance_type=core.instance_type,
                instance_count=core.instance_count,
                bid_price=core.bid_price,
                ebs_config=[EmrClusterCoreInstanceGroupEbsConfig(**core.ebs.terraform())],
            ),
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
                self, "managed-scaling",
                cluster_id=self.cluster_id,
                compute_limits=[EmrManagedScalingPolicyComputeLimits(
                    unit_type="Instances",
                    minimum_capacity_units=ms.minimum,
                    maximum_capacity_units=ms.maximum,
                    maximum_core_capacity_units=ms.maximum_core,
                    maximum_ondemand_capacity_units=ms.maximum_on_demand,
                )],
                lifecycle=TerraformResourceLifecycle(ignore_changes=["compute_limits"]) if spec.frozen else None,
            )
            self.managed_scaling.override_logical_id(f"{spec.name}_managed-scaling")

        self.outputs: dict[str, TerraformOutput] = {}
        self._output("cluster_id", self.cluster_id, "EMR cluster id (j-...)")
        self._output("master_private_dns", self.master_dns,
                     "master node DNS name (private: the cluster runs in a private subnet)")
        self.ui_host = self.master_dns
        for suffix, url in ui_urls(self.ui_host, self.applications).items():
            self._output(suffix, url, f"{suffix.removesuffix('_url').replace('_', ' ')} web UI")

    # -- hooks ------------------------------------------------------------------------

    def add_bootstrap_action(self, action: BootstrapAction, *, first: bool = False) -> None:
        """Append a bootstrap action (run after those already added; with ``first=True``
        run before all of them) and grant the instance role read on its object. Changing
        the list replaces the cluster."""
        if not isinstance(action, BootstrapAction):
            raise EmrConfigError(f"EmrCluster {self.name!r}", [f"bootstrap action {action!r}: expected a BootstrapAction"])
        if any(a.name == action.name for a in self._bootstrap_actions):
            raise EmrConfigError(f"EmrCluster {self.name!r}",
                                 [f"bootstrap action name {action.name!r} is already used on this cluster"])
        self._bootstrap_actions.insert(0 if first else len(self._bootstrap_actions), action)
        self.roles.grant_bootstrap_read(action.bucket, action.grant_prefix)
        self.resource.put_bootstrap_action([
            EmrClusterBootstrapAction(name=a.name, path=a.s3_path, args=list(a.args) or None)
            for a in self._bootstrap_actions
        ])

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

    def use_fixed_ip(self, *, ip: str, action: BootstrapAction, region: str, account_id: str,
                     subnet_id: str, ssh_user: str = "hadoop") -> None:
        """Give the master the fixed private IP ``ip`` (guide tip T4).

        ``action`` runs ``assign_private_ip.py`` with the IP (and, in ``eni`` mode, the
        reservation interface). It runs before every other bootstrap action: EMR runs them
        in order and stops at the first failure, so no other action runs on a master that
        will not get its address, and later actions may rely on it. The instance role may then find who holds the address
        (``ec2:DescribeNetworkInterfaces``, which has no resource-level permissions) and
        assign it to an interface of the cluster's subnet only (``ec2:Subnet``). The
        cluster is tagged ``fixed-private-ip`` (read by ``ops status``), its UI outputs
        move to the IP, and an ``ssh`` output gives the login line.
        """
        problem = three_master_problem(self.name, self.spec.master.instance_count)
        if problem:
            raise EmrConfigError(f"EmrCluster {self.name!r}", [problem])
        self.add_bootstrap_action(action, first=True)
        self.roles.add_statement(
            sid="FixedIpFindHolder", actions=["ec2:DescribeNetworkInterfaces"], resources=["*"])
        self.roles.add_statement(
            sid="FixedIpAssignInSubnet",
            actions=["ec2:AssignPrivateIpAddresses"],
            resources=[regional_arn("ec2", region, account_id, "network-interface/*")],
            conditions={"StringEquals": {"ec2:Subnet": regional_arn("ec2", region, account_id, f"subnet/{subnet_id}")}},
        )
        self.add_tag(FIXED_IP_TAG, ip)
        self.set_ui_host(ip)
        self._output("ssh", f"ssh {ssh_user}@{ip}", "SSH to the master on its fixed private IP")

    def tag_nodes_with_role(self, *, action: BootstrapAction, region: str, account_id: str) -> None:
        """Append -MASTER / -CORE / -TASK to every node's Name tag at boot.

        ``action`` runs ``tag_instance_role.py``. The instance role may read instances
        (``ec2:DescribeInstances`` has no resource-level permissions) and write only the
        ``Name`` tag, only on EMR instances of this purpose (EMR copies the cluster's tags,
        ``purpose`` among them, to its instances and adds the job-flow id tag). The script
        overwrites Name with CreateTags, so no ``ec2:DeleteTags`` is granted.
        """
        self.add_bootstrap_action(action)
        self.roles.add_statement(
            sid="RoleTagsReadInstance", actions=["ec2:DescribeInstances"], resources=["*"])
        self.roles.add_statement(
            sid="RoleTagsWriteName",
            actions=["ec2:CreateTags"],
            resources=[regional_arn("ec2", region, account_id, "instance/*")],
            conditions={
                "StringEquals": {"aws:ResourceTag/purpose": self.purpose},
                "StringLike": {"aws:ResourceTag/aws:elasticmapreduce:job-flow-id": "j-*"},
                "ForAllValues:StringEquals": {"aws:TagKeys": ["Name"]},
            },
        )

    def register_task_group(self, group_name: str) -> None:
        """Reserve an instance-group name on this cluster (used by SpotTaskGroup)."""
        if group_name in ("master", "core") or group_name in self._task_group_names:
            raise EmrConfigError(f"EmrCluster {self.name!r}",
                                 [f"instance group name {group_name!r} is already used on this cluster"])
        self._task_group_names.add(group_name)

    @property
    def task_group_names(self) -> tuple[str, ...]:
        return tuple(sorted(self._task_group_names))

    def _output(self, suffix: str, value: str, description: str) -> None:
        out = TerraformOutput(self, f"output-{suffix}", value=value, description=f"{self.name}: {description}")
        out.override_logical_id(f"{self.name}_{suffix}")
        self.outputs[suffix] = out
