"""README and docs/: the generated reference matches the code, the front page stays a
front page with every daily how-to, and nothing points outside the repository or to a
command that does not exist."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
DAILY_TASKS = (
    "Try it locally",
    "Add a cluster",
    "Change a cluster",
    "Retire a cluster",
    "Upgrade a cluster",
    "Replace a protected cluster",
    "Rotate Spot",
    "Refresh prices",
    "Add an environment",
    "Add a purpose",
    "Review a pull request",
    "Deploy",
)
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)]*)?\)")


def _page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_reference_is_generated_from_the_current_docstrings():
    result = subprocess.run(
        [sys.executable, "docs/build_reference.py", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_reference_check_fails_when_a_docstring_drifts(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        import build_reference
    finally:
        sys.path.pop(0)
    stale = tmp_path / "reference.md"
    stale.write_text(build_reference.render().replace("Everything that describes one named cluster.", "Old text."))
    monkeypatch.setattr(build_reference, "OUTPUT", stale)
    monkeypatch.setattr(build_reference, "ROOT", tmp_path)
    assert build_reference.main(["--check"]) == 1
    assert build_reference.main([]) == 0
    assert build_reference.main(["--check"]) == 0


def test_readme_is_a_front_page_with_every_daily_task():
    text = README.read_text()
    assert len(text.splitlines()) < 300
    headings = set(re.findall(r"^### (.+)$", text, re.M))
    assert [task for task in DAILY_TASKS if task not in headings] == []
    assert "make synth" in text and "make test" in text


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_pages_point_only_inside_the_repository(page):
    text = page.read_text()
    for banned in ("../shared", "DESIGN.md", "issue 7", "/work/"):
        assert banned not in text, f"{banned!r} in {_page_id(page)}"
    for target, _ in LINK.findall(text):
        if re.match(r"^[a-z]+://", target):
            continue
        assert (page.parent / target).resolve().is_relative_to(ROOT), target
        assert (page.parent / target).exists(), f"{_page_id(page)} links to missing {target}"


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_every_make_target_a_page_names_exists(page):
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.M))
    named = set(re.findall(r"`make ([a-z][a-z-]*)", page.read_text()))
    assert named - targets == set()
