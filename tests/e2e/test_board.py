"""The kanban board of opportunities in a real browser (SCENARIOS X2, P5): moving cards by drag and by
keyboard is a versioned PATCH; a refused move snaps back with the reason; lanes count what the viewer sees."""

from __future__ import annotations

import json
from urllib.parse import quote

from tests.e2e.conftest import sign_in

REP = "demo.rep1@example.com"
MANAGER = "demo.manager.east@example.com"
DIRECTOR = "demo.director@example.com"
OPPS = "/api/v1/apps/crm/opportunity"
IN_PAGE_FETCH = """async ([method, url, body, headers]) => {
  const token = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"];
  const init = {method, headers: {"Content-Type": "application/json", "X-CSRF-Token": token, ...headers}};
  if (body !== null) init.body = JSON.stringify(body);
  const r = await fetch(url, init);
  return {status: r.status, body: await r.json()};
}"""


def _api(page, method: str, url: str, body=None, headers=None) -> dict:
    """A request with the page's session and CSRF token (what another tab of the same person would send)."""
    return page.evaluate(IN_PAGE_FETCH, [method, url, body, headers or {}])


def _board(page, base_url: str) -> None:
    page.goto(f"{base_url}/apps/crm/opportunity/board")
    page.wait_for_selector("#tg-board[data-ready]")


def _first_card(page, lane: str):
    return page.locator(f'.tg-klist[data-lane="{lane}"] .tg-kcard').first


def _count(page, lane: str) -> int:
    return int(page.locator(f'.tg-lane[data-lane="{lane}"] [data-count]').inner_text())


def _stage(page, base_url: str, rid: int) -> str:
    return page.request.get(f"{base_url}{OPPS}/{rid}").json()["stage"]


def test_a_rep_drags_an_opportunity_to_another_stage(browser, base_url):
    page = sign_in(browser, base_url, REP)
    _board(page, base_url)
    assert page.locator("h1").inner_text() == "商机"
    assert page.locator(".tg-lane h2").first.inner_text() == "初步接洽"
    card = _first_card(page, "qualify")
    rid, version = int(card.get_attribute("data-id")), int(card.get_attribute("data-version"))
    before = (_count(page, "qualify"), _count(page, "proposal"))
    card.drag_to(page.locator('.tg-klist[data-lane="proposal"]'))
    moved = page.locator(f'.tg-klist[data-lane="proposal"] .tg-kcard[data-id="{rid}"]')
    page.wait_for_selector(f'.tg-kcard[data-id="{rid}"][data-version="{version + 1}"]')
    assert moved.count() == 1
    assert "已移动到“方案报价”" in page.locator("#tg-toast").inner_text()
    assert (_count(page, "qualify"), _count(page, "proposal")) == (before[0] - 1, before[1] + 1)
    assert _stage(page, base_url, rid) == "proposal"
    page.reload()
    page.wait_for_selector("#tg-board[data-ready]")
    assert page.locator(f'.tg-klist[data-lane="proposal"] .tg-kcard[data-id="{rid}"]').count() == 1
    page.context.close()


def test_a_move_the_p5_stage_gate_refuses_snaps_back_with_the_reason(browser, base_url):
    """P5: once in needs analysis the gate locks the stage until the needs-analysis report is attached."""
    page = sign_in(browser, base_url, REP)
    _board(page, base_url)
    card = _first_card(page, "qualify")
    rid = int(card.get_attribute("data-id"))
    assert _api(page, "PATCH", f"{OPPS}/{rid}", {"stage": "needs_analysis"})["status"] == 200
    running = f"{OPPS}/{rid}/process-instances"
    page.wait_for_function(
        "async (url) => (await (await fetch(url)).json()).items.some((i) => i.state === 'running')", arg=running, polling=200
    )
    _board(page, base_url)
    card = page.locator(f'.tg-klist[data-lane="needs_analysis"] .tg-kcard[data-id="{rid}"]')
    count = _count(page, "needs_analysis")
    card.drag_to(page.locator('.tg-klist[data-lane="proposal"]'))
    toast = page.locator("#tg-toast .error")
    toast.wait_for()
    assert toast.inner_text() == "流程进行中，“销售阶段”已锁定；完成或撤回流程后才能修改"  # noqa: RUF001
    assert page.locator(f'.tg-klist[data-lane="needs_analysis"] .tg-kcard[data-id="{rid}"]').count() == 1
    assert _count(page, "needs_analysis") == count
    assert _stage(page, base_url, rid) == "needs_analysis"
    page.context.close()


def test_a_version_conflict_between_load_and_drag_snaps_back(browser, base_url):
    page = sign_in(browser, base_url, REP, locale="en")
    _board(page, base_url)
    card = _first_card(page, "qualify")
    rid = int(card.get_attribute("data-id"))
    assert _api(page, "PATCH", f"{OPPS}/{rid}", {"probability": 33})["status"] == 200  # someone else, meanwhile
    card.drag_to(page.locator('.tg-klist[data-lane="negotiation"]'))
    toast = page.locator("#tg-toast .error")
    toast.wait_for()
    assert toast.inner_text() == "This record was changed by someone else; reload it to see their changes, then try again"
    assert page.locator(f'.tg-klist[data-lane="qualify"] .tg-kcard[data-id="{rid}"]').count() == 1
    assert _stage(page, base_url, rid) == "qualify"
    page.context.close()


def test_the_managers_board_counts_only_the_team(browser, base_url):
    """X2: each lane's count is what the API counts for the same person."""
    totals = {}
    for who in (MANAGER, DIRECTOR):
        page = sign_in(browser, base_url, who)
        _board(page, base_url)
        totals[who] = 0
        for lane in ("qualify", "needs_analysis", "proposal", "negotiation", "won", "lost"):
            condition = quote(json.dumps({"field": "stage", "op": "eq", "value": lane}))
            api = page.request.get(f"{base_url}{OPPS}?count=true&limit=1&filter={condition}").json()["total"]
            assert _count(page, lane) == api, lane
            totals[who] += api
        page.context.close()
    assert 0 < totals[MANAGER] < totals[DIRECTOR]


def test_move_to_with_the_keyboard(browser, base_url):
    page = sign_in(browser, base_url, REP, locale="en")
    _board(page, base_url)
    card = _first_card(page, "proposal")
    rid = int(card.get_attribute("data-id"))
    summary = card.locator("summary")
    summary.focus()
    page.keyboard.press("Enter")
    target = card.locator('[data-move-to="won"]')
    assert card.locator('[data-move-to="proposal"]').is_disabled()
    target.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(f'.tg-klist[data-lane="won"] .tg-kcard[data-id="{rid}"]:not(.tg-kcard-saving)')
    page.wait_for_function("document.querySelector('#tg-toast').textContent.includes('Moved to')")
    assert _stage(page, base_url, rid) == "won"
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    page.context.close()


def test_the_board_at_375_px_scrolls_inside_not_the_page(browser, base_url):
    page = sign_in(browser, base_url, REP, width=375)
    page.goto(f"{base_url}/apps/crm/opportunity")
    page.click("a[href='/apps/crm/opportunity/board']")
    page.wait_for_selector("#tg-board[data-ready]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.evaluate("(() => { const b = document.querySelector('#tg-board'); return b.scrollWidth > b.clientWidth; })()")
    page.context.close()
