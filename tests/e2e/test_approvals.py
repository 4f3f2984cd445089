"""Approvals in a real browser (SCENARIOS P2): a rep submits a 15% quote from its record page, the manager
approves it from the inbox in a second session, the rep sees it approved; return and resubmit; batch approve."""

from __future__ import annotations

from tests.e2e.conftest import sign_in

REP = "demo.rep1@example.com"
MANAGER = "demo.manager.east@example.com"
API = "/api/v1/apps/crm"
NEW_QUOTE = """async (api) => {
  const m = await import('/static/js/api.js');
  const deals = await m.api('GET', api + '/opportunity?limit=1');
  const deal = deals.data.items[0];
  const r = await m.api('POST', api + '/quote', {opportunity: deal.id, account: deal.account, discount: 15});
  return r.data.id;
}"""


def _quote(page, base_url: str) -> int:
    page.goto(f"{base_url}/")
    return page.evaluate(NEW_QUOTE, API)


def _submit(page, base_url: str, qid: int) -> None:
    page.goto(f"{base_url}/apps/crm/quote/{qid}")
    page.locator("[data-submit-process]").click(timeout=20_000)
    page.wait_for_selector("[data-approval-state]", timeout=20_000)


def test_p2_the_rep_submits_and_the_manager_approves_from_the_inbox(browser, base_url):
    rep = sign_in(browser, base_url, REP, locale="en")
    qid = _submit_quote = _quote(rep, base_url)
    _submit(rep, base_url, qid)
    assert rep.locator("[data-withdraw]").count() == 1  # the submitter may take it back
    manager = sign_in(browser, base_url, MANAGER, locale="zh-CN")
    manager.goto(f"{base_url}/inbox")
    assert manager.locator("[data-count=pending]").inner_text() != "0"
    manager.locator(".tg-inbox-title").first.click()
    manager.wait_for_selector("#tg-task[data-ready]", timeout=20_000)
    assert manager.locator(".tg-flow-node.current").count() == 1
    reject = manager.locator("[data-act=reject]")
    reject.click()  # the node wants a comment for a rejection: refused in the page, nothing sent
    assert manager.locator("[data-error-for=comment]").inner_text() != ""
    approve = manager.locator("[data-act=approve]")
    approve.click()
    assert approve.inner_text() == "确认同意"  # the first tap arms, the second approves
    approve.click()
    manager.wait_for_selector("[data-task-state]:has-text('同意')", timeout=20_000)
    rep.goto(f"{base_url}/apps/crm/quote/{_submit_quote}")
    rep.wait_for_selector("[data-approval-state]:has-text('approved')", timeout=20_000)
    rep.context.close()
    manager.context.close()


def test_return_resubmit_and_batch_approve_at_375px(browser, base_url):
    rep = sign_in(browser, base_url, REP, locale="en")
    first, second = _quote(rep, base_url), _quote(rep, base_url)
    _submit(rep, base_url, first)
    _submit(rep, base_url, second)
    manager = sign_in(browser, base_url, MANAGER, locale="en", width=375)
    manager.goto(f"{base_url}/inbox")
    assert manager.evaluate("document.documentElement.scrollWidth") <= 375
    manager.locator(".tg-inbox-title").first.click()
    manager.wait_for_selector("#tg-task[data-ready]", timeout=20_000)
    assert manager.evaluate("document.documentElement.scrollWidth") <= 375
    manager.fill("#f-comment", "Please lower the discount")
    manager.locator("[data-act=return]").click()
    manager.wait_for_selector("[data-task-state]:has-text('returned')", timeout=20_000)
    rep.goto(f"{base_url}/inbox")
    rep.locator(".tg-inbox-title").first.click()  # the returned request waits in the submitter's own inbox
    rep.wait_for_selector("[data-act=resubmit]", timeout=20_000)
    rep.locator("[data-act=resubmit]").click()
    rep.wait_for_selector("[data-task-state]:has-text('resubmit')", timeout=20_000)
    manager.goto(f"{base_url}/inbox")
    boxes = manager.locator("[data-select]")
    assert boxes.count() >= 2
    boxes.nth(0).check()
    boxes.nth(1).check()
    before = boxes.count()
    manager.locator("[data-batch-approve]").click()
    manager.wait_for_function(f"document.querySelectorAll('[data-select]').length === {before - 2}", timeout=20_000)
    assert manager.locator("[data-batch-errors]").is_hidden()
    rep.context.close()
    manager.context.close()
