"""Which environments a change must be reviewed in.

An environment is a file ``environments/<name>.toml``; ``main.py`` synthesizes one at a
time (``EMR_CDKTF_ENV=<name>``). A change is reviewed:

* in every environment whose file it adds, edits or removes (an added one shows as
  stacks added, a removed one as stacks destroyed);
* in every environment of either side when it changes anything else that synthesis
  reads (shared code: constructs, stacks, settings code, bootstrap scripts, price table,
  dependencies);
* in none when it changes only files synthesis never reads (``NOT_SYNTHESIZED``: docs,
  tests, benchmarks, CI definitions). The report says so.

``--env NAME`` (repeatable) and ``--all-envs`` override the choice.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

from review.synth import ReviewError, git

ENV_DIR = "environments"

# Files that no synthesis reads: a change to them alone needs no review. review/ and ops/
# are never imported by main.py, stacks/ or emr_constructs/ (the layers are one-way).
NOT_SYNTHESIZED = (
    "*.md",
    "docs/*",
    "tests/*",
    "bench/*",
    ".github/*",
    ".ci/*",
    ".gitignore",
    ".checkov.yaml",
    "pytest.ini",
    "pyproject.toml",
    "LICENSE",
    "Makefile",
    ".npmrc",
    "review/*",
    "ops/*",
)


def env_of(path: str) -> str | None:
    """``environments/acme.toml`` -> ``acme``; anything else -> None."""
    p = Path(path)
    if len(p.parts) == 2 and p.parts[0] == ENV_DIR and p.suffix == ".toml":
        return p.stem
    return None


def synthesized(path: str) -> bool:
    return not any(fnmatch.fnmatch(path, pattern) for pattern in NOT_SYNTHESIZED)


def environments_at(repo: Path, commit: str) -> set[str]:
    listed = git(repo, "ls-tree", "--name-only", commit, f"{ENV_DIR}/").stdout.split()
    return {e for e in map(env_of, listed) if e}


def environments_in(tree: Path) -> set[str]:
    return {p.stem for p in (tree / ENV_DIR).glob("*.toml") if p.is_file()}


def changed_files(tree: Path, commit: str) -> list[str]:
    """Files that differ between ``commit`` and the working tree (committed, staged,
    unstaged and untracked), relative to the repository root."""
    result = git(tree, "diff", "--name-only", "--no-renames", commit, "--", ".", check=False)
    if result.returncode != 0:
        raise ReviewError(f"git diff {commit} failed in {tree}: {result.stderr.strip()}")
    untracked = git(tree, "ls-files", "--others", "--exclude-standard", "--full-name").stdout.split("\n")
    return sorted({f for f in result.stdout.splitlines() + untracked if f})


@dataclass(frozen=True)
class Scope:
    environments: tuple[str, ...]
    reason: str  # one sentence: why these environments
    base_envs: frozenset[str]
    head_envs: frozenset[str]


def choose(
    changed: list[str],
    base_envs: set[str],
    head_envs: set[str],
    *,
    requested: tuple[str, ...] = (),
    all_envs: bool = False,
) -> Scope:
    known = base_envs | head_envs
    if requested:
        unknown = [e for e in requested if e not in known]
        if unknown:
            raise ReviewError(
                "--env " + ", ".join(repr(e) for e in unknown) + ": no such environment in the base or the head "
                f"(environments: {', '.join(sorted(known)) or 'none'}); give a name of a file environments/<name>.toml",
                2,
            )
        return Scope(tuple(sorted(set(requested))), "chosen with --env", frozenset(base_envs), frozenset(head_envs))
    if all_envs:
        return Scope(tuple(sorted(known)), "every environment (--all-envs)", frozenset(base_envs), frozenset(head_envs))
    shared = [f for f in changed if synthesized(f) and env_of(f) is None]
    if shared:
        more = f" and {len(shared) - 3} more" if len(shared) > 3 else ""
        return Scope(
            tuple(sorted(known)),
            "every environment: shared code changed (" + ", ".join(f"`{f}`" for f in shared[:3]) + more + ")",
            frozenset(base_envs),
            frozenset(head_envs),
        )
    touched = sorted({e for e in map(env_of, changed) if e} & known)
    if touched:
        return Scope(
            tuple(touched), "the environment files this change touches", frozenset(base_envs), frozenset(head_envs)
        )
    return Scope(
        (),
        "no file that synthesis reads changed (only docs, tests, benchmarks or CI)",
        frozenset(base_envs),
        frozenset(head_envs),
    )
