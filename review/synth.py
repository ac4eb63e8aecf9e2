"""Synthesizing a git ref and a working tree, per environment, fast.

Each (side, environment) is one synthesis: the tree's own ``main.py`` run with the
project's Python and Node (``JSII_NODE``, ``PATH``), ``EMR_CDKTF_ENV`` naming the
environment and ``CDKTF_OUTDIR`` a temporary folder, so no tree's ``cdktf.out/`` is
touched. The base ref is checked out with ``git worktree add --detach`` into a temporary
folder that is always removed (also on failure or interrupt), and only when a base
synthesis is not already cached.

Speed:

* every synthesis of a review runs at the same time (a pool as wide as the machine, at
  least two: base and head of one environment run concurrently);
* the first synthesis that fails stops the others (their processes are terminated) and
  the review reports that failure at once;
* progress lines with elapsed seconds go to standard error;
* ``SynthCache``: a synthesis is stored under a content address, the sha256 of the git
  tree id it was synthesized from, the environment name and the synthesizer (command,
  Python and Node versions, extra environment). The tree id of a commit is git's own;
  the working tree's is computed through a scratch index (``git add -A`` into a
  temporary ``GIT_INDEX_FILE``, then ``git write-tree``), so an uncommitted edit gets a
  new address. An entry never goes stale (different inputs, different address); entries
  are written atomically, verified file by file (sha256) when read, and the least
  recently used ones beyond ``SynthCache.keep`` are removed automatically.

``Synthesizer`` is the pluggable step: tests give it extra environment (``PYTHONPATH``
for a small app that imports the project's constructs) or another command.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENT_VARIABLE = "EMR_CDKTF_ENV"  # the switch main.py reads (environments/settings.py)
CACHE_VARIABLE = "EMR_CDKTF_REVIEW_CACHE"


class ReviewError(Exception):
    """A problem that stops the review (bad ref, failed synth); exit status ``code``."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def git(
    repo: Path, *args: str, check: bool = True, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=check,
        env=dict(env) if env is not None else None,
    )


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
            "(in CI fetch full history: actions/checkout with fetch-depth: 0).",
            2,
        )
    return result.stdout.strip()


def commit_tree(repo: Path, commit: str) -> str:
    return git(repo, "rev-parse", f"{commit}^{{tree}}").stdout.strip()


def worktree_tree(tree: Path) -> str:
    """Git tree id of a working tree as it is on disk (tracked and untracked files that
    .gitignore does not exclude), computed in a scratch index: the real index is untouched."""
    with tempfile.TemporaryDirectory(prefix="review-index-") as scratch:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(scratch) / "index")}
        git(tree, "read-tree", "HEAD", env=env, check=False)
        result = git(tree, "add", "-A", ".", env=env, check=False)
        if result.returncode != 0:
            raise ReviewError(f"cannot read the working tree {tree}: {result.stderr.strip()}")
        return git(tree, "write-tree", env=env).stdout.strip()


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


class Cancelled(Exception):
    """A synthesis stopped because another one failed."""


@dataclass(frozen=True)
class Synthesizer:
    """Runs ``command`` (default: this Python on ``main.py``) in a tree with CDKTF_OUTDIR
    and EMR_CDKTF_ENV set."""

    command: Sequence[str] = (sys.executable, "main.py")
    node_bin: Path | None = PROJECT_ROOT / "node_modules" / ".bin"
    extra_env: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 540

    def environment(self, outdir: Path, env_name: str | None = None) -> dict[str, str]:
        env = dict(os.environ)
        if self.node_bin and self.node_bin.is_dir():
            env["PATH"] = f"{self.node_bin}{os.pathsep}{env.get('PATH', '')}"
            node = self.node_bin / "node"
            if node.exists():
                env["JSII_NODE"] = str(node)
        env["CDKTF_OUTDIR"] = str(outdir)
        if env_name:
            env[ENVIRONMENT_VARIABLE] = env_name
        env.update(self.extra_env)
        return env

    def identity(self) -> str:
        """What besides the tree and the environment decides the output (for the cache)."""
        node = None
        if self.node_bin and (self.node_bin / "node").exists():
            node = str((self.node_bin / "node").resolve())
        return json.dumps(
            {
                "command": list(self.command),
                "python": sys.version,
                "node": node,
                "extra_env": dict(sorted(self.extra_env.items())),
            },
            sort_keys=True,
        )

    def __call__(
        self, tree: Path, outdir: Path, label: str, env_name: str | None = None, cancel: threading.Event | None = None
    ) -> Path:
        try:
            proc = subprocess.Popen(
                list(self.command),
                cwd=tree,
                env=self.environment(outdir, env_name),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        except OSError as exc:
            raise ReviewError(f"synth of {label} could not start {self.command[0]}: {exc}") from None
        output: dict[str, str] = {}
        reader = threading.Thread(
            target=lambda: output.update(zip(("out", "err"), proc.communicate(), strict=True)), daemon=True
        )
        reader.start()
        deadline = time.monotonic() + self.timeout
        while reader.is_alive():
            reader.join(0.1)
            if cancel is not None and cancel.is_set():
                _stop(proc)
                reader.join()
                raise Cancelled(label)
            if time.monotonic() > deadline:
                _stop(proc)
                reader.join()
                raise ReviewError(f"synth of {label} took longer than {self.timeout:.0f} s")
        if proc.returncode != 0:
            tail = "\n".join((output.get("err") or output.get("out") or "").strip().splitlines()[-25:])
            raise ReviewError(f"synth of {label} failed (exit {proc.returncode}) in {tree}:\n{tail}")
        if not (outdir / "stacks").is_dir():
            raise ReviewError(f"synth of {label} wrote no stacks/ folder into {outdir}")
        return outdir


def _stop(proc: subprocess.Popen) -> None:
    """Terminate a synthesis and everything it started (node), then reap it."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()


# --- cache -------------------------------------------------------------------------------


def default_cache_dir() -> Path:
    if os.environ.get(CACHE_VARIABLE):
        return Path(os.environ[CACHE_VARIABLE])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "emr-cdktf" / "review"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class SynthCache:
    """Syntheses by content address (see the module docstring). ``keep`` entries at most."""

    root: Path
    keep: int = 24

    def key(self, tree_id: str, env_name: str, synthesizer: Synthesizer) -> str:
        text = json.dumps({"tree": tree_id, "environment": env_name, "synth": synthesizer.identity()}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def get(self, key: str) -> tuple[Path, str] | None:
        """(outdir, the tree path it was synthesized in) when a complete, intact entry exists."""
        entry = self.root / key
        manifest = entry / "review-cache.json"
        try:
            meta = json.loads(manifest.read_text(encoding="utf-8"))
            for rel, digest in meta["files"].items():
                if _digest(entry / "out" / rel) != digest:
                    raise ValueError(f"{rel} changed")
        except (OSError, ValueError, KeyError, TypeError):
            if entry.exists():
                shutil.rmtree(entry, ignore_errors=True)  # damaged: synthesize again
            return None
        os.utime(manifest)  # most recently used
        return entry / "out", meta["tree"]

    def put(self, key: str, outdir: Path, tree: Path) -> None:
        """Store a finished synthesis; a failure to store never fails the review."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=self.root))
            shutil.copytree(outdir, staging / "out", symlinks=True)
            files = {
                str(p.relative_to(staging / "out")): _digest(p)
                for p in sorted((staging / "out").rglob("*"))
                if p.is_file() and not p.is_symlink()
            }
            (staging / "review-cache.json").write_text(
                json.dumps({"tree": str(tree), "files": files}, indent=1), encoding="utf-8"
            )
            try:
                os.rename(staging, self.root / key)
            except OSError:  # another review stored the same synthesis first
                shutil.rmtree(staging, ignore_errors=True)
            self.prune()
        except OSError:
            pass

    def prune(self) -> None:
        entries = []
        for entry in self.root.iterdir():
            manifest = entry / "review-cache.json"
            if entry.name.startswith(".incoming-"):
                if time.time() - entry.stat().st_mtime > 3600:  # left by a killed review
                    shutil.rmtree(entry, ignore_errors=True)
            elif manifest.exists():
                entries.append((manifest.stat().st_mtime, entry))
        for _, entry in sorted(entries, reverse=True)[self.keep :]:
            shutil.rmtree(entry, ignore_errors=True)


# --- running a review's syntheses --------------------------------------------------------


class Progress:
    """Progress lines on standard error: ``review [  12.3s] <message>``."""

    def __init__(self, stream: TextIO | None = None, enabled: bool = True):
        self.start = time.monotonic()
        self.stream = stream
        self.enabled = enabled
        self._lock = threading.Lock()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def __call__(self, message: str) -> None:
        if not self.enabled:
            return
        with self._lock:
            stream = self.stream or sys.stderr
            print(f"review [{self.elapsed():6.1f}s] {message}", file=stream, flush=True)


@dataclass(frozen=True)
class Job:
    """One synthesis: a side ("base" / "head") of one environment."""

    side: str
    env: str
    label: str


@dataclass
class SideOutput:
    outdir: Path
    tree: Path  # where it was synthesized (absolute paths in its JSON start there)
    cached: bool


def synthesize_jobs(
    jobs: Sequence[Job],
    *,
    trees: Mapping[str, Callable[[], Path]],
    tree_ids: Mapping[str, str | None],
    synth: Synthesizer,
    scratch: Path,
    cache: SynthCache | None,
    progress: Progress,
    workers: int | None = None,
) -> dict[tuple[str, str], SideOutput]:
    """Run every job at once (cache hits first, without synthesizing); stop at the first
    failure. ``trees[side]()`` gives the tree to synthesize in (created on first use, e.g.
    the base worktree); ``tree_ids[side]`` its content address (None: not cacheable)."""
    results: dict[tuple[str, str], SideOutput] = {}
    pending = []
    for job in jobs:
        tree_id = tree_ids.get(job.side)
        key = cache.key(tree_id, job.env, synth) if (cache is not None and tree_id) else None
        hit = cache.get(key) if (cache is not None and key) else None
        if hit and key:
            progress(f"{job.label}: reused the cached synthesis ({key[:12]})")
            results[(job.side, job.env)] = SideOutput(hit[0], Path(hit[1]), True)
        else:
            pending.append((job, key))
    if not pending:
        return results

    cancel = threading.Event()
    tree_lock = threading.Lock()

    def run(job: Job, key: str | None) -> SideOutput:
        with tree_lock:
            tree = trees[job.side]()
        outdir = scratch / job.side / job.env
        outdir.parent.mkdir(parents=True, exist_ok=True)  # cdktf creates only the last level
        started = time.monotonic()
        progress(f"{job.label}: synthesizing")
        synth(tree, outdir, job.label, job.env, cancel)
        progress(f"{job.label}: synthesized in {time.monotonic() - started:.1f}s")
        if cache and key:
            cache.put(key, outdir, tree)
        return SideOutput(outdir, tree, False)

    width = workers or max(2, os.cpu_count() or 2)
    with ThreadPoolExecutor(max_workers=min(width, len(pending))) as pool:
        futures = {pool.submit(run, job, key): job for job, key in pending}
        try:
            done, not_done = wait(futures, return_when=FIRST_EXCEPTION)
        except BaseException:  # Ctrl-C or SIGTERM (see cli.main): stop every synthesis, then leave
            cancel.set()
            for f in futures:
                f.cancel()
            wait(futures)
            raise
        failure = next((f for f in done if f.exception() is not None), None)
        if failure is not None:
            cancel.set()
            for f in not_done:
                f.cancel()
            stopped = [futures[f].label for f in not_done if not f.cancelled()]
            wait(not_done)
            exc = failure.exception()
            if stopped:
                progress(f"stopped {', '.join(stopped)}: {futures[failure].label} failed")
            if isinstance(exc, ReviewError):
                raise exc
            raise ReviewError(f"synth of {futures[failure].label} failed: {exc!r}")
        for f, job in futures.items():
            results[(job.side, job.env)] = f.result()
    return results
