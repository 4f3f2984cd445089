"""List settings in the builder (issue 15: "the list view's default columns, sort and kanban field set here
too"): an administrator chooses the lead list's columns and their order, the sort and page size, and the
shared kanban board's lane field, without JSON; a rep then opens exactly that list and board."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.server import ADMIN

PAGE = "/build/apps/crm/entities/lead/list"


def test_the_default_list_and_board_are_set_in_the_builder_and_everyone_sees_them(browser, base_url):
    admin = sign_in(browser, base_url, ADMIN[0], "zh-CN", 1280, password=ADMIN[1])
    admin.goto(f"{base_url}{PAGE}")
    admin.wait_for_selector("#tg-list-defaults[data-ready]")
    columns = admin.locator("[data-choose=columns]")
    while columns.locator("input:checked").count():
        columns.locator("input:checked").first.uncheck()
    admin.locator("[data-save]").click()
    expect(admin.locator("[data-error-for=columns]")).not_to_be_empty()  # at least one column, said at the field
    for key in ("name", "company", "status"):
        columns.locator(f"li[data-key={key}] input").check()
    columns.locator("li[data-key=status] [data-move='-1']").click()  # status before company, by keyboard-able arrows
    order = columns.locator("li").evaluate_all("items => items.map(i => i.dataset.key)")
    keys = [k for k in order if k in ("name", "company", "status")]
    assert keys == ["name", "status", "company"]
    admin.select_option("#bl-sort", "name")
    admin.select_option("#bl-desc", "0")
    admin.select_option("#bl-size", "20")
    admin.select_option("#bl-lanes", "status")
    admin.locator("[data-choose=card_fields] li[data-key=company] input").check()
    admin.locator("[data-save]").click()
    admin.wait_for_selector("#tg-toast >> text=已保存")

    views = admin.request.get(f"{base_url}/api/v1/apps/crm/lead/views").json()["items"]
    table = views[0]
    assert (table["default"], table["columns"], table["sort"], table["page_size"]) == (
        True, ["name", "status", "company"], [{"field": "name", "desc": False}], 20)
    [board] = [v for v in views if v["kind"] == "kanban" and v["shared_with"] == "*"]
    assert (board["group_field"], board["card_fields"]) == ("status", ["company"])

    rep = sign_in(browser, base_url, "demo.rep1@example.com", "zh-CN", 1280)
    rep.goto(f"{base_url}/apps/crm/lead")
    expect(rep.locator(".tg-table thead th[aria-sort]")).to_have_count(3)  # the three columns, nothing else
    names = rep.locator(".tg-table tbody tr td.tg-first").all_inner_texts()
    assert names == sorted(names) and len(names) <= 20
    rep.goto(f"{base_url}/apps/crm/lead/board")
    expect(rep.locator("#tg-board")).to_have_attribute("data-field", "status")  # the shared board's lanes
    admin.goto(f"{base_url}{PAGE}")  # the page shows what is stored
    expect(admin.locator("#bl-lanes")).to_have_value("status")
    rep.context.close()
    admin.context.close()


def test_list_settings_fit_a_phone(browser, base_url):
    admin = sign_in(browser, base_url, ADMIN[0], "en", 375, password=ADMIN[1])
    admin.goto(f"{base_url}{PAGE}")
    admin.wait_for_selector("#tg-list-defaults[data-ready]")
    assert admin.evaluate("document.documentElement.scrollWidth") <= 375
    admin.context.close()
