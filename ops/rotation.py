"""Safe A/B rotation of the static Spot task groups (guide tip T8).

Why: when a Spot group shrinks, EMR removes the instances it can drain fastest, not the
oldest, and old Spot instances are the ones reclaimed most often. The guide therefore
runs two static Spot task groups and alternates them: grow the idle one (B) to the
active one's (A's) target, then shrink A to 0. Done by hand this has two traps: shrinking
A before B is really running drops task capacity, and an interrupted rotation leaves
both groups up with nobody remembering which one is old. This module removes both.

Invariant: the old group is only shrunk after the new group has ``target`` instances
RUNNING, so running task instances of the static pair never drop below the target
because of the rotation (Spot reclaims can still take instances at any time; EMR
replaces those on its own).

Memory: before changing any count the command tags the cluster
``emr-cdktf:spot-rotation = "from=<old> to=<new> target=<n> started=<UTC time>"``
(ROTATION_TAG) and removes the tag as its last step. A re-run reads the tag and the
groups and continues from wherever the cluster is. AWS itself is the only state; the
command keeps nothing locally, so it can be re-run from another machine.

State machine. R = requested count, N = running count of a group; T = target;
"settled" = group state RUNNING and N == R. X = old group, Y = new group.

=========================  ===========================================  =====================
observed                   meaning                                      action (phase)
=========================  ===========================================  =====================
no tag; R_A=T>0, R_B=0;    a fresh rotation A -> B (or B -> A,          START: tag, grow Y to
both settled               symmetric)                                   T, wait, shrink X to 0,
                                                                        untag
no tag; active unsettled   a resize or Spot replacement in flight       refuse (2): wait
no tag; idle unsettled     the last rotation's old group still          refuse (2): wait for
(N > R = 0)                draining                                     the drain
no tag; one side R=T>1,     a new cluster (SpotTaskGroupPair creates     START with the side
the other R=1, or both 1   the idle side with IDLE_SIDE_COUNT = 1)      at T old (A on a tie)
no tag; R_A>1 and R_B>1    both active, nothing says which is old       refuse (2), print both
                                                                        shrink commands and
                                                                        the --from option
no tag; --from X,          the operator names the old group             START with X old,
R_X=T>0, R_Y<=T, both                                                   grow Y from R_Y
settled
no tag; R_A=R_B=0          nothing to rotate                            refuse (2)
tag; R_X=T, R_Y<T,         interrupted after tagging, before growing,   GROW: grow Y, wait,
both settled               or Y shrunk back by hand after a shortage    shrink X, untag
tag; R_X=T, R_Y=T,         Y growing (interrupted or timed out while    WAIT: wait, shrink X,
Y not fully running        waiting)                                     untag
tag; R_X=T, R_Y=T,         interrupted after Y was up, before the       SHRINK: shrink X,
N_Y>=T and Y RUNNING       shrink                                       untag
tag; R_X=0, R_Y=T          interrupted after the shrink, before         CLEANUP: untag (X
                           untagging                                    drains on its own)
tag; other counts, or      someone resized during the rotation, the     refuse (2), print how
malformed, or --from Y     tag is not ours, or --from contradicts it    to clear the tag
cluster not WAITING or     unsafe to resize                             refuse (2)
RUNNING; group missing
a group ARRESTED or        EMR stopped resizing it; waiting never       refuse (2), print the
SUSPENDED (any phase       helps                                        command that resets
before WAIT)                                                            its count once fixed
=========================  ===========================================  =====================

While waiting (WAIT), every poll re-reads the cluster and both groups and stops with
exit 1, the old group untouched, when: the cluster leaves WAITING/RUNNING; either
group's requested count is changed by someone else; Y becomes SUSPENDED, ARRESTED or
otherwise ends; or the timeout passes with N_Y < T (Spot shortage). The message says
what happened and prints the commands to retry, or to shrink Y back and clear the tag.
Ctrl-C leaves everything as is; the same command continues.

The first rotation of a new cluster needs no option: a new pair always runs both sides
(the idle one with 1 instance, because a group created with 0 starts one anyway, provider
issue 38837), so that shape is read as "the larger side is active". Starting the idle side
at 0 instead is impossible for the same reason. Any other shape with both sides above 1
(someone resized by hand) could be deliberate capacity, so it is still refused.

Without ``--yes`` the plan is printed (for whatever phase the cluster is in) and nothing
changes. Refusals happen before anything is written.

After a replacement (a deploy that changed a side's bid or instance type), each side's
name may have a leftover group at 0 next to the live one. The rotation acts on the live
groups only (``ops.cluster.static_pair``: the ids in the stack's Terraform state, else
the newest group), lists the leftovers, and prints the command that empties one that
still has instances. EMR cannot delete an instance group of a running cluster: an empty
leftover stays listed, at no cost, until the cluster ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from emr_constructs.model.contract import IDLE_SIDE_COUNT, ROTATION_TAG
from ops.cluster import (
    ENDED_GROUP_STATES,
    STATIC_A,
    STATIC_B,
    Cluster,
    Group,
    StaticPair,
    describe_cluster,
    find_cluster,
    list_groups,
    static_pair,
)
from ops.errors import OperationFailed, Refused
from ops.fleets import list_fleets, refuse_rotation_text
from ops.runtime import Runtime, format_duration
from ops.state import ManagedGroups, find_managed_groups

RESIZABLE_CLUSTER_STATES = ("WAITING", "RUNNING")
# Group states from which the new side will not come up without someone acting.
DEAD_GROUP_STATES = ("SUSPENDED", "ARRESTED", "TERMINATING", "TERMINATED", "SHUTTING_DOWN", "ENDED")
DEFAULT_TIMEOUT = 1800.0
DEFAULT_POLL = 30.0
MIN_POLL = 5.0
PROGRESS_HEARTBEAT = 300.0

_MARKER = re.compile(r"^from=(?P<old>\S+) to=(?P<new>\S+) target=(?P<target>\d+) started=(?P<started>\S+)$")


class Phase(str, Enum):
    START = "start"
    GROW = "grow"
    WAIT = "wait"
    SHRINK = "shrink"
    CLEANUP = "cleanup"


@dataclass(frozen=True)
class Marker:
    """What the rotation tag records (tag values allow letters, digits, spaces and ``_.:/=+-@``)."""

    old: str
    new: str
    target: int
    started: str

    @property
    def value(self) -> str:
        return f"from={self.old} to={self.new} target={self.target} started={self.started}"

    @classmethod
    def parse(cls, value: str) -> "Marker | None":
        m = _MARKER.match(value.strip())
        if not m:
            return None
        return cls(old=m["old"], new=m["new"], target=int(m["target"]), started=m["started"])


@dataclass(frozen=True)
class Plan:
    cluster: Cluster
    old: Group
    new: Group
    target: int
    phase: Phase
    marker: Marker
    why: str = ""

    @property
    def resumed(self) -> bool:
        """Continuing a rotation a tag records: every phase but START comes from the tag."""
        return self.phase != Phase.START

    def steps(self, *, timeout: float, poll: float) -> list[str]:
        wait = (
            f"wait until {self.target} instances of {self.new.name} are RUNNING "
            f"(timeout {format_duration(timeout)}, checking every {format_duration(poll)})"
        )
        shrink = f"shrink {self.old.name} ({self.old.id}) {self.old.requested} -> 0 (EMR drains it in the background)"
        untag = f"remove the tag {ROTATION_TAG}"
        grow = (
            [f"grow {self.new.name} ({self.new.id}) {self.new.requested} -> {self.target}"]
            if self.new.requested < self.target
            else []
        )
        by_phase = {
            Phase.START: [
                f"tag the cluster {ROTATION_TAG} = {self.marker.value!r} (lets a re-run resume)",
                *grow,
                wait,
                shrink,
                untag,
            ],
            Phase.GROW: [*grow, wait, shrink, untag],
            Phase.WAIT: [wait, shrink, untag],
            Phase.SHRINK: [shrink, untag],
            Phase.CLEANUP: [untag],
        }
        return by_phase[self.phase]


def _cli(emr, *args: str) -> str:
    """An ``aws emr`` command line in the client's region (a fake client may have none)."""
    region = getattr(getattr(emr, "meta", None), "region_name", None)
    return " ".join(["aws emr", *args, *(["--region", region] if region else [])])


def resize_command(emr, cluster: Cluster, group: Group, count: int) -> str:
    return _cli(
        emr,
        "modify-instance-groups",
        "--cluster-id",
        cluster.id,
        "--instance-groups",
        f"InstanceGroupId={group.id},InstanceCount={count}",
    )


def shrink_command(emr, cluster: Cluster, group: Group) -> str:
    return resize_command(emr, cluster, group, 0)


def untag_command(emr, cluster: Cluster) -> str:
    return _cli(emr, "remove-tags", "--resource-id", cluster.id, "--tag-keys", ROTATION_TAG)


def leftover_lines(emr, cluster: Cluster, leftovers: tuple[Group, ...]) -> list[str]:
    """What each leftover group is and what, if anything, to do about it."""
    lines = []
    for g in leftovers:
        created = g.created.strftime("%Y-%m-%d %H:%M UTC") if g.created else "unknown"
        line = (
            f"{g.name} ({g.id}): requested {g.requested}, running {g.running}, state {g.state}, "
            f"bid {g.bid_price or '-'}, {g.instance_type}, created {created}: "
        )
        if g.state in ENDED_GROUP_STATES:
            line += "ended; nothing to do."
        elif g.requested > 0:
            line += (
                f"still requests {g.requested} instance(s) that no Terraform configuration manages; "
                f"remove them with:\n      {resize_command(emr, cluster, g, 0)}"
            )
        elif g.running > 0:
            line += f"its {g.running} instance(s) are draining; nothing to do."
        else:
            line += "empty; nothing to do (EMR lists it until the cluster ends, at no cost)."
        lines.append(line)
    return lines


def _is_up(new: Group, target: int) -> bool:
    """The new group has ``target`` instances RUNNING: the only moment the old one may shrink."""
    return new.running >= target and new.state == "RUNNING"


def _describe(g: Group) -> str:
    return f"{g.name} ({g.id}): requested {g.requested}, running {g.running}, state {g.state}"


def plan_rotation(cluster: Cluster, pair: StaticPair, *, started: str, emr=None, from_group: str | None = None) -> Plan:
    """Decide what to do from the observed cluster; raise Refused for unsafe states.

    ``from_group`` (the ``--from`` option) names the group to replace when both are active.
    Pure (no AWS calls): ``emr`` only lends its region to the commands printed in refusals.
    """
    if cluster.state not in RESIZABLE_CLUSTER_STATES:
        raise Refused(
            f"cluster {cluster.name} ({cluster.id}) is {cluster.state}; rotation needs WAITING or RUNNING. "
            "Wait until it is up (python -m ops status) and run again."
        )
    tag = cluster.tags.get(ROTATION_TAG)
    if tag is not None:
        plan = _plan_resume(cluster, pair, tag, emr)
        if from_group and from_group != plan.old.name:
            raise Refused(
                f"--from {from_group} contradicts the rotation in progress ({plan.old.name} -> {plan.new.name}, "
                f"started {plan.marker.started}); run without --from to finish it."
            )
        return plan

    if from_group:
        old = pair.by_name(from_group)
        if old.requested == 0:
            raise Refused(f"--from {from_group}: that group is idle ({_describe(old)}); there is nothing to replace.")
        return _plan_start(cluster, old, pair.other(old), started, emr)

    active = pair.active
    if not active:
        raise Refused(
            f"neither static Spot group is active ({_describe(pair.a)}; {_describe(pair.b)}): nothing to rotate. "
            "Give one of them its instance count (the stack's SpotTaskGroupPair) first."
        )
    if len(active) == 2 and min(g.requested for g in active) == IDLE_SIDE_COUNT:
        old = pair.larger
        plan = _plan_start(cluster, old, pair.other(old), started, emr)
        why = (
            f"Both sides run, as on a new cluster (SpotTaskGroupPair starts the idle side with {IDLE_SIDE_COUNT} "
            f"instance): {old.name} ({old.requested} requested) is taken as the active side to replace"
        )
        if old.requested == pair.other(old).requested:
            why += " (a on a tie)"
        return replace(plan, why=why + f"; name the other with --from {pair.other(old).name}.")
    if len(active) == 2:
        name = cluster.name or cluster.id
        raise Refused(
            f"both static Spot groups are active ({_describe(pair.a)}; {_describe(pair.b)}) and no "
            f"{ROTATION_TAG} tag says which one is being replaced. Both run more than {IDLE_SIDE_COUNT} "
            "instance, which is not the shape of a new cluster (its idle side has exactly "
            f"{IDLE_SIDE_COUNT}): after a deploy replaced a side, or a resize by hand. Name the group to replace, e.g.\n"
            f"  python -m ops rotate-spot {name} --from {pair.larger.name}\n"
            "(grows the other group to its count, waits, then shrinks it), or shrink one group yourself "
            "(python -m ops status shows instance ages):\n"
            f"  {shrink_command(emr, cluster, pair.a)}\n  {shrink_command(emr, cluster, pair.b)}"
        )
    return _plan_start(cluster, active[0], pair.other(active[0]), started, emr)


def _plan_start(cluster: Cluster, old: Group, new: Group, started: str, emr=None) -> Plan:
    target = old.requested
    if new.requested > target:
        raise Refused(
            f"{new.name} already requests more than {old.name} ({_describe(new)}; {_describe(old)}): replacing "
            f"{old.name} by it would change the capacity, not rotate it. Did you mean --from {new.name}?"
        )
    _require_ready_to_grow(old, new, cluster, emr)
    marker = Marker(old=old.name, new=new.name, target=target, started=started)
    return Plan(cluster=cluster, old=old, new=new, target=target, phase=Phase.START, marker=marker)


def _require_ready_to_grow(old: Group, new: Group, cluster: Cluster, emr=None) -> None:
    stuck = [g for g in (old, new) if g.state in DEAD_GROUP_STATES]
    if stuck:
        # EMR stops resizing an ARRESTED/SUSPENDED group until someone fixes the cause and
        # sets its count again; waiting would never help, so say what to do instead.
        fixes = "\n".join(
            f"  {g.name}: {_describe(g)} ({g.state_reason or 'no reason given'}); after fixing the cause:\n"
            f"    {resize_command(emr, cluster, g, g.requested)}"
            for g in stuck
        )
        raise Refused(
            f"refusing to rotate: {', '.join(f'{g.name} is {g.state}' for g in stuck)}, and EMR does not "
            "resize such a group again on its own. Read the reason (python -m ops status, or the "
            "console's instance group details), fix its cause (bootstrap failure, bid, instance type or "
            "quota), then set the group's count again, which makes EMR resume it:\n"
            f"{fixes}\nRun this command again once the group is RUNNING."
        )
    problems = []
    if not old.settled:
        problems.append(f"{old.name} is resizing ({_describe(old)}): a resize or Spot replacement is in flight")
    if not new.settled:
        problems.append(
            f"{new.name} is not settled ({_describe(new)}): "
            + (
                "its instances from the last rotation are still draining"
                if new.running > new.requested
                else "a resize is in flight"
            )
        )
    if problems:
        raise Refused(
            "refusing to rotate while a group is resizing: "
            + "; ".join(problems)
            + ". Wait until both settle (python -m ops status) and run again."
        )


def _plan_resume(cluster: Cluster, pair: StaticPair, tag: str, emr) -> Plan:
    marker = Marker.parse(tag)
    clear = untag_command(emr, cluster)
    if marker is None or {marker.old, marker.new} != {STATIC_A, STATIC_B} or marker.target < 1:
        raise Refused(
            f"the cluster's {ROTATION_TAG} tag is not one this command wrote ({tag!r}). "
            f"Check the groups with python -m ops status, then clear it with:\n  {clear}"
        )
    old, new, target = pair.by_name(marker.old), pair.by_name(marker.new), marker.target
    counts = (old.requested, new.requested)
    common: dict[str, Any] = dict(cluster=cluster, old=old, new=new, target=target, marker=marker)
    if old.requested == target and new.requested < target:
        _require_ready_to_grow(old, new, cluster, emr)
        return Plan(phase=Phase.GROW, **common)
    if counts == (target, target):
        return Plan(phase=Phase.SHRINK if _is_up(new, target) else Phase.WAIT, **common)
    if counts == (0, target):
        return Plan(phase=Phase.CLEANUP, **common)
    raise Refused(
        f"a rotation {old.name} -> {new.name} (target {target}, started {marker.started}) was interrupted and "
        f"the groups were changed since: {_describe(old)}; {_describe(new)}. This command only continues from "
        f"counts ({target}, fewer than {target}), ({target}, {target}) or (0, {target}). Set the counts you want by hand, "
        f"then clear the tag with:\n  {clear}"
    )


class Rotator:
    """Runs one ``rotate-spot`` invocation against an EMR client (real, moto or simulated)."""

    def __init__(
        self,
        emr,
        runtime: Runtime,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        poll: float = DEFAULT_POLL,
        state: str | None = None,
        s3=None,
    ):
        """``state``: the stack's Terraform state (path or s3://BUCKET/KEY; default: the local
        state found from the cluster's tags, if any); ``s3``: client or factory for S3 state."""
        self.emr = emr
        self.rt = runtime
        self.timeout = timeout
        self.poll = poll
        self.state = state
        self.s3 = s3
        self.managed: ManagedGroups | None = None

    def run(self, ref: str, *, yes: bool, from_group: str | None = None) -> None:
        cluster = find_cluster(self.emr, ref)
        if cluster.uses_fleets:
            raise Refused(refuse_rotation_text(cluster, list_fleets(self.emr, cluster.id)))
        self.managed = find_managed_groups(cluster.id, cluster.tags, state=self.state, s3_client=self.s3)
        pair = static_pair(cluster, list_groups(self.emr, cluster.id), self.managed)
        started = self.rt.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        plan = plan_rotation(cluster, pair, started=started, emr=self.emr, from_group=from_group)
        self._print_plan(plan, pair)
        if not yes:
            self.rt.say("Dry run: nothing changed. Run again with --yes to apply.")
            return
        self._execute(plan)

    def _print_plan(self, plan: Plan, pair: StaticPair) -> None:
        c = plan.cluster
        self.rt.say(f"Cluster {c.name} ({c.id}), state {c.state}")
        for g in pair.groups:
            self.rt.say(f"  {_describe(g)}, {g.market} {g.instance_type}, bid {g.bid_price or '-'}")
        if pair.leftovers:
            self.rt.say(f"Leftover groups (replaced; live groups found by {pair.found_by}), not rotated:")
            for line in leftover_lines(self.emr, c, pair.leftovers):
                self.rt.say(f"  {line}")
        if plan.resumed:
            self.rt.say(
                f"Resuming the rotation {plan.old.name} -> {plan.new.name} (target {plan.target}) "
                f"started {plan.marker.started}; phase: {plan.phase.value}"
            )
        if plan.why:
            self.rt.say(plan.why)
        if plan.old.instance_type != plan.new.instance_type:
            self.rt.say(
                f"Note: {plan.new.name} runs {plan.new.instance_type}, {plan.old.name} runs "
                f"{plan.old.instance_type}; the target is an instance count."
            )
        self.rt.say("Plan:")
        for n, step in enumerate(plan.steps(timeout=self.timeout, poll=self.poll), 1):
            self.rt.say(f"  {n}. {step}")

    def _execute(self, plan: Plan) -> None:
        c = plan.cluster
        if plan.phase == Phase.START:
            self.emr.add_tags(ResourceId=c.id, Tags=[{"Key": ROTATION_TAG, "Value": plan.marker.value}])
            self.rt.say(f"Tagged {c.id} {ROTATION_TAG} = {plan.marker.value!r}")
        if plan.phase in (Phase.START, Phase.GROW) and plan.new.requested < plan.target:
            self._resize(c, plan.new, plan.target)
        if plan.phase in (Phase.START, Phase.GROW, Phase.WAIT):
            self._wait(plan)
        if plan.phase in (Phase.START, Phase.GROW, Phase.WAIT, Phase.SHRINK):
            self._resize(c, plan.old, 0)
        self.emr.remove_tags(ResourceId=c.id, TagKeys=[ROTATION_TAG])
        self.rt.say(f"Removed the tag {ROTATION_TAG}.")
        self.rt.say(
            f"Done: {plan.new.name} is the active static group ({plan.target} requested); "
            f"{plan.old.name} is set to 0 and EMR drains its remaining instances."
        )

    def _resize(self, cluster: Cluster, group: Group, count: int) -> None:
        self.emr.modify_instance_groups(
            ClusterId=cluster.id,
            InstanceGroups=[{"InstanceGroupId": group.id, "InstanceCount": count}],
        )
        self.rt.say(f"Requested {group.name} ({group.id}) -> {count}")

    def _wait(self, plan: Plan) -> None:
        start = self.rt.monotonic()
        last_line: str | None = None
        last_said = float("-inf")  # the first line is always said
        while True:
            cluster = describe_cluster(self.emr, plan.cluster.id)
            pair = static_pair(cluster, list_groups(self.emr, cluster.id), self.managed)
            old, new = pair.by_name(plan.old.name), pair.by_name(plan.new.name)
            elapsed = self.rt.monotonic() - start
            line = f"{new.name}: {new.running}/{plan.target} running ({new.state}); {old.name}: {old.running} running"
            # A line per change, plus a heartbeat so a long Spot wait visibly is still alive.
            if line != last_line or elapsed - last_said >= PROGRESS_HEARTBEAT:
                self.rt.say(f"  [{format_duration(elapsed):>7}] {line}")
                last_line, last_said = line, elapsed
            self._check_still_safe(plan, cluster, old, new)
            if _is_up(new, plan.target):
                return
            if elapsed >= self.timeout:
                raise OperationFailed(self._shortage_message(plan, cluster, old, new, elapsed))
            self.rt.sleep(max(0.0, min(self.poll, self.timeout - elapsed)))

    def _check_still_safe(self, plan: Plan, cluster: Cluster, old: Group, new: Group) -> None:
        untouched = f"{old.name} was left untouched ({old.requested} requested, {old.running} running)."
        if cluster.state not in RESIZABLE_CLUSTER_STATES:
            raise OperationFailed(f"cluster {cluster.id} became {cluster.state} while waiting; stopped. {untouched}")
        if old.requested != plan.target or new.requested != plan.target:
            raise OperationFailed(
                f"someone changed the static groups while waiting ({_describe(old)}; {_describe(new)}); "
                f"stopped without shrinking anything. {untouched} Re-run to see what the command "
                "makes of the new state."
            )
        if new.state in DEAD_GROUP_STATES:
            raise OperationFailed(
                f"{new.name} is {new.state} ({new.state_reason or 'no reason given'}); it will not come up "
                f"on its own. {untouched}\n" + self._what_now(plan, cluster, new)
            )

    def _shortage_message(self, plan: Plan, cluster: Cluster, old: Group, new: Group, elapsed: float) -> str:
        return (
            f"{new.name} reached only {new.running}/{plan.target} running instances in "
            f"{format_duration(elapsed)} (state {new.state}; likely no Spot capacity for "
            f"{new.instance_type} at bid {new.bid_price or '-'}). {old.name} was left untouched "
            f"({old.requested} requested, {old.running} running), so task capacity is unchanged; "
            f"{new.name} stays requested at {plan.target} and EMR keeps trying.\n" + self._what_now(plan, cluster, new)
        )

    def _what_now(self, plan: Plan, cluster: Cluster, new: Group) -> str:
        return (
            "What to do:\n"
            f"  - retry later: python -m ops rotate-spot {cluster.name or cluster.id} --yes   "
            "(continues waiting from here)\n"
            f"  - or give up for now: shrink {new.name} back and clear the rotation tag:\n"
            f"      {shrink_command(self.emr, cluster, new)}\n"
            f"      {untag_command(self.emr, cluster)}\n"
            f"  - or move {new.name} to another instance type (SpotTaskGroupPair settings) and deploy, "
            "then rotate again"
        )
