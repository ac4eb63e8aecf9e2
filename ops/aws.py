"""boto3 clients with retries, and AWS errors translated into operator messages.

Clients use botocore's ``standard`` retry mode (exponential backoff with jitter on
throttling and transient errors, 8 attempts) so a busy EMR control plane slows the
command down instead of failing it. The endpoint comes from the usual AWS
configuration, including ``AWS_ENDPOINT_URL`` (which the tests point at a local moto
server).
"""

from __future__ import annotations

import contextlib
import os
from functools import cached_property
from typing import Iterator

from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    TokenRetrievalError,
)

from ops.errors import AccessProblem, OperationFailed, OpsError, Refused

RETRY_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 8},
    connect_timeout=10,
    read_timeout=60,
    user_agent_extra="emr-cdktf-ops",
)

# The Price List API is served from us-east-1 whatever region is being priced.
PRICING_API_REGION = "us-east-1"

# Every AWS call the command makes, with the IAM action it needs. The README's operator
# section lists the same actions; access-denied messages name the action from here.
IAM_ACTIONS = {
    "ListClusters": "elasticmapreduce:ListClusters",
    "DescribeCluster": "elasticmapreduce:DescribeCluster",
    "ListInstanceGroups": "elasticmapreduce:ListInstanceGroups",
    "ListInstanceFleets": "elasticmapreduce:ListInstanceFleets",
    "ListInstances": "elasticmapreduce:ListInstances",
    "ModifyInstanceGroups": "elasticmapreduce:ModifyInstanceGroups",
    "AddTags": "elasticmapreduce:AddTags",
    "RemoveTags": "elasticmapreduce:RemoveTags",
    "DescribeNetworkInterfaces": "ec2:DescribeNetworkInterfaces",
    "GetObject": "s3:GetObject",
    "GetProducts": "pricing:GetProducts",
}

_DENIED_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedException",
}
_CREDENTIAL_CODES = {
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "AuthFailure",
    "RequestExpired",
}


class AwsClients:
    """Lazily created clients for one profile/region; what the commands take as ``clients``.

    Tests substitute any object with ``emr``, ``ec2`` and ``pricing`` attributes (a
    simulated EMR, or a real client wrapped in botocore's Stubber).
    """

    def __init__(self, *, profile: str | None = None, region: str | None = None):
        self._profile = profile
        self._region = region

    @cached_property
    def _session(self):
        import boto3

        return boto3.session.Session(profile_name=self._profile, region_name=self._region)

    @cached_property
    def emr(self):
        return self._session.client("emr", config=RETRY_CONFIG)

    @cached_property
    def ec2(self):
        return self._session.client("ec2", config=RETRY_CONFIG)

    @cached_property
    def s3(self):
        return self._session.client("s3", config=RETRY_CONFIG)

    @cached_property
    def pricing(self):
        return self._session.client("pricing", region_name=PRICING_API_REGION, config=RETRY_CONFIG)


def translate(exc: BaseException) -> OpsError | None:
    """The operator-facing error for an AWS/botocore exception, or None if it is not one."""
    if isinstance(exc, NoCredentialsError):
        return AccessProblem(
            "no AWS credentials found (botocore NoCredentialsError). Set AWS_PROFILE (or pass "
            "--profile) to a configured profile, run `aws sso login --profile NAME` for SSO "
            "profiles, or export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY."
        )
    if isinstance(exc, PartialCredentialsError):
        return AccessProblem(f"incomplete AWS credentials: {exc}. Fix the profile or environment variables.")
    if isinstance(exc, TokenRetrievalError):
        return AccessProblem(f"cannot refresh the SSO token: {exc}. Run `aws sso login` and retry.")
    if isinstance(exc, ProfileNotFound):
        return Refused(f"{exc}. List configured profiles with `aws configure list-profiles`.")
    if isinstance(exc, NoRegionError):
        return Refused(
            "no AWS region configured: pass --region REGION, set AWS_DEFAULT_REGION, or set region in the AWS profile."
        )
    if isinstance(exc, EndpointConnectionError):
        return OperationFailed(f"cannot reach the AWS endpoint: {exc}. Check network/VPN/proxy and retry.")
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "")
        message = error.get("Message", "")
        operation = getattr(exc, "operation_name", "") or "?"
        action = IAM_ACTIONS.get(operation, operation)
        if code in _DENIED_CODES:
            return AccessProblem(
                f"access denied: {action} ({code}: {message}). Grant {action} to the role or user "
                "you are using (see the README's operator section for the full list) and retry."
            )
        if code in _CREDENTIAL_CODES:
            return AccessProblem(
                f"AWS rejected the credentials on {action} ({code}: {message}). Refresh them "
                "(e.g. `aws sso login`) or check the profile, then retry."
            )
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code.isdigit() or message.lstrip().lower().startswith(("<!doctype html", "<html")):
            # Not an AWS error document: the endpoint does not speak this API (a local
            # stand-in without it, a proxy's error page). Its HTML says nothing useful.
            endpoint = os.environ.get("AWS_ENDPOINT_URL")
            where = f"the endpoint {endpoint} (AWS_ENDPOINT_URL)" if endpoint else "the AWS endpoint"
            return OperationFailed(
                f"{where} answered {action} with HTTP {status or code} and a web page, not an AWS API "
                "response: it does not serve this API"
                + (
                    " (a local stand-in such as `make sandbox` has no Price List API); unset AWS_ENDPOINT_URL "
                    "to ask AWS itself"
                    if endpoint
                    else "; check a proxy between you and AWS, then retry"
                )
            )
        return OperationFailed(f"AWS error on {action}: {code}: {message}")
    if isinstance(exc, BotoCoreError):
        return OperationFailed(f"AWS client error: {exc}")
    return None


@contextlib.contextmanager
def aws_errors() -> Iterator[None]:
    """Re-raise AWS/botocore exceptions as OpsError with an actionable message."""
    try:
        yield
    except OpsError:
        raise
    except Exception as exc:
        ops_error = translate(exc)
        if ops_error is None:
            raise
        raise ops_error from exc
