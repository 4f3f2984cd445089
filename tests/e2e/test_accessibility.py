"""axe-core on every end-user page, as a sales rep in zh-CN at 1280 and 375 px: no violation of impact
"serious" or "critical". axe is injected into a context that bypasses the pages' CSP (this test only)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import builder_ui
from tests.e2e.conftest import sign_in

AXE = Path(builder_ui.__file__).parent / "static" / "vendor" / "axe-core" / "axe.min.js"
SEVERE = ("serious", "critical")
REP = "demo.rep1@example.com"
MANAGER = "demo.manager.east@example.com"
WIDTHS = (1280, 375)
PAGES = {  # name: path; {account}, {opportunity}: the rep's first records
    "launcher": "/",
    "list": "/apps/crm/opportunity",
    "record": "/apps/crm/account/{account}",
    "record-edit": "/apps/crm/opportunity/{opportunity}?edit=1",
    "new-record": "/apps/crm/lead/new",
    "recycle-bin": "/apps/crm/lead/trash",
    "my-settings": "/me",
}


def axe_results(page) -> dict:
    page.add_script_tag(path=str(AXE))
    return page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")


def severe(results: dict) -> list[str]:
    """One line per serious or critical violation: the rule, its impact and the first elements it names."""
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(' '.join(n['target']) for n in v['nodes'][:5])}"
        for v in results["violations"]
        if v["impact"] in SEVERE
    ]


def _first_id(page, base_url: str, entity: str) -> int:
    return page.request.get(f"{base_url}/api/v1/apps/crm/{entity}?limit=1").json()["items"][0]["id"]


def _bin_a_lead(browser, base_url: str, lead: int) -> None:
    """The rep's manager deletes one of the rep's leads (reps may not), so the rep's recycle bin shows its table."""
    page = sign_in(browser, base_url, MANAGER)
    page.goto(f"{base_url}/apps/crm/lead/{lead}")
    csrf = page.locator("#tg-record").get_attribute("data-csrf")
    r = page.request.delete(f"{base_url}/api/v1/apps/crm/lead/{lead}", headers={"X-CSRF-Token": csrf, "Origin": base_url})
    assert r.status == 204, r.text()
    page.context.close()


@pytest.fixture(scope="module")
def ids(browser, base_url: str) -> dict[str, int]:
    page = sign_in(browser, base_url, REP)
    out = {e: _first_id(page, base_url, e) for e in ("account", "opportunity", "lead")}
    _bin_a_lead(browser, base_url, out["lead"])
    page.context.close()
    return out


@pytest.fixture(scope="module", params=WIDTHS, ids=lambda w: f"{w}px")
def rep_page(request, browser, base_url: str) -> Iterator[object]:
    """The rep, signed in once per width, in a context that lets axe in despite the CSP."""
    page = sign_in(browser, base_url, REP, width=request.param, bypass_csp=True)
    yield page
    page.context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_sign_in_page(browser, base_url, width):
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{base_url}/login")
    assert severe(axe_results(page)) == []
    context.close()


@pytest.mark.parametrize("name", PAGES)
def test_every_page_of_a_rep(rep_page, base_url, ids, name):
    rep_page.goto(base_url + PAGES[name].format(**ids))
    rep_page.wait_for_load_state("networkidle")
    assert rep_page.locator("main h1").count() == 1  # the page itself, not an error page
    assert rep_page.locator("html").get_attribute("lang") == "zh-CN"
    if name == "recycle-bin":
        assert rep_page.locator(".tg-table tbody tr").count() >= 1
    assert severe(axe_results(rep_page)) == []


def test_the_open_menus(rep_page, base_url, ids):
    """Content in closed <details> is not checked above: open the account menu (and the drawer on phones)."""
    rep_page.goto(f"{base_url}/apps/crm/opportunity")
    rep_page.locator("header .tg-menu:not(.tg-nav-toggle) > summary").click()
    if rep_page.viewport_size["width"] < 768:
        rep_page.locator(".tg-nav-toggle > summary").click()
    assert rep_page.locator("details[open]").count() >= 1
    assert severe(axe_results(rep_page)) == []


def test_the_check_fails_on_a_broken_page(rep_page, base_url):
    """The harness can fail: an unnamed icon button and grey-on-white text are reported."""
    rep_page.goto(f"{base_url}/me")
    rep_page.evaluate(
        """() => {
          const b = document.createElement("button"); b.className = "btn";
          b.appendChild(document.querySelector("svg.tg-icon").cloneNode(true));
          const p = document.createElement("p"); p.textContent = "浅灰色的说明文字"; p.classList.add("tg-bad-contrast");
          document.querySelector("main").append(b, p);
          document.querySelector(".tg-bad-contrast").style.color = "#bbbbbb";
        }"""
    )
    found = "\n".join(severe(axe_results(rep_page)))
    assert "button-name (critical)" in found
    assert "color-contrast (serious)" in found
