"""Shared fixtures (fresh warehouses, the seed files, the fixture site, one Prefect server per session) and the
test tiers: every test carries exactly one of the markers registered in pyproject.toml."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.fixture_site import fixture_site  # noqa: F401  (a real HTTP server on 127.0.0.1)
from tests.helpers.browser import chromium  # noqa: F401  (Debian's Chromium; skips, or fails in CI)
from tests.helpers.prefect_server import prefect_harness, prefect_server  # noqa: F401  (one per session)
from tests.helpers.route_server import route_server  # noqa: F401  (routes set by the test)

REPO_ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = REPO_ROOT / "seeds"
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
# Cheapest first. `make check` runs the first two; `make test` (CI) runs all four.
TIERS = ("pure", "warehouse", "flows", "e2e")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects anything: a test without a tier fails every selection
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wrong = []
    for item in items:
        tiers = sorted({mark.name for mark in item.iter_markers() if mark.name in TIERS})
        if len(tiers) != 1:
            wrong.append(f"  {item.nodeid}: {', '.join(tiers) or 'no tier'}")
    if wrong:
        raise pytest.UsageError(
            f"{len(wrong)} test(s) need exactly one tier marker ({', '.join(TIERS)}; see [tool.pytest.ini_options]"
            " in pyproject.toml): `pytestmark = pytest.mark.<tier>` in the module, or `@pytest.mark.<tier>` on each"
            " test of a module that mixes tiers\n" + "\n".join(wrong)
        )


@pytest.fixture
def fresh_db(tmp_path: Path) -> Path:
    """Path of a warehouse file that does not exist yet."""
    return tmp_path / "warehouse" / "mediamon.duckdb"


@pytest.fixture
def seed_paths() -> list[Path]:
    return sorted(SEEDS_DIR.glob("*.txt"))


@pytest.fixture
def seed_copy(tmp_path: Path) -> Path:
    """A writable copy of seeds/ for tests that edit files."""
    target = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, target)
    return target
