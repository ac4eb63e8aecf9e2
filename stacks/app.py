"""Builds the whole app for one environment: the foundation stack and one stack per purpose,
each synthesized into a folder named after the environment (state per environment)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

from cdktf import App

from emr_constructs.fixed_ip import FixedIpError
from emr_constructs.model.errors import ConstructInputError
from emr_constructs.model.layout import MANIFEST_FILE, STACKS_FOLDER, stack_folder
from environments.settings import Settings
from stacks.adoption import apply_adoption
from stacks.clusters import PURPOSE_DECLARATIONS
from stacks.declaration import Purpose, check_purposes
from stacks.foundation import FoundationStack
from stacks.purpose import PurposeSettingsError, PurposeStack, purpose_settings_problems

# What cdktf writes into a stack's folder; everything else there (another environment's
# folder, terraform's working data of an older layout) is left alone.
_CDKTF_OUTPUT = ("cdk.tf.json", "cdk.tf", "metadata.json", "assets")


class EnvironmentApp(App):
    """A cdktf App whose stacks land in ``<outdir>/stacks/<stack>/<environment>/``
    (``emr_constructs.model.layout.stack_folder``) instead of ``<outdir>/stacks/<stack>/``.

    cdktf names a stack's folder after the stack only. After cdktf has written it, ``synth``
    moves what cdktf wrote one folder down, into the environment's folder (replacing that
    environment's previous synthesis, keeping its ``.terraform/``), and rewrites cdktf's
    manifest to point there: the cdktf CLI (``cdktf deploy/diff``) runs terraform in the
    manifest's ``workingDirectory``. So every environment's Terraform working data, like its
    state, carries the environment's name, and another environment's folders stay as they
    are. ``cdktf synth`` removes only stack folders no stack has any more."""

    def __init__(self, environment: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.environment = environment

    def synth(self) -> None:
        super().synth()
        outdir = Path(self.outdir)
        manifest_path = outdir / MANIFEST_FILE
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        for name, entry in manifest["stacks"].items():
            written = outdir / STACKS_FOLDER / name
            target = stack_folder(outdir, name, self.environment)
            target.mkdir(exist_ok=True)
            for item in _CDKTF_OUTPUT:
                source, dest = written / item, target / item
                if not source.exists():
                    continue
                if dest.is_dir():
                    shutil.rmtree(dest)
                elif dest.exists():
                    dest.unlink()
                source.rename(dest)
            relative = target.relative_to(outdir).as_posix()
            for key in ("synthesizedStackPath", "stackMetadataPath"):
                if key in entry:
                    entry[key] = f"{relative}/{Path(entry[key]).name}"
            entry["workingDirectory"] = relative
        manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def build_app(
    settings: Settings, *, outdir: str | None = None, purposes: Sequence[Purpose] = PURPOSE_DECLARATIONS
) -> EnvironmentApp:
    """The foundation stack and one stack per declared purpose (default: the app's
    declarations; tests pass variants). The declarations are checked before the App
    exists, so a bad one writes nothing."""
    check_purposes(purposes)
    # Every [purposes.*] setting no declared purpose can honour, at once, before any stack.
    problems = purpose_settings_problems(settings, purposes)
    if problems:
        raise PurposeSettingsError(settings, problems)
    app = EnvironmentApp(settings.name, outdir=outdir) if outdir else EnvironmentApp(settings.name)
    foundation = FoundationStack(app, settings=settings)
    stacks = [PurposeStack(app, purpose, settings=settings) for purpose in purposes]
    _check_cluster_names_unique(stacks)
    apply_adoption(settings, foundation, stacks)
    _check_cluster_owners(settings, {name for stack in stacks for name in stack.clusters})
    _run_validations(app)
    return app


def _check_cluster_names_unique(stacks: Sequence[PurposeStack]) -> None:
    """One EMR cluster name per environment: operators and ``python -m ops`` find a
    cluster by its name, so two stacks must never define the same one (tip T3)."""
    owner: dict[str, str] = {}
    problems = []
    for stack in stacks:
        for name in stack.clusters:
            if name in owner:
                problems.append(
                    f"cluster name {name!r} is defined by both the {owner[name]} and the "
                    f"{stack.purpose} stack; give each cluster its own name"
                )
            owner.setdefault(name, stack.purpose)
    if problems:
        raise ConstructInputError("cluster definitions", problems)


def _run_validations(app: App) -> None:
    """Run every construct's validations now (e.g. an instance policy over IAM's size
    limit), so they are reported like any other input problem instead of failing inside
    synthesis."""
    problems = [f"{c.node.path}: {message}" for c in app.node.find_all() for message in c.node.validate()]
    if problems:
        raise ConstructInputError("app", problems)


def _check_cluster_owners(settings: Settings, cluster_names: set[str]) -> None:
    """Every reserved address, and every [cluster_subnets] entry, belongs to a cluster that
    exists (no IP or subnet choice without an owner)."""
    problems = [
        f"fixed_ips.masters.{cluster} = {ip!r}: no stack defines a cluster named {cluster!r} "
        f"(clusters: {', '.join(sorted(cluster_names))}); fix the name or drop the address"
        for cluster, ip in (settings.fixed_ips.masters if settings.fixed_ips else ())
        if cluster not in cluster_names
    ]
    problems += [
        f"cluster_subnets.{cluster} = {subnet!r}: no stack defines a cluster named {cluster!r} "
        f"(clusters: {', '.join(sorted(cluster_names))}); fix the name or drop the entry"
        for cluster, subnet in settings.cluster_subnets
        if cluster not in cluster_names
    ]
    if problems:
        raise FixedIpError(settings.source or settings.name, problems)


def price_fallback_notes(app: App) -> list[str]:
    """One line per Spot group whose bid used the reference region's price because the
    environment's region has none in the table (emr_constructs.model.pricing)."""
    from emr_constructs.spot_task_groups import SpotTaskGroup

    fallbacks = [
        (c, c.bid_fallback) for c in app.node.find_all() if isinstance(c, SpotTaskGroup) and c.bid_fallback is not None
    ]
    if not fallbacks:
        return []
    region = fallbacks[0][1].region
    types = sorted({c.instance_type for c, _ in fallbacks})
    lines = [
        f"{c.node.path}: bid_price {c.bid_price} from the {bid.priced_region} on-demand price of "
        f"{c.instance_type}; the price table has no {region} price for it"
        for c, bid in fallbacks
    ]
    lines.append(
        f"to bid from {region}'s own prices, run (with AWS credentials) "
        f"`.venv/bin/python -m ops prices refresh --region {region} --instance-types {' '.join(types)}` "
        "and commit emr_constructs/model/data/on_demand_prices.json"
    )
    return lines
