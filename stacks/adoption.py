"""Adopting what an account already runs: Terraform import blocks from ``[adopt.<stack>]``.

Each adopted id becomes an ``import`` block on the stack's own resource (cdktf
``import_from``), so ``terraform plan`` reads the existing resource into state instead of
creating a new one, and shows what it would change. A resource is *kept* when its
configuration matches; attributes that force a new resource (a security group's name or
description, a role's name, most EMR cluster settings, see guide tips T0-T3) make the plan
*replace* it. ``python -m ops adoption-report`` lists which is which. For EMR clusters the
documented way is blue/green (docs/operations.md, "Adopt existing clusters").

Checked before anything is imported, with every problem at once: the stack exists, each
cluster name is one of the stack's clusters, each adopted task group is one of its
adopted cluster's groups, an autoscaling role is only adopted by a
purpose that has one, the foundation's bucket is the environment's bootstrap bucket.
"""

from __future__ import annotations

from collections.abc import Sequence

from emr_constructs.model.contract import FOUNDATION
from emr_constructs.model.errors import ConstructInputError
from environments.settings import Settings


class AdoptionError(ConstructInputError):
    """Problems in the environment's ``[adopt]`` tables that need the stacks to see."""


def _purpose_problems(stack, adoption) -> list[str]:
    where = f"adopt.{stack.purpose}"
    problems = []
    roles = dict(adoption.roles)
    if "autoscaling" in roles and stack.roles.autoscaling_role is None:
        problems.append(
            f"{where}.roles.autoscaling = {roles['autoscaling']!r}: purpose {stack.purpose!r} has no "
            "autoscaling role (its declaration says autoscaling=False); drop the key"
        )
    for name, cluster_id in adoption.clusters:
        if name not in stack.clusters:
            problems.append(
                f"{where}.clusters.{name} = {cluster_id!r}: stack {stack.purpose!r} defines no cluster "
                f"named {name!r} (clusters: {', '.join(sorted(stack.clusters))})"
            )
    for key, group_id in adoption.instance_groups:
        cluster_name, group = key.split("/", 1)
        cluster = stack.clusters.get(cluster_name)
        if cluster is not None and group not in cluster.task_groups:
            problems.append(
                f'{where}.instance_groups."{key}" = {group_id!r}: cluster {cluster_name!r} has no task group '
                f"named {group!r} in stacks/clusters.py (its task groups: "
                f"{', '.join(sorted(cluster.task_groups)) or 'none'})"
            )
    return problems


def adoption_problems(settings: Settings, foundation, purpose_stacks: Sequence) -> list[str]:
    if settings.adopt is None:
        return []
    by_name = {s.purpose: s for s in purpose_stacks}
    problems = []
    for name, adoption in settings.adopt.stacks:
        if name == FOUNDATION:
            continue
        if name not in by_name:
            problems.append(f"adopt.{name}: no stack named {name!r}; stacks are {FOUNDATION}, {', '.join(by_name)}")
            continue
        problems += _purpose_problems(by_name[name], adoption)
    return problems


def apply_adoption(settings: Settings, foundation, purpose_stacks: Sequence) -> None:
    """Put an import block on every adopted resource, after checking them all."""
    problems = adoption_problems(settings, foundation, purpose_stacks)
    if problems:
        raise AdoptionError(settings.source or settings.name, problems)
    if settings.adopt is None:
        return
    found = settings.adopt.for_stack(FOUNDATION)
    if found is not None and found.bootstrap_assets_bucket:
        foundation.assets_bucket.bucket.import_from(settings.buckets.bootstrap_assets)
    for stack in purpose_stacks:
        adoption = settings.adopt.for_stack(stack.purpose)
        if adoption is None:
            continue
        for group, group_id in adoption.security_groups:
            stack.security_groups.groups[group].import_from(group_id)
        roles = {
            "service": stack.roles.service_role,
            "instance": stack.roles.instance_role,
            "autoscaling": stack.roles.autoscaling_role,
        }
        for key, role_name in adoption.roles:
            roles[key].import_from(role_name)
        if adoption.instance_profile:
            stack.roles.instance_profile.import_from(adoption.instance_profile)
        cluster_ids = dict(adoption.clusters)
        for name, cluster_id in adoption.clusters:
            stack.clusters[name].resource.import_from(cluster_id)
        for key, group_id in adoption.instance_groups:
            cluster_name, group = key.split("/", 1)
            # The provider's import id of an instance group: "<cluster id>/<group id>".
            stack.clusters[cluster_name].task_groups[group].import_from(f"{cluster_ids[cluster_name]}/{group_id}")
