"""The import graph of the application: no cycle between modules, and the packages import
each other only in the directions docs/design.md draws ("Imports go one way")."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("environments", "stacks", "emr_constructs", "ops", "review", "deploy", "devtools")
DESIGN = ROOT / "docs" / "design.md"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(tree: ast.Module) -> set[str]:
    """What a module imports when it runs: every import except those under
    ``if TYPE_CHECKING:`` (function-level imports count: they run when called)."""
    skipped = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for stmt in node.body
        for child in ast.walk(stmt)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}
    return {
        name: _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))) & set(modules) - {name}
        for name, path in modules.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _drawn_edges() -> set[tuple[str, str]]:
    text = " ".join(DESIGN.read_text(encoding="utf-8").split())
    paragraph = text[text.index("Imports go one way") :].split(". ")[0]
    return set(re.findall(r"(\w+) -> (\w+)", paragraph))


def test_no_module_imports_itself_back_through_others():
    assert _cycles(import_graph()) == []


def test_a_cycle_is_found():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_packages_import_each_other_only_as_design_md_draws():
    drawn = _drawn_edges()
    assert drawn, "docs/design.md lost its 'Imports go one way' line"
    real = {
        (source.split(".")[0], target.split(".")[0])
        for source, targets in import_graph().items()
        for target in targets
        if source.split(".")[0] != target.split(".")[0]
    }
    assert real - drawn == set(), f"imports docs/design.md does not draw: {sorted(real - drawn)}"
    assert drawn - real == set(), f"docs/design.md draws imports that no longer exist: {sorted(drawn - real)}"


CDKTF = ("cdktf", "cdktf_cdktf_provider_aws", "constructs")


def test_the_construct_librarys_model_never_reaches_cdktf():
    """emr_constructs/model/ is the plain-Python half that ops, review, deploy and the
    settings share: none of its modules imports cdktf, the provider bindings or a
    construct module, itself or through another module of the project."""
    sources = {_module_name(p): p for p in (ROOT / "emr_constructs" / "model").glob("*.py")}
    graph = import_graph()
    problems = []
    for name, path in sorted(sources.items()):
        external = {
            i for i in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))) if i.split(".")[0] in CDKTF
        }
        project = {t for t in graph[name] if not t.startswith("emr_constructs.model")}
        problems += [f"{name} imports {i}" for i in sorted(external | project)]
    assert problems == []
