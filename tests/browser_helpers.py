"""Debian's Chromium driven by Playwright, for the browser tests, benchmarks/report.py and the docs' screenshots.

Playwright's own browser download is never used: ``make browser`` installs Debian's ``chromium``, launched here
by its path. Without the background-networking flags Chromium keeps trying to reach its vendor's hosts.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["CHROMIUM", "FLAGS", "browser_fixture", "chromium"]

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Debian Chromium browser (Playwright's ``Browser``), closed at the end."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def browser_fixture() -> Iterator[Any]:
    """The body of a test's ``browser`` fixture: skip without Playwright or Chromium, fail so in CI."""
    import pytest

    pytest.importorskip("playwright.sync_api")
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing: `make browser` installs it")
        pytest.skip("no chromium here: `make browser` installs Debian's")
    with chromium() as browser:
        yield browser
