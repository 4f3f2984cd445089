"""X4 in the browser: a messy Excel workbook through the import wizard (second sheet, resembling headers, an
unmatched select value mapped, a dry run with two bad rows, a skip-bad-rows run to done, the error report)."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import Workbook, load_workbook
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.server import ADMIN

REP = "demo.rep1@example.com"
HEADER = ["客户姓名", "公司名称", "Budget (CNY)", "线索来源渠道", "邮箱"]
ROWS = [
    ["导入甲", "华东导入机械", "1,200", "官网", "import.a@example.com"],
    ["导入乙", "华南导入贸易", "abc", "朋友推荐", "import.b@example.com"],
    ["导入丙", "西部导入能源", "35000", "朋友推荐", "import.c@example.com"],
    ["导入丁", "北方导入物流", "12.3.4", "活动", "import.d@example.com"],
]
WAIT = 30_000


def workbook() -> bytes:
    book = Workbook()
    book.active.title = "说明"
    book.active.append(["请把线索填在第二页"])
    sheet = book.create_sheet("线索")
    for row in [HEADER, *ROWS]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def open_wizard(browser, base_url: str, width: int = 1280, who: tuple[str, str | None] = (REP, None)):
    page = sign_in(browser, base_url, who[0], "zh-CN", width, password=who[1])
    page.goto(f"{base_url}/apps/crm/lead")
    page.click("a[href='/apps/crm/lead/import']")
    page.wait_for_selector("#tg-import[data-ready]", timeout=WAIT)
    file = {"name": "线索导入.xlsx", "mimeType": "application/octet-stream", "buffer": workbook()}
    page.set_input_files("#imp-file", file)
    page.wait_for_selector("[data-sheet-box]:not([hidden])", timeout=WAIT)
    page.select_option("[data-sheet]", "线索")
    page.wait_for_selector("select[data-column='公司名称']", timeout=WAIT)
    return page


def test_x4_import_wizard_second_sheet_value_mapping_dry_run_and_run(browser, base_url, tmp_path: Path):
    page = open_wizard(browser, base_url)
    chosen = {c: page.input_value(f"select[data-column='{c}']") for c in HEADER}
    assert chosen == dict(zip(HEADER, ["name", "company", "budget", "source", "email"], strict=True))
    page.click("[data-action=values]")
    page.wait_for_selector("select[data-raw='朋友推荐']", timeout=WAIT)
    assert page.locator("[data-value-groups] select").count() == 1  # 官网 and 活动 are option labels already
    assert page.locator("[data-value-groups] [data-add-option]").count() == 0  # a rep may not change the form
    page.select_option("select[data-raw='朋友推荐']", "referral")

    page.click("[data-action=dry-run]")
    page.wait_for_selector("#tg-import[data-import-state='dry-done']", timeout=WAIT)
    rows = page.locator("[data-error-box] tbody tr")
    assert rows.count() == 2
    assert [rows.nth(i).locator("td").first.text_content() for i in range(2)] == ["3", "5"]
    assert "Budget (CNY)" in rows.nth(0).text_content() and "abc" in rows.nth(0).text_content()
    assert "2" in page.text_content("[data-summary]")

    page.click("[data-action=run]")
    page.wait_for_selector("#tg-import[data-import-state='done']", timeout=WAIT)
    assert page.eval_on_selector("[data-progress]", "p => p.value === p.max && p.max === 4")
    with page.expect_download(timeout=WAIT) as download:
        page.click("[data-report]")
    report = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    rows_in_report = [r for r in report.active.iter_rows(values_only=True)][1:]
    assert [(r[0], r[1]) for r in rows_in_report] == [(3, "Budget (CNY)"), (5, "Budget (CNY)")]

    found = page.request.get(f"{base_url}/api/v1/apps/crm/lead", params={"q": "导入", "limit": 50}).json()["items"]
    assert sorted((r["name"], r["source"]) for r in found) == [("导入丙", "referral"), ("导入甲", "website")]
    page.click("[data-open-list]")
    page.wait_for_selector("text=导入丙", timeout=WAIT)

    page.goto(f"{base_url}/apps/crm/lead/imports")
    history = page.locator("tr[data-import]")
    assert history.count() == 2 and "线索导入.xlsx" in history.first.text_content()
    page.context.close()


def test_x4_import_wizard_fits_a_phone(browser, base_url):
    page = open_wizard(browser, base_url, width=375)
    page.click("[data-action=values]")
    page.wait_for_selector("select[data-raw='朋友推荐']", timeout=WAIT)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.context.close()


def test_x4_a_value_no_option_matches_is_added_as_a_new_option_by_whoever_manages_the_form(browser, base_url):
    page = open_wizard(browser, base_url, who=ADMIN)
    page.click("[data-action=values]")
    page.wait_for_selector("select[data-raw='朋友推荐']", timeout=WAIT)
    page.select_option("select[data-raw='朋友推荐']", label="+ 添加为新选项")
    expect(page.locator("select[data-raw='朋友推荐']")).to_have_value("peng_you_tui_jian", timeout=WAIT)  # its key, in pinyin
    fields = page.request.get(f"{base_url}/api/v1/meta/apps/crm/entities/lead").json()["fields"]
    source = next(f for f in fields if f["key"] == "source")
    assert source["options"][-1] == {"key": "peng_you_tui_jian", "label": "朋友推荐"}
    page.click("[data-action=dry-run]")
    page.wait_for_selector("#tg-import[data-import-state='dry-done']", timeout=WAIT)
    page.click("[data-action=run]")
    page.wait_for_selector("#tg-import[data-import-state='done']", timeout=WAIT)
    found = page.request.get(f"{base_url}/api/v1/apps/crm/lead", params={"q": "导入丙", "limit": 50}).json()["items"]
    assert [r["source"] for r in found if r["name"] == "导入丙"][-1] == "peng_you_tui_jian"
    page.context.close()
