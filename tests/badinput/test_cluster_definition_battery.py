"""Bad cluster definitions fed to ``main.run`` in process (the seam ``purposes=``: the app's
declarations with one purpose's clusters replaced), after one provider import for the
session. Each case asserts what a user of ``main.py`` sees: exit 2, the argument and the
value in the message, no traceback, and no output folder written."""

from __future__ import annotations

import dataclasses
import io
from decimal import Decimal

import pytest

from tests.badinput.support import EXAMPLE, Case

NO_FIXED_IPS = EXAMPLE[: EXAMPLE.index("[fixed_ips]")]

# Builds stacks in this process (the provider bindings are imported).
pytestmark = pytest.mark.synth


@pytest.fixture(scope="session")
def kit():
    """The provider import, paid once: the cluster-definition vocabulary."""
    import main
    from emr_constructs import spot_task_groups
    from emr_constructs.model import cluster_spec
    from stacks.clusters import PURPOSE_DECLARATIONS

    return main, cluster_spec, spot_task_groups, PURPOSE_DECLARATIONS


def spec(k, **kw):
    ec = k[1]
    args = dict(
        name="battery-01",
        release_label="emr-7.5.0",
        applications=("Hadoop", "Spark"),
        master=ec.InstanceGroupSpec("m5.xlarge"),
        core=ec.InstanceGroupSpec("r5.xlarge", instance_count=2),
    )
    args.update(kw)
    return ec.ClusterSpec(**args)


CASES: list[Case] = []


def case(cls, name, definitions, *expect):
    """``definitions(k)`` -> {purpose: tuple of cluster definitions}."""
    CASES.append(Case(cls, name, definitions, tuple(expect)))


def one(build):
    return lambda k: {"spark-batch": (lambda stack: build(k, stack),)}


def cluster(**kw):
    return one(
        lambda k, stack: stack.add_cluster(spec(k, **{key: (v(k) if callable(v) else v) for key, v in kw.items()}))
    )


def group(k, t, **kw):
    return k[1].InstanceGroupSpec(t, **kw)


# --- cluster text and names -------------------------------------------------------------------------
case("cluster-text", "name-newline", cluster(name="battery-01\n"), "name = 'battery-01\\n'")
case("cluster-text", "name-fullwidth-digit", cluster(name="battery-０1"), "name = 'battery-０1'")
case("cluster-text", "name-uppercase", cluster(name="Battery-01"), "name = 'Battery-01'")
case("cluster-text", "release-newline", cluster(release_label="emr-7.5.0\n"), "release_label = 'emr-7.5.0\\n'")
case("cluster-text", "release-fullwidth-digit", cluster(release_label="emr-７.5.0"), "release_label = 'emr-７.5.0'")
case(
    "cluster-text",
    "applications-string",
    cluster(applications="Spark"),
    "applications = 'Spark'",
    "a list or tuple of names",
)
case("cluster-text", "application-newline", cluster(applications=("Hadoop", "Spark\n")), "'Spark\\n'")
case("cluster-text", "tag-value-newline", cluster(tags={"team": "data\n"}), "tags['team'] = 'data\\n'")

# --- instance types ---------------------------------------------------------------------------------
case(
    "instance-type",
    "master-unknown",
    cluster(master=lambda k: group(k, "m5.huge")),
    "master.instance_type = 'm5.huge': not a known EC2 instance type",
)
case(
    "instance-type",
    "core-unknown-family",
    cluster(core=lambda k: group(k, "x9.large", instance_count=2)),
    "core.instance_type = 'x9.large': not a known EC2 instance type",
)
case(
    "instance-type",
    "core-newline",
    cluster(core=lambda k: group(k, "r5.xlarge\n", instance_count=2)),
    "core.instance_type = 'r5.xlarge\\n'",
)


def spot(k, stack, **kw):
    c = stack.add_cluster(spec(k))
    args = dict(cluster=c, group_name=k[2].DYNAMIC, region=stack.settings.region, spec=k[2].SpotGroupSpec("r5.xlarge"))
    args.update({key: (v(k) if callable(v) else v) for key, v in kw.items()})
    k[2].SpotTaskGroup(c, **args)


def spot_case(name, *expect, **kw):
    case("spot-group", name, one(lambda k, stack: spot(k, stack, **kw)), *expect)


spot_case(
    "unknown-type",
    "task-spot-dynamic.instance_type = 'r5.huge': not a known EC2 instance type",
    spec=lambda k: k[2].SpotGroupSpec("r5.huge"),
)
spot_case(
    "float-bid", "bid_price = 0.24: a number (float)", spec=lambda k: k[2].SpotGroupSpec("r5.xlarge", bid_price=0.24)
)
spot_case("bid-newline", "bid_price = '0.24\\n'", spec=lambda k: k[2].SpotGroupSpec("r5.xlarge", bid_price="0.24\n"))
spot_case("factor-decimal-nan", "bid factor = Decimal('NaN')", bid_factor=Decimal("NaN"))
spot_case("factor-float-inf", "bid factor = inf", bid_factor=float("inf"))
spot_case("factor-text", "bid factor = 'eighty'", bid_factor="eighty")
spot_case("group-name-newline", "group_name = 'task-spot-dynamic\\n'", group_name="task-spot-dynamic\n")
spot_case("count-zero", "instance_count = 0", instance_count=0)
case(
    "spot-group",
    "pair-active-list",
    one(
        lambda k, stack: k[2].SpotTaskGroupPair(
            (c := stack.add_cluster(spec(k))),
            "pair",
            cluster=c,
            region=stack.settings.region,
            static_a=k[2].SpotGroupSpec("r5.xlarge"),
            static_b=k[2].SpotGroupSpec("m5.2xlarge"),
            active_count=2,
            active=["a"],
        )
    ),
    "active = ['a']",
)
case(
    "spot-group",
    "core-float-bid",
    cluster(core=lambda k: group(k, "r5.xlarge", instance_count=2, bid_price=0.24), allow_spot_core=True),
    "core.bid_price = 0.24",
)


# --- instance fleets ---------------------------------------------------------------------------------
def fleet(k, *types, **kw):
    from emr_constructs.model.fleet_spec import FleetInstanceType, InstanceFleetSpec

    return InstanceFleetSpec(tuple(t if not isinstance(t, str) else FleetInstanceType(t) for t in types), **kw)


def fleets(master=None, core=None, **kw):
    return cluster(
        master=master or (lambda k: fleet(k, "m5.xlarge", target_on_demand_capacity=1)),
        core=core or (lambda k: fleet(k, "r5.xlarge", target_on_demand_capacity=2)),
        **kw,
    )


_SIX = ("r5.xlarge", "r5.2xlarge", "r5.4xlarge", "m5.xlarge", "m5.2xlarge", "m5.4xlarge")
case(
    "fleet",
    "six-types-without-allocation-strategy",
    fleets(core=lambda k: fleet(k, *_SIX, target_on_demand_capacity=2, allocation_strategy=None)),
    "core_fleet.instance_types: 6 types; EMR allows at most 5 per fleet without an allocation strategy",
)
case(
    "fleet",
    "weighted-capacity-zero",
    fleets(core=lambda k: fleet(k, _weighted(0), target_on_demand_capacity=2)),
    "core_fleet.instance_types[0].weighted_capacity = 0: a whole number of at least 1",
)
case(
    "fleet",
    "spot-timeout-out-of-range",
    fleets(core=lambda k: fleet(k, "r5.xlarge", target_on_demand_capacity=2, spot_timeout_minutes=1441)),
    "core_fleet.spot_timeout_minutes = 1441: EMR allows 5-1440 minutes",
)
case(
    "fleet",
    "groups-and-fleets-mixed",
    cluster(core=lambda k: fleet(k, "r5.xlarge", target_on_demand_capacity=2)),
    "master is InstanceGroupSpec and core is InstanceFleetSpec: instance groups and instance fleets cannot be mixed",
)
case(
    "fleet",
    "spot-core-fleet",
    fleets(core=lambda k: fleet(k, "r5.xlarge", target_on_demand_capacity=1, target_spot_capacity=2)),
    "core_fleet.target_spot_capacity = 2: Spot on core is refused",
)
case(
    "fleet",
    "master-fleet-on-spot",
    fleets(master=lambda k: fleet(k, "m5.xlarge", target_spot_capacity=1)),
    "master_fleet.target_spot_capacity = 1: the master is always on-demand",
    "master_fleet.target_on_demand_capacity = 0",
)
case(
    "fleet",
    "every-problem-at-once",
    fleets(
        core=lambda k: fleet(
            k, *_SIX, _weighted(-1), target_on_demand_capacity=2, allocation_strategy=None, spot_timeout_minutes=4
        )
    ),
    "7 types",
    "core_fleet.instance_types[6].weighted_capacity = -1",
    "core_fleet.spot_timeout_minutes = 4",
)


def _weighted(weight):
    from emr_constructs.model.fleet_spec import FleetInstanceType

    return FleetInstanceType("c5.xlarge", weighted_capacity=weight)


# --- cross-definition facts and foreign exceptions ---------------------------------------------------
def _twice_across(k):
    return {
        "spark-batch": (lambda stack: stack.add_cluster(spec(k)),),
        "spark-stream": (lambda stack: stack.add_cluster(spec(k)),),
    }


case(
    "cross-definition",
    "same-name-two-stacks",
    _twice_across,
    "cluster name 'battery-01'",
    "spark-batch",
    "spark-stream",
)
case(
    "cross-definition",
    "same-name-one-stack",
    one(lambda k, stack: [stack.add_cluster(spec(k)), stack.add_cluster(spec(k))]),
    "battery-01",
)


def _raise(exc):
    def build(k, stack):
        raise exc

    return one(build)


case(
    "foreign-exception",
    "key-error",
    _raise(KeyError("spark-defaults")),
    "KeyError: 'spark-defaults'",
    "test_cluster_definition_battery.py",
)
case(
    "foreign-exception",
    "typo-keyword",
    one(lambda k, stack: stack.add_cluster(k[1].ClusterSpec(nme="battery-01"))),
    "TypeError",
    "nme",
)
case("foreign-exception", "zero-division", one(lambda k, stack: 1 / 0), "ZeroDivisionError")
case(
    "foreign-exception",
    "wrong-type-to-provider",
    one(lambda k, stack: stack.add_cluster(spec(k, step_concurrency_level="4"))),
    "step_concurrency_level = '4'",
)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_cluster_definitions_stop_main_with_exit_2(case, kit, tmp_path, monkeypatch):
    main, _, _, declarations = kit
    env_file = tmp_path / "env.toml"
    env_file.write_text(NO_FIXED_IPS, encoding="utf-8")
    monkeypatch.setenv("EMR_CDKTF_ENV", str(env_file))
    monkeypatch.delenv("EMR_CDKTF_DEBUG", raising=False)
    replaced = case.make(kit)
    purposes = tuple(
        dataclasses.replace(p, clusters=replaced[p.name]) if p.name in replaced else p for p in declarations
    )
    err = io.StringIO()
    out = tmp_path / "out"
    code = main.run(purposes=purposes, err=err, outdir=str(out))
    message = err.getvalue()
    assert code == 2, message
    for text in case.expect:
        assert text in message, message
    assert "Traceback" not in message
    assert not out.exists(), "the output folder was left behind"


# --- purpose declarations (the list the stacks are built from) -------------------------------------
DECLARATION_CASES = [
    ("purpose-name-newline", lambda p: dataclasses.replace(p, name=p.name + "\n"), "name = 'spark-batch\\n'"),
    ("purpose-name-fullwidth", lambda p: dataclasses.replace(p, name="spark-ｂatch"), "name = 'spark-ｂatch'"),
]


@pytest.mark.parametrize("name,edit,expect", DECLARATION_CASES, ids=[f"declaration:{c[0]}" for c in DECLARATION_CASES])
def test_bad_purpose_declarations_stop_main_with_exit_2(name, edit, expect, kit, tmp_path, monkeypatch):
    main, _, _, declarations = kit
    monkeypatch.delenv("EMR_CDKTF_ENV", raising=False)
    purposes = tuple(edit(p) if p.name == "spark-batch" else p for p in declarations)
    err = io.StringIO()
    out = tmp_path / "out"
    assert main.run(purposes=purposes, err=err, outdir=str(out)) == 2, err.getvalue()
    assert expect in err.getvalue() and "Traceback" not in err.getvalue()
    assert not out.exists()
