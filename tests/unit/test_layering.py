"""The delivery record has one home (events_core.records) and the arrows between packages run one
way: history (the API's use cases) → delivery (the pipeline) → records, never back."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "common" / "events_core"
FORBIDDEN = {
    "records": ("events_core.delivery", "events_core.history", "events_core.webhooks"),
    "delivery": ("events_core.history",),
    # Health figures are written by the delivery and read by the API: they import neither.
    "stats": ("events_core.delivery", "events_core.history"),
}


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_never_imports_the_packages_above_it(package):
    found = {
        f"{path.name} imports {name}"
        for path in (PACKAGE / package).glob("*.py")
        for name in imported(path)
        if name.startswith(FORBIDDEN[package])
    }
    assert found == set()


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(source: str, modules: set[str]) -> set[str]:
    """The events_core modules a module imports when it runs: at its top and inside functions
    alike (a function-level import closes a circle as surely, only later); imports under
    `if TYPE_CHECKING:` never run and are left out."""
    tree = ast.parse(source)
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for statement in node.body
        for inner in ast.walk(statement)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:  # `from events_core.x import y` may name the submodule y
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name in modules}


def import_graph() -> dict[str, set[str]]:
    paths = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: _runtime_imports(path.read_text(), set(paths)) - {name} for name, path in paths.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_events_core_has_no_import_circle_not_even_through_a_function_level_import():
    assert circles(import_graph()) == []


def test_the_circle_finder_sees_a_circle_closed_by_a_function_level_import():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]
    # The circle the gate once closed: gate → verification → (inside a function) challenge → gate.
    source = "def send():\n    from events_core.delivery import challenge\n"
    modules = set(import_graph())
    assert _runtime_imports(source, modules) == {"events_core.delivery.challenge"}
    typing_only = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from events_core.delivery import gate\n"
    assert _runtime_imports(typing_only, modules) == set()


def test_no_product_module_is_named_like_a_test():
    roots = [PACKAGE, PACKAGE.parents[2] / "functions", PACKAGE.parents[2] / "tools", PACKAGE.parents[2] / "clients"]
    named = [str(path) for root in roots for path in root.rglob("test_*.py") if "tests" not in path.parts]
    assert named == []
