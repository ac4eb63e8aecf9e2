#!/usr/bin/env python3
"""EMR bootstrap action: append the node's role (-MASTER, -CORE, -TASK) to its Name tag.

The guide's tag tip, rewritten for Python 3: in the EC2 console the primary node of
``spark-batch-production-01`` shows as ``spark-batch-production-01-MASTER``, its core
nodes as ``...-CORE`` and task nodes as ``...-TASK``, without looking at security groups.

Usage (as an EMR bootstrap action on every node; its only argument is the marker the app
adds to every action, the start of the script's sha256, which is logged)::

    tag_instance_role.py [--script-sha256 HEX]

The role comes from EMR's own instance tag ``aws:elasticmapreduce:instance-group-role``
(MASTER, CORE or TASK). If that tag is missing, from the node's info files
(``/mnt/var/lib/info/`` or ``/emr/instance-controller/lib/info/``): ``isMaster`` in
``instance.json`` means MASTER; otherwise the ``instanceGroupId`` of ``instance.json`` is
looked up in ``job-flow.json`` ``instanceGroups[].instanceRole``.

The new Name is the current Name without surrounding spaces and trailing role suffixes,
then ``-ROLE``:
- ``spark-batch-production-01`` -> ``spark-batch-production-01-MASTER``;
- ``spark-batch-production-01-MASTER`` stays as it is (a second run, e.g. after a reboot,
  changes nothing and says so: never ``-MASTER-MASTER``);
- ``x-MASTER-MASTER`` (left by the guide's original script run twice) -> ``x-MASTER``;
- ``x-CORE`` on a MASTER node -> ``x-MASTER``: an instance's role never changes, so a
  different suffix was copied from elsewhere and the node's real role wins;
- ``etl-01-MASTER `` (a trailing space) -> ``etl-01-MASTER``, never ``etl-01-MASTER -MASTER``;
- no Name tag, a blank one, or one that is only role suffixes (``-MASTER``, what the
  guide's original script wrote on an unnamed instance) -> ``<cluster id>-<ROLE>``, e.g.
  ``j-2AXXXXXXGAPLF-CORE``; the cluster id comes from EMR's
  ``aws:elasticmapreduce:job-flow-id`` tag, else ``job-flow.json`` ``jobFlowId``. An
  instance with neither fails (non-zero) rather than inventing a name.

The Name is cosmetic, and a failed bootstrap action fails the whole cluster (and every
later resize, since new nodes run it too). So two failures only warn and exit 0: a new
Name over EC2's 256-character limit for tag values (the Name stays as it is), and
``CreateTags`` denied (``UnauthorizedOperation``, e.g. a tag policy or a narrower
instance role).

Instance id and region come from instance metadata over IMDSv2 (a session token for every
read). The tag is written with ``CreateTags``, which overwrites the Name in place; the
script never deletes a tag. Other failures exit non-zero with one log line to stderr (UTC
timestamp and script name).

Why the AWS CLI and not boto3: every EMR 6.x and 7.x image ships the AWS CLI (v1 on Amazon
Linux 2, v2 with its own bundled Python on AL2023), and the guide's own scripts rely on it.
boto3 for the system ``python3`` is not part of either image: AL2023 installs no
``python3-boto3`` by default, and EMR bootstrap scripts commonly ``pip install boto3``
first, which needs package-index access from private subnets at boot. Only the standard
library is imported, and the code is kept Python 3.7 compatible (EMR 6.x's python3).
Metadata reads retry connection errors, 429 and 5xx for about 60 s. The CLI runs under a
UTF-8 locale (a Korean Name tag must not crash it), with ``AWS_RETRY_MODE=standard`` and
ten five-second attempts at its credential fetch from metadata (unless the node sets
them); on top of that the script retries throttling (``RequestLimitExceeded``,
``Throttling``, ...) a bounded number of times with exponential backoff and jitter.

IAM (instance profile of the cluster's EC2 role):
- ``ec2:DescribeInstances`` on ``*`` (the action has no resource-level permissions);
- ``ec2:CreateTags`` on ``arn:aws:ec2:<region>:<account>:instance/*``, best scoped with
  ``aws:ResourceTag/<a tag the cluster propagates to its instances>`` = the cluster's value
  and ``ForAllValues:StringEquals aws:TagKeys = ["Name"]`` so it can only rename.
- ``ec2:DeleteTags`` is NOT needed: the script never calls it (the guide listed it).

Test-only environment overrides (never set on a node): ``EMR_BOOTSTRAP_IMDS_ENDPOINT``
(metadata base URL), ``EMR_BOOTSTRAP_INFO_DIRS`` (colon-separated info-file directories),
``EMR_BOOTSTRAP_BACKOFF_BASE`` (seconds, scales every backoff), and the AWS CLI's own
``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

PROG = "tag_instance_role"

# ---- shared block: begin (identical in assign_private_ip.py and tag_instance_role.py) ----
IMDS_ENDPOINT = os.environ.get("EMR_BOOTSTRAP_IMDS_ENDPOINT", "http://169.254.169.254")
INFO_DIRS = os.environ.get(
    "EMR_BOOTSTRAP_INFO_DIRS", "/mnt/var/lib/info:/emr/instance-controller/lib/info"
).split(":")
BACKOFF_BASE = float(os.environ.get("EMR_BOOTSTRAP_BACKOFF_BASE", "1.0"))
THROTTLING_CODES = frozenset(
    {"RequestLimitExceeded", "Throttling", "ThrottlingException", "RequestThrottled"}
)
DENIED_CODES = frozenset({"UnauthorizedOperation", "AccessDenied", "AccessDeniedException"})
AWS_ATTEMPTS = 6
# Metadata is retried this long (seconds, scaled like every backoff): at boot the service
# can answer 429/5xx or refuse connections for a while, and one hiccup must not fail the
# whole cluster.
IMDS_BUDGET = 60.0
# The CLI always runs in UTF-8, whatever the node's locale: under an ASCII locale the
# Python-based CLI of EMR 6.x crashes printing any non-ASCII text (a Korean Name tag,
# another interface's description).
CLI_ENV = {"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "PYTHONUTF8": "1",
           "PYTHONIOENCODING": "utf-8", "AWS_PAGER": ""}
# Unless the node sets them: the CLI's own retries, and its credential fetch from
# instance metadata (one attempt with a one-second timeout by default, after which the
# CLI says "Unable to locate credentials").
CLI_DEFAULTS = {"AWS_RETRY_MODE": "standard", "AWS_METADATA_SERVICE_NUM_ATTEMPTS": "10",
                "AWS_METADATA_SERVICE_TIMEOUT": "5"}


class BootstrapError(Exception):
    """A failure the script reports in one line and exits non-zero for.

    ``code`` is the AWS error code when the failure came from an AWS call.
    """

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


def log(message):
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    print("%s %s: %s" % (stamp, PROG, message), file=sys.stderr, flush=True)


def backoff(attempt, cap=20.0):
    """Seconds to wait before retry number ``attempt`` (0-based): exponential, equal jitter."""
    ceiling = min(cap * BACKOFF_BASE, BACKOFF_BASE * 2 ** attempt)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


class Imds:
    """Instance metadata over IMDSv2: one session token, sent with every read.

    Connection errors, 429 and 5xx are retried with backoff for ``IMDS_BUDGET`` seconds;
    any other HTTP error is final.
    """

    def __init__(self, endpoint=IMDS_ENDPOINT, timeout=2.0, budget=IMDS_BUDGET):
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout
        self.budget = budget * BACKOFF_BASE
        self._token = None
        # Metadata is link-local: an http_proxy set for the node must never see it.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def _call(self, method, path, headers):
        deadline = time.monotonic() + self.budget
        attempt = 0
        while True:
            request = urllib.request.Request(
                self.endpoint + path, method=method, headers=headers
            )
            try:
                with self._opener.open(request, timeout=self.timeout) as response:
                    return response.read().decode("utf-8")
            except urllib.error.HTTPError as error:
                if error.code != 429 and error.code < 500:
                    raise
                last = "HTTP %d" % error.code
            except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
                last = str(getattr(error, "reason", error)) or type(error).__name__
            attempt += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BootstrapError(
                    "instance metadata service at %s unreachable for %.0fs (%d attempts, last: %s)"
                    % (self.endpoint, self.budget, attempt, last)
                )
            time.sleep(min(backoff(attempt - 1, cap=5.0), remaining))

    def get(self, path):
        """The text at ``/latest/meta-data/PATH``; a 401 (expired token) renews it once."""
        for renew in (False, True):
            try:
                if renew or self._token is None:
                    self._token = self._call(
                        "PUT", "/latest/api/token",
                        {"X-aws-ec2-metadata-token-ttl-seconds": "21600"},
                    )
                return self._call(
                    "GET", "/latest/meta-data/" + path, {"X-aws-ec2-metadata-token": self._token}
                ).strip()
            except urllib.error.HTTPError as error:
                if error.code != 401 or renew:
                    raise BootstrapError("instance metadata %s: HTTP %d" % (path, error.code))
        raise AssertionError("unreachable")


def read_info_file(name):
    """The first ``name`` found in the EMR info directories, parsed; None if none has it."""
    for directory in INFO_DIRS:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            try:
                with open(path, encoding="utf-8") as handle:
                    return json.load(handle)
            except (OSError, ValueError) as error:
                raise BootstrapError("cannot read %s: %s" % (path, error))
    return None


def aws_ec2(region, *args):
    """Run ``aws ec2 ARGS`` and return its parsed JSON output (None when it prints none).

    Throttling is retried ``AWS_ATTEMPTS`` times in all; any other failure raises
    BootstrapError carrying the AWS error code.
    """
    cli = shutil.which("aws")
    if cli is None:
        raise BootstrapError("the AWS CLI ('aws') is not on PATH")
    command = [cli, "ec2"] + list(args) + ["--region", region, "--output", "json"]
    env = dict(os.environ)
    env.update(CLI_ENV)
    for key, value in CLI_DEFAULTS.items():
        env.setdefault(key, value)
    for attempt in range(AWS_ATTEMPTS):
        result = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            encoding="utf-8", errors="replace", env=env, timeout=300,
        )
        if result.returncode == 0:
            return json.loads(result.stdout) if result.stdout.strip() else None
        match = re.search(r"An error occurred \(([A-Za-z0-9.]+)\)", result.stderr)
        code = match.group(1) if match else None
        if code in THROTTLING_CODES and attempt + 1 < AWS_ATTEMPTS:
            delay = backoff(attempt)
            log("aws ec2 %s throttled (%s), retry %d of %d in %.2fs"
                % (args[0], code, attempt + 1, AWS_ATTEMPTS - 1, delay))
            time.sleep(delay)
            continue
        detail = result.stderr.strip().splitlines()
        raise BootstrapError(
            "aws ec2 %s failed (exit %d): %s"
            % (args[0], result.returncode, detail[-1] if detail else "no output"),
            code=code,
        )
    raise BootstrapError("aws ec2 %s still throttled after %d attempts" % (args[0], AWS_ATTEMPTS))
# ---- shared block: end ----


ROLES = ("MASTER", "CORE", "TASK")
ROLE_TAG = "aws:elasticmapreduce:instance-group-role"
CLUSTER_TAG = "aws:elasticmapreduce:job-flow-id"
ROLE_SUFFIX = re.compile(r"-(%s)$" % "|".join(ROLES))
TAG_VALUE_MAX = 256  # EC2's limit on a tag value, in characters


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Append -MASTER/-CORE/-TASK to this EMR node's Name tag (idempotent).",
    )
    parser.add_argument(
        "--script-sha256",
        metavar="HEX",
        help="the start of this script's sha256, added by the app to every action so that a "
        "script edit replaces the clusters running it; only logged",
    )
    return parser.parse_args(argv)


def role_from_info_files():
    """MASTER/CORE/TASK from instance.json and job-flow.json, or None if they do not tell."""
    instance = read_info_file("instance.json")
    if instance is None:
        return None
    if instance.get("isMaster") is True:
        return "MASTER"
    group_id = instance.get("instanceGroupId")
    job_flow = read_info_file("job-flow.json") or {}
    for group in job_flow.get("instanceGroups") or []:
        if group_id and group.get("instanceGroupId") == group_id:
            role = str(group.get("instanceRole", "")).upper()
            return role if role in ROLES else None
    return None


def cluster_id(tags):
    if tags.get(CLUSTER_TAG):
        return tags[CLUSTER_TAG]
    job_flow = read_info_file("job-flow.json") or {}
    return job_flow.get("jobFlowId")


def new_name(current, role, tags):
    """The Name to write: ``current`` without surrounding spaces and trailing role
    suffixes, then ``-ROLE``; the cluster id when nothing else is left."""
    base = (current or "").strip()
    while ROLE_SUFFIX.search(base):
        base = ROLE_SUFFIX.sub("", base).rstrip()
    if not base:
        cluster = cluster_id(tags)
        if not cluster:
            raise BootstrapError(
                "the instance has no Name tag and no cluster id (neither the %s tag nor "
                "jobFlowId in job-flow.json) to name it after" % CLUSTER_TAG
            )
        return "%s-%s" % (cluster, role)
    return "%s-%s" % (base, role)


def tag(args):
    imds = Imds()
    region = imds.get("placement/region")
    instance_id = imds.get("instance-id")
    tags = aws_ec2(
        region, "describe-instances", "--instance-ids", instance_id,
        "--query", "Reservations[0].Instances[0].Tags",
    ) or []
    tags = {t["Key"]: t["Value"] for t in tags}
    role = tags.get(ROLE_TAG, "").upper()
    source = "tag %s" % ROLE_TAG
    if role not in ROLES:
        role = role_from_info_files()
        source = "info files"
    if role is None:
        raise BootstrapError(
            "cannot tell this node's role: no %s tag (MASTER/CORE/TASK) on %s and the info "
            "files in %s do not say" % (ROLE_TAG, instance_id, " or ".join(INFO_DIRS))
        )
    current = tags.get("Name")
    name = new_name(current, role, tags)
    log("instance %s in %s: role %s (from %s), Name %r"
        % (instance_id, region, role, source, current))
    if name == current:
        log("Name %r already ends in -%s: nothing changed" % (current, role))
        return 0
    if len(name) > TAG_VALUE_MAX:
        log("warning: the new Name would be %d characters, over EC2's limit of %d for a tag "
            "value; the Name stays %r (cosmetic: the node is fine). Shorten the cluster's Name."
            % (len(name), TAG_VALUE_MAX, current))
        return 0
    try:
        aws_ec2(
            region, "create-tags", "--resources", instance_id,
            "--tags", json.dumps([{"Key": "Name", "Value": name}]),
        )
    except BootstrapError as error:
        if error.code not in DENIED_CODES:
            raise
        log("warning: not allowed to write the Name tag (%s); the Name stays %r (cosmetic: "
            "the node is fine). Grant ec2:CreateTags on this instance for the Name key."
            % (error, current))
        return 0
    log("Name %r -> %r" % (current, name))
    return 0


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.script_sha256:
        log("script sha256 %s..." % args.script_sha256)
    try:
        return tag(args)
    except BootstrapError as error:
        log("FAILED: %s" % error)
        return 1
    except Exception as error:  # an unexpected failure must still fail the bootstrap action
        log("FAILED: unexpected %s: %s" % (type(error).__name__, error))
        return 1


if __name__ == "__main__":
    sys.exit(main())
