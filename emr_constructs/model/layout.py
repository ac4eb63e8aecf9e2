"""Where a synthesized app keeps each stack: ``<outdir>/stacks/<stack>/<environment>/``
(one state and one Terraform working folder per environment).

cdktf writes a stack to ``<outdir>/stacks/<stack>/``; the app (``stacks.app.EnvironmentApp``)
then moves what cdktf wrote into a folder named after the environment and points cdktf's
manifest, which the cdktf CLI follows to run terraform, at it. Terraform keeps its working
data (``.terraform/``: providers, the backend in use) in that folder, so each environment
has its own and switching environments in one checkout never meets another environment's
backend. Readers of a synthesized app (the review, the test tiers) find the stacks here,
through the manifest, so output of older versions (``stacks/<stack>/``) reads the same way.

Standard library and ``contract`` only: ``review`` and the tests import it without cdktf.
"""

from __future__ import annotations

import json
from pathlib import Path

from emr_constructs.model.contract import local_state_file

STACKS_FOLDER = "stacks"
MANIFEST_FILE = "manifest.json"
STACK_FILE = "cdk.tf.json"


def stack_folder(outdir: str | Path, stack: str, environment: str) -> Path:
    """``<outdir>/stacks/<stack>/<environment>``: a synthesized stack's folder, where its
    ``cdk.tf.json`` is and where terraform runs."""
    return Path(outdir) / STACKS_FOLDER / stack / environment


def to_project_root() -> str:
    """The relative path from a stack's folder (``stack_folder``) back to the project root,
    which holds the output folder (``cdktf.out``): one ``..`` per level of the layout above
    plus the output folder itself, ``../../../..``."""
    return "/".join([".."] * (len(stack_folder("", "stack", "environment").parts) + 1))


def local_state_path(environment: str, stack: str) -> str:
    """The local backend's path, relative to the stack's folder, so the state lives in the
    project root next to cdktf.json (``contract.local_state_file``, where ``ops`` reads it)
    and survives a fresh synth."""
    return f"{to_project_root()}/{local_state_file(environment, stack)}"


def synthesized_stacks(outdir: str | Path) -> dict[str, Path]:
    """Every stack of a synthesized output folder, by name: the folder holding its
    ``cdk.tf.json``, as the manifest names it (``stacks/<stack>/<environment>``, or
    ``stacks/<stack>`` from older versions). Without a manifest (a folder of stack folders
    put together by hand), every ``stacks/*/cdk.tf.json``."""
    outdir = Path(outdir)
    manifest = outdir / MANIFEST_FILE
    if not manifest.is_file():
        return {p.parent.name: p.parent for p in sorted((outdir / STACKS_FOLDER).glob(f"*/{STACK_FILE}"))}
    stacks = json.loads(manifest.read_text(encoding="utf-8")).get("stacks") or {}
    return {name: outdir / entry["workingDirectory"] for name, entry in sorted(stacks.items())}


def stack_name_of(folder: str | Path) -> str:
    """The name of the stack synthesized into ``folder`` (cdktf notes it in the metadata of
    its ``cdk.tf.json``); the folder's name when the file says none."""
    folder = Path(folder)
    try:
        doc = json.loads((folder / STACK_FILE).read_text(encoding="utf-8"))
        name = doc["//"]["metadata"]["stackName"]
    except (OSError, ValueError, KeyError, TypeError):
        return folder.name
    return name if isinstance(name, str) and name else folder.name
