"""Debian's Chromium driven by Playwright, for the tests that draw pages (never `playwright install`: it
downloads, and CI is offline)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"  # screenshots, kept by CI


@pytest.fixture(scope="module")
def chromium() -> Iterator:
    """The browser, started once per test module; skipped when Chromium or Playwright is missing, except in CI.

    Not once per session: Playwright's sync API keeps an event loop running on the main thread while it is open,
    so a later module's `asyncio.run` (the fetching code's) would fail with "cannot be called from a running
    event loop" and the suite's result would depend on the order of its modules."""
    missing = [] if CHROMIUM.exists() else [str(CHROMIUM)]
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing.append("the playwright package")
    if missing:
        reason = (
            f"the browser test needs Debian's Chromium and Playwright (missing: {', '.join(missing)}):"
            " apt-get install chromium; pip install playwright"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI=true, so it may not be skipped")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
