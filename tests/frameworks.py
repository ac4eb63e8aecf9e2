"""Both frameworks from one test session: synthesize the app with cdktf or CDK Terrain in
that framework's own virtualenv (a subprocess: one process holds one framework), and
compare two syntheses after normalization.

``normalized`` drops what may differ between frameworks without Terraform seeing a
difference: the ``//`` metadata (the framework's version) and the spelling of the provider
source (cdktf writes ``aws``, CDK Terrain ``hashicorp/aws``: one address for Terraform; the
app sets it in full, this keeps output of older versions comparable). ``differences``
lists every JSON path where two values still differ.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from emr_constructs.framework import FRAMEWORK_VARIABLE, FRAMEWORKS

ROOT = Path(__file__).resolve().parent.parent
VENVS = {"cdktf": ROOT / ".venv", "cdktn": ROOT / ".venv-cdktn"}
PROVIDER_SOURCE = "hashicorp/aws"


def python_of(framework: str) -> Path | None:
    """The framework's virtualenv Python, when it exists and holds the framework."""
    python = VENVS[framework] / "bin" / "python"
    if not python.exists():
        return None
    probe = f"import importlib.util,sys; sys.exit(importlib.util.find_spec({FRAMEWORKS[framework].core!r}) is None)"
    return python if subprocess.run([str(python), "-c", probe], check=False).returncode == 0 else None


def install_hint(framework: str) -> str:
    return f"{VENVS[framework].name} does not hold {framework}: install it with {FRAMEWORKS[framework].how_to_install}"


def synth_with(framework: str, outdir: Path, *, environment: str | None = None) -> Path:
    """Synthesize the app (``main.run``) with ``framework`` into ``outdir``; raise with the
    app's stderr when it fails."""
    python = python_of(framework)
    if python is None:
        raise FileNotFoundError(install_hint(framework))
    env = {**os.environ, FRAMEWORK_VARIABLE: framework}
    if environment is not None:
        env["EMR_CDKTF_ENV"] = environment
    code = f"import sys, main; sys.exit(main.run(outdir={str(outdir)!r}))"
    result = subprocess.run([str(python), "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{framework} synthesis failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return outdir


def normalized(node):
    """``node`` without ``//`` metadata keys and with the provider source spelled in full."""
    if isinstance(node, dict):
        out = {k: normalized(v) for k, v in node.items() if k != "//"}
        if out.get("source") == "aws" and "version" in out:
            out["source"] = PROVIDER_SOURCE
        return out
    if isinstance(node, list):
        return [normalized(v) for v in node]
    return node


def differences(a, b, path: str = "") -> list[str]:
    """Every path where ``a`` and ``b`` differ, with both values."""
    if isinstance(a, dict) and isinstance(b, dict):
        found = []
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                found.append(f"{path}.{key}: only in {'the second' if key not in a else 'the first'}")
            else:
                found.extend(differences(a[key], b[key], f"{path}.{key}"))
        return found
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {json.dumps(a)[:200]} != {json.dumps(b)[:200]}"]
