"""The house as docs/architecture.md draws it, checked over the import graph of src/houseedge.

Every ``import`` statement counts, at module level or inside a function (a function-level import
is still a dependency, only a later one). Imports under ``if TYPE_CHECKING:`` count for the
layers but may close a circle inside one subpackage (a type named in an annotation).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "houseedge"

# Lowest first. A module may import its own layer and the layers below it, never above.
# research and live are one rank apart in name only: neither may import the other (see below).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("houseedge.errors", "houseedge.config", "houseedge.logs"),
    ("houseedge.core",),
    ("houseedge.chaos",),  # misbehaving policies for users' tests: only core below it
    ("houseedge.data",),
    ("houseedge.research", "houseedge.live"),
    ("houseedge.adapters",),
    ("houseedge.app",),
    ("houseedge.cli", "houseedge.__main__"),
)
# Siblings that must not know each other.
INDEPENDENT = (("houseedge.research", "houseedge.live"),)
# The package root re-exports lazily (by name, on first attribute access) and is above all.
ROOT = "houseedge"

MAX_MODULES_PER_FOLDER = 15
MAX_LINES_PER_MODULE = 400
MAX_FMT_SKIPS = 8


@dataclass(frozen=True)
class Edge:
    """One import of ``target`` by ``source`` at ``line``."""

    source: str
    target: str
    line: int
    type_only: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                for child in node.body:
                    lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _targets(node: ast.Import | ast.ImportFrom, known: dict[str, Path]) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
        return
    if node.level or not node.module:
        raise AssertionError(f"relative import at line {node.lineno}: write it absolute")
    for alias in node.names:
        full = f"{node.module}.{alias.name}"
        yield full if full in known else node.module


@cache
def edges() -> tuple[Edge, ...]:
    known = modules()
    found: list[Edge] = []
    for name, path in known.items():
        tree = ast.parse(path.read_text(), str(path))
        type_only = _type_checking_lines(tree)
        imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
        found.extend(
            Edge(name, target, node.lineno, node.lineno in type_only)
            for node in imports
            for target in _targets(node, known)
            if target in known and target != name
        )
    return tuple(found)


def layer_of(module: str) -> int | None:
    for rank, members in enumerate(LAYERS):
        if any(module == m or module.startswith(m + ".") for m in members):
            return rank
    return None


def parent(module: str) -> str:
    return module.rsplit(".", 1)[0]


def subpackage(module: str) -> str:
    """Return the package a module belongs to (a package's ``__init__`` belongs to itself)."""
    return module if (modules()[module].name == "__init__.py") else parent(module)


def where(edge: Edge) -> str:
    return f"{modules()[edge.source].relative_to(SRC)}:{edge.line} imports {edge.target}"


def test_every_module_has_a_layer() -> None:
    lost = [m for m in modules() if m != ROOT and layer_of(m) is None]
    assert lost == [], f"modules outside every layer of docs/architecture.md: {lost}"


def test_imports_point_only_downward() -> None:
    upward = [
        where(edge)
        for edge in edges()
        if edge.source != ROOT
        and edge.target != ROOT
        and (layer_of(edge.target) or 0) > (layer_of(edge.source) or 0)
    ]
    assert upward == [], "imports that point up a layer:\n" + "\n".join(upward)


@pytest.mark.parametrize(("one", "other"), INDEPENDENT)
def test_independent_siblings_do_not_import_each_other(one: str, other: str) -> None:
    crossing = [
        where(edge)
        for edge in edges()
        for a, b in ((one, other), (other, one))
        if edge.source.startswith(a + ".") and (edge.target == b or edge.target.startswith(b + "."))
    ]
    assert crossing == [], "\n".join(crossing)


def test_core_is_pure() -> None:
    allowed = ("houseedge.core", "houseedge.errors")
    impure = [
        where(edge)
        for edge in edges()
        if edge.source.startswith("houseedge.core")
        and not any(edge.target == a or edge.target.startswith(a + ".") for a in allowed)
    ]
    assert impure == [], "core imports outside core and errors:\n" + "\n".join(impure)


def test_private_modules_stay_in_their_subpackage() -> None:
    leaks = [
        where(edge)
        for edge in edges()
        if edge.target.rsplit(".", 1)[-1].startswith("_")
        and edge.target.rsplit(".", 1)[-1] != "__main__"
        and not (subpackage(edge.source) + ".").startswith(parent(edge.target) + ".")
    ]
    assert leaks == [], "private modules imported from another subpackage:\n" + "\n".join(leaks)


def _pop_component(stack: list[str], on_stack: set[str], root: str) -> list[str]:
    component: list[str] = []
    while True:
        member = stack.pop()
        on_stack.discard(member)
        component.append(member)
        if member == root:
            return sorted(component)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = _pop_component(stack, on_stack, node)
            if len(component) > 1:
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles() -> None:
    graph: dict[str, set[str]] = {}
    for edge in edges():
        if ROOT in (edge.source, edge.target):
            continue  # the root's lazy re-exports are names, not imports
        same_package = subpackage(edge.source) == subpackage(edge.target)
        if edge.type_only and same_package:
            continue
        graph.setdefault(edge.source, set()).add(edge.target)
    circles = _cycles(graph)
    assert circles == [], "import circles:\n" + "\n".join(" <-> ".join(c) for c in circles)


def test_folders_stay_small() -> None:
    crowded = {
        str(folder.relative_to(SRC)): count
        for folder in [PACKAGE, *(p for p in PACKAGE.rglob("*") if p.is_dir())]
        if (count := len([p for p in folder.glob("*.py") if p.name != "__init__.py"]))
        > MAX_MODULES_PER_FOLDER
    }
    assert crowded == {}, f"folders over {MAX_MODULES_PER_FOLDER} modules: {crowded}"


def test_modules_stay_small() -> None:
    long = {
        str(path.relative_to(SRC)): lines
        for path in modules().values()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES_PER_MODULE
    }
    assert long == {}, f"modules over {MAX_LINES_PER_MODULE} lines: {long}"


def test_no_packed_lines() -> None:
    marker = "# fmt: " + "skip"
    skips = {
        str(path.relative_to(SRC)): count
        for path in modules().values()
        if (count := path.read_text().count(marker))
    }
    assert sum(skips.values()) <= MAX_FMT_SKIPS, f"lines packed past the formatter: {skips}"


def test_the_checks_see_a_violation() -> None:
    """The graph is real: a known downward edge is found, and a made-up circle is caught."""
    backtest = "houseedge.research.backtest._backtest"
    assert any(e.source == backtest and e.target.startswith("houseedge.core") for e in edges())
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert layer_of("houseedge.cli._app") > layer_of("houseedge.app.settings")  # type: ignore[operator]
