"""The rule designer in a real browser, as an administrator in zh-CN who writes no JSON: a rule on the CRM's
leads, "when a lead is created and its budget is above 888,888, mark it a key lead and notify its owner", made
by clicking; tested on a stored lead before it is saved (matched, with the actual budget); a bad action
refused at that action; saved; a new matching lead gets the rule's effect and the log shows the run. The cron
helper says the next runs in words. The shipped rules R1-R12 open and save unchanged, byte for byte. (R1, R5)"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.server import ADMIN, run_due_jobs

API = "/api/v1/meta/apps/crm/rules"
SERVER_KEYS = ("version", "updated_at")


def _admin(browser, base_url, width=1280):
    return sign_in(browser, base_url, ADMIN[0], "zh-CN", width, password=ADMIN[1])


def _csrf(page) -> str:
    return page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']")


def _post(page, base_url, url, body):
    r = page.request.post(base_url + url, data=body, headers={"X-CSRF-Token": _csrf(page), "Origin": base_url})
    assert r.ok, r.text()
    return r.json()


def _open(page, url):
    page.goto(url)
    page.wait_for_selector("#tg-rule[data-ready]")


def test_r1_a_rule_made_by_clicking_tested_saved_and_seen_working(browser, base_url) -> None:
    page = _admin(browser, base_url)
    trial = _post(page, base_url, "/api/v1/apps/crm/lead", {"name": "试运行线索", "company": "样例", "budget": 999999})
    _open(page, f"{base_url}/build/apps/crm/rules/new?entity=lead")
    page.fill("#rd-label-zh", "大额线索提醒")
    expect(page.locator("#rd-key")).not_to_have_value("")  # proposed from the name (pinyin)
    expect(page.locator("#rd-trigger")).to_have_value("created")

    # 如果: budget > 888888, with the list's condition builder.
    page.click("[data-set-condition]")
    row = page.locator("[data-condition] .tg-filter-row").first
    row.locator("select").nth(0).select_option("budget")
    row.locator("select").nth(1).select_option("gt")
    row.locator(".tg-filter-value input").fill("888888")

    # 就: set key_lead = yes, then notify the owner with the lead's name in the title.
    page.select_option("[data-new-action]", "set_fields")
    page.click("[data-add-action]")
    first = page.locator("[data-action-index='0']")
    first.locator("[data-add-value]").click()
    first.locator("[data-values] select").first.select_option("key_lead")
    first.locator("[data-value=key_lead]").select_option("true")
    page.select_option("[data-new-action]", "notify")
    page.click("[data-add-action]")
    second = page.locator("[data-action-index='1']")
    expect(second.locator("[data-recipient=owner]")).to_be_visible()
    second.locator("[data-recipient-kind]").select_option("user")  # and a member, picked by name
    second.locator("[data-user-picker]").fill("Admin")
    second.locator(".tg-picker-list li", has_text="Administrator").click()
    expect(second.locator("[data-recipient=user]")).to_contain_text("Administrator")
    second.locator("[data-move-up]").click()  # the keyboard's way to reorder (drag also works)
    expect(page.locator("[data-action-index='0']")).to_have_attribute("data-action", "notify")
    expect(page.locator("[data-action-index='0'] [data-move-down]")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("[data-action-index='0']")).to_have_attribute("data-action", "set_fields")

    # Tested before saving, the draft is checked as a save would be: the notification has no title yet,
    # refused at that action in the engine's words.
    page.fill("#rd-record", "试运行")
    page.locator("#rd-record-list li", has_text="试运行线索").click()
    page.click("[data-test-record]")
    expect(second).to_have_class("tg-rd-action has-error")
    expect(second.locator("[data-error-for='/actions/1/title']")).not_to_be_empty()
    second.locator("[data-prop=title]").fill("大额线索 - ")
    second.locator("[data-insert=title]").select_option("name")
    expect(second.locator("[data-prop=title]")).to_have_value("大额线索 - {{ record.name }}")

    # Now the test runs on the stored lead picked by name: matched, with its actual budget.
    page.click("[data-test-record]")
    result = page.locator(f"[data-result='{trial['id']}']")
    expect(result).to_have_attribute("data-matched", "true")
    expect(result.locator("[data-node=budget]")).to_have_attribute("data-node-matched", "true")
    expect(result.locator("[data-node=budget]")).to_contain_text("999,999")
    expect(result.locator("[data-did=set_fields]")).to_be_visible()
    page.locator("[data-save]").last.click()
    expect(page.locator("[data-status]")).to_have_text("已保存。")
    key = page.locator("#rd-key").input_value()
    assert page.url.endswith(f"/rules/{key}")
    stored = page.request.get(f"{base_url}{API}/{key}").json()
    assert stored["condition"] == {"all": [{"field": "budget", "op": "gt", "value": 888888}]}
    assert [a["type"] for a in stored["actions"]] == ["set_fields", "notify"]
    assert stored["actions"][1]["to"][0] == "owner" and set(stored["actions"][1]["to"][1]) == {"user"}

    # A matching lead: the rule marks it, and its run is in the log.
    lead = _post(page, base_url, "/api/v1/apps/crm/lead", {"name": "大客户线索", "company": "重工", "budget": 2000000})
    run_due_jobs(base_url, datetime.now(UTC))
    assert page.request.get(f"{base_url}/api/v1/apps/crm/lead/{lead['id']}").json()["key_lead"] is True
    _open(page, f"{base_url}/build/apps/crm/rules/{key}")
    expect(page.locator("[data-log] [data-run]").first).to_contain_text(f"#{lead['id']}")

    # The cron helper: a weekly preset says its next runs in words (computed by the server).
    page.select_option("#rd-trigger", "schedule")
    page.select_option("[data-cron-preset]", "weekly")
    expect(page.locator("#rd-cron")).to_have_value("0 9 * * 1")
    expect(page.locator("[data-cron-runs] li")).to_have_count(3)
    expect(page.locator("[data-cron-runs] li").first).to_contain_text("星期一")

    # The list shows it in words, on; at 375 px the designer fits the screen.
    page.goto(f"{base_url}/build/apps/crm/rules?entity=lead")
    item = page.locator(f"[data-rule={key}]")
    expect(item).to_contain_text("大额线索提醒")
    expect(item.locator("[data-enable]")).to_be_checked()
    with page.expect_response(lambda r: r.url.endswith(f"{API}/{key}") and r.request.method == "PUT"):
        item.locator("[data-enable]").uncheck()  # saved at once
    assert page.request.get(f"{base_url}{API}/{key}").json()["enabled"] is False
    phone = _admin(browser, base_url, width=375)
    _open(phone, f"{base_url}/build/apps/crm/rules/{key}")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 376
    expect(phone.locator("[data-action-index='1']")).to_be_visible()
    phone.context.close()

    # Delete asks first; the rule is gone.
    item.locator("[data-delete]").click()
    page.click("dialog [data-confirm=yes]")
    expect(item).to_have_count(0)
    assert page.request.get(f"{base_url}{API}/{key}").status == 404
    page.context.close()


def test_r1_r12_open_and_save_unchanged_byte_for_byte(browser, base_url) -> None:
    page = _admin(browser, base_url)
    keys = [r["key"] for r in page.request.get(f"{base_url}{API}").json()["items"] if r["key"].startswith("r")]
    assert len(keys) >= 12
    for key in keys:
        before = page.request.get(f"{base_url}{API}/{key}").json()
        _open(page, f"{base_url}/build/apps/crm/rules/{key}")
        with page.expect_response(lambda r, k=key: r.url.endswith(f"{API}/{k}") and r.request.method == "PUT") as saved:
            page.locator("[data-save]").last.click()
        assert saved.value.ok, f"{key}: {saved.value.text()}"
        after = page.request.get(f"{base_url}{API}/{key}").json()
        assert after["version"] == before["version"] + 1
        same = [{k: v for k, v in doc.items() if k not in SERVER_KEYS} for doc in (before, after)]
        assert json.dumps(same[0], ensure_ascii=False) == json.dumps(same[1], ensure_ascii=False), key
    page.context.close()


def test_the_rule_pages_pass_axe(browser, base_url) -> None:
    """axe-core (as tests/e2e/test_accessibility.py runs it): no serious or critical violation on the list and
    on a designer showing a schedule, a date trigger, actions and dry run results."""
    from tests.e2e.test_accessibility import axe_results, severe

    page = sign_in(browser, base_url, ADMIN[0], "zh-CN", 1280, password=ADMIN[1], bypass_csp=True)
    page.goto(f"{base_url}/build/apps/crm/rules")
    page.wait_for_selector("#tg-rules[data-ready]")
    assert severe(axe_results(page)) == []
    for key in ("r10_rfm_high_value", "r2_stale_important_opportunity"):
        _open(page, f"{base_url}/build/apps/crm/rules/{key}")
        page.click("[data-test-last]")
        page.wait_for_selector("[data-result]")
        assert severe(axe_results(page)) == [], key
    page.context.close()
