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

Answers that arrive (the server, not an API):

- moto's server is werkzeug's development server, which answers every request with
  ``Connection: close`` and closes the socket at once. On a loaded machine the close can
  overtake what the client has not yet read or sent (its TLS close alert), the kernel then
  resets the connection, and the client loses an answer to a call the stand-in has already
  carried out. The provider's SDK retries such a connection error, so the call runs twice:
  ``InvalidPermission.Duplicate`` on a security-group rule, ``InvalidPermission.NotFound``
  on a revoke, a second network interface (seen in a terraform debug log: the first attempt
  answered 200 in the stand-in's log, the SDK logged no answer and sent attempt 2). AWS
  does not lose answers that way. Two measures: ``LingeringRequestHandler`` closes as
  careful servers do (a "lingering close": FIN after the answer, then it reads what the
  client still sends for up to ``LINGER_SECONDS``); that alone did not stop it. And a
  retried call gets the answer it lost: every AWS SDK sends one ``amz-sdk-invocation-id``
  for all attempts of one call and ``amz-sdk-request: attempt=N``; the stand-in keeps the
  last ``ANSWERS_KEPT`` successful (2xx) answers by invocation id and gives an attempt
  after the first the answer already given, without running the call again. Errors are
  not kept, so a call retried after a throttling or 5xx answer (real or injected) runs.

EC2 idempotency (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html):

- A create call that carries a ``ClientToken`` (the provider sets one on
  ``CreateNetworkInterface``, among others) is idempotent in AWS: a retry with the same
  token within the same account and region performs nothing and answers what the first
  call answered. moto ignores the token and creates a second resource, so an SDK retry of
  a call whose answer was lost (a loaded stand-in answers late) leaves two network
  interfaces where Terraform knows one. The shim keeps the first answer per (action,
  region, token) and gives it again; a different action with a reused token is refused
  with ``IdempotentParameterMismatch``, as AWS does for changed parameters.

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
  ``InvalidRequestException`` too. The provider reads that as "no fleets". For a fleet
  cluster it lists the cluster's fleets (API_InstanceFleet): ``Id`` (``if-`` and 13
  upper-case letters or digits), ``Name``, ``InstanceFleetType``, the target and
  provisioned capacities, ``InstanceTypeSpecifications`` (type, weight, bid, EBS block
  devices as requested) and ``LaunchSpecifications`` as given, ``Status.State`` RUNNING.
- Instance fleets (API_RunJobFlow ``Instances.InstanceFleets``, API_InstanceFleetConfig):
  moto ignores them and creates a cluster without nodes. The shim keeps the fleets, and
  EMR's launch is modelled simply: each fleet runs instances of its first instance type,
  as many as meet the target capacity by that type's weight (the provisioned capacity may
  exceed the target, as the API reference allows). The cluster's ``InstanceCollectionType``
  is ``INSTANCE_FLEET``. ``Ec2SubnetIds`` (several subnets): EMR launches the cluster in
  one of them; the shim takes the first, reports it as ``Ec2SubnetId`` and the list as
  ``RequestedEc2SubnetIds`` (API_Ec2InstanceAttributes). ``ListInstanceGroups`` on a fleet
  cluster is refused (``InvalidRequestException``), and ``ListInstances`` names each
  node's ``InstanceFleetId``. Refused as AWS refuses them: a master fleet whose target
  capacity is not 1; more than 5 instance types without an allocation strategy or more
  than 30 with one (API_InstanceTypeConfig); a Spot timeout outside 5-1440 minutes
  (API_SpotProvisioningSpecification).
- ``AddInstanceFleet`` (API_AddInstanceFleet): missing in moto. Adds a ``TASK`` fleet to a
  fleet cluster and returns ``ClusterId``, ``InstanceFleetId`` and ``ClusterArn``; refused
  on an instance-group cluster, for another fleet type, or when the cluster already has a
  task fleet (one per cluster).
- ``ModifyInstanceFleet`` (API_ModifyInstanceFleet): missing in moto. Sets a fleet's
  target capacities; instances are launched or terminated to meet them.
- ``TerminateJobFlows`` (API_TerminateJobFlows: "the Amazon EC2 instances of the cluster
  are terminated"): moto marks the cluster TERMINATED and leaves its EC2 instances running.
  The shim terminates them and, as AWS does, deletes the primary network interface each was
  launched with (moto keeps it), so a fleet cluster's nodes, which run in the cluster's own
  subnet, leave nothing behind.
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

FLEETS_ON_GROUP_CLUSTER = (
    "Instance fleets and instance groups are mutually exclusive. The EMR cluster specified in the "
    "request uses instance groups. The {operation} operation does not support clusters that use "
    "instance groups. Use the ListInstanceGroups operation instead."
)
LISTS_FLEETS_ON_GROUP_CLUSTER = FLEETS_ON_GROUP_CLUSTER.format(operation="ListInstanceFleets")
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
    _honour_client_tokens()
    _answer_lost_retries()
    _inject_faults()
    _patch_emr()
    _patch_emr_fleets()
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


# ----------------------------------------------------------------------------- the server

LINGER_SECONDS = 2.0


def lingering_request_handler() -> type:
    """moto's request handler with a lingering close (module docstring)."""
    import socket

    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class LingeringRequestHandler(MotoRequestHandler):
        def finish(self) -> None:
            super().finish()
            connection = self.connection
            try:
                connection.settimeout(LINGER_SECONDS)
                # Our side ends after the answer; the client reads it, then closes its side.
                connection.shutdown(socket.SHUT_WR)
                deadline = time.monotonic() + LINGER_SECONDS
                while time.monotonic() < deadline and connection.recv(4096):
                    pass
            except OSError:  # the client has gone already: nothing left to protect
                pass

    return LingeringRequestHandler


ANSWERS_KEPT = 5000


def _answered(original, app, environ, start_response) -> tuple[str, list[tuple[str, str]], list[bytes]]:
    """Run the wrapped application and keep what it answered (status, headers, body)."""
    captured: dict[str, Any] = {}

    def capture(status, headers, exc_info=None):
        captured.update(status=status, headers=list(headers))
        return start_response(status, headers, exc_info)

    body = list(original(app, environ, capture))
    return str(captured.get("status", "")), captured.get("headers", []), body


def _answer_lost_retries() -> None:
    from collections import OrderedDict

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.__call__
    answers: OrderedDict[str, tuple[str, list[tuple[str, str]], list[bytes]]] = OrderedDict()
    lock = threading.Lock()

    def __call__(self, environ, start_response):
        invocation = environ.get("HTTP_AMZ_SDK_INVOCATION_ID", "")
        attempt = environ.get("HTTP_AMZ_SDK_REQUEST", "").split(";", 1)[0].strip()
        if invocation and attempt not in ("", "attempt=1"):
            with lock:
                given = answers.get(invocation)
            if given is not None:
                start_response(given[0], given[1])
                return given[2]
        status, headers, body = _answered(original, self, environ, start_response)
        if invocation and status.startswith("2"):
            with lock:
                answers[invocation] = (status, headers, body)
                while len(answers) > ANSWERS_KEPT:
                    answers.popitem(last=False)
        return body

    DomainDispatcherApplication.__call__ = __call__


# ----------------------------------------------------------------------------- idempotency


def _form(environ: dict) -> tuple[dict[str, str], bytes]:
    """The query-protocol parameters of a request, and its body to hand on unread."""
    import io
    from urllib.parse import parse_qs

    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    params = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    params.update({k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()})
    return params, body


def _credential_scope(environ: dict) -> list[str]:
    """The credential scope of a SigV4-signed request: key/date/region/service/aws4_request."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    scope = auth.split("Credential=", 1)[-1].split(",", 1)[0].split("/")
    return scope if len(scope) >= 5 else ["", "", "", "", ""]


def _region_of(environ: dict) -> str:
    return _credential_scope(environ)[2]


def _honour_client_tokens() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.__call__
    answers: dict[tuple[str, str], tuple[str, str, list[tuple[str, str]], list[bytes]]] = {}
    lock = threading.Lock()

    def __call__(self, environ, start_response):
        if _service_of(environ) != "ec2" or environ.get("REQUEST_METHOD") != "POST":
            return original(self, environ, start_response)
        params, _ = _form(environ)
        token, action = params.get("ClientToken"), params.get("Action", "")
        if not token:
            return original(self, environ, start_response)
        key = (_region_of(environ), token)
        with lock:
            earlier = answers.get(key)
        if earlier is not None:
            first_action, status, headers, body = earlier
            if first_action != action:
                mismatch = (
                    "<Response><Errors><Error><Code>IdempotentParameterMismatch</Code><Message>The client token "
                    f"{token} was used for {first_action}</Message></Error></Errors>"
                    "<RequestID>00000000-0000-0000-0000-000000000000</RequestID></Response>"
                ).encode()
                start_response("400 Bad Request", [("Content-Type", "text/xml")])
                return [mismatch]
            start_response(status, headers)
            return body
        status, headers, body = _answered(original, self, environ, start_response)
        if status.startswith("200"):
            with lock:
                answers.setdefault(key, (action, status, headers, body))
        return body

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
    """The service of a SigV4-signed request, as named in its credential scope."""
    return _credential_scope(environ)[3]


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
        result: Any = original_run_job_flow(self)
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
        devices: list[dict[str, Any]] = []
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

    emr_models.InstanceGroup.ebs_block_devices = property(ebs_block_devices)  # type: ignore[assignment]

    moto_group_init = emr_models.InstanceGroup.__init__

    def group_init(self, *args: Any, **kwargs: Any) -> None:
        moto_group_init(self, *args, **kwargs)
        if not kwargs.get("instance_group_id") and self.id.startswith("i-"):
            self.id = "ig-" + self.id[2:]

    emr_models.InstanceGroup.__init__ = group_init


# ----------------------------------------------------------------------------- EMR fleets

GROUPS_ON_FLEET_CLUSTER = (
    "Instance fleets and instance groups are mutually exclusive. The EMR cluster specified in the "
    "request uses instance fleets. The ListInstanceGroups operation does not support clusters that "
    "use instance fleets. Use the ListInstanceFleets operation instead."
)
SPOT_TIMEOUT_RANGE = (5, 1440)
MAX_FLEET_TYPES = (5, 30)  # without / with an allocation strategy


def _fleet_document(config: Any, fleet_id: str, fleet_type: str) -> dict[str, Any]:
    """An InstanceFleet (API_InstanceFleet) from an InstanceFleetConfig, checked as AWS checks it."""
    from moto.emr.exceptions import ValidationException

    types = list(config.get("InstanceTypeConfigs") or [])
    launch = config.get("LaunchSpecifications") or {}
    spot = launch.get("SpotSpecification") or {}
    on_demand = launch.get("OnDemandSpecification") or {}
    strategy = spot.get("AllocationStrategy") or on_demand.get("AllocationStrategy")
    limit = MAX_FLEET_TYPES[1] if strategy else MAX_FLEET_TYPES[0]
    if not types or len(types) > limit:
        raise ValidationException(
            f"The instance fleet {fleet_type} has {len(types)} instance type configurations; between 1 and {limit} "
            "are allowed" + ("" if strategy else " without an allocation strategy")
        )
    od, sp = int(config.get("TargetOnDemandCapacity") or 0), int(config.get("TargetSpotCapacity") or 0)
    if fleet_type == "MASTER" and od + sp != 1:
        raise ValidationException("The master instance fleet must have a target capacity of exactly 1.")
    if spot:
        timeout = int(spot.get("TimeoutDurationMinutes") or 0)
        if not SPOT_TIMEOUT_RANGE[0] <= timeout <= SPOT_TIMEOUT_RANGE[1]:
            raise ValidationException(
                f"1 validation error detected: Value '{timeout}' at 'timeoutDurationMinutes' failed to satisfy "
                f"constraint: Member must have value between {SPOT_TIMEOUT_RANGE[0]} and {SPOT_TIMEOUT_RANGE[1]}"
            )
    specs = []
    for t in types:
        spec: dict[str, Any] = {
            "InstanceType": t.get("InstanceType"),
            "WeightedCapacity": int(t.get("WeightedCapacity") or 1),
            "EbsBlockDevices": _ebs_devices(t.get("EbsConfiguration") or {}),
        }
        for key in ("BidPrice", "BidPriceAsPercentageOfOnDemandPrice"):
            if t.get(key) is not None:
                spec[key] = t.get(key)
        specs.append(spec)
    document: dict[str, Any] = {
        "Id": fleet_id,
        "Name": config.get("Name") or "",
        "InstanceFleetType": fleet_type,
        "TargetOnDemandCapacity": od,
        "TargetSpotCapacity": sp,
        "ProvisionedOnDemandCapacity": 0,
        "ProvisionedSpotCapacity": 0,
        "InstanceTypeSpecifications": specs,
        "Status": {"State": "RUNNING", "StateChangeReason": {}, "Timeline": {}},
    }
    launch_doc: dict[str, Any] = {}
    if on_demand:
        launch_doc["OnDemandSpecification"] = {"AllocationStrategy": on_demand.get("AllocationStrategy")}
    if spot:
        launch_doc["SpotSpecification"] = {
            key: spot.get(key)
            for key in ("TimeoutDurationMinutes", "TimeoutAction", "BlockDurationMinutes", "AllocationStrategy")
            if spot.get(key) is not None
        }
    if launch_doc:
        document["LaunchSpecifications"] = launch_doc
    return document


def _ebs_devices(ebs: Any) -> list[dict[str, Any]]:
    devices: list[dict[str, Any]] = []
    for config in ebs.get("EbsBlockDeviceConfigs") or []:
        spec = config.get("VolumeSpecification") or {}
        for _index in range(int(config.get("VolumesPerInstance") or 1)):
            volume = {"VolumeType": spec.get("VolumeType"), "SizeInGB": spec.get("SizeInGB")}
            for key in ("Iops", "Throughput"):
                if spec.get(key) is not None:
                    volume[key] = spec.get(key)
            devices.append({"VolumeSpecification": volume, "Device": f"/dev/sd{chr(ord('b') + len(devices))}"})
    return devices


def _terminate_nodes(ec2_backend: Any, instances: list[Any]) -> None:
    """Terminate EC2 instances as AWS does: the primary network interface an instance was
    launched with goes with it (DeleteOnTermination is true for it; moto keeps it)."""
    running = [i for i in instances if i.state != "terminated"]
    if not running:
        return
    primaries = [nic.id for i in running for index, nic in i.nics.items() if index == 0]
    ec2_backend.terminate_instances([i.id for i in running])
    for eni_id in primaries:
        try:
            ec2_backend.delete_network_interface(eni_id)
        except Exception:  # noqa: BLE001 -- already gone (moto deleted it itself)
            pass


class _FleetNodes:
    """What a node of a fleet shows moto's Instance model in place of an instance group."""

    def __init__(self, fleet: dict[str, Any], market: str) -> None:
        self.id = ""
        self.role = fleet["InstanceFleetType"]
        self.market = market
        self.state = "RUNNING"
        now = __import__("moto.core.utils", fromlist=["utcnow"]).utcnow()
        self.creation_date_time = self.ready_date_time = self.start_date_time = now
        self.end_date_time = None


def _patch_emr_fleets() -> None:  # noqa: C901 -- one closure per EMR call moto lacks
    from moto.core.responses import ActionResult, EmptyResult
    from moto.emr import models as emr_models
    from moto.emr.exceptions import InvalidRequestException
    from moto.emr.responses import ElasticMapReduceResponse
    from moto.emr.utils import random_id

    def fleets_of(cluster: Any) -> list[dict[str, Any]] | None:
        return getattr(cluster, "shim_fleets", None)

    def cluster_of(self: Any, key: str = "ClusterId") -> Any:
        cluster_id = self._get_param(key)
        cluster = self.backend.clusters.get(cluster_id)
        if cluster is None:
            raise InvalidRequestException(f"Cluster id '{cluster_id}' is not valid.")
        return cluster

    def provision(backend: Any, cluster: Any, fleet: dict[str, Any]) -> None:
        """Meet the fleet's targets with instances of its first type (see module docstring)."""
        spec = fleet["InstanceTypeSpecifications"][0]
        weight = max(int(spec["WeightedCapacity"]), 1)
        nodes = [i for i in cluster.ec2_instances if i.instance_fleet_id == fleet["Id"]]
        for market, target_key, provisioned_key in (
            ("ON_DEMAND", "TargetOnDemandCapacity", "ProvisionedOnDemandCapacity"),
            ("SPOT", "TargetSpotCapacity", "ProvisionedSpotCapacity"),
        ):
            mine = [i for i in nodes if i.instance_group.market == market]
            wanted = -(-int(fleet[target_key]) // weight)
            for extra in mine[wanted:]:
                _terminate_nodes(backend.ec2_backend, [extra.ec2_instance])
                cluster.ec2_instances.remove(extra)
            missing = wanted - len(mine)
            if missing > 0:
                request = {"instance_type": spec["InstanceType"], "is_instance_type_default": False}
                if cluster.ec2_subnet_id:
                    request["subnet_id"] = cluster.ec2_subnet_id
                response = backend.ec2_backend.run_instances(emr_models.EXAMPLE_AMI_ID, missing, None, [], **request)
                for ec2_instance in response.instances:
                    node = emr_models.Instance(
                        ec2_instance=ec2_instance,
                        instance_group=_FleetNodes(fleet, market),  # type: ignore[arg-type]
                        instance_fleet_id=fleet["Id"],
                    )
                    cluster.add_instance(node)
            fleet[provisioned_key] = wanted * weight

    original_run_job_flow = ElasticMapReduceResponse.run_job_flow

    def run_job_flow(self: Any) -> ActionResult:
        configs = self._get_param("Instances.InstanceFleets") or []
        subnets = list(self._get_param("Instances.Ec2SubnetIds") or [])
        # Checked before the cluster exists: a refused fleet creates nothing, as in AWS.
        fleets = [_fleet_document(c, f"if-{random_id()}", str(c.get("InstanceFleetType"))) for c in configs]
        result: Any = original_run_job_flow(self)
        if not configs:
            return result
        cluster = self.backend.clusters[result.result["JobFlowId"]]
        cluster.shim_fleets = fleets
        cluster.shim_requested_subnets = subnets
        if subnets and not cluster.ec2_subnet_id:
            cluster.ec2_subnet_id = subnets[0]
        for fleet in fleets:
            provision(self.backend, cluster, fleet)
        return result

    def list_instance_fleets(self: Any) -> ActionResult:
        cluster = cluster_of(self)
        fleets = fleets_of(cluster)
        if fleets is None:
            raise InvalidRequestException(FLEETS_ON_GROUP_CLUSTER.format(operation="ListInstanceFleets"))
        return ActionResult({"InstanceFleets": fleets})

    def add_instance_fleet(self: Any) -> ActionResult:
        cluster = cluster_of(self)
        fleets = fleets_of(cluster)
        if fleets is None:
            raise InvalidRequestException(FLEETS_ON_GROUP_CLUSTER.format(operation="AddInstanceFleet"))
        config = self._get_param("InstanceFleet") or {}
        fleet_type = str(config.get("InstanceFleetType"))
        if fleet_type != "TASK":
            raise InvalidRequestException(
                f"Only a TASK instance fleet can be added to a running cluster, not {fleet_type}."
            )
        if any(f["InstanceFleetType"] == "TASK" for f in fleets):
            raise InvalidRequestException("The cluster already has a task instance fleet; a cluster has at most one.")
        fleet = _fleet_document(config, f"if-{random_id()}", fleet_type)
        fleets.append(fleet)
        provision(self.backend, cluster, fleet)
        return ActionResult({"ClusterId": cluster.id, "InstanceFleetId": fleet["Id"], "ClusterArn": cluster.arn})

    def modify_instance_fleet(self: Any) -> ActionResult:
        cluster = cluster_of(self)
        fleets = fleets_of(cluster)
        if fleets is None:
            raise InvalidRequestException(FLEETS_ON_GROUP_CLUSTER.format(operation="ModifyInstanceFleet"))
        change = self._get_param("InstanceFleet") or {}
        fleet = next((f for f in fleets if f["Id"] == change.get("InstanceFleetId")), None)
        if fleet is None:
            raise InvalidRequestException(f"Instance fleet '{change.get('InstanceFleetId')}' is not valid.")
        for key in ("TargetOnDemandCapacity", "TargetSpotCapacity"):
            value = change.get(key)
            if value is not None:
                fleet[key] = int(value)
        provision(self.backend, cluster, fleet)
        return EmptyResult()

    original_list_groups = ElasticMapReduceResponse.list_instance_groups

    def list_instance_groups(self: Any) -> ActionResult:
        if fleets_of(cluster_of(self)) is not None:
            raise InvalidRequestException(GROUPS_ON_FLEET_CLUSTER)
        return original_list_groups(self)

    moto_terminate = emr_models.ElasticMapReduceBackend.terminate_job_flows

    def terminate_job_flows(self: Any, job_flow_ids: list[str]) -> list[Any]:
        terminated = moto_terminate(self, job_flow_ids)
        for cluster in terminated:
            _terminate_nodes(self.ec2_backend, [i.ec2_instance for i in cluster.ec2_instances])
        return terminated

    emr_models.ElasticMapReduceBackend.terminate_job_flows = terminate_job_flows

    for name, method in {
        "run_job_flow": run_job_flow,
        "list_instance_fleets": list_instance_fleets,
        "add_instance_fleet": add_instance_fleet,
        "modify_instance_fleet": modify_instance_fleet,
        "list_instance_groups": list_instance_groups,
    }.items():
        setattr(ElasticMapReduceResponse, name, method)

    emr_models.Cluster.instance_collection_type = property(  # type: ignore[attr-defined]
        lambda self: "INSTANCE_FLEET" if fleets_of(self) is not None else "INSTANCE_GROUP"
    )
    emr_models.Ec2InstanceAttributes.requested_ec2_subnet_ids = property(  # type: ignore[attr-defined]
        lambda self: list(getattr(self.cluster, "shim_requested_subnets", None) or []) or None
    )
    moto_instance_group_id: Any = emr_models.Instance.instance_group_id  # a property: fget reads it

    def instance_group_id(self: Any) -> str | None:
        return None if self.instance_fleet_id else moto_instance_group_id.fget(self)

    emr_models.Instance.instance_group_id = property(instance_group_id)  # type: ignore[assignment]


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
