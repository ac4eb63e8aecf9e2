"""The stand-in account's one shim: what moto 5.2 lacks, or answers unlike AWS, for the calls
the Terraform AWS provider makes on this project's stacks.

Installed into the moto server process that ``standin.py`` starts (``install()``), before
it serves a request. Each patch answers as the AWS API reference documents; none of them
makes the stand-in more permissive than AWS (a request AWS refuses is still refused) and
none of them changes the project's configuration. A patch that is no longer needed because
moto learned the call can simply be deleted; ``tests/terraform/test_shim.py`` checks every
behaviour below against a running stand-in.

One request at a time:

- moto's backends are not thread-safe, and its server is threaded. The provider sends up to
  ten calls at once; two ``RevokeSecurityGroupIngress`` calls on one security group then
  each rebuild the group's rule list from the same old copy, and the later one puts the
  rule the earlier one removed back (a lost update). Terraform then believes the rule
  gone, and deleting the group fails. AWS applies every API call atomically; the shim
  serializes requests in the server (one lock around moto's WSGI application).

EMR (API reference: https://docs.aws.amazon.com/emr/latest/APIReference/):

- Region. moto's EMR takes the region only from a regional host name
  (``elasticmapreduce.<region>.amazonaws.com``) and otherwise falls back to us-east-1;
  the stand-in serves every region on one local endpoint, so the region comes from the
  request's SigV4 credential scope, as moto does for every other service. Without it, EMR
  clusters of an ap-northeast-2 stack would launch into us-east-1's EC2 and miss their
  subnets.
- ``ListInstanceFleets`` (API_ListInstanceFleets): moto answers 500 (not implemented), which
  the provider's SDK retries for minutes on every read of a cluster. AWS answers a cluster
  that uses instance groups with HTTP 400 ``InvalidRequestException`` ("Instance fleets
  and instance groups are mutually exclusive ..."), the mirror image of what
  ListInstanceGroups answers for a fleet cluster; an unknown cluster id is an
  ``InvalidRequestException`` too. The provider reads that as "no fleets".
- ``GetAutoTerminationPolicy`` / ``PutAutoTerminationPolicy`` /
  ``RemoveAutoTerminationPolicy`` (API_GetAutoTerminationPolicy, API_AutoTerminationPolicy):
  missing in moto. The policy given to ``RunJobFlow`` (``AutoTerminationPolicy``) or put
  later is kept per cluster; ``IdleTimeout`` must be 60..604800 seconds
  (``ValidationException`` otherwise); Get answers ``{}`` for a cluster without one.
- ``GetManagedScalingPolicy`` / ``PutManagedScalingPolicy`` / ``RemoveManagedScalingPolicy``
  (API_ManagedScalingPolicy, API_ComputeLimits): missing in moto; same life cycle as the
  auto-termination policy (also taken from ``RunJobFlow``'s ``ManagedScalingPolicy``).
- ``AddInstanceGroups`` (API_AddInstanceGroups): moto returns no ``InstanceGroupIds`` and
  launches no instances. AWS returns ``JobFlowId``, ``ClusterArn`` and one id per group, in
  request order, and the group's instances start.
- Instance-group ids (API_InstanceGroup, ``Id``; the provider imports a group as
  ``<cluster id>/<group id>``): moto makes them ``i-`` followed by 13 characters, the
  prefix of EC2 instances. AWS's are ``ig-`` followed by upper-case letters and digits
  (``ig-1XXXXXXXXXXXX``), which the app's adoption settings check for.
- ``ListInstanceGroups`` (API_VolumeSpecification): moto drops ``Throughput`` of gp3 EBS
  volumes, so every gp3 instance group with an explicit throughput would read back
  different from its configuration. AWS returns the volume specification as requested.

Faults on demand (for the deploy's fault tests; AWS does this on its own under load):

- ``POST /_shim/faults`` with a JSON body ``{"services": ["emr", "ec2"], "count": N,
  "every": K, "kind": "throttle" | "5xx" | "slow", "seconds": S}`` makes every K-th
  request to those services (named as in the SigV4 credential scope) answer an error (or,
  ``slow``, answer S seconds late, as a congested API does), N times in all, then the
  stand-in answers normally again. The errors are AWS's own for each protocol:
  ``throttle`` is HTTP 400 ``ThrottlingException`` for JSON services (EMR) and HTTP 503
  ``RequestLimitExceeded`` for EC2's query protocol (``Throttling`` for IAM/STS/others);
  ``5xx`` is HTTP 500 ``InternalFailure`` / ``InternalError``. The provider's SDK retries
  both with back-off, as against AWS. ``GET /_shim/faults`` answers how many were
  answered so far (``injected``) and how many are left (``remaining``). The stand-in
  never injects a fault unasked.

S3 (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):

- Bucket-policy conditions. moto evaluates a bucket policy's statements on object writes but
  treats every statement whose ``Condition`` it cannot evaluate as a *denial* (whatever its
  Effect), so the project's TLS-only statement (``Deny`` when ``aws:SecureTransport`` is
  ``false``) denies every PutObject, even over https. AWS applies a statement only when
  all its conditions hold. The shim evaluates the conditions with the request context
  this stand-in really has: ``aws:SecureTransport`` is ``true`` (it serves https only);
  keys a plain user request does not carry (``aws:SourceArn``, ``aws:SourceAccount``, ...)
  are absent, and, as in AWS, a condition on an absent key does not hold unless its
  operator ends in ``IfExists`` (or is ``Null``). Supported operators: ``Bool``,
  ``StringEquals``/``StringNotEquals``/``StringLike``/``StringNotLike`` (``*``/``?``
  wildcards), ``ArnEquals``/``ArnLike``/``ArnNotEquals``/``ArnNotLike``,
  ``NumericLessThan(Equals)``/``NumericGreaterThan(Equals)``/``NumericEquals``, ``Null``,
  each optionally ``...IfExists``; any other operator makes the statement apply when it
  is a Deny and not apply when it is an Allow (the conservative reading), so an unknown
  condition can only refuse more than AWS would, never less.
"""

from __future__ import annotations

import fnmatch
import json
import threading
import time
from typing import Any

LISTS_FLEETS_ON_GROUP_CLUSTER = (
    "Instance fleets and instance groups are mutually exclusive. The EMR cluster specified "
    "in the request uses instance groups. The ListInstanceFleets operation does not support "
    "clusters that use instance groups. Use the ListInstanceGroups operation instead."
)
IDLE_TIMEOUT_RANGE = (60, 604800)

# The request context the stand-in can vouch for (see module docstring).
REQUEST_CONTEXT = {"aws:securetransport": "true"}

_installed = False


def install() -> None:
    """Patch moto in this process (idempotent)."""
    global _installed
    if _installed:
        return
    _serialize_requests()
    _inject_faults()
    _patch_emr()
    _patch_s3_bucket_policy()
    _installed = True


# ----------------------------------------------------------------------------- atomicity


def _serialize_requests() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    lock = threading.RLock()
    original = DomainDispatcherApplication.__call__

    def __call__(self, environ, start_response):
        with lock:
            # The body is produced inside the lock too: nothing of one call interleaves
            # with another.
            return list(original(self, environ, start_response))

    DomainDispatcherApplication.__call__ = __call__


# ----------------------------------------------------------------------------- faults

FAULT_PATH = "/_shim/faults"
# Services that speak JSON (the error is a `__type` body); every other one here speaks
# the query protocol (an XML error document).
_JSON_SERVICES = ("elasticmapreduce", "emr", "kms", "logs", "ssm", "sso")


class FaultPlan:
    """Which requests answer an error (see the module docstring)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.services: tuple[str, ...] = ()
        self.remaining = 0
        self.every = 1
        self.kind = "throttle"
        self.seconds = 0.0
        self.seen = 0
        self.injected = 0

    def configure(self, body: dict) -> None:
        kind = body.get("kind", "throttle")
        if kind not in ("throttle", "5xx", "slow"):
            raise ValueError(f"kind {kind!r}: expected 'throttle', '5xx' or 'slow'")
        with self.lock:
            self.services = tuple(body.get("services") or ())
            self.remaining = int(body.get("count", 0))
            self.every = max(1, int(body.get("every", 1)))
            self.kind = kind
            self.seconds = float(body.get("seconds", 0))
            self.seen = 0

    def take(self, service: str) -> str | None:
        with self.lock:
            if self.remaining <= 0 or service not in self.services:
                return None
            self.seen += 1
            if self.seen % self.every:
                return None
            self.remaining -= 1
            self.injected += 1
            return self.kind

    def status(self) -> dict:
        with self.lock:
            return {"injected": self.injected, "remaining": self.remaining}


FAULTS = FaultPlan()


def _service_of(environ: dict) -> str:
    """The service of a SigV4-signed request (its credential scope: key/date/region/service)."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    scope = auth.split("Credential=", 1)[-1].split(",", 1)[0].split("/")
    return scope[3] if len(scope) >= 5 else ""


def fault_response(kind: str, service: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """AWS's own error answer for ``kind`` in the protocol ``service`` speaks."""
    if service in _JSON_SERVICES:
        code, status = (
            ("ThrottlingException", "400 Bad Request")
            if kind == "throttle"
            else (
                "InternalFailure",
                "500 Internal Server Error",
            )
        )
        body = json.dumps({"__type": code, "message": "injected by the stand-in"}).encode()
        return status, [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)], body
    if kind == "throttle":
        code = "RequestLimitExceeded" if service == "ec2" else "Throttling"
        status = "503 Service Unavailable" if service == "ec2" else "400 Bad Request"
    else:
        code, status = ("InternalError", "500 Internal Server Error")
    body = (
        f"<Response><Errors><Error><Code>{code}</Code><Message>injected by the stand-in</Message>"
        "</Error></Errors><RequestID>00000000-0000-0000-0000-000000000000</RequestID></Response>"
    ).encode()
    return status, [("Content-Type", "text/xml")], body


def _inject_faults() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.__call__

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == FAULT_PATH:
            if environ.get("REQUEST_METHOD") == "POST":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                try:
                    FAULTS.configure(json.loads(environ["wsgi.input"].read(length) or b"{}"))
                except (ValueError, TypeError) as exc:
                    start_response("400 Bad Request", [("Content-Type", "text/plain")])
                    return [str(exc).encode()]
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps(FAULTS.status()).encode()]
        service = _service_of(environ)
        kind = FAULTS.take(service)
        if kind == "slow":
            time.sleep(FAULTS.seconds)
        elif kind is not None:
            status, headers, body = fault_response(kind, service)
            start_response(status, headers)
            return [body]
        return original(self, environ, start_response)

    DomainDispatcherApplication.__call__ = __call__


# ----------------------------------------------------------------------------- EMR


# Complexity over the cap (C901): the EMR handlers moto lacks, each a small closure over
# moto's modules defined here; the figure counts the handlers, not one long flow.
def _patch_emr() -> None:  # noqa: C901
    from moto.core.responses import ActionResult, BaseResponse, EmptyResult
    from moto.emr import models as emr_models
    from moto.emr.exceptions import InvalidRequestException, ValidationException
    from moto.emr.responses import ElasticMapReduceResponse

    original_region = ElasticMapReduceResponse.get_region_from_url

    def get_region_from_url(self, request: Any, full_url: str) -> str:
        for regex in ElasticMapReduceResponse.emr_region_regex:
            if regex.search(self.parsed_url.netloc):
                return original_region(self, request, full_url)
        return BaseResponse.get_region_from_url(self, request, full_url)

    ElasticMapReduceResponse.get_region_from_url = get_region_from_url

    def cluster_of(self) -> Any:
        cluster_id = self._get_param("ClusterId")
        cluster = self.backend.clusters.get(cluster_id)
        if cluster is None:
            raise InvalidRequestException(f"Cluster id '{cluster_id}' is not valid.")
        return cluster

    def list_instance_fleets(self) -> ActionResult:
        cluster_of(self)
        # moto models instance-group clusters only.
        raise InvalidRequestException(LISTS_FLEETS_ON_GROUP_CLUSTER)

    def get_auto_termination_policy(self) -> ActionResult:
        policy = getattr(cluster_of(self), "shim_auto_termination_policy", None)
        return ActionResult({"AutoTerminationPolicy": policy} if policy else {})

    def _checked_auto_termination(policy: dict | None) -> dict | None:
        if policy is None:
            return None
        timeout = policy.get("IdleTimeout", policy.get("idle_timeout"))
        low, high = IDLE_TIMEOUT_RANGE
        if timeout is None or not low <= int(timeout) <= high:
            raise ValidationException(
                f"1 validation error detected: Value '{timeout}' at 'autoTerminationPolicy.idleTimeout' "
                f"failed to satisfy constraint: Member must have value between {low} and {high}"
            )
        return {"IdleTimeout": int(timeout)}

    def put_auto_termination_policy(self) -> ActionResult:
        cluster = cluster_of(self)
        cluster.shim_auto_termination_policy = _checked_auto_termination(self._get_param("AutoTerminationPolicy"))
        return EmptyResult()

    def remove_auto_termination_policy(self) -> ActionResult:
        cluster_of(self).shim_auto_termination_policy = None
        return EmptyResult()

    def _checked_scaling(policy: dict | None) -> dict | None:
        if policy is None:
            return None
        limits = policy.get("ComputeLimits") or policy.get("compute_limits") or {}
        wanted = {
            "UnitType": limits.get("UnitType", limits.get("unit_type")),
            "MinimumCapacityUnits": limits.get("MinimumCapacityUnits", limits.get("minimum_capacity_units")),
            "MaximumCapacityUnits": limits.get("MaximumCapacityUnits", limits.get("maximum_capacity_units")),
        }
        for key, camel in (
            ("MaximumOnDemandCapacityUnits", "maximum_on_demand_capacity_units"),
            ("MaximumCoreCapacityUnits", "maximum_core_capacity_units"),
        ):
            value = limits.get(key, limits.get(camel))
            if value is not None:
                wanted[key] = value
        if wanted["UnitType"] not in ("InstanceFleetUnits", "Instances", "VCPU") or None in (
            wanted["MinimumCapacityUnits"],
            wanted["MaximumCapacityUnits"],
        ):
            raise ValidationException(
                "ComputeLimits needs UnitType (InstanceFleetUnits, Instances or VCPU), "
                "MinimumCapacityUnits and MaximumCapacityUnits"
            )
        return {"ComputeLimits": wanted}

    def get_managed_scaling_policy(self) -> ActionResult:
        policy = getattr(cluster_of(self), "shim_managed_scaling_policy", None)
        return ActionResult({"ManagedScalingPolicy": policy} if policy else {})

    def put_managed_scaling_policy(self) -> ActionResult:
        cluster = cluster_of(self)
        cluster.shim_managed_scaling_policy = _checked_scaling(self._get_param("ManagedScalingPolicy"))
        return EmptyResult()

    def remove_managed_scaling_policy(self) -> ActionResult:
        cluster_of(self).shim_managed_scaling_policy = None
        return EmptyResult()

    original_run_job_flow = ElasticMapReduceResponse.run_job_flow

    def run_job_flow(self) -> ActionResult:
        # Checked before the cluster exists: a bad policy creates nothing, as in AWS.
        auto_termination = _checked_auto_termination(self._get_param("AutoTerminationPolicy"))
        scaling = _checked_scaling(self._get_param("ManagedScalingPolicy"))
        result = original_run_job_flow(self)
        cluster = self.backend.clusters[result.result["JobFlowId"]]
        cluster.shim_auto_termination_policy = auto_termination
        cluster.shim_managed_scaling_policy = scaling
        return result

    def add_instance_groups(self) -> ActionResult:
        jobflow_id = self._get_param("JobFlowId")
        cluster = self.backend.clusters.get(jobflow_id)
        if cluster is None:
            raise InvalidRequestException(f"Cluster id '{jobflow_id}' is not valid.")
        requested = self._get_param("InstanceGroups", [])
        groups = self.backend.add_instance_groups(jobflow_id, requested)
        for request, group in zip(requested, groups, strict=False):
            if request.get("instance_count", 0) > 0:
                self.backend.run_instances(jobflow_id, dict(request), group)
        return ActionResult(
            {
                "JobFlowId": jobflow_id,
                "ClusterArn": cluster.arn,
                "InstanceGroupIds": [group.id for group in groups],
            }
        )

    for name, method in {
        "list_instance_fleets": list_instance_fleets,
        "get_auto_termination_policy": get_auto_termination_policy,
        "put_auto_termination_policy": put_auto_termination_policy,
        "remove_auto_termination_policy": remove_auto_termination_policy,
        "get_managed_scaling_policy": get_managed_scaling_policy,
        "put_managed_scaling_policy": put_managed_scaling_policy,
        "remove_managed_scaling_policy": remove_managed_scaling_policy,
        "run_job_flow": run_job_flow,
        "add_instance_groups": add_instance_groups,
    }.items():
        setattr(ElasticMapReduceResponse, name, method)

    def ebs_block_devices(self) -> list[dict[str, Any]]:
        devices = []
        for config in (self.ebs_configuration or {}).get("ebs_block_device_configs", []):
            spec = config["volume_specification"]
            for _index in range(config.get("volumes_per_instance", 1)):
                volume = {
                    "VolumeType": spec.get("volume_type"),
                    "SizeInGB": spec.get("size_in_gb"),
                }
                if spec.get("iops") is not None:
                    volume["Iops"] = spec.get("iops")
                if spec.get("throughput") is not None:
                    volume["Throughput"] = spec.get("throughput")
                devices.append({"VolumeSpecification": volume, "Device": f"/dev/sd{chr(ord('b') + len(devices))}"})
        return devices

    emr_models.InstanceGroup.ebs_block_devices = property(ebs_block_devices)

    moto_group_init = emr_models.InstanceGroup.__init__

    def group_init(self, *args: Any, **kwargs: Any) -> None:
        moto_group_init(self, *args, **kwargs)
        if not kwargs.get("instance_group_id") and self.id.startswith("i-"):
            self.id = "ig-" + self.id[2:]

    emr_models.InstanceGroup.__init__ = group_init


# ----------------------------------------------------------------------------- S3


def _matches(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


def _condition_holds(operator: str, key: str, expected: Any, context: dict[str, str]) -> bool | None:
    """Whether one condition holds; ``None`` when the operator is not understood."""
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    wanted = [
        str(v).lower() if isinstance(v, bool) else str(v)
        for v in (expected if isinstance(expected, list) else [expected])
    ]
    actual = context.get(key.lower())
    if base == "Null":
        is_null = actual is None
        return any((w.lower() == "true") == is_null for w in wanted)
    if actual is None:
        return if_exists
    if base == "Bool":
        return any(actual.lower() == w.lower() for w in wanted)
    if base in ("StringEquals", "ArnEquals"):
        return actual in wanted
    if base == "StringEqualsIgnoreCase":
        return actual.lower() in [w.lower() for w in wanted]
    if base in ("StringNotEquals", "ArnNotEquals"):
        return actual not in wanted
    if base in ("StringLike", "ArnLike"):
        return any(_matches(w, actual) for w in wanted)
    if base in ("StringNotLike", "ArnNotLike"):
        return not any(_matches(w, actual) for w in wanted)
    numeric = {
        "NumericEquals": lambda a, b: a == b,
        "NumericLessThan": lambda a, b: a < b,
        "NumericLessThanEquals": lambda a, b: a <= b,
        "NumericGreaterThan": lambda a, b: a > b,
        "NumericGreaterThanEquals": lambda a, b: a >= b,
    }
    if base in numeric:
        try:
            return any(numeric[base](float(actual), float(w)) for w in wanted)
        except ValueError:
            return False
    return None


def statement_applies(statement: dict, context: dict[str, str] | None = None) -> bool:
    """Whether every condition of ``statement`` holds for ``context`` (see module docstring)."""
    context = REQUEST_CONTEXT if context is None else context
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, expected in keys.items():
            holds = _condition_holds(operator, key, expected, context)
            if holds is None:
                return statement.get("Effect") == "Deny"
            if not holds:
                return False
    return True


def _patch_s3_bucket_policy() -> None:
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        document = json.loads(self.policy.decode() if isinstance(self.policy, bytes) else self.policy)
        statements = document.get("Statement", [])
        statements = statements if isinstance(statements, list) else [statements]
        allowed = False
        for statement in statements:
            if not statement_applies(statement):
                continue
            # moto's own Action/Resource/Principal matching, on a copy without the
            # conditions this shim has just evaluated.
            unconditioned = {k: v for k, v in statement.items() if k != "Condition"}
            result = IAMPolicyStatement(unconditioned).is_action_permitted(action, resource)
            if result == PermissionResult.DENIED:
                return PermissionResult.DENIED
            allowed = allowed or result == PermissionResult.PERMITTED
        return PermissionResult.PERMITTED if allowed else PermissionResult.NEUTRAL

    FakeBucket.get_permission = get_permission
