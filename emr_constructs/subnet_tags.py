"""EmrManagedPolicySubnetTags: tag existing subnets for EMR's v2 service policy (guide tip T0).

``AmazonEMRServicePolicy_v2`` (the managed policy the service role carries) lets EMR call
``ec2:RunInstances``, ``ec2:CreateFleet``, ``ec2:CreateNetworkInterface`` and the launch
template actions on subnets and security groups only where the resource carries the tag
``for-use-with-amazon-emr-managed-policies = true``: its statement ``CreateInTaggedNetwork``
has ``Resource`` ``arn:aws:ec2:*:*:subnet/*`` and ``arn:aws:ec2:*:*:security-group/*`` with
``Condition`` ``StringEquals`` ``aws:ResourceTag/for-use-with-amazon-emr-managed-policies``
= ``true`` (AWS Managed Policy Reference, AmazonEMRServicePolicy_v2, policy version v4).
An untagged subnet makes cluster creation fail with an access-denied error.

The subnets belong to the VPC's owners, not to this app, so each tag is an ``aws_ec2_tag``:
it manages one tag on a resource it does not own, and destroying it removes only that tag.
Construct ids derive from the subnet id, never from a position in a list.
"""

from __future__ import annotations

import re
from typing import Sequence

from cdktf_cdktf_provider_aws.ec2_tag import Ec2Tag
from constructs import Construct

from emr_constructs.iam_roles import MANAGED_POLICY_TAG
from emr_constructs.model.errors import ConstructInputError

_SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8}([0-9a-f]{9})?$")


class EmrManagedPolicySubnetTags(Construct):
    """Inputs (keyword-only):
      subnet_ids: the private subnets EMR clusters run in (required, at least one).

    Attributes: ``tags`` (subnet id -> Ec2Tag).
    Raises ConstructInputError listing every malformed or repeated id.
    """

    def __init__(self, scope: Construct, id: str, *, subnet_ids: Sequence[str]) -> None:
        problems = [
            f"subnet_ids[{i}] = {s!r}: subnet- followed by 8 or 17 hexadecimal digits"
            for i, s in enumerate(subnet_ids)
            if not isinstance(s, str) or not _SUBNET_ID.fullmatch(s)
        ]
        if not subnet_ids or isinstance(subnet_ids, str):
            problems.append(f"subnet_ids = {subnet_ids!r}: a non-empty list of subnet ids")
        elif len(set(subnet_ids)) != len(subnet_ids):
            problems.append(f"subnet_ids = {list(subnet_ids)!r}: name each subnet once")
        if problems:
            raise ConstructInputError(f"EmrManagedPolicySubnetTags {id!r}", problems)
        super().__init__(scope, id)
        self.tags = {
            subnet_id: Ec2Tag(self, subnet_id, resource_id=subnet_id, key=MANAGED_POLICY_TAG, value="true")
            for subnet_id in subnet_ids
        }
