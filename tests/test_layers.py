"""The layers of docs/architecture.md, enforced: every import of a project package points down, and Prefect is
imported only by the Prefect adapters (flows/) and the command line above them."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.pure

ROOT = Path(__file__).resolve().parents[1]
# Each package and the project packages it may import (besides itself). Top to bottom.
ALLOWED: dict[str, set[str]] = {
    "mediamon": {"flows", "pipeline", "extractors", "fetching", "similarity", "warehouse", "config"},
    "flows": {"pipeline", "extractors", "fetching", "similarity", "warehouse", "config"},
    "pipeline": {"extractors", "fetching", "similarity", "warehouse", "config"},
    "warehouse": {"extractors", "fetching", "similarity", "config"},
    "fetching": {"extractors", "config"},
    "similarity": {"extractors", "config"},
    "extractors": {"config"},
    "config": set(),
}
PREFECT_ALLOWED = {"flows", "mediamon"}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, at any depth (imports inside functions count), with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def violations(package: str) -> list[str]:
    wrong = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, module in imported_modules(path):
            top = module.split(".")[0]
            where = f"{path.relative_to(ROOT)}:{line} imports {module}"
            if top in ALLOWED and top != package and top not in ALLOWED[package]:
                wrong.append(where)
            if top == "prefect" or top.startswith("prefect_"):
                if package not in PREFECT_ALLOWED:
                    wrong.append(where + " (Prefect belongs in flows/)")
    return wrong


@pytest.mark.parametrize("package", list(ALLOWED))
def test_imports_point_down(package):
    assert (ROOT / package / "__init__.py").exists()
    assert violations(package) == []


def test_every_project_package_has_a_layer():
    """A new top-level package must be placed in ALLOWED (and in docs/architecture.md) to be checked."""
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert packages == set(ALLOWED)


def test_the_check_catches_an_upward_import(tmp_path, monkeypatch):
    """The check itself can fail: an extractor importing the warehouse is reported."""
    (tmp_path / "extractors").mkdir()
    (tmp_path / "extractors" / "__init__.py").write_text("")
    (tmp_path / "extractors" / "bad.py").write_text("def f():\n    from warehouse.db import connect\n")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "__init__.py").write_text("import prefect\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert violations("extractors") == ["extractors/bad.py:2 imports warehouse.db"]
    assert violations("config") == ["config/__init__.py:1 imports prefect (Prefect belongs in flows/)"]
