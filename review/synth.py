"""Synthesizing a git ref and a working tree into separate output folders.

The base ref is checked out with ``git worktree add --detach`` into a temporary folder
that is always removed (``git worktree remove --force`` + ``prune``), also when synthesis
fails or the run is interrupted. Each tree is synthesized by running its own ``main.py``
with the project's Python and Node (``JSII_NODE``, ``PATH``), with ``CDKTF_OUTDIR``
pointing at a temporary folder, so neither tree's ``cdktf.out/`` is touched. The two
syntheses run in parallel (each is one process that spends ~10 s importing the
provider bindings).

``Synthesizer`` is the pluggable step: tests give it extra environment (``PYTHONPATH``
for a small app that imports the project's constructs) or another command.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping, Sequence

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ReviewError(Exception):
    """A problem that stops the review (bad ref, failed synth); exit status ``code``."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=check)


def repo_root(path: Path) -> Path:
    result = git(path, "rev-parse", "--show-toplevel", check=False)
    if result.returncode != 0:
        raise ReviewError(f"--head {path}: not inside a git repository ({result.stderr.strip()})", 2)
    return Path(result.stdout.strip())


def resolve_ref(repo: Path, ref: str) -> str:
    result = git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if result.returncode != 0:
        raise ReviewError(
            f"--base {ref!r}: not a commit in {repo}. Give a branch, tag or commit "
            "(in CI fetch full history: actions/checkout with fetch-depth: 0).", 2)
    return result.stdout.strip()


@contextmanager
def worktree(repo: Path, commit: str) -> Iterator[Path]:
    """A detached checkout of ``commit``, removed afterwards whatever happens."""
    holder = Path(tempfile.mkdtemp(prefix="review-base-"))
    tree = holder / "tree"
    try:
        result = git(repo, "worktree", "add", "--detach", "--force", str(tree), commit, check=False)
        if result.returncode != 0:
            raise ReviewError(f"git worktree add {commit} failed: {result.stderr.strip()}")
        yield tree
    finally:
        git(repo, "worktree", "remove", "--force", str(tree), check=False)
        shutil.rmtree(holder, ignore_errors=True)
        git(repo, "worktree", "prune", check=False)


@dataclass(frozen=True)
class Synthesizer:
    """Runs ``command`` (default: this Python on ``main.py``) in a tree with CDKTF_OUTDIR set."""

    command: Sequence[str] = (sys.executable, "main.py")
    node_bin: Path | None = PROJECT_ROOT / "node_modules" / ".bin"
    extra_env: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 540

    def environment(self, outdir: Path) -> dict[str, str]:
        env = dict(os.environ)
        if self.node_bin and self.node_bin.is_dir():
            env["PATH"] = f"{self.node_bin}{os.pathsep}{env.get('PATH', '')}"
            node = self.node_bin / "node"
            if node.exists():
                env["JSII_NODE"] = str(node)
        env["CDKTF_OUTDIR"] = str(outdir)
        env.update(self.extra_env)
        return env

    def __call__(self, tree: Path, outdir: Path, label: str) -> Path:
        try:
            result = subprocess.run(list(self.command), cwd=tree, env=self.environment(outdir),
                                    capture_output=True, text=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise ReviewError(f"synth of {label} took longer than {self.timeout:.0f} s") from None
        except OSError as exc:
            raise ReviewError(f"synth of {label} could not start {self.command[0]}: {exc}") from None
        if result.returncode != 0:
            tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-25:])
            raise ReviewError(f"synth of {label} failed (exit {result.returncode}) in {tree}:\n{tail}")
        if not (outdir / "stacks").is_dir():
            raise ReviewError(f"synth of {label} wrote no stacks/ folder into {outdir}")
        return outdir


@contextmanager
def synthesize_both(repo: Path, base_ref: str, head_tree: Path, synth: Synthesizer) -> Iterator[tuple[Path, Path, str, Path]]:
    """Yield (base outdir, head outdir, base commit, base tree path); every temporary
    folder is removed afterwards (the base tree already when this yields)."""
    commit = resolve_ref(repo, base_ref)
    scratch = Path(tempfile.mkdtemp(prefix="review-out-"))
    try:
        with worktree(repo, commit) as base_tree:
            with ThreadPoolExecutor(max_workers=2) as pool:
                base_job = pool.submit(synth, base_tree, scratch / "base", f"base {base_ref}")
                head_job = pool.submit(synth, head_tree, scratch / "head", f"working tree {head_tree}")
                errors = []
                for job in (base_job, head_job):
                    try:
                        job.result()
                    except ReviewError as exc:
                        errors.append(str(exc))
                if errors:
                    raise ReviewError("\n\n".join(errors))
        yield scratch / "base", scratch / "head", commit, base_tree
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
