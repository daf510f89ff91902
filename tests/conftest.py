"""Shared fixtures: fresh warehouses, the seed files, the fixture site and one Prefect server per session."""

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
