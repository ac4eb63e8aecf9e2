#!/usr/bin/env python3
"""Writes docs/reference.md, the construct library's reference, from its docstrings, and
the module list of docs/development.md (between its two marker comments).

Reads the source of every ``emr_constructs`` module with ``ast`` (nothing is imported, so
it runs in a second and needs no cdktf): each module's docstring, its public constants,
classes (constructor inputs, dataclass fields with their defaults, public methods and
properties) and functions. The docstrings are the one place inputs and defaults are
written; this page only collects them.

    python docs/build_reference.py          # rewrite docs/reference.md
    python docs/build_reference.py --check  # exit 1 if either page is out of date
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "emr_constructs"
OUTPUT = ROOT / "docs" / "reference.md"
INDEX_START = "<!-- emr_constructs modules: written by `make docs`, do not edit -->"
INDEX_END = "<!-- end of the emr_constructs modules -->"
# A module importing one of these builds resources; the others are plain Python that ops/
# and review/ may import too.
CDKTF_MODULES = ("cdktf", "cdktf_cdktf_provider_aws", "constructs")
HEADER = """# Construct library reference

Generated from the docstrings of `emr_constructs/` by `make docs`
(`docs/build_reference.py`); do not edit by hand. A test fails when this page and the
code disagree. How the pieces fit together: [design.md](design.md).
"""
MAX_CONSTANT = 100


def _public(name: str) -> bool:
    return not name.startswith("_")


def _signature(fn: ast.FunctionDef, *, drop_self: bool) -> str:
    args = fn.args
    parts: list[str] = []
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    for i, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
        if drop_self and i == 0:
            continue
        parts.append(_param(arg, default))
    if args.vararg:
        parts.append(f"*{args.vararg.arg}")
    elif args.kwonlyargs:
        parts.append("*")
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        parts.append(_param(arg, default))
    if args.kwarg:
        parts.append(f"**{args.kwarg.arg}")
    returns = f" -> {ast.unparse(fn.returns)}" if fn.returns else ""
    return f"({', '.join(parts)}){returns}"


def _param(arg: ast.arg, default: ast.expr | None) -> str:
    text = arg.arg
    if arg.annotation is not None:
        text += f": {ast.unparse(arg.annotation)}"
    if default is not None:
        text += f" = {ast.unparse(default)}"
    return text


def _doc(node: ast.AST) -> list[str]:
    doc = ast.get_docstring(node)  # type: ignore[arg-type]
    return [doc, ""] if doc else []


def _is_dataclass(cls: ast.ClassDef) -> bool:
    return any("dataclass" in ast.unparse(d) for d in cls.decorator_list)


def _fields(cls: ast.ClassDef) -> list[str]:
    rows = []
    for node in cls.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and _public(node.target.id):
            default = "required" if node.value is None else f"`{ast.unparse(node.value)}`"
            rows.append(f"| `{node.target.id}` | `{ast.unparse(node.annotation)}` | {default} |")
    if not rows:
        return []
    return ["| field | type | default |", "| --- | --- | --- |", *rows, ""]


def _methods(cls: ast.ClassDef) -> list[str]:
    out = []
    for node in cls.body:
        if not isinstance(node, ast.FunctionDef) or not _public(node.name):
            continue
        decorators = {ast.unparse(d) for d in node.decorator_list}
        first_line = (ast.get_docstring(node) or "").split("\n\n")[0].replace("\n", " ")
        if "property" in decorators:
            out.append(f"- `{node.name}` (property){': ' + first_line if first_line else ''}")
        else:
            drop = "staticmethod" not in decorators
            out.append(f"- `{node.name}{_signature(node, drop_self=drop)}`{': ' + first_line if first_line else ''}")
    return ["Methods and properties:", "", *out, ""] if out else []


def _class(cls: ast.ClassDef) -> list[str]:
    bases = ", ".join(ast.unparse(b) for b in cls.bases)
    out = [f"### `{cls.name}`" + (f" ({bases})" if bases else ""), ""]
    init = next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
    if init is not None:
        out += ["```python", f"{cls.name}{_signature(init, drop_self=True)}", "```", ""]
    out += _doc(cls)
    if _is_dataclass(cls):
        out += _fields(cls)
    out += _methods(cls)
    return out


def _constants(tree: ast.Module) -> list[str]:
    rows = []
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
        if isinstance(node, ast.AnnAssign):
            target = node.target
        if not isinstance(target, ast.Name) or not _public(target.id) or not target.id.isupper() or node.value is None:
            continue
        value = ast.unparse(node.value)
        if len(value) <= MAX_CONSTANT and "\n" not in value:
            rows.append(f"| `{target.id}` | `{value.replace('|', '&#124;')}` |")
    return ["| constant | value |", "| --- | --- |", *rows, ""] if rows else []


def _modules() -> list[Path]:
    """The library's modules: the cdktf constructs in ``emr_constructs/`` and the plain-Python
    ones in ``emr_constructs/model/``, each package's ``__init__`` first."""
    return sorted(
        [*PACKAGE.glob("*.py"), *PACKAGE.glob("*/*.py")],
        key=lambda p: (p.parent != PACKAGE, p.stem != "__init__", p.stem),
    )


def _dotted(path: Path) -> str:
    """``emr_constructs.model.contract`` for ``emr_constructs/model/contract.py``."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_section(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = _dotted(path)
    out = [f"## `{name}`", "", *_doc(tree), *_constants(tree)]
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and _public(node.name):
            out += _class(node)
        elif isinstance(node, ast.FunctionDef) and _public(node.name):
            out += [f"### `{node.name}{_signature(node, drop_self=False)}`", "", *_doc(node)]
    return out


def _imports_cdktf(tree: ast.Module, local: dict[str, bool]) -> bool:
    for node in ast.walk(tree):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            if name.split(".")[0] in CDKTF_MODULES or local.get(name.removeprefix("emr_constructs."), False):
                return True
    return False


def module_index() -> str:
    """One row per module of the library: its docstring's first sentence, and whether it
    builds resources (imports cdktf, itself or through another module) or is plain Python."""
    trees = {
        _dotted(p).removeprefix("emr_constructs."): ast.parse(p.read_text(encoding="utf-8"))
        for p in _modules()
        if p.stem != "__init__"
    }
    builds: dict[str, bool] = {}
    while True:  # to a fixed point: a module importing a resource module builds resources too
        now = {name: _imports_cdktf(tree, builds) for name, tree in trees.items()}
        if now == builds:
            break
        builds = now
    rows = ["| module | kind | what it is |", "| --- | --- | --- |"]
    for name, tree in trees.items():
        first = " ".join(" ".join(_doc(tree)).split()).split(". ")[0].rstrip(".")
        kind = "construct (cdktf)" if builds[name] else "plain Python"
        rows.append(f"| `{name.replace('.', '/')}.py` | {kind} | {first.replace('|', '&#124;')}. |")
    return "\n".join(rows)


def with_module_index(page: str) -> str:
    start, end = page.index(INDEX_START) + len(INDEX_START), page.index(INDEX_END)
    return page[:start] + "\n" + module_index() + "\n" + page[end:]


def render() -> str:
    modules = _modules()
    names = [_dotted(p).removeprefix("emr_constructs.") for p in modules if p.stem != "__init__"]
    lines = [HEADER, "Modules: " + ", ".join(f"`{name}`" for name in names), ""]
    for path in modules:
        lines += module_section(path)
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/reference.md is out of date")
    args = parser.parse_args(argv)
    pages = {OUTPUT: render()}
    development = OUTPUT.with_name("development.md")  # beside the reference, wherever that is
    if development.exists():
        pages[development] = with_module_index(development.read_text(encoding="utf-8"))
    if args.check:
        stale = [path for path, text in pages.items() if not path.exists() or path.read_text(encoding="utf-8") != text]
        for path in stale:
            print(f"{path.relative_to(ROOT)} is out of date: run `make docs` and commit the result", file=sys.stderr)
        return 1 if stale else 0
    for path, text in pages.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
