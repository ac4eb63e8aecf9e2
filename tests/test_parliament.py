"""IAM policy lint: parliament, with its community auditors, on every policy document of
every synthesized stack: zero findings, except the ones accepted in
``tests/parliament_accepted.json``, each with its reason (reviewed like code).

A policy document is any resource attribute named ``policy`` or ``assume_role_policy``
(role trust policies, inline role policies, bucket policies, KMS key policies, and any
added later). Terraform references inside a document (``${aws_iam_role.x.arn}``) are
replaced by a well-formed ARN of the same kind before the lint, so parliament checks the
ARN's shape against the action's resource types; a reference of a kind this test does not
know fails the test instead of being skipped.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest

from tests.example_app import PURPOSES

ROOT = Path(__file__).resolve().parent
ACCEPTED_FILE = ROOT / "parliament_accepted.json"
POLICY_ATTRIBUTES = ("policy", "assume_role_policy")
STACKS = ("foundation", *PURPOSES)
_REFERENCE = re.compile(r"\$\{(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}")


def _stand_in(kind: str, name: str, attribute: str, stack: dict, settings) -> str | None:
    """A well-formed ARN for a Terraform reference, or None for a kind not known here."""
    acct, region = settings.account_id, settings.region
    if (kind, attribute) == ("aws_iam_role", "arn"):
        return f"arn:aws:iam::{acct}:role/{stack['resource']['aws_iam_role'][name]['name']}"
    if (kind, attribute) == ("aws_s3_bucket", "arn"):
        return f"arn:aws:s3:::{stack['resource']['aws_s3_bucket'][name]['bucket']}"
    if (kind, attribute) in (("aws_kms_alias", "target_key_arn"), ("aws_kms_key", "arn")):
        return f"arn:aws:kms:{region}:{acct}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    return None


def policy_documents(synth, settings) -> list[tuple[str, str, str]]:
    """(stack, 'type.name.attribute', document with references replaced) for every
    policy document of every stack."""
    documents = []
    for stack_name in STACKS:
        stack = synth[stack_name]
        for rtype, resources in stack.get("resource", {}).items():
            for name, resource in resources.items():
                for attribute in POLICY_ATTRIBUTES:
                    text = resource.get(attribute)
                    if not isinstance(text, str):
                        continue

                    # resolve runs inside this iteration (the sub() below), so the loop values are current.
                    def resolve(match: re.Match) -> str:
                        arn = _stand_in(match.group(2), match.group(3), match.group(4), stack, settings)  # noqa: B023
                        assert arn, (
                            f"{stack_name} {rtype}.{name}.{attribute}: no stand-in for {match.group(0)}; "  # noqa: B023
                            "teach _stand_in this kind of reference"
                        )
                        return arn

                    documents.append((stack_name, f"{rtype}.{name}.{attribute}", _REFERENCE.sub(resolve, text)))
    return documents


def accepted_findings() -> list[dict]:
    return json.loads(ACCEPTED_FILE.read_text())["accepted"]


def _matches(entry: dict, stack: str, where: str, finding) -> bool:
    rtype, _, attribute = where.split(".")[0], None, where.rsplit(".", 1)[1]
    return (
        entry["issue"] == finding.issue
        and re.fullmatch(entry["resource_type"], rtype) is not None
        and entry["attribute"] == attribute
        and re.search(entry.get("detail", ""), _detail(finding)) is not None
    )


def _detail(finding) -> str:
    return json.dumps(
        {
            "detail": finding.detail,
            "location": {k: v for k, v in (finding.location or {}).items() if k not in ("line", "column", "filepath")},
        },
        sort_keys=True,
        default=str,
    )


def _lint(document: str) -> list:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from parliament import analyze_policy_string

        return analyze_policy_string(document, include_community_auditors=True).findings


def test_every_accepted_finding_carries_a_reason():
    entries = accepted_findings()
    assert entries
    for entry in entries:
        assert set(entry) <= {"issue", "resource_type", "attribute", "detail", "reason"}, entry
        assert len(entry["reason"].split()) >= 12, f"{entry['issue']}: give a reason a security reviewer accepts"


def test_the_lint_sees_every_kind_of_policy_document(synth, settings):
    kinds = {where.split(".")[0] + "." + where.rsplit(".", 1)[1] for _, where, _ in policy_documents(synth, settings)}
    assert {
        "aws_iam_role.assume_role_policy",
        "aws_iam_role_policy.policy",
        "aws_s3_bucket_policy.policy",
        "aws_kms_key.policy",
    } <= kinds


def test_parliament_reports_a_planted_problem():
    """The lint is live: a wildcard resource for an action that has resource types, and a
    StringEquals on an ARN key, are reported."""
    planted = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "ec2:AssignPrivateIpAddresses",
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {"ec2:Subnet": "arn:aws:ec2:ap-northeast-2:123456789012:subnet/subnet-1"}
                    },
                }
            ],
        }
    )
    assert {"RESOURCE_STAR", "MISMATCHED_TYPE_BUT_USABLE"} <= {f.issue for f in _lint(planted)}


@pytest.mark.parametrize("stack", STACKS)
def test_parliament_finds_nothing_that_is_not_accepted(synth, settings, stack):
    entries = accepted_findings()
    unexpected = []
    for stack_name, where, document in policy_documents(synth, settings):
        if stack_name != stack:
            continue
        for finding in _lint(document):
            if not any(_matches(e, stack_name, where, finding) for e in entries):
                unexpected.append(f"{where}: {finding.issue} {_detail(finding)}")
    assert unexpected == []


def test_every_accepted_finding_still_occurs(synth, settings):
    """An acceptance nothing needs any more is removed, so the file stays a true list."""
    seen = set()
    for stack_name, where, document in policy_documents(synth, settings):
        for finding in _lint(document):
            for i, entry in enumerate(accepted_findings()):
                if _matches(entry, stack_name, where, finding):
                    seen.add(i)
    stale = [e["issue"] + " " + e["resource_type"] for i, e in enumerate(accepted_findings()) if i not in seen]
    assert stale == []
