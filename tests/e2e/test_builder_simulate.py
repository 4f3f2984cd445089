"""The process trial run (试运行) in a real browser, as the administrator of the shipped CRM (SCENARIOS P2,
quote discount approval): a quote with a 15% discount, submitted by the sales rep 张伟, goes to his manager
李娜 with the reminder and escalation deadlines shown; 5% typed by hand is approved at once; a required
field left empty is refused at its field. Nothing is written: the quote's approval history is unchanged."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.server import ADMIN

URL = "/build/apps/crm/processes/quote_discount/simulate"


def _open(browser, base_url, locale="zh-CN", width=1280):
    page = sign_in(browser, base_url, ADMIN[0], locale, width, password=ADMIN[1])
    page.goto(base_url + URL)
    page.wait_for_selector("#tg-simulate[data-ready]")
    return page


def _pick(page, input_selector: str, text: str) -> None:
    page.fill(input_selector, text)
    page.locator(f"{input_selector}-list li", has_text=text).first.click()


def test_p2_quote_with_15_percent_goes_to_the_reps_manager(browser, base_url) -> None:
    page = _open(browser, base_url)
    quotes = page.request.get(f"{base_url}/api/v1/apps/crm/quote?limit=200").json()["items"]
    quote = next(q for q in quotes if q.get("discount") == 15)
    history = page.request.get(f"{base_url}/api/v1/apps/crm/quote/{quote['id']}/process-instances").json()["items"]

    _pick(page, "#sim-record", quote["number"])
    _pick(page, "#sim-submitter", "张伟")
    page.click("[data-run]")
    manager = page.locator("[data-steps] li[data-node=manager]")
    expect(manager.locator(".tg-sim-person")).to_have_text(["李娜"])
    expect(manager).to_contain_text("催办提醒")
    expect(manager).to_contain_text("超时升级")
    gateway = page.locator("[data-steps] li[data-node=discount_check]")
    expect(gateway).to_contain_text("折扣率 > 10%")  # the condition with the field's label
    expect(gateway).to_contain_text("折扣率 = 15%")  # and the value it read
    expect(page.locator("[data-steps] li")).to_have_count(5)  # submitted, mark pending, branch, manager, approved
    expect(page.locator("[data-written]")).to_be_visible()
    expect(page.locator("[data-outcome]")).to_contain_text("审批通过")

    # The manager rejects: the path ends rejected there.
    page.select_option("#sim-decide-manager", "rejected")
    page.click("[data-run]")
    expect(page.locator("[data-steps] li").last).to_have_attribute("data-node", "rejected")
    expect(page.locator("[data-outcome]")).to_contain_text("已驳回")
    after = page.request.get(f"{base_url}/api/v1/apps/crm/quote/{quote['id']}/process-instances").json()["items"]
    assert after == history  # nothing was started or moved


def test_typed_values_in_english_on_a_phone(browser, base_url) -> None:
    page = _open(browser, base_url, "en", 375)
    page.check("input[name=source][value=values]")
    page.fill("#f-discount", "5")
    page.click("[data-run]")
    expect(page.locator("[data-error-for='/values/opportunity']")).not_to_be_empty()  # required, as a save says
    opportunity = page.request.get(f"{base_url}/api/v1/apps/crm/opportunity?limit=1").json()["items"][0]
    _pick(page, "#f-opportunity", opportunity["name"])
    page.click("[data-run]")
    expect(page.locator("[data-steps] li").last).to_have_attribute("data-node", "approved")
    expect(page.locator("[data-steps] li[data-node=discount_check]")).to_contain_text("no condition held: the default path")
    expect(page.locator("[data-outcome]")).to_have_text("Ends: approved")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
