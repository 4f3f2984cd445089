"""The list's tools in a real browser: the filter builder writes the condition language (operators by
field type, groups, relative dates), the column chooser, saved views (personal and shared with a role),
bulk delete and assign, and export of exactly what is shown. Every count is checked against the API."""

from __future__ import annotations

import csv
import io
import json
import re
from urllib.parse import quote

from tests.e2e.conftest import sign_in
from tests.e2e.server import ADMIN

REP = "demo.rep1@example.com"
REP2 = "demo.rep2@example.com"
MANAGER = "demo.manager.east@example.com"


def _open(page, url: str) -> None:
    """Go to a list and wait until its tools are wired (the page's modules load after the HTML)."""
    page.goto(url)
    page.wait_for_selector("#tg-list-tools[data-ready]")


def _total(page) -> int:
    return int(re.sub(r"[^\d]", "", page.locator(".tg-pager span").first.inner_text().split("·")[0]))


def _api_total(page, base_url: str, entity: str, condition: dict | None = None) -> int:
    url = f"{base_url}/api/v1/apps/crm/{entity}?count=true&limit=1"
    if condition:
        url += "&filter=" + quote(json.dumps(condition))
    return page.request.get(url).json()["total"]


def _csrf(page) -> str:
    return page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']")


def test_the_filter_builder_offers_operators_by_type_and_filters_in_scope(browser, base_url):
    page = sign_in(browser, base_url, MANAGER)
    _open(page, f"{base_url}/apps/crm/opportunity")
    page.click("[data-open=tg-filter-dialog]")
    page.click("text=添加条件")
    row = page.locator(".tg-filter-row").first
    row.locator("select").nth(0).select_option("stage")
    row = page.locator(".tg-filter-row").first
    ops = row.locator("select").nth(1).locator("option").all_inner_texts()
    assert "包含" not in ops and "属于" in ops  # a select field: no text matching
    row.locator("select").nth(1).select_option("in")
    row = page.locator(".tg-filter-row").first
    row.locator("label", has_text="赢单").click()
    row.locator("label", has_text="商务谈判").click()
    page.click("[data-filter-apply]")
    page.wait_for_url(re.compile(r"filter="))
    expected = {"all": [{"field": "stage", "op": "in", "value": ["won", "negotiation"]}]}
    assert _total(page) == _api_total(page, base_url, "opportunity", expected) > 0
    stages = set(page.locator("td[data-label=销售阶段]").all_inner_texts())
    assert stages <= {"赢单", "商务谈判"}
    page.context.close()


def test_relative_dates_and_any_of_groups(browser, base_url):
    page = sign_in(browser, base_url, MANAGER)
    _open(page, f"{base_url}/apps/crm/opportunity")
    page.click("[data-open=tg-filter-dialog]")
    page.click("text=添加分组")
    group = page.locator(".tg-filter-group.nested")
    group.locator(".tg-filter-row select").nth(0).select_option("updated_at")
    group.locator(".tg-filter-row select").nth(1).select_option("within_last")
    group = page.locator(".tg-filter-group.nested")
    group.locator(".tg-filter-row input[type=number]").fill("30")
    page.click("[data-filter-apply]")
    page.wait_for_url(re.compile(r"filter="))
    expected = {"all": [{"any": [{"field": "updated_at", "op": "within_last", "value": {"amount": 30, "unit": "days"}}]}]}
    assert _total(page) == _api_total(page, base_url, "opportunity", expected)
    page.context.close()


def test_the_column_chooser_shows_and_orders_columns_and_a_personal_view_keeps_them(browser, base_url):
    page = sign_in(browser, base_url, REP)
    _open(page, f"{base_url}/apps/crm/lead")
    page.click("[data-open=tg-columns-dialog]")
    dialog = page.locator("#tg-columns-dialog")
    for key in ("phone", "email", "region"):
        dialog.locator(f"li[data-column={key}] input").uncheck()
    dialog.locator("li[data-column=score] input").check()
    dialog.locator("li[data-column=score] [data-move='-1']").click()  # keyboard alternative to drag
    page.click("[data-columns-apply]")
    page.wait_for_url(re.compile(r"columns="))
    headers = [h.strip() for h in page.locator(".tg-table thead th").all_inner_texts()][1:]
    assert "电话" not in headers and "线索评分" in headers
    page.click("[data-open=tg-view-dialog]")
    page.fill("#tg-view-name", "我的 <b>评分</b> 视图")
    page.click("[data-view-save]")
    page.wait_for_url(re.compile(r"view=\d+"))
    assert [h.strip() for h in page.locator(".tg-table thead th").all_inner_texts()][1:] == headers
    assert "我的 <b>评分</b> 视图" in page.locator(".tg-page-head").inner_text()  # shown as text
    other = sign_in(browser, base_url, REP2)
    views = other.request.get(f"{base_url}/api/v1/apps/crm/lead/views").json()["items"]
    names = [json.dumps(v["name"], ensure_ascii=False) for v in views]
    assert not any("评分" in n for n in names)  # personal: another rep does not see it
    page.context.close()
    other.context.close()


def test_whoever_manages_the_entity_shares_a_view_with_the_sales_rep_role(browser, base_url):
    page = sign_in(browser, base_url, ADMIN[0], password=ADMIN[1])  # in the CRM, crm_admin manages entities
    _open(page, f"{base_url}/apps/crm/opportunity")
    page.click("[data-open=tg-view-dialog]")
    page.fill("#tg-view-name", "团队重点商机")
    page.select_option("#tg-view-share", "crm_sales_rep")
    page.click("[data-view-save]")
    page.wait_for_url(re.compile(r"view=\d+"))
    rep = sign_in(browser, base_url, REP)
    _open(rep, f"{base_url}/apps/crm/opportunity")
    assert "团队重点商机" in rep.locator(".tg-page-head .tg-menu-panel").text_content()
    page.context.close()
    rep.context.close()


def test_bulk_delete_and_assign_owner_then_restore_from_the_recycle_bin(browser, base_url):
    page = sign_in(browser, base_url, MANAGER)
    _open(page, f"{base_url}/apps/crm/lead")
    before = _total(page)
    boxes = page.locator("[data-select]")
    ids = [int(boxes.nth(i).get_attribute("data-select")) for i in range(2)]
    boxes.nth(0).check()
    boxes.nth(1).check()
    assert page.locator("#tg-bulkbar").is_visible()
    page.once("dialog", lambda d: d.accept())
    page.click("[data-bulk=delete]")
    page.locator(f"[data-select='{ids[0]}']").wait_for(state="detached")
    assert _total(page) == before - 2
    page.goto(f"{base_url}/apps/crm/lead/trash")
    page.wait_for_selector("[data-restore][data-ready]")
    page.locator(f"[data-restore$='/{ids[0]}/restore']").click()
    page.locator(f"[data-restore$='/{ids[0]}/restore']").wait_for(state="detached")
    assert page.request.get(f"{base_url}/api/v1/apps/crm/lead/{ids[0]}").status == 200
    _open(page, f"{base_url}/apps/crm/lead")
    page.locator("[data-select]").nth(0).check()
    chosen = int(page.locator("[data-select]").nth(0).get_attribute("data-select"))
    page.click("[data-open=tg-assign-dialog]")
    page.fill("#f-owner", "demo.manager.east")  # himself: the record stays in his scope
    page.locator("#f-owner-list li", has_text="demo.manager.east").click()
    with page.expect_navigation():  # the list reloads once the bulk update is saved
        page.click("[data-assign-save]")
    me = page.request.get(f"{base_url}/api/v1/auth/me").json()["user_id"]
    assert page.request.get(f"{base_url}/api/v1/apps/crm/lead/{chosen}").json()["owner"] == me
    page.context.close()


def test_export_downloads_exactly_what_is_shown(browser, base_url):
    page = sign_in(browser, base_url, MANAGER)
    condition = {"field": "stage", "op": "eq", "value": "won"}
    _open(page, f"{base_url}/apps/crm/opportunity?columns=name,stage,amount&filter=" + quote(json.dumps(condition)))
    shown = _total(page)
    page.locator(".tg-toolbar .tg-menu summary").click()
    with page.expect_download() as info:
        page.click("[data-export=csv]")
    with open(info.value.path(), encoding="utf-8-sig") as f:
        rows = list(csv.reader(io.StringIO(f.read())))
    assert len(rows) - 1 == shown > 0
    assert len(rows[0]) == 3  # the three columns shown, nothing else
    page.context.close()
