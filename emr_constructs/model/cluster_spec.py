"""What describes one named EMR cluster, and every rule its inputs must meet (guide tips
T3, T5, T6, T7).

Each spec checks itself with ``problems(...)``, which returns one message per problem
(setting, value given, what is allowed, how to fix) instead of raising at the first, the
way ``EbsSpec`` does; ``ClusterSpec.resolve()`` gathers them all and raises one
``EmrConfigError``, or returns the normalised form the construct writes out.

T3  The cluster name is the construct id and the root of every Terraform address.
T5  EBS sizing lives in ``emr_constructs.model.ebs``.
T6  Master is always on-demand; Spot on core only with ``allow_spot_core=True``.
T7  ``dfs.replication`` is resolved here (EMR's default from the core count unless
    given) and checked against the core count; ``render_configurations`` always writes it.

Master and core are instance groups (``InstanceGroupSpec``, the default model) or
instance fleets (``InstanceFleetSpec``, from ``emr_constructs.model.fleet_spec``), never one of
each: EMR fixes the model for the cluster's lifetime. With fleets, the core count of T7 is
the fewest core nodes the core capacity can be met with.

Pure Python (no cdktf import): the rules can be checked and tested without loading the
provider bindings.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from emr_constructs.model import validation
from emr_constructs.model.contract import CORE_GROUP, MANAGED_POLICY_TAG, MASTER_GROUP
from emr_constructs.model.ebs import EbsSpec
from emr_constructs.model.errors import EmrConfigError
from emr_constructs.model.fleet_spec import CORE_FLEET, MASTER_FLEET, InstanceFleetSpec
from emr_constructs.model.pricing import check_bid_price

CLUSTER_NAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", re.ASCII)
CLUSTER_NAME_MAX = 63
RELEASE_LABEL_PATTERN = re.compile(r"emr-([0-9]+)\.([0-9]+)\.([0-9]+)", re.ASCII)
INSTANCE_TYPE_PATTERN = re.compile(r"[a-z][a-z0-9-]*\.[a-z0-9]+", re.ASCII)

#: EMR's own spelling of the applications it installs (lower-case -> canonical).
APPLICATIONS = {
    name.lower(): name
    for name in (
        "Flink",
        "Ganglia",
        "HBase",
        "HCatalog",
        "Hadoop",
        "Hive",
        "Hue",
        "JupyterEnterpriseGateway",
        "JupyterHub",
        "Livy",
        "MXNet",
        "Oozie",
        "Phoenix",
        "Pig",
        "Presto",
        "Spark",
        "Sqoop",
        "TensorFlow",
        "Tez",
        "Trino",
        "Zeppelin",
        "ZooKeeper",
    )
}

#: Tags every cluster carries; callers may not override them.
RESERVED_TAGS = ("Name", "purpose", MANAGED_POLICY_TAG)

#: Web UIs on the master node: (output suffix, port, application that must be present).
#: YARN's ResourceManager runs whenever Hadoop does, and EMR always installs Hadoop.
UI_PORTS = (
    ("yarn_resourcemanager_url", 8088, None),
    ("spark_history_url", 18080, "Spark"),
    ("trino_url", 8889, "Trino"),
    ("presto_url", 8889, "Presto"),
)

AUTO_TERMINATION_SECONDS = (60, 604800)
STEP_CONCURRENCY = (1, 256)
ROOT_VOLUME_GIB = (15, 100)
# First releases with managed scaling and auto-termination, in the 5.x and the 6.x line.
SCALING_RELEASES = ((5, 30, 0), (6, 1, 0))
MULTI_MASTER_RELEASES = ((5, 23, 0), (6, 0, 0))

Release = tuple[int, int, int]


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_release(label: object) -> Release | None:
    """``emr-7.5.0`` -> ``(7, 5, 0)``; None when the label is not of that form."""
    m = RELEASE_LABEL_PATTERN.fullmatch(label) if isinstance(label, str) else None
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


def _at_least(release: Release | None, firsts: tuple[Release, Release]) -> bool:
    """Features that arrived in both the 5.x and the 6.x line (``firsts``: first 5.x, first 6.x)."""
    if release is None:
        return True  # the label itself is reported
    v5, v6 = firsts
    if release[0] == 5:
        return release >= v5
    if release[0] == 6:
        return release >= v6
    return release[0] > 6


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class InstanceGroupSpec:
    """Master or core group. ``instance_count``: master 1 or 3 (HA); core at least 1
    (default 1). ``ebs`` default: gp3 64 GiB, 3000 IOPS, 125 MiB/s. ``bid_price`` makes
    the group Spot: refused on master, on core only with ``allow_spot_core``."""

    instance_type: str
    instance_count: int = 1
    ebs: EbsSpec = field(default_factory=EbsSpec)
    bid_price: str | None = None

    def problems(self, role: str) -> list[str]:
        """What every group needs: an instance type and a valid EbsSpec."""
        p: list[str] = []
        if (type_problem := validation.instance_type_problem(self.instance_type)) is not None:
            p.append(f"{role}.instance_type = {self.instance_type!r}: {type_problem}")
        if isinstance(self.ebs, EbsSpec):
            p.extend(self.ebs.problems(f"{role}.ebs"))
        else:
            p.append(f"{role}.ebs = {self.ebs!r}: expected an EbsSpec")
        return p

    def master_problems(self, release_label: str) -> list[str]:
        """Rules of the master group: 1 or 3 nodes (3 needs emr-5.23.0+), always on-demand."""
        p: list[str] = []
        if self.instance_count not in (1, 3):
            p.append(f"master.instance_count = {self.instance_count!r}: 1, or 3 for high availability")
        elif self.instance_count == 3 and not _at_least(parse_release(release_label), MULTI_MASTER_RELEASES):
            p.append(
                f"master.instance_count = 3 with release_label = {release_label!r}: three masters need "
                "emr-5.23.0 or later"
            )
        if self.bid_price is not None:
            p.append(
                f"master.bid_price = {self.bid_price!r}: the master is always on-demand (losing it loses "
                "the cluster); remove bid_price"
            )
        return p

    def core_problems(self, *, allow_spot_core: bool) -> list[str]:
        """Rules of the core group: at least one node; Spot only when explicitly allowed (T6)."""
        p: list[str] = []
        if not _is_count(self.instance_count) or self.instance_count < 1:
            p.append(
                f"core.instance_count = {self.instance_count!r}: at least 1 core node (HDFS and the YARN "
                "application masters run there)"
            )
        if self.bid_price is None:
            return p
        if not allow_spot_core:
            p.append(
                f"core.bid_price = {self.bid_price!r}: Spot on core is refused because the YARN application "
                "master of every job runs on core nodes, so a Spot reclaim fails whole jobs and loses HDFS "
                "blocks (guide tip T6). Put Spot capacity in task groups (SpotTaskGroupPair), or pass "
                "allow_spot_core=True for a test cluster"
            )
        else:
            problem = check_bid_price(self.bid_price)
            if problem:
                p.append(f"core.{problem}")
        return p

    @property
    def valid_count(self) -> int | None:
        """The instance count when it is a usable whole number (>= 1), else None."""
        return self.instance_count if _is_count(self.instance_count) and self.instance_count >= 1 else None


@dataclass(frozen=True)
class Configuration:
    """One EMR configuration classification, optionally with nested classifications
    (``spark-env`` -> ``export``)."""

    classification: str
    properties: Mapping[str, str] = field(default_factory=dict)
    configurations: tuple[Configuration, ...] = ()

    def problems(self, where: str) -> list[str]:
        """This entry's classification, its string-only properties and its nested entries."""
        p: list[str] = []
        label = f"{where}[{self.classification!r}]"
        if not isinstance(self.classification, str) or not self.classification:
            p.append(f"{where}: classification = {self.classification!r}: a non-empty name such as 'spark-defaults'")
        if not isinstance(self.properties, Mapping):
            p.append(f"{label}.properties = {self.properties!r}: expected a mapping of strings")
            return p
        for key, val in self.properties.items():
            if not isinstance(key, str) or not isinstance(val, str):
                p.append(
                    f"{label}.properties[{key!r}] = {val!r}: keys and values must be strings, because EMR "
                    "stores and returns strings and a non-string would differ on every plan; write it in quotes"
                )
        p.extend(configuration_problems(self.configurations, f"{label}.configurations"))
        return p


def configuration_problems(configs: Iterable[object], where: str) -> list[str]:
    """Problems of a list of Configuration entries: each entry's own, and no classification twice."""
    p: list[str] = []
    seen: set[str] = set()
    for c in configs:
        if not isinstance(c, Configuration):
            p.append(f"{where} entry {c!r}: expected a Configuration")
            continue
        if isinstance(c.classification, str) and c.classification and c.classification in seen:
            p.append(f"{where}[{c.classification!r}]: classification given twice; merge the properties into one entry")
        seen.add(c.classification)
        p.extend(c.problems(where))
    return p


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

    def problems(self, where: str) -> list[str]:
        if not self.name or not self.bucket or not self.key:
            return [f"{where} = {self!r}: name, bucket and key are required"]
        return []


def bootstrap_action_problems(actions: Sequence[object]) -> list[str]:
    """Each action is a valid BootstrapAction, and no two share a name."""
    p: list[str] = []
    for i, action in enumerate(actions):
        if isinstance(action, BootstrapAction):
            p.extend(action.problems(f"bootstrap_actions[{i}]"))
        else:
            p.append(f"bootstrap_actions[{i}] = {action!r}: expected a BootstrapAction (from BootstrapAssets.action)")
    names = [a.name for a in actions if isinstance(a, BootstrapAction)]
    if len(set(names)) != len(names):
        p.append(f"bootstrap_actions: names {names!r} repeat; EMR lists them by name, so give each a distinct name")
    return p


@dataclass(frozen=True)
class ManagedScalingSpec:
    """EMR managed scaling limits, in instances. ``maximum_core`` caps how far core may
    grow (default: no extra cap); ``maximum_on_demand`` caps on-demand instances (default:
    no extra cap), so the rest comes from Spot task groups."""

    minimum: int
    maximum: int
    maximum_core: int | None = None
    maximum_on_demand: int | None = None

    def problems(self, *, core_count: int | None, release_label: str) -> list[str]:
        """Limits in order (1 <= minimum <= maximum, caps within maximum and not below the
        core count) and a release that has managed scaling."""
        p: list[str] = []
        if not isinstance(self.minimum, int) or self.minimum < 1:
            p.append(f"managed_scaling.minimum = {self.minimum!r}: at least 1 instance")
        elif not isinstance(self.maximum, int) or self.maximum < self.minimum:
            p.append(f"managed_scaling.maximum = {self.maximum!r}: at least minimum ({self.minimum})")
        for attr in ("maximum_core", "maximum_on_demand"):
            v = getattr(self, attr)
            if v is not None and (
                not isinstance(v, int) or v < 1 or (isinstance(self.maximum, int) and v > self.maximum)
            ):
                p.append(f"managed_scaling.{attr} = {v!r}: between 1 and maximum ({self.maximum})")
        if core_count is not None and isinstance(self.maximum_core, int) and self.maximum_core < core_count:
            p.append(f"managed_scaling.maximum_core = {self.maximum_core} is below core.instance_count = {core_count}")
        if not _at_least(parse_release(release_label), SCALING_RELEASES):
            p.append(f"managed_scaling with release_label = {release_label!r}: needs emr-5.30.0 / emr-6.1.0 or later")
        return p


@dataclass(frozen=True)
class ResolvedCluster:
    """The validated, normalised form of a ClusterSpec."""

    spec: ClusterSpec
    applications: tuple[str, ...]
    configurations: tuple[Configuration, ...]
    dfs_replication: int


@dataclass(frozen=True)
class ClusterSpec:
    """Everything that describes one named cluster.

    name: lower-case letters, digits and '-' (e.g. ``spark-batch-production-01``); also
        the construct id and the root of every Terraform address. Required.
    release_label: ``emr-X.Y.Z``. Required.
    applications: EMR application names, any case (written in EMR's spelling). Required.
    master / core: InstanceGroupSpec (instance groups), or InstanceFleetSpec for both
        (instance fleets; see ``emr_constructs.model.fleet_spec``). Required.
    configurations: Configuration entries or ``{classification: {property: value}}``;
        default none. Values must be strings.
    dfs_replication: HDFS replication; default EMR's rule from the core count (1 below 4
        nodes, 2 below 10, else 3). Always written explicitly (T7).
    bootstrap_actions: BootstrapAction entries, run in order; default none.
    auto_termination_idle_seconds: terminate after this many idle seconds (60-604800);
        default None (stays up). For operation clusters.
    managed_scaling: ManagedScalingSpec; default None.
    step_concurrency_level: steps run in parallel, 1-256; default 1.
    frozen: ignore what operators change from the console (see EmrCluster);
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
    master: InstanceGroupSpec | InstanceFleetSpec
    core: InstanceGroupSpec | InstanceFleetSpec
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

    # -- the whole check ---------------------------------------------------------------

    def problems(self) -> list[str]:
        """Every problem of this spec, in the order of its settings."""
        configs, config_problems = self._configurations()
        return [
            *self._name_problems(),
            *self._application_problems(),
            *self._group_problems(),
            *config_problems,
            *configuration_problems(configs, "configurations"),
            *self._replication(configs)[1],
            *bootstrap_action_problems(self.bootstrap_actions),
            *self._auto_termination_problems(),
            *self._managed_scaling_problems(),
            *self._limit_problems(),
            *self._tag_problems(),
        ]

    def resolve(self) -> ResolvedCluster:
        """The normalised cluster, or EmrConfigError listing every problem."""
        p = self.problems()
        if p:
            raise EmrConfigError(f"EmrCluster {self.name!r}", p)
        configs, _ = self._configurations()
        replication, _ = self._replication(configs)
        assert replication is not None  # a valid core count always gives one
        return ResolvedCluster(
            spec=self,
            applications=canonical_applications(self._application_list()),
            configurations=tuple(configs),
            dfs_replication=replication,
        )

    # -- one concern each ----------------------------------------------------------------

    def _name_problems(self) -> list[str]:
        p: list[str] = []
        name = self.name
        if not isinstance(name, str) or not CLUSTER_NAME_PATTERN.fullmatch(name) or len(name) > CLUSTER_NAME_MAX:
            text = validation.text_problem(name)
            p.append(
                f"name = {name!r}: {text + '; expected ' if text else ''}lower-case letters, digits and single '-' between words, starting with a "
                f"letter, at most {CLUSTER_NAME_MAX} characters (e.g. 'spark-batch-production-01')"
            )
        if parse_release(self.release_label) is None:
            p.append(
                f"release_label = {self.release_label!r}: expected 'emr-X.Y.Z', e.g. 'emr-7.5.0' "
                "(see `aws emr list-release-labels`)"
            )
        return p

    def _application_list(self) -> list[str]:
        return list(self.applications) if isinstance(self.applications, (list, tuple)) else []

    def _application_problems(self) -> list[str]:
        p: list[str] = []
        apps = self._application_list()
        if isinstance(self.applications, str):
            p.append(
                f"applications = {self.applications!r}: a list or tuple of names, e.g. "
                f"({self.applications!r},), not one string"
            )
        elif not apps:
            p.append(f"applications = {self.applications!r}: give at least one application, e.g. ('Hadoop', 'Spark')")
        unknown = [a for a in apps if not isinstance(a, str) or a.lower() not in APPLICATIONS]
        if unknown:
            p.append(f"applications: unknown {unknown!r}; known: {', '.join(sorted(APPLICATIONS.values()))}")
        canon = canonical_applications(apps)
        if len(canon) != len([a for a in apps if a not in unknown]):
            p.append(f"applications = {apps!r}: an application is listed twice")
        if "Trino" in canon and "Presto" in canon:
            p.append("applications: Trino and Presto cannot run on the same cluster; keep one")
        return p

    @property
    def uses_fleets(self) -> bool:
        """Whether master and core are instance fleets (else instance groups)."""
        return isinstance(self.master, InstanceFleetSpec) or isinstance(self.core, InstanceFleetSpec)

    def _fleet_problems(self) -> list[str]:
        master, core = self.master, self.core
        p: list[str] = []
        if not (isinstance(master, InstanceFleetSpec) and isinstance(core, InstanceFleetSpec)):
            kinds = {role: type(getattr(self, role)).__name__ for role in (MASTER_GROUP, CORE_GROUP)}
            p.append(
                f"master is {kinds[MASTER_GROUP]} and core is {kinds[CORE_GROUP]}: instance groups and instance "
                "fleets cannot be mixed in one cluster (EMR fixes one model for the cluster's lifetime); give both "
                "as InstanceGroupSpec or both as InstanceFleetSpec"
            )
        if isinstance(master, InstanceFleetSpec):
            p += [*master.problems(MASTER_FLEET), *master.master_problems()]
        elif isinstance(master, InstanceGroupSpec):
            p += [*master.problems(MASTER_GROUP), *master.master_problems(self.release_label)]
        if isinstance(core, InstanceFleetSpec):
            p += [*core.problems(CORE_FLEET), *core.core_problems(allow_spot_core=self.allow_spot_core)]
        elif isinstance(core, InstanceGroupSpec):
            p += [*core.problems(CORE_GROUP), *core.core_problems(allow_spot_core=self.allow_spot_core)]
        return p

    def _group_problems(self) -> list[str]:
        if self.uses_fleets:
            return self._fleet_problems()
        p: list[str] = []
        for role in (MASTER_GROUP, CORE_GROUP):
            group = getattr(self, role)
            if isinstance(group, InstanceGroupSpec):
                p.extend(group.problems(role))
            else:
                p.append(f"{role} = {group!r}: expected an InstanceGroupSpec")
        if isinstance(self.master, InstanceGroupSpec):
            p.extend(self.master.master_problems(self.release_label))
        if isinstance(self.core, InstanceGroupSpec):
            p.extend(self.core.core_problems(allow_spot_core=self.allow_spot_core))
        return p

    def _core_count(self) -> int | None:
        if isinstance(self.core, InstanceFleetSpec):
            return self.core.fewest_nodes()
        return self.core.valid_count if isinstance(self.core, InstanceGroupSpec) else None

    def _configurations(self) -> tuple[list, list[str]]:
        """The configurations as a list of entries (a mapping is accepted as shorthand)."""
        value = self.configurations
        if isinstance(value, Mapping):
            return [
                Configuration(c, dict(props) if isinstance(props, Mapping) else props) for c, props in value.items()
            ], []
        if isinstance(value, (list, tuple)):
            return list(value), []
        return [], [
            f"configurations = {value!r}: expected Configuration entries or {{classification: {{property: value}}}}"
        ]

    def _replication(self, configs: Sequence[object]) -> tuple[int | None, list[str]]:
        """``dfs.replication`` (T7): given once (``dfs_replication`` or hdfs-site), else EMR's
        default for the core count; never more than the core nodes."""
        p: list[str] = []
        core_count = self._core_count()
        given_in_hdfs = next(
            (
                c.properties.get("dfs.replication")
                for c in configs
                if isinstance(c, Configuration)
                and c.classification == "hdfs-site"
                and isinstance(c.properties, Mapping)
            ),
            None,
        )
        replication: object = self.dfs_replication
        if given_in_hdfs is not None and replication is not None:
            p.append(
                f"dfs_replication = {replication!r} and hdfs-site dfs.replication = {given_in_hdfs!r}: give it "
                "once (prefer dfs_replication)"
            )
        elif given_in_hdfs is not None:
            replication = int(given_in_hdfs) if str(given_in_hdfs).isdigit() else given_in_hdfs
        if replication is None and core_count is not None:
            replication = default_dfs_replication(core_count)
        if replication is None:
            return None, p
        if not _is_count(replication) or replication < 1:  # type: ignore[operator]
            p.append(f"dfs_replication = {replication!r}: a whole number of at least 1")
        elif core_count is not None and replication > core_count:  # type: ignore[operator]
            p.append(
                f"dfs_replication = {replication} with {self._core_label()} = {core_count}: HDFS cannot keep more "
                f"copies than there are core nodes (every write would stay under-replicated); use at most "
                f"{core_count} or add core nodes (guide tip T7)"
            )
        return (replication if _is_count(replication) else None), p  # type: ignore[return-value]

    def _core_label(self) -> str:
        if isinstance(self.core, InstanceFleetSpec):
            return "core nodes (core fleet capacity / largest weighted capacity, at least)"
        return "core.instance_count"

    def _auto_termination_problems(self) -> list[str]:
        idle = self.auto_termination_idle_seconds
        low, high = AUTO_TERMINATION_SECONDS
        if idle is None:
            return []
        if not _is_count(idle) or not low <= idle <= high:
            return [f"auto_termination_idle_seconds = {idle!r}: allowed {low}-{high} seconds (1 minute to 7 days)"]
        if not _at_least(parse_release(self.release_label), SCALING_RELEASES):
            return [
                f"auto_termination_idle_seconds with release_label = {self.release_label!r}: needs emr-5.30.0 / "
                "emr-6.1.0 or later"
            ]
        return []

    def _managed_scaling_problems(self) -> list[str]:
        ms = self.managed_scaling
        if ms is None:
            return []
        if not isinstance(ms, ManagedScalingSpec):
            return [f"managed_scaling = {ms!r}: expected a ManagedScalingSpec"]
        # With fleets the limits are in units (InstanceFleetUnits), as the core capacity is.
        core = self.core.target_units if isinstance(self.core, InstanceFleetSpec) else self._core_count()
        return ms.problems(core_count=core, release_label=self.release_label)

    def _limit_problems(self) -> list[str]:
        p: list[str] = []
        scl = self.step_concurrency_level
        if not _is_count(scl) or not STEP_CONCURRENCY[0] <= scl <= STEP_CONCURRENCY[1]:
            p.append(f"step_concurrency_level = {scl!r}: allowed {STEP_CONCURRENCY[0]}-{STEP_CONCURRENCY[1]}")
        root = self.ebs_root_volume_size
        if root is not None and (not isinstance(root, int) or not ROOT_VOLUME_GIB[0] <= root <= ROOT_VOLUME_GIB[1]):
            p.append(f"ebs_root_volume_size = {root!r}: allowed {ROOT_VOLUME_GIB[0]}-{ROOT_VOLUME_GIB[1]} GiB")
        return p

    def _tag_problems(self) -> list[str]:
        p = [
            f"tags[{key!r}]: set by EmrCluster itself; remove it from tags"
            for key in sorted(set(self.tags) & set(RESERVED_TAGS))
        ]
        p += [
            f"tags[{key!r}] = {val!r}: tag keys and values are strings"
            for key, val in self.tags.items()
            if not isinstance(key, str) or not isinstance(val, str)
        ]
        p += validation.tag_problems({k: v for k, v in self.tags.items() if isinstance(k, str) and isinstance(v, str)})
        return p


# --------------------------------------------------------------------------- helpers


def validate_cluster_spec(spec: ClusterSpec) -> ResolvedCluster:
    """All validation for a cluster: ``spec.resolve()`` (EmrConfigError listing every problem)."""
    return spec.resolve()


def default_dfs_replication(core_count: int) -> int:
    """EMR's own default for ``dfs.replication`` (guide tip T7)."""
    if core_count < 4:
        return 1
    if core_count < 10:
        return 2
    return 3


def canonical_applications(applications: Iterable[object]) -> tuple[str, ...]:
    """Known applications in EMR's spelling, sorted (unknown names are left out;
    validation reports them)."""
    return tuple(
        sorted({APPLICATIONS[a.lower()] for a in applications if isinstance(a, str) and a.lower() in APPLICATIONS})
    )


def ui_urls(host: str, applications: Iterable[str]) -> dict[str, str]:
    """Web UI addresses on ``host`` for the applications present, keyed by output
    suffix. Reusable with any host: the master's DNS name or a fixed private IP."""
    present = set(canonical_applications(applications))
    return {suffix: f"http://{host}:{port}" for suffix, port, app in UI_PORTS if app is None or app in present}


def _configuration_doc(c: Configuration) -> dict:
    doc: dict = {"Classification": c.classification, "Properties": {k: c.properties[k] for k in sorted(c.properties)}}
    if c.configurations:
        doc["Configurations"] = [
            _configuration_doc(n) for n in sorted(c.configurations, key=lambda n: n.classification)
        ]
    return doc


def render_configurations(configs: Sequence[Configuration], dfs_replication: int) -> str:
    """Deterministic ``configurations_json``: classifications sorted, properties sorted,
    ``dfs.replication`` merged into ``hdfs-site``, compact separators."""
    merged: dict[str, Configuration] = {c.classification: c for c in configs}
    hdfs = merged.get("hdfs-site", Configuration("hdfs-site"))
    merged["hdfs-site"] = Configuration(
        "hdfs-site", {**hdfs.properties, "dfs.replication": str(dfs_replication)}, hdfs.configurations
    )
    docs = [_configuration_doc(merged[k]) for k in sorted(merged)]
    return json.dumps(docs, sort_keys=True, separators=(",", ":"))
