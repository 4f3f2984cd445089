"""Dashboards in a real browser (SCENARIOS D1-D7, D6 drill-down, X2 scope): every tile shows what the API
returns for the rep, the manager and the director; a slice drills to the list of exactly its records; a
failing tile shows its error while the others draw, at 375 px; bad tile requests are 4xx answers."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

REP = "demo.rep1@example.com"
MANAGER = "demo.manager.east@example.com"
DIRECTOR = "demo.director@example.com"
IN_PAGE_POST = """async (url) => {  // the API's answer in the page's language, with the page's session
  const token = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"];
  const headers = {"Content-Type": "application/json", "X-CSRF-Token": token};
  const body = JSON.stringify({locale: document.documentElement.lang});
  const r = await fetch(url, {method: "POST", headers, body});
  return await r.json();
}"""


def _open(page, base_url: str, key: str) -> None:
    """The dashboard with every tile loaded and every chart drawn (generous waits, no sleeps)."""
    page.goto(f"{base_url}/apps/crm/dashboards/{key}")
    expect(page.locator(".tg-tile-loading")).to_have_count(0, timeout=60_000)
    expect(page.locator("[data-echart]:not([data-ready])")).to_have_count(0, timeout=60_000)


def _numbers(values) -> list[float | None]:
    return [None if v in (None, "None") else round(float(v), 2) for v in values]


def _api_numbers(result: dict) -> list[float | None]:
    """The numbers a server-drawn tile shows, in the API's order."""
    data = result["data"]
    if result["type"] == "kpi":
        return _numbers([data["value"]])
    if result["type"] == "leaderboard":
        return _numbers([row["values"][m["key"]] for row in data["rows"] for m in data["measures"]])
    if result["type"] == "table":
        numeric = [i for i, col in enumerate(data["columns"]) if "format" in col]
        return _numbers([row[i] for row in data["rows"] for i in numeric])
    cells = data["cells"][data["measures"][0]["key"]]  # pivot
    return _numbers([v for row in cells for v in row])


def _tiles_match_the_api(page, base_url: str, key: str) -> int:
    _open(page, base_url, key)
    api = page.evaluate(IN_PAGE_POST, f"/api/v1/apps/crm/dashboards/{key}/data")
    tiles = page.locator(".tg-tile")
    assert tiles.count() == len(api["tiles"]) > 0
    assert page.locator("[data-tile-error]").count() == sum("error" in t for t in api["tiles"])
    for i, tile in enumerate(api["tiles"]):
        if "error" in tile:
            continue
        body, result = tiles.nth(i), tile["result"]
        chart = body.locator("[data-echart]")
        if chart.count():
            assert json.loads(chart.get_attribute("data-result")) == result, tile["chart"]
        else:
            shown = _numbers(body.locator("[data-value]").evaluate_all("els => els.map(e => e.dataset.value)"))
            assert shown == _api_numbers(result), tile["chart"]
    return len(api["tiles"])


def test_every_tile_shows_the_apis_numbers_for_the_rep_the_manager_and_the_director(browser, base_url):
    for who, key in ((REP, "sales_manager"), (MANAGER, "sales_manager"), (DIRECTOR, "ceo_cockpit")):
        page = sign_in(browser, base_url, who)
        assert _tiles_match_the_api(page, base_url, key) >= 8, who
        page.context.close()
    page = sign_in(browser, base_url, DIRECTOR, locale="en")
    _open(page, base_url, "ceo_cockpit")
    assert page.locator("#tg-f-relative option:checked").inner_text() == "This year"  # a label, not this_year
    page.select_option("#tg-f-relative", "this_quarter")
    expect(page.locator(".tg-tile-loading")).to_have_count(0, timeout=60_000)
    page.context.close()


def test_a_slice_drills_to_the_list_of_exactly_its_records(browser, base_url):
    page = sign_in(browser, base_url, DIRECTOR)
    _open(page, base_url, "service")
    donut = page.locator('[data-echart][data-chart="d3_tickets_by_type"]')
    first = json.loads(donut.get_attribute("data-result"))["data"][0]
    assert first["key"] is not None and first["value"] > 0
    # The middle of the first slice, from the layout ECharts computed.
    x, y = donut.evaluate("""el => {
      const l = el.chart.getModel().getSeriesByIndex(0).getData().getItemLayout(0);
      const a = (l.startAngle + l.endAngle) / 2, r = (l.r + l.r0) / 2;
      return [l.cx + r * Math.cos(a), l.cy + r * Math.sin(a)];
    }""")
    box = donut.bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_url(re.compile(r"/apps/crm/ticket\?filter="), timeout=30_000)
    pager = page.locator(".tg-pager span").first.inner_text()
    assert int(re.sub(r"\D", "", pager.split("·")[0])) == first["value"]


def test_a_failing_tile_shows_its_error_while_the_others_draw_at_375(browser, base_url):
    page = sign_in(browser, base_url, DIRECTOR, width=375)
    page.route(re.compile(r"/tiles/1(\?|$)"), lambda route: route.fulfill(status=500, body="boom"))
    _open(page, base_url, "ceo_cockpit")
    errors = page.locator("[data-tile-error]")
    expect(errors).to_have_count(1)
    assert errors.inner_text() == "此图表无法加载"
    assert page.locator(".tg-tile").nth(1).locator("[data-tile-error]").count() == 1
    assert page.locator("[data-kpi]").count() == 3 and page.locator("[data-echart][data-ready]").count() >= 4
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_bad_tile_requests_are_4xx_answers_that_echo_nothing(browser, base_url):
    """The tile route is a page route: a bad request answers the web app's error page (4xx), never a 500,
    never a tile drawn with filters it did not understand, never the hostile text unescaped."""
    page = sign_in(browser, base_url, MANAGER)
    tile = f"{base_url}/apps/crm/dashboards/sales_manager/tiles"
    for url, status in (
        (f"{tile}/99", 404),
        (f"{tile}/-1", 404),
        (f"{tile}/x", 422),
        (f"{tile}/0?relative=someday", 422),
        (f"{tile}/0?owner=99999999999999999999999", 422),
        (f"{tile}/0?owner=%EF%BC%91", 422),  # a full-width digit is no id
        (f"{tile}/0?team=%3Cscript%3Ealert(1)%3C/script%3E", 422),
        (f"{tile}/0?relative={'x' * 65}", 422),
        (f"{base_url}/apps/crm/dashboards/%3Cscript%3E/tiles/0", 404),
    ):
        r = page.request.get(url)
        assert r.status == status, (url, r.status, r.text()[:200])
        assert "<script>" not in r.text() and "data-echart" not in r.text(), url
    r = page.request.get(f"{tile}/0?owner=&team=&relative=")
    assert r.status == 200 and "data-tile-error" not in r.text()
