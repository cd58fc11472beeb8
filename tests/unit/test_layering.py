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
