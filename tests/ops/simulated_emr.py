"""A small, explicit simulation of the EMR behaviour a Spot rotation depends on.

Why not moto: moto's EMR (5.x) applies ``ModifyInstanceGroups`` instantly (running count
= requested count at once, group always RUNNING), launches no instances for groups
added later, has no provisioning delay, no Spot shortage, no RESIZING/ARRESTED states
and no way to interrupt a caller halfway. A rotation is exactly about those: the time
between growing one group and shrinking the other.

What this models (only the calls ``rotate-spot`` makes: ListClusters, DescribeCluster,
ListInstanceGroups, ModifyInstanceGroups, AddTags, RemoveTags):

- simulated time (``now``, seconds) advanced only by ``sleep``, so tests never wait;
- growing a group launches instances that become RUNNING ``provision_delay`` (+
  ``stagger`` per instance) later; the group is RESIZING until running == requested;
- Spot shortage: ``spot_capacity[group]`` caps how many instances of a group can ever
  run; the rest stay PROVISIONING (EMR keeps trying) until ``set_capacity`` lifts it;
- shrinking removes instances at once (``drain_delay`` = 0, the worst case for
  capacity: a premature shrink shows up immediately as a capacity drop), or keeps them
  draining (still counted by EMR's RunningInstanceCount) for ``drain_delay`` seconds;
- a group can be forced into a state (``force_state``, e.g. ARRESTED);
- interruption: ``interrupt_after(op)`` raises KeyboardInterrupt right after the nth
  call of ``op`` took effect (the process dies after AWS accepted the request), and
  ``interrupt_on_sleep`` raises it from the nth sleep (Ctrl-C while waiting);
- a Terraform replacement (``replace_group``: a new bid or instance type): the old group
  is resized to 0 and stays listed under its name, as EMR keeps it, and a new group with
  that name is created with the configured count; groups carry their creation time.

Every request and response is validated against botocore's EMR service model, so the
fake stays shaped like the real client. ``history`` records, after every API call and
every clock step, the RUNNING instances of each static group: the capacity invariant
is asserted on it.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import botocore.session
from botocore.exceptions import ClientError
from botocore.validate import ParamValidator

from ops.cli import main
from ops.runtime import Runtime

_MODEL = botocore.session.get_session().get_service_model("emr")
_ids = itertools.count(1)
T0 = datetime(2026, 11, 24, 9, 0, 0, tzinfo=timezone.utc)


def _check(shape, value, what):
    if shape is None:
        return
    report = ParamValidator().validate(value, shape)
    if report.has_errors():
        raise AssertionError(f"simulated EMR {what} does not match the EMR API model:\n{report.generate_report()}")


@dataclass
class SimInstance:
    id: str
    ready_at: float  # inf: never (Spot shortage)
    state: str = "PROVISIONING"  # PROVISIONING, RUNNING, DRAINING, TERMINATED
    gone_at: float = float("inf")


@dataclass
class SimGroup:
    id: str
    name: str
    role: str
    market: str
    instance_type: str
    bid_price: str | None
    requested: int = 0
    instances: list[SimInstance] = field(default_factory=list)
    forced_state: str | None = None
    created: float = 0.0

    def live(self) -> list[SimInstance]:
        return [i for i in self.instances if i.state in ("PROVISIONING", "RUNNING")]

    def count(self, state: str) -> int:
        return sum(1 for i in self.instances if i.state == state)

    @property
    def emr_running_count(self) -> int:
        # EMR counts a decommissioning node as running until it terminates.
        return self.count("RUNNING") + self.count("DRAINING")

    @property
    def state(self) -> str:
        if self.forced_state:
            return self.forced_state
        busy = self.count("PROVISIONING") or self.count("DRAINING") or self.count("RUNNING") != self.requested
        return "RESIZING" if busy else "RUNNING"


class SimulatedEmr:
    def __init__(
        self,
        *,
        name: str = "spark-batch-production-01",
        target: int = 4,
        active: str = "task-spot-static-a",
        idle_count: int = 0,
        provision_delay: float = 90.0,
        stagger: float = 20.0,
        drain_delay: float = 0.0,
        spot_capacity: dict[str, int] | None = None,
        cluster_state: str = "WAITING",
        region: str = "ap-northeast-2",
        tags: dict[str, str] | None = None,
    ):
        self.now = 0.0
        self.provision_delay = provision_delay
        self.stagger = stagger
        self.drain_delay = drain_delay
        self.spot_capacity = dict(spot_capacity or {})
        self.cluster_id = "j-SIM" + f"{next(_ids):08d}"
        self.cluster_name = name
        self.cluster_state = cluster_state
        self.tags: dict[str, str] = {"Name": name, **(tags or {})}
        # boto3 clients expose their region as client.meta.region_name; the command prints it
        # in the `aws emr ...` commands it suggests.
        self.meta = SimpleNamespace(region_name=region)
        # The live group of each name; groups a replacement left behind are in ``replaced``.
        self.groups: dict[str, SimGroup] = {}
        self.replaced: list[SimGroup] = []
        for gname, role, market, itype, bid in (
            ("master", "MASTER", "ON_DEMAND", "m5.xlarge", None),
            ("core", "CORE", "ON_DEMAND", "r5.xlarge", None),
            ("task-spot-static-a", "TASK", "SPOT", "r5.xlarge", "0.24"),
            ("task-spot-static-b", "TASK", "SPOT", "r5.xlarge", "0.24"),
        ):
            self.groups[gname] = SimGroup(f"ig-SIM{next(_ids):09d}", gname, role, market, itype, bid)
        self._start(self.groups["master"], 1)
        self._start(self.groups["core"], 2)
        if active:
            self._start(self.groups[active], target)
            idle = "task-spot-static-b" if active == "task-spot-static-a" else "task-spot-static-a"
            # A freshly deployed SpotTaskGroupPair starts its idle side with 1 instance.
            self._start(self.groups[idle], idle_count)
        self.history: list[dict] = []
        self.calls: list[tuple[str, dict]] = []
        self.sleeps: list[float] = []
        self._interrupts: dict[str, int] = {}
        self.interrupt_on_sleep: int | None = None
        self._record("initial")

    # --- what tests arrange and inspect -------------------------------------------

    def group(self, name: str) -> SimGroup:
        return self.groups[name]

    def all_groups(self) -> list[SimGroup]:
        return [*self.replaced, *self.groups.values()]

    def running(self, name: str) -> int:
        return self.groups[name].count("RUNNING")

    def set_capacity(self, name: str, capacity: int | None) -> None:
        if capacity is None:
            self.spot_capacity.pop(name, None)
        else:
            self.spot_capacity[name] = capacity
        self._launch_pending(self.groups[name])
        self._record(f"capacity {name}={capacity}")

    def force_state(self, name: str, state: str | None) -> None:
        self.groups[name].forced_state = state

    def set_requested_externally(self, name: str, count: int) -> None:
        """Someone else (console, another operator) resizes a group."""
        self._resize(self.groups[name], count)
        self._record(f"external resize {name}={count}")

    def replace_group(
        self, name: str, *, count: int, bid_price: str | None = None, instance_type: str | None = None
    ) -> SimGroup:
        """What ``terraform apply`` does when a group's bid or type changes: the provider's
        delete resizes the old group to 0 (EMR cannot delete it), then creates a new group
        with the same name and the configured ``count``, which comes up after the usual
        provisioning delay."""
        old = self.groups[name]
        self._resize(old, 0)
        self.replaced.append(old)
        new = SimGroup(
            f"ig-SIM{next(_ids):09d}",
            name,
            old.role,
            old.market,
            instance_type or old.instance_type,
            bid_price or old.bid_price,
            created=self.now,
        )
        self.groups[name] = new
        self._resize(new, count)
        self._record(f"replaced {name}")
        return new

    def add_group_by_hand(self, name: str, *, count: int) -> SimGroup:
        """Someone runs AddInstanceGroups with a name the stack already uses (console or CLI)."""
        like = self.groups[name]
        extra = SimGroup(
            f"ig-SIM{next(_ids):09d}",
            name,
            like.role,
            like.market,
            like.instance_type,
            like.bid_price,
            created=self.now,
        )
        self.replaced.append(extra)
        self._resize(extra, count)
        self._record(f"added {name} by hand")
        return extra

    def interrupt_after(self, op: str, nth: int = 1) -> None:
        self._interrupts[op] = nth

    def mutations(self) -> list[tuple[str, dict]]:
        return [(op, p) for op, p in self.calls if op in ("ModifyInstanceGroups", "AddTags", "RemoveTags")]

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.interrupt_on_sleep is not None and len(self.sleeps) >= self.interrupt_on_sleep:
            self.interrupt_on_sleep = None
            raise KeyboardInterrupt
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        end = self.now + seconds
        # Step through every instance event so the history sees each intermediate state.
        while True:
            due = [
                t
                for g in self.all_groups()
                for i in g.instances
                for t in (
                    i.ready_at if i.state == "PROVISIONING" else None,
                    i.gone_at if i.state == "DRAINING" else None,
                )
                if t is not None and t <= end
            ]
            if not due:
                break
            self.now = max(self.now, min(due))
            for g in self.all_groups():
                for i in g.instances:
                    if i.state == "PROVISIONING" and i.ready_at <= self.now:
                        i.state = "RUNNING"
                    elif i.state == "DRAINING" and i.gone_at <= self.now:
                        i.state = "TERMINATED"
            self._record("instance events")
        self.now = end
        self._record("clock")

    # --- model ----------------------------------------------------------------------

    def _start(self, group: SimGroup, count: int) -> None:
        group.requested = count
        for _ in range(count):
            group.instances.append(SimInstance(f"i-{next(_ids):017x}", ready_at=0.0, state="RUNNING"))

    def _launch_pending(self, group: SimGroup) -> None:
        """Schedule launches for instances EMR is still trying to get, up to the Spot capacity."""
        cap = self.spot_capacity.get(group.name, float("inf"))
        scheduled = sum(
            1
            for i in group.instances
            if i.state == "RUNNING" or (i.state == "PROVISIONING" and i.ready_at != float("inf"))
        )
        k = 0
        for inst in group.instances:
            if inst.state == "PROVISIONING" and inst.ready_at == float("inf") and scheduled < cap:
                inst.ready_at = self.now + self.provision_delay + k * self.stagger
                k += 1
                scheduled += 1

    def _resize(self, group: SimGroup, count: int) -> None:
        group.requested = count
        live = group.live()
        if count > len(live):
            for _ in range(count - len(live)):
                group.instances.append(SimInstance(f"i-{next(_ids):017x}", ready_at=float("inf")))
            self._launch_pending(group)
        elif count < len(live):
            # Pending launches are cancelled first, then running instances leave.
            excess = sorted(live, key=lambda i: i.state == "RUNNING")[: len(live) - count]
            for inst in excess:
                if inst.state == "RUNNING" and self.drain_delay > 0:
                    inst.state, inst.gone_at = "DRAINING", self.now + self.drain_delay
                else:
                    inst.state = "TERMINATED"

    def _record(self, event: str) -> None:
        self.history.append(
            {
                "t": self.now,
                "event": event,
                "running": {n: self.running(n) for n in ("task-spot-static-a", "task-spot-static-b")},
                "requested": {n: self.groups[n].requested for n in ("task-spot-static-a", "task-spot-static-b")},
            }
        )

    def _call(self, op: str, params: dict, handler):
        _check(_MODEL.operation_model(op).input_shape, params, f"{op} request")
        self.calls.append((op, params))
        response = handler()
        _check(_MODEL.operation_model(op).output_shape, response, f"{op} response")
        self._record(op)
        if op in self._interrupts:
            self._interrupts[op] -= 1
            if self._interrupts[op] == 0:
                del self._interrupts[op]
                raise KeyboardInterrupt
        return response

    def _require_cluster(self, op: str, cluster_id: str) -> None:
        if cluster_id != self.cluster_id:
            raise ClientError(
                {"Error": {"Code": "InvalidRequestException", "Message": f"Cluster id '{cluster_id}' is not valid."}},
                op,
            )

    def _summary(self) -> dict:
        return {
            "Id": self.cluster_id,
            "Name": self.cluster_name,
            "Status": {"State": self.cluster_state, "Timeline": {"CreationDateTime": T0}},
        }

    # --- the EMR client interface ---------------------------------------------------

    def list_clusters(self, **params):
        def handler():
            states = params.get("ClusterStates")
            clusters = [self._summary()] if not states or self.cluster_state in states else []
            return {"Clusters": clusters}

        return self._call("ListClusters", params, handler)

    def describe_cluster(self, **params):
        def handler():
            self._require_cluster("DescribeCluster", params["ClusterId"])
            return {
                "Cluster": {
                    **self._summary(),
                    "Tags": [{"Key": k, "Value": v} for k, v in self.tags.items()],
                    "Ec2InstanceAttributes": {"Ec2SubnetId": "subnet-0sim"},
                    "ReleaseLabel": "emr-7.1.0",
                }
            }

        return self._call("DescribeCluster", params, handler)

    def list_instance_groups(self, **params):
        def handler():
            self._require_cluster("ListInstanceGroups", params["ClusterId"])
            return {
                "InstanceGroups": [
                    {
                        "Id": g.id,
                        "Name": g.name,
                        "Market": g.market,
                        "InstanceGroupType": g.role,
                        "InstanceType": g.instance_type,
                        "RequestedInstanceCount": g.requested,
                        "RunningInstanceCount": g.emr_running_count,
                        "Status": {
                            "State": g.state,
                            "StateChangeReason": {"Message": ""},
                            "Timeline": {"CreationDateTime": T0 + timedelta(seconds=g.created)},
                        },
                        **({"BidPrice": g.bid_price} if g.bid_price else {}),
                    }
                    # EMR lists groups in no documented order; a replaced group may come first.
                    for g in (*self.replaced, *self.groups.values())
                ]
            }

        return self._call("ListInstanceGroups", params, handler)

    def modify_instance_groups(self, **params):
        def handler():
            self._require_cluster("ModifyInstanceGroups", params["ClusterId"])
            by_id = {g.id: g for g in (*self.groups.values(), *self.replaced)}
            for change in params["InstanceGroups"]:
                group = by_id.get(change["InstanceGroupId"])
                if group is None:
                    raise ClientError(
                        {"Error": {"Code": "InvalidRequestException", "Message": "Instance group id is not valid"}},
                        "ModifyInstanceGroups",
                    )
                self._resize(group, change["InstanceCount"])
            return {}

        return self._call("ModifyInstanceGroups", params, handler)

    def add_tags(self, **params):
        def handler():
            self._require_cluster("AddTags", params["ResourceId"])
            self.tags.update({t["Key"]: t["Value"] for t in params["Tags"]})
            return {}

        return self._call("AddTags", params, handler)

    def remove_tags(self, **params):
        def handler():
            self._require_cluster("RemoveTags", params["ResourceId"])
            for key in params["TagKeys"]:
                self.tags.pop(key, None)
            return {}

        return self._call("RemoveTags", params, handler)


@dataclass
class Result:
    """What one run of ``python -m ops`` returned and printed."""

    code: int
    out: str
    err: str


def run_cli(sim: SimulatedEmr, *argv: str) -> Result:
    """Run the ops command line against the simulation, on its clock (sleeping advances it)."""
    out, err = io.StringIO(), io.StringIO()
    rt = Runtime(monotonic=lambda: sim.now, sleep=sim.sleep, now=lambda: T0 + timedelta(seconds=sim.now), out=out)
    clients = SimpleNamespace(emr=sim, ec2=None, pricing=None, s3=None)
    code = main([*argv], clients=clients, runtime=rt, err=err)
    return Result(code, out.getvalue(), err.getvalue())
