"""What every bad-input case shares: a case record, edits of the example environment, and
the runner that feeds an edited file to ``main.py`` and checks the refusal.

Each refusal must: exit with status 2 (or raise the library's error type, for construct
API cases), name the key and the value in the message, show no traceback, and write
nothing (the output folder the run was pointed at does not exist afterwards).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "environments" / "example.toml").read_text(encoding="utf-8")
PYTHON = ROOT / ".venv" / "bin" / "python"


@dataclass(frozen=True)
class Case:
    """One bad input: ``cls`` groups cases by class of mistake; ``expect`` lists texts the
    message must contain (the key and the value as Python shows it)."""

    cls: str
    name: str
    make: Callable[..., object]
    expect: tuple[str, ...]
    env: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.cls}:{self.name}"


def value_repr(literal: str) -> str:
    """How the message shows a TOML literal's value (Python's repr of the parsed value)."""
    return repr(tomllib.loads(f"v = {literal}")["v"])


def set_key(text: str, key: str, literal: str, nth: int = 0) -> str:
    """Replace the value of the ``nth`` line ``key = ...`` of the file."""
    pattern = re.compile(rf"^{re.escape(key)} = .*$", re.MULTILINE)
    matches = list(pattern.finditer(text))
    m = matches[nth]
    return text[: m.start()] + f"{key} = {literal}" + text[m.end() :]


def top(text: str, line: str) -> str:
    """Add a top-level line (before the first table)."""
    return text.replace('name = "example"\n', f'name = "example"\n{line}\n', 1)


def edited(key: str, literal: str, nth: int = 0) -> Callable[[], str]:
    return lambda: set_key(EXAMPLE, key, literal, nth)


def kv(display_key: str, literal: str) -> str:
    return f"{display_key} = {value_repr(literal)}"


def run_main(
    tmp_path: Path, *, text: str | bytes | None = None, env_value: str | None = None, extra_env: dict | None = None
) -> tuple[subprocess.CompletedProcess, Path]:
    """Run ``main.py`` on an environment (text or bytes written to a file, or an explicit
    EMR_CDKTF_ENV value) with the output folder pointed at ``tmp_path/out``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EMR_CDKTF_", "CDKTF_OUTDIR"))}
    if text is not None:
        path = tmp_path / "env.toml"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        env["EMR_CDKTF_ENV"] = str(path)
    if env_value is not None:
        env["EMR_CDKTF_ENV"] = env_value
    out = tmp_path / "out"
    env["CDKTF_OUTDIR"] = str(out)
    env.update(extra_env or {})
    result = subprocess.run(
        [str(PYTHON if PYTHON.exists() else sys.executable), "main.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result, out


def assert_refused(result: subprocess.CompletedProcess, out: Path, expect: tuple[str, ...]) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 2, f"exit {result.returncode}, expected 2:\n{output[-3000:]}"
    for text in expect:
        assert text in result.stderr, f"{text!r} not in the message:\n{result.stderr[-3000:]}"
    assert "Traceback" not in output, output[-3000:]
    assert not out.exists(), f"{out} was written"
