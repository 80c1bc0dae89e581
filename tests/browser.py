"""Launch Debian's Chromium headless through Playwright, for the real-browser tests.

Playwright's own browser download does not work on every machine (and must never be needed),
so we drive the distribution's `/usr/bin/chromium` through `executable_path`. CI installs the
`chromium` package; where it is missing the tests are skipped with a message that says so.

Use it as an async context manager::

    async with chromium() as browser:
        page = await browser.new_page()

or through the pytest fixture factory `browser_fixture()` (see `tests/test_webchat_browser.py`).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("OMNIGATE_TEST_CHROMIUM", "/usr/bin/chromium"))

# Quiet, hermetic Chromium: no GPU, no QUIC, none of the background traffic a fresh profile
# would start (updates, sync, safe browsing lists) that could slow or flake a test.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

SKIP_REASON = (
    f"real-browser tests need Debian's Chromium at {CHROMIUM} "
    "(apt-get install chromium); Playwright's bundled browser download is not used"
)


def require_chromium() -> None:
    """Skip the calling test, with a clear reason, when the Chromium binary is not installed."""
    if not CHROMIUM.exists():
        if os.environ.get("OMNIGATE_REQUIRE_BROWSER"):  # CI installs it: missing is a failure
            pytest.fail(SKIP_REASON)
        pytest.skip(SKIP_REASON)
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:  # pragma: no cover - dev extras always include it
        pytest.skip("real-browser tests need the `playwright` Python package (dev extras)")


@asynccontextmanager
async def chromium(**launch_options: object) -> AsyncIterator[object]:
    """Yield a running headless `playwright.async_api.Browser` on a throwaway profile.

    Playwright's `launch()` gives Chromium a fresh temporary `--user-data-dir` of its own (and
    refuses one passed in `args`), so every browser starts clean and never sees a real profile.
    """
    require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            **launch_options,
        )
        try:
            yield browser
        finally:
            await browser.close()
