"""The chart and dashboard designers in a real browser, as an administrator in zh-CN who writes no JSON (issue
16): build "opportunity amount by stage" by clicking fields into dimensions and measures, switch to a pie and
back, add a filter and watch the live preview change, save; lay it out on a new dashboard with a shipped KPI,
resize and reorder, save; the end user's dashboard draws both tiles. The preview runs in the viewer's own
scope (a sales rep's numbers differ from the administrator's), the designer fits a phone, and the CRM's charts
and dashboards (D1-D8) open and save back unchanged."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.server import ADMIN

APP = "crm"
CHART = "amount_by_stage"
BOARD = "e2e_pipeline"
REP = "demo.rep1@example.com"
STORED = ("version", "updated_at")


def _csrf(page) -> str:
    return page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']")


def _get(page, base_url: str, path: str) -> dict:
    r = page.request.get(f"{base_url}/api/v1/meta/apps/{APP}/{path}")
    assert r.ok, r.text()
    return r.json()


def _preview(page) -> str:
    """The drawn preview's data once it settled (the chart API's result the tile was drawn from)."""
    page.wait_for_selector("[data-preview][data-state=ok] [data-echart][data-ready]")
    return page.locator("[data-preview] [data-echart]").get_attribute("data-result")


def _query_total(page, base_url: str, chart: dict) -> float:
    r = page.request.post(f"{base_url}/api/v1/apps/{APP}/query", data=json.dumps({"chart": chart}),
                          headers={"Content-Type": "application/json", "X-CSRF-Token": _csrf(page)})  # fmt: skip
    assert r.ok, r.text()
    return sum(v or 0 for s in r.json()["data"]["series"] for v in s["data"])


def test_a_builder_clicks_a_chart_and_a_dashboard_together_d1(browser, base_url):
    page = sign_in(browser, base_url, ADMIN[0], "zh-CN", 1280, password=ADMIN[1])
    page.goto(f"{base_url}/build/apps/{APP}/charts")
    page.click("[data-new-chart]")
    page.wait_for_selector("#tg-chart-designer[data-ready]")

    # amount (sum) by stage, from the opportunities
    page.select_option("[data-source]", "opportunity")
    page.click("[data-add-dim=stage]")
    page.click("[data-add-measure=amount]")
    expect(page.locator("[data-measure='0'] [data-agg]")).to_have_value("sum")
    first = _preview(page)
    assert "series" in json.loads(first)["data"]

    # a pie, then columns again: the preview follows the type
    page.click("[data-type=pie]")
    page.wait_for_selector("[data-preview][data-state=ok] [data-echart][data-type=pie][data-ready]")
    page.click("[data-type=column]")
    page.wait_for_selector("[data-preview][data-state=ok] [data-echart][data-type=column][data-ready]")

    # a filter (the shared condition builder): stage is not "won" - the preview changes
    host = page.locator("[data-filter-host]")
    host.get_by_role("button", name="添加条件").click()
    host.locator(".tg-filter-row select").first.select_option("stage")
    host.locator(".tg-filter-row select").nth(1).select_option("ne")
    host.locator(".tg-filter-row select").nth(2).select_option("won")
    expect(page.locator("[data-preview] [data-echart]")).not_to_have_attribute("data-result", first)
    filtered = _preview(page)
    assert json.loads(filtered)["data"]["categories"] != json.loads(first)["data"]["categories"]

    page.fill("[data-label='zh-CN']", "商机金额按阶段")
    page.fill("[data-label=en]", "Amount by stage")
    page.fill("[data-key]", CHART)
    page.click("[data-save]")
    page.wait_for_selector("#tg-chart-designer[data-saved]")
    saved = _get(page, base_url, f"charts/{CHART}")
    assert saved["type"] == "column" and saved["filter"] == {"all": [{"field": "stage", "op": "ne", "value": "won"}]}
    assert (saved["measures"][0]["agg"], saved["measures"][0]["field"]) == ("sum", "amount")

    # a new dashboard: that chart and a shipped KPI; the chart full width, then moved after the KPI
    page.goto(f"{base_url}/build/apps/{APP}/charts")
    page.click("[data-new-dashboard]")
    page.wait_for_selector("#tg-dashboard-designer[data-ready]")
    page.fill("[data-label='zh-CN']", "商机看板")
    page.fill("[data-key]", BOARD)
    for chart in (CHART, "d7_pipeline_kpi"):
        page.select_option("[data-chart-choice]", chart)
        page.click("[data-add-tile]")
    page.locator("[data-tile='0'] [data-width]").select_option("24")
    page.locator("[data-tile='0']").get_by_role("button", name="右移").click()
    expect(page.locator("[data-tile='1']")).to_have_attribute("data-chart", CHART)
    page.wait_for_selector("[data-tile='1'] .tg-tile-body[data-state=ok]")
    page.click("[data-save]")
    page.wait_for_selector("#tg-dashboard-designer[data-saved]")
    tiles = _get(page, base_url, f"dashboards/{BOARD}")["tiles"]
    assert [(t["chart"], t["w"], t["x"], t["y"]) for t in tiles] == [("d7_pipeline_kpi", 12, 0, 0), (CHART, 24, 0, 6)]

    # the end user's dashboard draws both
    page.goto(f"{base_url}/apps/{APP}/dashboards/{BOARD}")
    expect(page.locator(f".tg-tile[data-chart={CHART}] [data-echart][data-ready]")).to_be_visible()
    expect(page.locator(".tg-tile[data-chart=d7_pipeline_kpi] .tg-kpi")).to_be_visible()

    # the preview is the viewer's: a sales rep's total is their own records' only
    chart = {k: v for k, v in saved.items() if k not in ("id", "app", *STORED)}
    everyone = _query_total(page, base_url, chart)
    rep = sign_in(browser, base_url, REP, "zh-CN", 1280)
    own = _query_total(rep, base_url, chart)
    assert 0 <= own < everyone
    rep.context.close()

    # on a phone the designer fits the screen and still previews
    phone = sign_in(browser, base_url, ADMIN[0], "zh-CN", 375, password=ADMIN[1])
    phone.goto(f"{base_url}/build/apps/{APP}/charts/{CHART}")
    _preview(phone)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    phone.context.close()
    page.context.close()


def test_the_crm_charts_and_dashboards_save_back_unchanged_d1_d8(browser, base_url):
    page = sign_in(browser, base_url, ADMIN[0], "en", 1280, password=ADMIN[1])
    items = [("charts", c["key"], "#tg-chart-designer") for c in _get(page, base_url, "charts")["items"]]
    items += [("dashboards", d["key"], "#tg-dashboard-designer") for d in _get(page, base_url, "dashboards")["items"]]
    assert len(items) >= 24
    for kind, key, root in items:
        before = _get(page, base_url, f"{kind}/{key}")
        page.goto(f"{base_url}/build/apps/{APP}/{kind}/{key}")
        page.wait_for_selector(f"{root}[data-ready]")
        page.click("[data-save]")
        page.wait_for_selector(f"{root}[data-saved], [data-banner]:not([hidden])")
        after = _get(page, base_url, f"{kind}/{key}")
        assert after["version"] == before["version"] + 1, (key, page.locator("[data-banner]").inner_text())
        strip = lambda d: json.dumps({k: v for k, v in d.items() if k not in STORED})  # noqa: E731
        assert strip(after) == strip(before), key
    page.context.close()
