"""EmrSecurityGroups (tips T0, T1, T2): five groups per purpose, every managed rule declared
as a standalone resource with its origin, people's rules only in the additional groups,
and every refused input reported before anything is created."""

from __future__ import annotations

import re

import pytest

from tests.example_app import PURPOSES

GROUPS = ("master-managed", "slave-managed", "master-additional", "slave-additional", "service-access")
MANAGED = ("master-managed", "slave-managed", "service-access")
RULE_TYPES = ("aws_security_group_rule", "aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule")
EMR_TAG = "for-use-with-amazon-emr-managed-policies"

# What EMR itself needs in a private subnet, written down from the AWS EMR Management Guide
# (emr-man-sec-groups: ElasticMapReduce-Primary-Private, -Core-Private, -ServiceAccess, releases
# 5.30.0 and later). No 443 rule: no AWS table lists one.
# (group, direction, protocol, from, to, peer); peer is a group name or a CIDR.
ALL = [("icmp", -1, -1), ("tcp", 0, 65535), ("udp", 0, 65535)]
EXPECTED_MANAGED_RULES = {
    *[("master-managed", "ingress", p, f, t, "master-managed") for p, f, t in ALL],
    *[("master-managed", "ingress", p, f, t, "slave-managed") for p, f, t in ALL],
    ("master-managed", "ingress", "tcp", 8443, 8443, "service-access"),
    ("master-managed", "egress", "-1", None, None, "0.0.0.0/0"),
    ("master-managed", "egress", "tcp", 9443, 9443, "service-access"),
    *[("slave-managed", "ingress", p, f, t, "slave-managed") for p, f, t in ALL],
    *[("slave-managed", "ingress", p, f, t, "master-managed") for p, f, t in ALL],
    ("slave-managed", "ingress", "tcp", 8443, 8443, "service-access"),
    ("slave-managed", "egress", "-1", None, None, "0.0.0.0/0"),
    ("slave-managed", "egress", "tcp", 9443, 9443, "service-access"),
    ("service-access", "ingress", "tcp", 9443, 9443, "master-managed"),
    ("service-access", "egress", "tcp", 8443, 8443, "master-managed"),
    ("service-access", "egress", "tcp", 8443, 8443, "slave-managed"),
}


def _group_names(stack: dict) -> dict[str, str]:
    """Logical id of each aws_security_group -> the group kind (suffix of its name)."""
    out = {}
    for logical, sg in stack["resource"]["aws_security_group"].items():
        kind = next(g for g in GROUPS if sg["name"].endswith(f"-{g}"))
        out[logical] = kind
    return out


def _ref(value: str, names: dict[str, str]) -> str:
    match = re.fullmatch(r"\$\{aws_security_group\.([^.]+)\.id\}", value)
    assert match, value
    return names[match.group(1)]


def rules(stack: dict) -> list[dict]:
    """Every rule resource of a stack, normalised: group, direction, protocol, ports, peer
    (group kind or CIDR), description, resource type."""
    names = _group_names(stack)
    out = []
    for rtype in RULE_TYPES:
        for logical, r in stack["resource"].get(rtype, {}).items():
            if rtype == "aws_security_group_rule":
                direction, protocol = r["type"], r["protocol"]
                peer = (
                    _ref(r["source_security_group_id"], names)
                    if "source_security_group_id" in r
                    else (r.get("cidr_blocks") or r.get("ipv6_cidr_blocks"))[0]
                )
                ports = (r["from_port"], r["to_port"]) if protocol != "-1" else (None, None)
            else:
                direction = "ingress" if rtype.endswith("ingress_rule") else "egress"
                protocol = r["ip_protocol"]
                peer = (
                    _ref(r["referenced_security_group_id"], names)
                    if "referenced_security_group_id" in r
                    else r.get("cidr_ipv4") or r.get("cidr_ipv6")
                )
                ports = (r.get("from_port"), r.get("to_port"))
            out.append(
                {
                    "group": _ref(r["security_group_id"], names),
                    "direction": direction,
                    "protocol": protocol,
                    "from": ports[0],
                    "to": ports[1],
                    "peer": peer,
                    "description": r.get("description", ""),
                    "type": rtype,
                    "logical": logical,
                }
            )
    return out


def key(rule: dict) -> tuple:
    return rule["group"], rule["direction"], rule["protocol"], rule["from"], rule["to"], rule["peer"]


# --- the synthesized example app ---------------------------------------------------------


@pytest.mark.parametrize("purpose", PURPOSES)
def test_five_groups_per_purpose(synth, purpose):
    groups = synth.resources(purpose, "aws_security_group")
    assert sorted(sg["name"] for sg in groups.values()) == sorted(f"example-{purpose}-{g}" for g in GROUPS)


@pytest.mark.parametrize("purpose", PURPOSES)
def test_groups_have_no_inline_rules(synth, purpose):
    for sg in synth.resources(purpose, "aws_security_group").values():
        assert "ingress" not in sg and "egress" not in sg, sg["name"]


@pytest.mark.parametrize("purpose", PURPOSES)
def test_revoke_rules_on_delete_on_all_five(synth, purpose):
    groups = synth.resources(purpose, "aws_security_group").values()
    assert [sg["revoke_rules_on_delete"] for sg in groups] == [True] * 5


@pytest.mark.parametrize("purpose", PURPOSES)
def test_groups_tagged_for_emr_managed_policies_with_a_name(synth, purpose):
    for sg in synth.resources(purpose, "aws_security_group").values():
        assert sg["tags"][EMR_TAG] == "true"
        assert sg["tags"]["Name"] == sg["name"]


@pytest.mark.parametrize("purpose", PURPOSES)
def test_every_managed_rule_present_with_its_origin(synth, purpose):
    found = {key(r): r for r in rules(synth[purpose]) if r["group"] in MANAGED}
    assert set(found) == EXPECTED_MANAGED_RULES
    for rule in found.values():
        assert re.match(r"^(EMR managed: |EMR service access: |service access egress )", rule["description"]), rule


@pytest.mark.parametrize("purpose", PURPOSES)
def test_service_access_rules_emr_does_not_add_to_custom_groups(synth, purpose):
    described = {(r["group"], r["direction"], r["from"], r["peer"]): r["description"] for r in rules(synth[purpose])}
    assert (
        described[("service-access", "ingress", 9443, "master-managed")]
        == "EMR service access: 9443 from master-managed (EMR 5.30.0 and later)"
    )
    assert described[("service-access", "egress", 8443, "slave-managed")].startswith(
        "service access egress 8443 to slave-managed"
    )
    assert described[("service-access", "egress", 8443, "master-managed")].startswith(
        "service access egress 8443 to master-managed"
    )


@pytest.mark.parametrize("purpose", PURPOSES)
def test_rules_for_people_only_in_additional_groups(synth, settings, purpose):
    people = [r for r in rules(synth[purpose]) if r["group"] not in MANAGED]
    assert people, "expected the UI and SSH rules"
    assert {r["group"] for r in people} == {"master-additional"}
    assert all(r["direction"] == "ingress" for r in people)
    # and nothing from a CIDR other than EMR's own egress reaches the managed groups
    managed_cidr = [r for r in rules(synth[purpose]) if r["group"] in MANAGED and "/" in str(r["peer"])]
    assert {(r["direction"], r["peer"]) for r in managed_cidr} == {("egress", "0.0.0.0/0")}


@pytest.mark.parametrize("purpose", PURPOSES)
def test_no_web_ui_port_is_open_unless_the_environment_opens_it(synth, settings, purpose):
    assert settings.purpose(purpose).open_uis == ()
    people = [r for r in rules(synth[purpose]) if r["group"] == "master-additional"]
    assert {r["from"] for r in people} == {22}


def test_an_opened_ui_is_open_to_the_office_only(settings, synth_stack):
    import dataclasses

    from environments.settings import PurposeSettings
    from stacks.clusters import declared
    from stacks.purpose import PurposeStack

    opened = dataclasses.replace(settings, purposes=(("spark-batch", PurposeSettings(open_uis=("spark-history",))),))
    stack = synth_stack(lambda app: PurposeStack(app, declared("spark-batch"), settings=opened))
    people = [r for r in rules(stack) if r["group"] == "master-additional" and r["from"] != 22]
    assert {(r["from"], r["to"], r["peer"], r["description"]) for r in people} == {
        (18080, 18080, cidr, "Spark History Server UI from the office") for cidr in settings.office_cidrs
    }


@pytest.mark.parametrize("purpose", PURPOSES)
def test_ssh_only_from_admin_cidrs(synth, settings, purpose):
    ssh = [
        r
        for r in rules(synth[purpose])
        if r["from"] is not None and r["from"] <= 22 <= r["to"] and r["group"] not in MANAGED
    ]
    assert sorted(r["peer"] for r in ssh) == sorted(settings.admin_cidrs)


# --- variants built in this process -------------------------------------------------------


def _groups_stack(app, **kwargs):
    from cdktf import TerraformStack
    from cdktf_cdktf_provider_aws.provider import AwsProvider

    from emr_constructs.security_groups import EmrSecurityGroups

    stack = TerraformStack(app, "sg-test")
    AwsProvider(stack, "aws", region="ap-northeast-2")
    kwargs.setdefault("vpc_id", "vpc-0a1b2c3d4e5f60718")
    kwargs.setdefault("name_prefix", "test-purpose")
    stack.groups = EmrSecurityGroups(stack, "security-groups", **kwargs)
    return stack


def _rule(description="Spark History UI from the office", from_port=18080, **kwargs):
    from emr_constructs.security_groups import IngressRule

    if "cidr" not in kwargs and "source_security_group_id" not in kwargs:
        kwargs["cidr"] = "10.30.0.0/20"
    return IngressRule(description, from_port, **kwargs)


def test_reordering_rules_changes_nothing(synth_stack):
    a = _rule()
    b = _rule("SSH from the admins", 22, cidr="10.20.250.0/28")
    c = _rule("Hue from the VPN", 8888, source_security_group_id="sg-0123456789abcdef0")
    one = synth_stack(lambda app: _groups_stack(app, master_ingress=[a, b, c]))
    two = synth_stack(lambda app: _groups_stack(app, master_ingress=[c, a, b]))
    assert one == two


def test_slave_ingress_goes_to_slave_additional(synth_stack):
    out = synth_stack(
        lambda app: _groups_stack(
            app, slave_ingress=[_rule("Spark executor UIs from the VPN", 4040, to_port=4050, protocol="tcp")]
        )
    )
    (people,) = [r for r in rules(out) if r["group"] not in MANAGED]
    assert (people["group"], people["from"], people["to"]) == ("slave-additional", 4040, 4050)


def test_rule_from_a_security_group_references_it(synth_stack):
    out = synth_stack(
        lambda app: _groups_stack(
            app,
            master_ingress=[
                _rule("Livy from the Airflow workers", 8998, source_security_group_id="sg-0123456789abcdef0")
            ],
        )
    )
    (people,) = [
        r
        for r in out["resource"]["aws_security_group_rule"].values()
        if r["description"] == "Livy from the Airflow workers"
    ]
    assert people["source_security_group_id"] == "sg-0123456789abcdef0"


def test_given_tags_added_to_all_five(synth_stack):
    out = synth_stack(lambda app: _groups_stack(app, tags={"team": "data-platform"}))
    assert [sg["tags"]["team"] for sg in out["resource"]["aws_security_group"].values()] == ["data-platform"] * 5


def test_attributes_are_the_five_group_ids(synth_stack):
    from cdktf import TerraformOutput

    attrs = (
        "master_managed_id",
        "slave_managed_id",
        "master_additional_id",
        "slave_additional_id",
        "service_access_id",
    )

    def build(app):
        stack = _groups_stack(app)
        for attr in attrs:
            TerraformOutput(stack, attr, value=getattr(stack.groups, attr))
        return stack

    out = synth_stack(build)
    names = _group_names(out)
    resolved = {attr: _ref(out["output"][attr]["value"], names) for attr in attrs}
    assert resolved == {
        "master_managed_id": "master-managed",
        "slave_managed_id": "slave-managed",
        "master_additional_id": "master-additional",
        "slave_additional_id": "slave-additional",
        "service_access_id": "service-access",
    }


# --- refused inputs: one test each ----------------------------------------------------------


def refused(**kwargs) -> str:
    from cdktf import Testing

    from emr_constructs.security_groups import SecurityGroupRuleError

    app = Testing.app()
    with pytest.raises(SecurityGroupRuleError) as err:
        _groups_stack(app, **kwargs)
    stack = app.node.children[0]
    assert not [c for c in stack.node.find_all() if type(c).__name__ == "SecurityGroup"], (
        "nothing may be created before the error"
    )
    return str(err.value)


def test_refuses_ingress_from_the_whole_ipv4_internet():
    message = refused(master_ingress=[_rule(cidr="0.0.0.0/0")])
    assert "master_ingress[0] ('Spark History UI from the office'): cidr = '0.0.0.0/0'" in message
    assert "never allowed" in message


def test_refuses_ingress_from_the_whole_ipv6_internet():
    assert "cidr = '::/0': ingress from the whole internet is never allowed" in refused(
        slave_ingress=[_rule(cidr="::/0")]
    )


def test_refuses_empty_description():
    assert "master_ingress[0] (' '): description is empty" in refused(master_ingress=[_rule(" ")])


def test_refuses_description_ec2_would_reject():
    assert 'description = "Spark\'s UI"' in refused(master_ingress=[_rule("Spark's UI")])


def test_refuses_port_above_65535():
    assert "from_port = 70000: a port is a whole number from 0 to 65535" in refused(
        master_ingress=[_rule(from_port=70000)]
    )


def test_refuses_negative_port():
    assert "to_port = -5: a port is a whole number from 0 to 65535" in refused(
        master_ingress=[_rule(from_port=10, to_port=-5)]
    )


def test_refuses_from_port_above_to_port():
    assert "from_port 8090 > to_port 8080: give the lower port first" in refused(
        master_ingress=[_rule(from_port=8090, to_port=8080)]
    )


def test_refuses_unknown_protocol():
    assert "protocol = 'sctp': allowed protocols are tcp, udp, icmp, all" in refused(
        master_ingress=[_rule(protocol="sctp")]
    )


def test_refuses_malformed_cidr():
    assert "cidr = '10.30.0.1/20': expected an IPv4 or IPv6 CIDR block with no host bits set" in refused(
        master_ingress=[_rule(cidr="10.30.0.1/20")]
    )


def test_refuses_the_same_rule_twice():
    message = refused(master_ingress=[_rule(), _rule("Spark History again", cidr="10.30.0.0/20")])
    assert "master_ingress[1] ('Spark History again'): the same rule as master_ingress[0]" in message


def test_refuses_both_cidr_and_source_group():
    assert "give exactly one of the two" in refused(
        master_ingress=[_rule(cidr="10.30.0.0/20", source_security_group_id="sg-0123456789abcdef0")]
    )


def test_refuses_neither_cidr_nor_source_group():
    from emr_constructs.security_groups import IngressRule

    assert "cidr = None, source_security_group_id = None: give exactly one of the two" in refused(
        master_ingress=[IngressRule("Spark History UI", 18080)]
    )


def test_refuses_ports_on_an_all_protocol_rule():
    assert "a rule for icmp or all covers every port" in refused(master_ingress=[_rule(from_port=22, protocol="all")])


def test_reports_every_problem_at_once():
    message = refused(
        vpc_id="vpc-nothex",
        master_ingress=[_rule(cidr="0.0.0.0/0"), _rule("", 99999, protocol="tcp")],
        slave_ingress=[_rule(protocol="gre")],
    )
    assert "5 problem(s)" in message
    assert message.count("\n  - ") == 5
    for part in (
        "vpc_id = 'vpc-nothex'",
        "master_ingress[0]",
        "master_ingress[1] (''): description is empty",
        "master_ingress[1] (''): from_port = 99999",
        "slave_ingress[0]",
    ):
        assert part in message


def test_refuses_a_cidr_that_is_not_text():
    # ipaddress would read the number 10 as 0.0.0.10/32; a typo must not become a rule.
    assert "cidr = 10: expected an IPv4 or IPv6 CIDR block" in refused(master_ingress=[_rule(cidr=10)])
