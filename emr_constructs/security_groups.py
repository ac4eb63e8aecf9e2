"""EmrSecurityGroups: the five security groups of a private-subnet EMR cluster (guide tips T0, T1, T2).

T0: an EMR cluster in a private subnet uses five groups: master-managed, slave-managed,
master-additional, slave-additional and service-access. This construct owns all five.

T1: EMR silently adds the rules it misses to the managed groups, so nobody can tell later
where a rule came from. Every rule the managed groups need is therefore declared here,
one standalone rule resource per rule (no inline ``ingress``/``egress`` blocks; see
``EmrSecurityGroups._rule`` for which resource type a rule uses), each with
a description naming its origin. The rules follow the AWS EMR Management Guide,
"Working with Amazon EMR-managed security groups" (emr-man-sec-groups), private-subnet
tables, including the service-access rules EMR does not add to custom groups by itself
(inbound 9443 from master-managed; outbound 8443 to master- and slave-managed).
``revoke_rules_on_delete`` is set on all five groups: the managed groups reference each
other, and rules EMR added behind Terraform's back would otherwise block deletion.

T2: rules for people (Spark History 18080, YARN ResourceManager 8088, Trino/Presto 8889,
SSH 22, ...) go only into the additional groups, given as typed ``IngressRule`` values.

Egress decision: the master- and slave-managed groups keep EMR's own default egress, all
traffic to 0.0.0.0/0, and the project does not offer to narrow it. That one rule carries
more than internet-bound traffic: it is also the only egress that lets master and core/task
nodes reach each other (the managed groups declare ingress between them, and no egress
between them), besides S3, the EMR control plane, CloudWatch, STS, EC2 and KMS through a NAT
gateway or VPC endpoints whose addresses are not known here, and whatever the applications
reach (Kafka, JDBC sources, Glue). Removing it would need at least all-traffic egress from
each managed group to itself and to the other, the S3 prefix list, every endpoint the
nodes call, and the 9443 egress to service-access; dropping it alone breaks the cluster.
The managed groups do declare the 9443 egress to service-access that AWS lists for its
groups, so that rule's origin is known. The service-access group only gets the 8443 egress
it needs. The additional groups have no egress rules: egress is the union over all groups
of an instance, and the managed groups already carry it.

Every managed rule comes from the private-subnet tables of emr-man-sec-groups (releases
5.30.0 and later). Earlier versions of this module also declared four 443 rules for an
"EMR 8.x" cluster manager endpoint that no AWS document describes; they were removed.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from cdktf import Token
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.security_group_rule import SecurityGroupRule
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from emr_constructs.iam_roles import MANAGED_POLICY_TAG as EMR_MANAGED_POLICY_TAG
from emr_constructs.model import validation
from emr_constructs.model.errors import ConstructInputError

MASTER_MANAGED = "master-managed"
SLAVE_MANAGED = "slave-managed"
MASTER_ADDITIONAL = "master-additional"
SLAVE_ADDITIONAL = "slave-additional"
SERVICE_ACCESS = "service-access"
GROUPS = (MASTER_MANAGED, SLAVE_MANAGED, MASTER_ADDITIONAL, SLAVE_ADDITIONAL, SERVICE_ACCESS)

PROTOCOLS = ("tcp", "udp", "icmp", "all")
_IP_PROTOCOL = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "all": "-1"}
_ANYWHERE_IPV4 = "0.0.0.0/0"

# Characters EC2 accepts in security-group and rule descriptions; anything else is
# rejected by the API at apply time, so it is refused here before anything is written.
_DESCRIPTION = re.compile(r"^[A-Za-z0-9. _\-:/()#,@\[\]+=&;{}!$*]{1,255}$", re.ASCII)
_NAME_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$", re.ASCII)
_VPC_ID = re.compile(r"^vpc-[0-9a-f]{8}([0-9a-f]{9})?$", re.ASCII)
_SG_ID = re.compile(r"^sg-[0-9a-f]{8}([0-9a-f]{9})?$", re.ASCII)


@dataclass(frozen=True)
class IngressRule:
    """An inbound rule for people, only ever placed into an additional group (tip T2).

    description: why the rule exists (required; EC2's description character set).
    from_port: first port; for ``icmp`` and ``all`` give 0 (the rule covers every
        port/ICMP type, AWS would ignore anything else).
    to_port: last port; default ``None`` means the same as ``from_port``.
    protocol: ``tcp`` (default), ``udp``, ``icmp`` or ``all``.
    cidr: source IPv4 or IPv6 block, e.g. ``10.30.0.0/20``; never the whole internet.
    source_security_group_id: source group id (``sg-...`` or a token); exactly one of
        ``cidr`` and ``source_security_group_id`` is given.
    """

    description: str
    from_port: int
    to_port: int | None = None
    protocol: str = "tcp"
    cidr: str | None = None
    source_security_group_id: str | None = None

    @property
    def last_port(self) -> int:
        return self.from_port if self.to_port is None else self.to_port


class SecurityGroupRuleError(ConstructInputError):
    """Every problem found in the rules given to one EmrSecurityGroups, reported together."""

    def __init__(self, construct_path: str, problems: list[str]):
        super().__init__(f"EmrSecurityGroups {construct_path}", problems, outcome="no security group was created")


@dataclass(frozen=True)
class _ManagedRule:
    group: str
    direction: str  # "ingress" | "egress"
    protocol: str
    from_port: int | None
    to_port: int | None
    peer: str  # a group name from GROUPS, or _ANYWHERE_IPV4
    description: str

    @property
    def construct_id(self) -> str:
        ports = (
            "all"
            if self.from_port is None or (self.from_port, self.to_port) in ((0, 65535), (-1, -1))
            else str(self.from_port)
        )
        proto = "all" if self.protocol == "-1" else self.protocol
        way = "from" if self.direction == "ingress" else "to"
        peer = "anywhere-ipv4" if self.peer == _ANYWHERE_IPV4 else self.peer
        return f"{self.group}-{self.direction}-{proto}-{ports}-{way}-{peer}"


def _all_protocols(group: str, peer: str, who: str) -> tuple[_ManagedRule, ...]:
    """EMR's reflexive/cross rules: all ICMP, all TCP, all UDP, exactly as EMR writes them,
    so that EMR finds them present and adds nothing of its own."""
    return (
        _ManagedRule(group, "ingress", "icmp", -1, -1, peer, f"EMR managed: {who}, all ICMP"),
        _ManagedRule(group, "ingress", "tcp", 0, 65535, peer, f"EMR managed: {who}, all TCP"),
        _ManagedRule(group, "ingress", "udp", 0, 65535, peer, f"EMR managed: {who}, all UDP"),
    )


# Source: AWS EMR Management Guide, emr-man-sec-groups, the tables for
# ElasticMapReduce-Primary-Private, ElasticMapReduce-Core-Private and
# ElasticMapReduce-ServiceAccess (releases 5.30.0 and later).
MANAGED_RULES: tuple[_ManagedRule, ...] = (
    *_all_protocols(MASTER_MANAGED, MASTER_MANAGED, "master to master"),
    *_all_protocols(MASTER_MANAGED, SLAVE_MANAGED, "slave to master"),
    _ManagedRule(
        MASTER_MANAGED,
        "ingress",
        "tcp",
        8443,
        8443,
        SERVICE_ACCESS,
        "EMR service access: 8443 from service-access (cluster manager to master)",
    ),
    _ManagedRule(
        MASTER_MANAGED,
        "egress",
        "-1",
        None,
        None,
        _ANYWHERE_IPV4,
        "EMR managed: master egress, all traffic (EMR default; S3, EMR and other AWS endpoints)",
    ),
    _ManagedRule(
        MASTER_MANAGED,
        "egress",
        "tcp",
        9443,
        9443,
        SERVICE_ACCESS,
        "EMR managed: master egress 9443 to service-access (EMR 5.30.0 and later)",
    ),
    *_all_protocols(SLAVE_MANAGED, SLAVE_MANAGED, "slave to slave"),
    *_all_protocols(SLAVE_MANAGED, MASTER_MANAGED, "master to slave"),
    _ManagedRule(
        SLAVE_MANAGED,
        "ingress",
        "tcp",
        8443,
        8443,
        SERVICE_ACCESS,
        "EMR service access: 8443 from service-access (cluster manager to core and task)",
    ),
    _ManagedRule(
        SLAVE_MANAGED,
        "egress",
        "-1",
        None,
        None,
        _ANYWHERE_IPV4,
        "EMR managed: slave egress, all traffic (EMR default; S3, EMR and other AWS endpoints)",
    ),
    _ManagedRule(
        SLAVE_MANAGED,
        "egress",
        "tcp",
        9443,
        9443,
        SERVICE_ACCESS,
        "EMR managed: slave egress 9443 to service-access (EMR 5.30.0 and later)",
    ),
    _ManagedRule(
        SERVICE_ACCESS,
        "ingress",
        "tcp",
        9443,
        9443,
        MASTER_MANAGED,
        "EMR service access: 9443 from master-managed (EMR 5.30.0 and later)",
    ),
    _ManagedRule(
        SERVICE_ACCESS,
        "egress",
        "tcp",
        8443,
        8443,
        MASTER_MANAGED,
        "service access egress 8443 to master-managed (cluster manager to master)",
    ),
    _ManagedRule(
        SERVICE_ACCESS,
        "egress",
        "tcp",
        8443,
        8443,
        SLAVE_MANAGED,
        "service access egress 8443 to slave-managed (cluster manager to core and task)",
    ),
)

_GROUP_DESCRIPTIONS = {
    MASTER_MANAGED: "EMR managed group for the master node; rules declared in code (tip T1)",
    SLAVE_MANAGED: "EMR managed group for core and task nodes; rules declared in code (tip T1)",
    MASTER_ADDITIONAL: "Additional group for the master node: rules for people only (tip T2)",
    SLAVE_ADDITIONAL: "Additional group for core and task nodes: rules for people only (tip T2)",
    SERVICE_ACCESS: "EMR service access group for clusters in private subnets (tip T1)",
}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# Complexity over the cap (C901): one short if per rule of an ingress rule (ports, protocol,
# source, description), kept together so every refusal reads in one place.
def _rule_problems(where: str, rule: object) -> list[str]:  # noqa: C901
    """Everything wrong with one IngressRule, each problem naming the rule and the value."""
    if not isinstance(rule, IngressRule):
        return [f"{where} = {rule!r}: expected an IngressRule"]
    label = f"{where} ({rule.description!r})"
    problems = []
    if not isinstance(rule.description, str) or not rule.description.strip():
        problems.append(
            f"{label}: description is empty; say who needs the rule and why, e.g. 'Spark History UI from the office'"
        )
    elif not _DESCRIPTION.fullmatch(rule.description):
        problems.append(
            f"{label}: description = {rule.description!r}: at most 255 characters "
            "from a-z A-Z 0-9 space and . _ - : / ( ) # , @ [ ] + = & ; { } ! $ *"
        )
    if rule.protocol not in PROTOCOLS:
        problems.append(f"{label}: protocol = {rule.protocol!r}: allowed protocols are {', '.join(PROTOCOLS)}")
    elif rule.protocol in ("icmp", "all"):
        if rule.from_port != 0 or rule.to_port not in (None, 65535):
            problems.append(
                f"{label}: ports {rule.from_port!r}-{rule.to_port!r} with protocol {rule.protocol!r}: "
                "a rule for icmp or all covers every port; give from_port=0 and no to_port"
            )
    else:
        bad_port = False
        given = [("from_port", rule.from_port)] + ([("to_port", rule.to_port)] if rule.to_port is not None else [])
        for name, port in given:
            if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
                problems.append(f"{label}: {name} = {port!r}: a port is a whole number from 0 to 65535")
                bad_port = True
        if not bad_port and rule.from_port > rule.last_port:
            problems.append(
                f"{label}: from_port {rule.from_port} > to_port {rule.last_port}: give the lower port first"
            )
    if (rule.cidr is None) == (rule.source_security_group_id is None):
        problems.append(
            f"{label}: cidr = {rule.cidr!r}, source_security_group_id = "
            f"{rule.source_security_group_id!r}: give exactly one of the two"
        )
    elif rule.cidr is not None:
        try:
            # ip_network() also takes an int (10 -> 0.0.0.10/32): only text is a CIDR here.
            if not isinstance(rule.cidr, str):
                raise TypeError(rule.cidr)
            net = ipaddress.ip_network(rule.cidr, strict=True)
        except (ValueError, TypeError):
            problems.append(
                f"{label}: cidr = {rule.cidr!r}: expected an IPv4 or IPv6 CIDR block with "
                "no host bits set, e.g. 10.30.0.0/20"
            )
        else:
            if net.prefixlen == 0:
                problems.append(
                    f"{label}: cidr = {rule.cidr!r}: ingress from the whole internet is never "
                    "allowed; name the office, VPN or admin range"
                )
    else:
        sg = rule.source_security_group_id
        if not isinstance(sg, str) or not (Token.is_unresolved(sg) or _SG_ID.fullmatch(sg)):
            problems.append(
                f"{label}: source_security_group_id = {sg!r}: expected sg- followed by 8 or 17 "
                "hexadecimal digits, or a reference to a security group's id"
            )
    return problems


class EmrSecurityGroups(Construct):
    """The five security groups of one EMR cluster purpose, with every managed rule declared.

    Inputs (keyword-only):
      vpc_id: the VPC the groups live in (required; ``vpc-...`` or a token).
      name_prefix: prefix of the group names, e.g. ``production-spark-batch``; groups are
        named ``<name_prefix>-<group>`` (required).
      master_ingress: rules for people into master-additional; default none.
      slave_ingress: rules for people into slave-additional; default none.
      allow_public_sources: let people's rules name public CIDR blocks (default False:
        only private ranges, e.g. VPN and office networks). Either way the blocks of one
        rule list together may cover at most one /8 of public address space, however split.
      tags: extra tags for the five groups; default none. The groups always carry
        ``for-use-with-amazon-emr-managed-policies = "true"`` (AmazonEMRServicePolicy_v2
        acts only on tagged resources) and a ``Name``. The stack's tags come from the
        provider's default tags.

    Attributes: ``vpc_id`` (as given); (tokens) ``master_managed_id``, ``slave_managed_id``,
    ``master_additional_id``, ``slave_additional_id``, ``service_access_id``; ``groups``
    maps each group name to its SecurityGroup resource.

    Raises SecurityGroupRuleError listing every problem of every rule (and of vpc_id,
    name_prefix, tags) before any resource is created.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        vpc_id: str,
        name_prefix: str,
        master_ingress: Sequence[IngressRule] = (),
        slave_ingress: Sequence[IngressRule] = (),
        tags: Mapping[str, str] | None = None,
        allow_public_sources: bool = False,
    ) -> None:
        super().__init__(scope, id)
        user_rules = {MASTER_ADDITIONAL: tuple(master_ingress), SLAVE_ADDITIONAL: tuple(slave_ingress)}
        self._validate(vpc_id, name_prefix, user_rules, tags)
        self._validate_sources(user_rules, allow_public_sources)
        # The VPC the groups live in: a fleet cluster's subnets are checked against it.
        self.vpc_id = vpc_id

        self.groups: dict[str, SecurityGroup] = {}
        previous: SecurityGroup | None = None
        for group in GROUPS:
            name = f"{name_prefix}-{group}"
            self.groups[group] = SecurityGroup(
                self,
                group,
                name=name,
                description=_GROUP_DESCRIPTIONS[group],
                vpc_id=vpc_id,
                revoke_rules_on_delete=True,
                tags={**(tags or {}), "Name": name, EMR_MANAGED_POLICY_TAG: "true"},
                # One group at a time on destroy: revoke_rules_on_delete also revokes the
                # rules of *other* groups that reference the one being deleted (EMR adds
                # such rules between the managed groups), and the provider locks only the
                # group it deletes; two groups deleted at once both revoke the same rule
                # and the second fails with InvalidPermission.NotFound.
                depends_on=[previous] if previous is not None else None,
            )
            previous = self.groups[group]
        self.master_managed_id: str = self.groups[MASTER_MANAGED].id
        self.slave_managed_id: str = self.groups[SLAVE_MANAGED].id
        self.master_additional_id: str = self.groups[MASTER_ADDITIONAL].id
        self.slave_additional_id: str = self.groups[SLAVE_ADDITIONAL].id
        self.service_access_id: str = self.groups[SERVICE_ACCESS].id

        for rule in MANAGED_RULES:
            self._managed_rule(rule)
        for group, rules in user_rules.items():
            for user_rule in rules:
                self._user_rule(group, user_rule)

    # --- validation: the one place every input is checked -------------------------------

    def _validate(self, vpc_id, name_prefix, user_rules, tags) -> None:
        problems: list[str] = []
        if not isinstance(vpc_id, str) or not (Token.is_unresolved(vpc_id) or _VPC_ID.fullmatch(vpc_id)):
            problems.append(f"vpc_id = {vpc_id!r}: expected vpc- followed by 8 or 17 hexadecimal digits")
        if not isinstance(name_prefix, str) or not _NAME_PREFIX.fullmatch(name_prefix):
            problems.append(
                f"name_prefix = {name_prefix!r}: 1-200 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        problems.extend(validation.tag_problems(tags))
        for key in sorted(tags or {}) if isinstance(tags, dict) else ():
            if key in ("Name", EMR_MANAGED_POLICY_TAG):
                problems.append(f"tags[{key!r}]: set by EmrSecurityGroups itself; remove it from tags")
        for group, rules in user_rules.items():
            arg = "master_ingress" if group == MASTER_ADDITIONAL else "slave_ingress"
            seen: dict[tuple, int] = {}
            seen_ids: dict[str, int] = {}
            for i, rule in enumerate(rules):
                where = f"{arg}[{i}]"
                rule_problems = _rule_problems(where, rule)
                problems.extend(rule_problems)
                if rule_problems:
                    continue
                key = (rule.protocol, rule.from_port, rule.last_port, _canonical_source(rule))
                if key in seen:
                    problems.append(
                        f"{where} ({rule.description!r}): the same rule as {arg}[{seen[key]}] "
                        f"({rules[seen[key]].description!r}); give each rule once"
                    )
                    continue
                seen[key] = i
                cid = _user_rule_id(group, rule)
                if cid in seen_ids:
                    problems.append(
                        f"{where} ({rule.description!r}): same protocol, ports and description as "
                        f"{arg}[{seen_ids[cid]}] for a source only known at deploy time; "
                        "give each such rule its own description"
                    )
                seen_ids[cid] = i
        if problems:
            raise SecurityGroupRuleError(self.node.path, problems)

    def _validate_sources(self, user_rules, allow_public_sources) -> None:
        """Network rules shared with the environment settings (emr_constructs.model.validation)."""
        problems: list[str] = []
        if not isinstance(allow_public_sources, bool):
            problems.append(f"allow_public_sources = {allow_public_sources!r}: True or False")
            allow_public_sources = False
        for group, rules in user_rules.items():
            arg = "master_ingress" if group == MASTER_ADDITIONAL else "slave_ingress"
            nets: list = []
            for rule in rules:
                net = None
                if isinstance(rule, IngressRule) and isinstance(rule.cidr, str):
                    net, _ = validation.parse_cidr(rule.cidr, ipv6=True)
                # /0 and malformed blocks are already reported by _validate.
                nets.append(net if net is not None and net.prefixlen > 0 else None)
            for f in validation.cidr_set_findings(
                nets, allow_public=allow_public_sources, acknowledge_hint="allow_public_sources=True"
            ):
                if f.index is None:
                    blocks = [str(n) for n in nets if n is not None]
                    problems.append(f"{arg}: cidr blocks {blocks}: {f.problem}")
                else:
                    rule = rules[f.index]
                    problems.append(f"{arg}[{f.index}] ({rule.description!r}): cidr = {rule.cidr!r}: {f.problem}")
        if problems:
            raise SecurityGroupRuleError(self.node.path, problems)

    # --- rule resources ------------------------------------------------------------------

    # Rules whose peer is a CIDR block are aws_vpc_security_group_{ingress,egress}_rule (one
    # rule per resource, with its own id). Rules whose peer is a security group are
    # aws_security_group_rule with source_security_group_id: checkov 3.1 ignores the newer
    # resource's referenced_security_group_id and reports such a rule as open to 0.0.0.0/0
    # (CKV_AWS_24, 25, 260, 277); skipping those checks suite-wide would hide real findings,
    # and checkov offers no per-resource skip in Terraform JSON. Both resource types are
    # standalone rules, so they coexist on one group (only inline blocks must not be mixed).

    def _rule(
        self,
        cid: str,
        *,
        group: str,
        direction: str,
        protocol: str,
        from_port: int | None,
        to_port: int | None,
        description: str,
        cidr: str | None = None,
        peer_group_id: str | None = None,
    ) -> None:
        group_id = self.groups[group].id
        if peer_group_id is not None:
            SecurityGroupRule(
                self,
                cid,
                type=direction,
                security_group_id=group_id,
                protocol=protocol,
                from_port=0 if from_port is None else from_port,
                to_port=0 if to_port is None else to_port,
                source_security_group_id=peer_group_id,
                description=description,
            )
            return
        assert cidr is not None, "a rule names a peer group or a CIDR block"
        net = ipaddress.ip_network(cidr)
        # Keyword arguments of the rule resource: typed loosely because each dict holds a
        # different subset of its parameters.
        peer: dict[str, Any] = {"cidr_ipv4" if net.version == 4 else "cidr_ipv6": str(net)}
        ports: dict[str, Any] = {} if from_port is None else {"from_port": from_port, "to_port": to_port}
        cls = VpcSecurityGroupIngressRule if direction == "ingress" else VpcSecurityGroupEgressRule
        cls(self, cid, security_group_id=group_id, ip_protocol=protocol, description=description, **peer, **ports)

    def _managed_rule(self, rule: _ManagedRule) -> None:
        peer = {"cidr": rule.peer} if rule.peer == _ANYWHERE_IPV4 else {"peer_group_id": self.groups[rule.peer].id}
        self._rule(
            rule.construct_id,
            group=rule.group,
            direction=rule.direction,
            protocol=rule.protocol,
            from_port=rule.from_port,
            to_port=rule.to_port,
            description=rule.description,
            **peer,
        )

    def _user_rule(self, group: str, rule: IngressRule) -> None:
        from_port: int | None
        to_port: int | None
        if rule.protocol == "icmp":
            from_port, to_port = -1, -1
        elif rule.protocol == "all":
            from_port = to_port = None
        else:
            from_port, to_port = rule.from_port, rule.last_port
        peer = {"cidr": rule.cidr} if rule.cidr is not None else {"peer_group_id": rule.source_security_group_id}
        self._rule(
            _user_rule_id(group, rule),
            group=group,
            direction="ingress",
            protocol=_IP_PROTOCOL[rule.protocol],
            from_port=from_port,
            to_port=to_port,
            description=rule.description,
            **peer,
        )


def _canonical_source(rule: IngressRule) -> str:
    if rule.cidr is not None:
        return str(ipaddress.ip_network(rule.cidr))
    assert rule.source_security_group_id is not None, "validated: exactly one of cidr and source_security_group_id"
    return rule.source_security_group_id


def _user_rule_id(group: str, rule: IngressRule) -> str:
    """A construct id from what the rule means (group, protocol, ports, source), never from
    its position in the list: reordering rules changes nothing in the plan."""
    if rule.protocol in ("icmp", "all"):
        ports = "all"
    elif rule.to_port is None or rule.to_port == rule.from_port:
        ports = str(rule.from_port)
    else:
        ports = f"{rule.from_port}-{rule.to_port}"
    if rule.cidr is not None:
        source = _slug(str(ipaddress.ip_network(rule.cidr)))
    elif rule.source_security_group_id is not None and not Token.is_unresolved(rule.source_security_group_id):
        source = rule.source_security_group_id
    else:
        # A group created in the same deployment has no id yet; its description is the
        # only stable meaning available.
        source = f"sg-{_slug(rule.description)}"
    return f"{group}-ingress-{rule.protocol}-{ports}-from-{source}"
