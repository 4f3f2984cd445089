"""Browser fixtures: a session-wide Chromium, and a fresh context (cookies, locale) per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.browser import FLAGS, chromium_path

playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    path = chromium_path()
    if path is None:
        pytest.fail("Chromium is not installed: .ci/run installs Debian's chromium (apt-get install chromium)")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=FLAGS, headless=True)
        yield b
        b.close()
