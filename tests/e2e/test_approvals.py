"""Approvals in a real browser (SCENARIOS P2): a rep submits a 15% quote from its record page, the manager
approves it from the inbox in a second session, the rep sees it approved; return and resubmit; batch approve."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.server import ADMIN, run_due_jobs

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
    # The panel arrives by htmx and its module loads after it: click once its controller is wired.
    page.wait_for_selector("#tg-approval-panel[data-ready]", timeout=20_000)
    page.locator("[data-submit-process]").click(timeout=20_000)
    page.wait_for_selector("#tg-approval-panel[data-ready] [data-approval-state]", timeout=20_000)


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
    # Linked records by their name, not "#4": the quote's account and opportunity fields.
    linked = manager.locator("#tg-task-fields [data-field=account], #tg-task-fields [data-field=opportunity]")
    expect(linked).to_have_count(2)
    assert not any(re.search(r"#\d+", text) for text in linked.all_inner_texts())
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
    expect(boxes).to_have_count(before - 2, timeout=20_000)  # a string predicate would be eval, refused by the CSP
    assert manager.locator("[data-batch-errors]").is_hidden()
    rep.context.close()
    manager.context.close()


def test_urge_once_an_hour_and_a_delegate_acts_on_behalf_at_375px(browser, base_url):
    manager = sign_in(browser, base_url, MANAGER, locale="en", width=375)
    manager.goto(f"{base_url}/me/delegations")
    manager.wait_for_selector("#tg-delegations[data-ready]", timeout=20_000)
    manager.fill("#f-delegate", "demo.manager.west")
    manager.locator("#f-delegate-list li", has_text="demo.manager.west@").click(timeout=20_000)
    manager.fill("#f-starts", "2020-01-01")
    manager.fill("#f-ends", "2099-12-31")
    manager.locator("[data-delegation-form] button[type=submit]").click()
    manager.wait_for_selector("[data-delegation] >> text=In force", timeout=20_000)
    assert manager.evaluate("document.documentElement.scrollWidth") <= 375
    rep = sign_in(browser, base_url, REP, locale="en")
    qid = _quote(rep, base_url)
    _submit(rep, base_url, qid)  # the east manager is away: the task goes to the west manager
    rep.locator("[data-urge]").click()
    rep.wait_for_selector("#tg-toast >> text=Urged", timeout=20_000)
    rep.locator("[data-urge]").click()  # a second urge within the hour is refused, with when to try again
    expect(rep.locator("[data-error-for=approval]")).to_contain_text("try again in 60 minutes", timeout=20_000)
    west = sign_in(browser, base_url, "demo.manager.west@example.com", locale="zh-CN")
    west.goto(f"{base_url}/inbox")
    west.locator(".tg-inbox-title").first.click()
    west.wait_for_selector("#tg-task[data-ready]", timeout=20_000)
    assert "代" in west.locator(".tg-meta").first.inner_text()  # 代 {name} 处理: on behalf of the east manager
    expect(west.locator(".tg-history")).to_contain_text("已催办")
    manager.locator("[data-edit]").first.click()  # change it: the form comes back filled, the days as entered
    expect(manager.locator("#f-ends")).to_have_value("2099-12-31")
    expect(manager.locator("#f-delegate")).to_have_value(re.compile("."))
    manager.fill("#f-ends", "2099-06-30")
    manager.fill("#f-note", "Back in June")
    manager.locator("[data-delegation-form] button[type=submit]").click()
    expect(manager.locator("[data-delegation]")).to_have_count(1, timeout=20_000)
    expect(manager.locator("[data-delegation]")).to_contain_text("Back in June", timeout=20_000)
    manager.once("dialog", lambda d: d.accept())
    manager.locator("[data-delete]").first.click()
    expect(manager.locator("[data-delegation]")).to_have_count(0, timeout=20_000)
    for page in (rep, west, manager):
        page.context.close()


def _task_of(page, base_url: str, qid: int) -> int:
    """The viewer's pending task on quote `qid` (the inbox API, as the inbox page lists it)."""
    items = page.request.get(f"{base_url}/api/v1/me/tasks?box=pending&limit=100").json()["items"]
    return next(t["id"] for t in items if t["entity"] == "quote" and t["record_id"] == qid)


def _pick_colleague(page, email: str) -> None:
    page.fill("#f-user", email.split("@")[0])
    page.locator("#f-user-list li", has_text=email).click(timeout=20_000)


def test_transfer_then_add_a_signer_after_me(browser, base_url):
    rep = sign_in(browser, base_url, REP, locale="en")
    qid = _quote(rep, base_url)
    _submit(rep, base_url, qid)
    east = sign_in(browser, base_url, MANAGER, locale="en")
    east.goto(f"{base_url}/tasks/{_task_of(east, base_url, qid)}")
    east.wait_for_selector("#tg-task[data-ready]", timeout=20_000)
    _pick_colleague(east, "demo.manager.west@example.com")
    east.fill("#f-comment", "I am at a customer all week")
    east.locator("[data-act=transfer]").click()
    east.wait_for_selector("[data-task-state]:has-text('transferred')", timeout=20_000)
    west = sign_in(browser, base_url, "demo.manager.west@example.com", locale="zh-CN")
    west.goto(f"{base_url}/tasks/{_task_of(west, base_url, qid)}")  # the task is the west manager's now
    west.wait_for_selector("#tg-task[data-ready]", timeout=20_000)
    expect(west.locator(".tg-history")).to_contain_text("I am at a customer all week")
    _pick_colleague(west, "demo.director@example.com")
    west.select_option("#f-placement", "after")
    west.locator("[data-act=add_signer]").click()
    expect(west.locator(".tg-history")).to_contain_text("已加签", timeout=20_000)  # the page reloaded after the action
    west.wait_for_selector("#tg-task[data-ready]", timeout=20_000)
    approve = west.locator("[data-act=approve]")
    approve.click()
    approve.click()  # the first tap arms, the second approves
    west.wait_for_selector("[data-task-state]:has-text('同意')", timeout=20_000)
    director = sign_in(browser, base_url, "demo.director@example.com", locale="en")
    director.goto(f"{base_url}/tasks/{_task_of(director, base_url, qid)}")  # asked after the west manager
    director.wait_for_selector("#tg-task[data-ready]", timeout=20_000)
    approve = director.locator("[data-act=approve]")
    approve.click()
    approve.click()
    director.wait_for_selector("[data-task-state]:has-text('approved')", timeout=20_000)
    rep.goto(f"{base_url}/apps/crm/quote/{qid}")
    rep.wait_for_selector("[data-approval-state]:has-text('approved')", timeout=20_000)
    for page in (rep, east, west, director):
        page.context.close()


def test_p4_an_unaccepted_ticket_is_escalated_to_the_engineers_manager_on_an_injected_clock(browser, base_url):
    admin = sign_in(browser, base_url, ADMIN[0], locale="en", password=ADMIN[1])
    account = admin.request.get(f"{base_url}{API}/account?limit=1").json()["items"][0]["id"]
    ticket = {"subject": "设备频繁宕机 E2E", "account": account, "type": "complaint", "channel": "phone"}
    csrf = admin.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']")
    created = admin.request.post(f"{base_url}{API}/ticket", data=ticket, headers={"X-CSRF-Token": csrf})
    assert created.status == 201, created.text()
    tid = created.json()["id"]
    engineer = sign_in(browser, base_url, "demo.engineer2@example.com", locale="en")
    for _ in range(60):  # P4 starts through the job queue: the acceptance task reaches the engineers
        tasks = engineer.request.get(f"{base_url}/api/v1/me/tasks?box=pending&limit=100").json()["items"]
        mine = [t for t in tasks if t["entity"] == "ticket" and t["record_id"] == tid]
        if mine:
            break
        engineer.wait_for_timeout(500)
    else:
        raise AssertionError("the acceptance task never reached demo.engineer2")
    run_due_jobs(base_url, datetime.now(UTC) + timedelta(hours=2, minutes=5))  # nobody accepted it within 2 h
    lead = sign_in(browser, base_url, "demo.engineer1@example.com", locale="zh-CN", width=375)
    lead.goto(f"{base_url}/inbox")
    # engineer1 is asked too (a service engineer), and again as engineer2's manager: that task is marked
    item = lead.locator(".tg-inbox-item", has_text=mine[0]["record_display"], has=lead.locator("[data-escalated]"))
    expect(item.locator("[data-escalated]")).to_have_text("超时升级")
    assert lead.evaluate("document.documentElement.scrollWidth") <= 375
    item.locator(".tg-inbox-title").click()
    lead.wait_for_selector("#tg-task[data-ready]", timeout=20_000)
    expect(lead.locator(".tg-history")).to_contain_text("升级")  # the timeline says who it was escalated from
    for page in (admin, engineer, lead):
        page.context.close()
