"""Browser fixtures: a Chromium per test module, and a fresh context (cookies, locale) per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.browser import FLAGS, chromium_path

playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    # Module scope, not session: Playwright's sync API leaves its event loop marked as running in this thread
    # until it stops, and every later asyncio.run() (the engine tests after tests/e2e) would fail.
    path = chromium_path()
    if path is None:
        pytest.fail("Chromium is not installed: .ci/run installs Debian's chromium (apt-get install chromium)")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real server per test module (the CRM with its demo data)."""
    from tests.e2e.server import crm_server

    with crm_server(tmp_path_factory.mktemp("server")) as base:
        yield base


def sign_in(
    browser, base_url: str, email: str, locale: str = "zh-CN", width: int = 1280, password: str | None = None, **options: object
):
    """A new browser context (own cookies; `options` for new_context) signed in as a demo user; returns its page."""
    from tests.e2e.server import PASSWORD

    context = browser.new_context(locale=locale, viewport={"width": width, "height": 900}, **options)
    page = context.new_page()
    page.goto(f"{base_url}/login")
    page.fill("#email", email)
    page.fill("#password", password or PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")
    return page
