"""The reports REST API: charts and dashboards (CRUD with versions, checked whole, rights), their data for
viewers (a chart, a dashboard with a tile the viewer may not read, an unsaved chart, drill-down), the SQL
for administrators, and CSV/XLSX exports defused against formula injection; on each database.

A small sales app: deals (stage select, amount, region text) and expenses. The administrator owns five
deals; the rep (built-in member role: own records only) owns one. The viewer may read every deal and no
expense; the builder may also manage deals (not expenses).
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import openpyxl
import pytest
from sqlalchemy import func, select

from engine.api.app import create_app
from engine.api.context import Context
from engine.reports.definition import ChartDefinition
from engine.reports.dialect import ReportTimeout
from engine.reports.tables import charts, dashboards
from tests.people import errors, make_user

APP = "sales"
META = f"/api/v1/meta/apps/{APP}"
DATA = f"/api/v1/apps/{APP}"
DEAL = {
    "key": "deal", "label": {"en": "Deal"}, "display_field": "name",
    "fields": [
        {"key": "name", "type": "text", "required": True},
        {"key": "stage", "type": "select", "options": [
            {"key": "lead", "label": {"en": "Lead", "zh-CN": "线索"}}, {"key": "qualified", "label": {"en": "Qualified"}},
            {"key": "won", "label": {"en": "Won", "zh-CN": "赢单"}}, {"key": "lost", "label": {"en": "Lost"}}]},
        {"key": "amount", "type": "decimal", "precision": 12, "scale": 2},
        {"key": "region", "type": "text"},
    ],
}  # fmt: skip
EXPENSE = {
    "key": "expense", "label": {"en": "Expense"},
    "fields": [{"key": "name", "type": "text"}, {"key": "cost", "type": "decimal", "precision": 12, "scale": 2}],
}  # fmt: skip
INJECTED = '=HYPERLINK("http://evil.example","click")'
ADMIN_DEALS = [
    ("A", "lead", "100", "east"), ("B", "lead", "200.5", "west"), ("C", "won", "1000", "east"),
    ("D", "lost", "50", INJECTED), ("F", "qualified", "75", "west"),
]  # fmt: skip
BY_STAGE = {
    "key": "by_stage", "type": "bar", "source": "deal", "label": {"en": "Deals by stage"},
    "dimensions": [{"field": "stage", "label": {"en": "Stage"}}],
    "measures": [{"key": "deals", "agg": "count", "label": {"en": "Deals"}},
                 {"key": "amount", "agg": "sum", "field": "amount", "label": {"en": "Amount"}}],
}  # fmt: skip
BY_REGION = {
    "key": "by_region", "type": "table", "source": "deal",
    "dimensions": [{"field": "region", "label": {"en": "Region"}}],
    "measures": [{"key": "deals", "agg": "count", "label": {"en": "Deals"}},
                 {"key": "amount", "agg": "sum", "field": "amount", "label": {"en": "Amount"}}],
    "sort": [{"by": "deals", "dir": "desc"}],
}  # fmt: skip
SPEND = {"key": "spend", "type": "kpi", "source": "expense", "measures": [{"key": "total", "agg": "sum", "field": "cost"}]}
OVERVIEW = {
    "key": "overview",
    "label": {"en": "Overview"},
    "tiles": [{"chart": "by_stage", "x": 0, "y": 0, "w": 8, "h": 4}, {"chart": "spend", "x": 8, "y": 0, "w": 4, "h": 2}],
}
ROLES = [
    {"key": "deal_viewer", "label": {"en": "Deal viewer"}, "grants": [{"entity": "sales.deal", "read": "all", "export": "all"}]},
    {"key": "deal_builder", "label": {"en": "Deal builder"}, "grants": [{"entity": "sales.deal", "read": "all", "manage": True}]},
]


class Sales:
    """The app, its records, and one API client per person."""

    def __init__(self, ctx: Context, clients: dict[str, httpx.AsyncClient], users: dict[str, int]) -> None:
        self.ctx, self.clients, self.users = ctx, clients, users

    def __getitem__(self, who: str) -> httpx.AsyncClient:
        return self.clients[who]

    async def save(self, kind: str, doc: dict[str, Any], who: str = "admin") -> dict[str, Any]:
        r = await self[who].post(f"{META}/{kind}", json=doc)
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    async def run_directly(self, who: str, doc: dict[str, Any]) -> dict[str, Any]:
        """The engine's own answer for the person, called without the API."""
        async with self.ctx.db.read() as conn:
            access = await self.ctx.auth.actor_for_user(conn, self.users[who])
            assert access is not None
            return await self.ctx.reports.run(conn, APP, ChartDefinition.model_validate(doc), access, None)


@pytest.fixture
async def sales(ctx: Context, client: httpx.AsyncClient, admin: dict[str, Any]) -> AsyncIterator[Sales]:
    assert (await client.post("/api/v1/meta/apps", json={"key": APP, "label": {"en": "Sales"}})).status_code == 201
    for entity in (DEAL, EXPENSE):
        r = await client.post(f"{META}/entities", json=entity)
        assert r.status_code == 201, r.text
    for role in ROLES:
        assert (await client.post("/api/v1/admin/roles", json=role)).status_code == 201
    for name, stage, amount, region in ADMIN_DEALS:
        r = await client.post(f"{DATA}/deal", json={"name": name, "stage": stage, "amount": amount, "region": region})
        assert r.status_code == 201, r.text
    assert (await client.post(f"{DATA}/expense", json={"name": "Booth", "cost": "1200"})).status_code == 201
    users, clients = {"admin": int(admin["id"])}, {"admin": client}
    app = create_app(ctx.settings, ctx)
    async with AsyncExitStack() as stack:
        for who, role in (("rep", "member"), ("viewer", "deal_viewer"), ("builder", "deal_builder")):
            users[who], headers = await make_user(ctx, f"{who}@example.com", role)
            transport = httpx.ASGITransport(app=app)
            http = httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers)
            clients[who] = await stack.enter_async_context(http)
        r = await clients["rep"].post(f"{DATA}/deal", json={"name": "E", "stage": "won", "amount": "300", "region": "east"})
        assert r.status_code == 201, r.text
        yield Sales(ctx, clients, users)


async def _count(ctx: Context, table: Any) -> int:
    async with ctx.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


# -- definitions ---------------------------------------------------------------------------------
async def test_chart_crud_with_versions(sales: Sales) -> None:
    http = sales["admin"]
    r = await http.post(f"{META}/charts", json=BY_STAGE)
    assert r.status_code == 201, r.text
    assert r.headers["etag"] == '"1"' and r.json()["version"] == 1 and r.json()["app"] == APP
    assert r.json()["measures"][1] == {"key": "amount", "agg": "sum", "field": "amount", "label": {"en": "Amount"}}
    assert [c["key"] for c in (await http.get(f"{META}/charts")).json()["items"]] == ["by_stage"]
    r = await http.get(f"{META}/charts/by_stage")
    assert r.status_code == 200 and r.headers["etag"] == '"1"' and r.json()["type"] == "bar"

    relabelled = BY_STAGE | {"label": {"en": "Pipeline"}}
    r = await http.put(f"{META}/charts/by_stage", json=relabelled, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"2"' and r.json()["label"] == {"en": "Pipeline"}
    stale = await http.put(f"{META}/charts/by_stage", json=BY_STAGE, headers={"If-Match": '"1"'})
    assert stale.status_code == 409 and stale.json()["current_version"] == 2
    assert (await http.get(f"{META}/charts/by_stage")).json()["label"] == {"en": "Pipeline"}  # the stale write lost
    renamed = await http.put(f"{META}/charts/by_stage", json=BY_STAGE | {"key": "other"})
    assert renamed.status_code == 409 and "cannot change" in renamed.json()["detail"]

    assert (await http.post(f"{META}/charts", json=BY_STAGE)).status_code == 409  # the key is taken
    assert (await http.delete(f"{META}/charts/by_stage")).status_code == 204
    assert (await http.get(f"{META}/charts/by_stage")).status_code == 404
    assert await _count(sales.ctx, charts) == 0


async def test_dashboard_crud_checks_its_tiles_and_versions(sales: Sales) -> None:
    http = sales["admin"]
    await sales.save("charts", BY_STAGE)
    r = await http.post(f"{META}/dashboards", json=OVERVIEW)
    assert r.status_code == 422 and errors(r) == [("/tiles/1/chart", "unknown_chart")]
    bad = {"key": "overview", "tiles": [{"chart": "by_stage", "w": 0}], "filters": {"relative": "someday"}}
    assert errors(await http.post(f"{META}/dashboards", json=bad)) == [
        ("/filters/relative", "literal_error"), ("/tiles/0/w", "greater_than_equal")
    ]  # fmt: skip
    await sales.save("charts", SPEND)
    r = await http.post(f"{META}/dashboards", json=OVERVIEW)
    assert r.status_code == 201 and r.headers["etag"] == '"1"' and r.json()["tiles"][1]["chart"] == "spend"
    assert [d["key"] for d in (await http.get(f"{META}/dashboards")).json()["items"]] == ["overview"]

    one_tile = OVERVIEW | {"tiles": OVERVIEW["tiles"][:1]}
    r = await http.put(f"{META}/dashboards/overview", json=one_tile, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.headers["etag"] == '"2"' and len(r.json()["tiles"]) == 1
    stale = await http.put(f"{META}/dashboards/overview", json=OVERVIEW, headers={"If-Match": '"1"'})
    assert stale.status_code == 409

    refused = await http.delete(f"{META}/charts/by_stage")  # the dashboard shows it
    assert refused.status_code == 409 and refused.json()["dashboards"] == ["overview"]
    assert (await http.delete(f"{META}/charts/spend")).status_code == 204  # no longer on it
    assert (await http.delete(f"{META}/dashboards/overview")).status_code == 204
    assert (await http.delete(f"{META}/charts/by_stage")).status_code == 204
    assert await _count(sales.ctx, dashboards) == 0 and await _count(sales.ctx, charts) == 0


async def test_invalid_charts_list_every_problem_with_its_path(sales: Sales) -> None:
    broken = BY_STAGE | {
        "measures": [{"key": "deals", "agg": "sum"}, {"key": "amount", "agg": "count", "field": "amount"}],
        "limit": 0,
    }
    r = await sales["admin"].post(f"{META}/charts", json=broken)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert errors(r) == [("/limit", "greater_than_equal"), ("/measures/0", "value_error")]
    r = await sales["admin"].post(f"{META}/charts", json=BY_STAGE | {"dimensions": [{"field": "nope"}]})
    assert r.status_code == 422 and [p for p, _ in errors(r)] == ["/dimensions/0/field"]
    assert await _count(sales.ctx, charts) == 0


async def test_only_managers_of_the_sources_change_reports(sales: Sales) -> None:
    await sales.save("charts", BY_STAGE)
    await sales.save("charts", SPEND)
    await sales.save("dashboards", OVERVIEW)
    viewer, builder = sales["viewer"], sales["builder"]
    mine = BY_REGION | {"key": "mine"}
    assert (await viewer.post(f"{META}/charts", json=mine)).status_code == 403
    assert (await viewer.put(f"{META}/charts/by_stage", json=BY_STAGE)).status_code == 403
    assert (await viewer.delete(f"{META}/charts/by_stage")).status_code == 403
    assert (await viewer.delete(f"{META}/dashboards/overview")).status_code == 403
    assert (await sales["rep"].post(f"{META}/charts", json=mine)).status_code == 403

    # The builder manages deals: deal charts yes, the expense chart and a dashboard showing it no.
    assert (await builder.post(f"{META}/charts", json=mine)).status_code == 201
    assert (await builder.put(f"{META}/charts/spend", json=SPEND)).status_code == 403
    assert (await builder.put(f"{META}/charts/mine", json=mine | {"source": "expense"})).status_code == 403
    assert (await builder.post(f"{META}/dashboards", json=OVERVIEW | {"key": "theirs"})).status_code == 403
    assert (await builder.delete(f"{META}/dashboards/overview")).status_code == 403
    deals_only = {"key": "deals_only", "tiles": [{"chart": "mine"}, {"chart": "by_stage"}]}
    assert (await builder.post(f"{META}/dashboards", json=deals_only)).status_code == 201
    assert await _count(sales.ctx, charts) == 3 and await _count(sales.ctx, dashboards) == 2

    # Definitions are listed to whoever may read their sources.
    assert [c["key"] for c in (await viewer.get(f"{META}/charts")).json()["items"]] == ["by_stage", "mine"]
    assert (await viewer.get(f"{META}/charts/spend")).status_code == 403
    assert [d["key"] for d in (await viewer.get(f"{META}/dashboards")).json()["items"]] == ["deals_only", "overview"]


# -- data ----------------------------------------------------------------------------------------
async def test_chart_data_is_the_engines_result_for_the_viewer(sales: Sales) -> None:
    await sales.save("charts", BY_STAGE)
    r = await sales["admin"].post(f"{DATA}/charts/by_stage/data")
    assert r.status_code == 200, r.text
    assert r.json() == json.loads(json.dumps(await sales.run_directly("admin", BY_STAGE), default=str))
    assert r.json()["data"] == {
        "categories": ["Lead", "Qualified", "Won", "Lost"],
        "keys": ["lead", "qualified", "won", "lost"],
        "series": [{"name": "Deals", "data": [2, 1, 2, 1]}, {"name": "Amount", "data": [300.5, 75, 1300, 50]}],
    }
    # The rep reads only their own deal; the body may carry filters and a locale.
    r = await sales["rep"].post(f"{DATA}/charts/by_stage/data", json={"locale": "zh-CN"})
    assert r.status_code == 200, r.text
    zh = {"categories": ["赢单"], "keys": ["won"], "series": [{"name": "Deals", "data": [1]}, {"name": "Amount", "data": [300]}]}
    assert r.json()["data"] == zh
    r = await sales["admin"].post(f"{DATA}/charts/by_stage/data", json={"filters": {"owners": [sales.users["rep"]]}})
    assert r.json()["data"]["categories"] == ["Won"] and r.json()["data"]["series"][0]["data"] == [1]

    r = await sales["admin"].post(f"{DATA}/charts/by_stage/data", json={"filters": {"relative": "someday"}})
    assert r.status_code == 422 and errors(r) == [("/filters/relative", "literal_error")]
    assert (await sales["admin"].post(f"{DATA}/charts/nope/data")).status_code == 404


async def test_dashboard_data_gives_a_forbidden_tile_its_error(sales: Sales) -> None:
    await sales.save("charts", BY_STAGE)
    await sales.save("charts", SPEND)
    await sales.save("dashboards", OVERVIEW | {"filters": {"owners": [sales.users["admin"]], "relative": "this_year"}})
    r = await sales["viewer"].post(f"{DATA}/dashboards/overview/data")
    assert r.status_code == 200, r.text
    stage_tile, spend_tile = r.json()["tiles"]
    assert {k: stage_tile[k] for k in ("chart", "x", "y", "w", "h")} == {"chart": "by_stage", "x": 0, "y": 0, "w": 8, "h": 4}
    assert stage_tile["result"]["data"]["series"][0]["data"] == [2, 1, 1, 1]  # the admin's deals, by the default filter
    assert "result" not in spend_tile and spend_tile["error"]["status"] == 403
    assert spend_tile["error"]["type"] == "/problems/forbidden"

    # The viewer's filters overlay the defaults: a date range given replaces the default one whole.
    body = {"filters": {"owners": [sales.users["rep"]], "date_from": "2000-01-01"}}
    r = await sales["viewer"].post(f"{DATA}/dashboards/overview/data", json=body)
    assert r.json()["filters"] == {
        "date_from": "2000-01-01", "date_to": None, "relative": None, "owners": [sales.users["rep"]], "teams": []
    }  # fmt: skip
    assert r.json()["tiles"][0]["result"]["data"]["categories"] == ["Won"]

    r = await sales["admin"].post(f"{DATA}/dashboards/overview/data")
    assert r.json()["tiles"][1]["result"] == json.loads(json.dumps(await sales.run_directly("admin", SPEND), default=str))


async def test_query_runs_an_unsaved_chart(sales: Sales) -> None:
    r = await sales["viewer"].post(f"{DATA}/query", json={"chart": BY_REGION})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["rows"] == [["east", 3, 1400], ["west", 2, 275.5], [INJECTED, 1, 50]]
    assert await _count(sales.ctx, charts) == 0  # nothing stored

    broken = BY_REGION | {"measures": [{"key": "x", "agg": "sum"}]}
    r = await sales["viewer"].post(f"{DATA}/query", json={"chart": broken})
    assert r.status_code == 422 and errors(r) == [("/chart/measures/0", "value_error")]
    r = await sales["viewer"].post(f"{DATA}/query", json={"chart": SPEND})
    assert r.status_code == 403
    r = await sales["viewer"].post(f"{DATA}/query", json={"filters": {}})
    assert r.status_code == 422 and errors(r) == [("/chart", "missing")]


async def test_sql_is_shown_to_administrators_only(sales: Sales) -> None:
    await sales.save("charts", BY_STAGE)
    r = await sales["admin"].get(f"{DATA}/charts/by_stage/sql")
    assert r.status_code == 200, r.text
    assert r.json()["dialect"] == sales.ctx.db.dialect
    assert "FROM sales__deal" in r.json()["sql"] and "count(*)" in r.json()["sql"]
    assert (await sales["rep"].get(f"{DATA}/charts/by_stage/sql")).status_code == 403
    assert (await sales["builder"].get(f"{DATA}/charts/by_stage/sql")).status_code == 403


async def test_drill_gives_the_records_api_filter_of_a_point(sales: Sales) -> None:
    await sales.save("charts", BY_STAGE)
    r = await sales["viewer"].post(f"{DATA}/charts/by_stage/drill", json={"point": {"stage": "lead"}})
    assert r.status_code == 200, r.text
    assert r.json() == {"entity": "deal", "filter": {"all": [{"field": "stage", "op": "eq", "value": "lead"}]}}
    listed = await sales["viewer"].get(f"{DATA}/deal", params={"filter": json.dumps(r.json()["filter"]), "sort": "name"})
    assert [d["name"] for d in listed.json()["items"]] == ["A", "B"]
    assert (await sales["viewer"].post(f"{DATA}/charts/by_stage/drill", json={})).status_code == 422


async def test_series_and_pie_keys_drill_to_exactly_the_records_counted(sales: Sales) -> None:
    """The raw keys beside the texts (a field added to the response) are what the drill API takes: each
    point's list holds as many records as the chart counted, for a select and a time bucket (D6)."""
    monthly = BY_STAGE | {"key": "monthly", "type": "line", "dimensions": [{"field": "created_at", "bucket": "month"}]}
    pie = BY_STAGE | {"key": "stage_pie", "type": "pie", "measures": BY_STAGE["measures"][:1]}
    for doc in (BY_STAGE, monthly, pie):
        await sales.save("charts", doc)
    for key in ("by_stage", "monthly", "stage_pie"):
        data = (await sales["viewer"].post(f"{DATA}/charts/{key}/data")).json()["data"]
        points = zip(data["keys"], data["series"][0]["data"], strict=True) if "keys" in data else (
            (s["key"], s["value"]) for s in data)  # fmt: skip
        name = "created_at" if key == "monthly" else "stage"
        for raw, counted in points:
            r = await sales["viewer"].post(f"{DATA}/charts/{key}/drill", json={"point": {name: raw}})
            assert r.status_code == 200, r.text
            listed = await sales["viewer"].get(f"{DATA}/deal", params={"filter": json.dumps(r.json()["filter"])})
            assert len(listed.json()["items"]) == counted, (key, raw)


# -- exports -------------------------------------------------------------------------------------
async def test_csv_export_is_excel_ready_and_defused(sales: Sales) -> None:
    await sales.save("charts", BY_REGION)
    r = await sales["viewer"].get(f"{DATA}/charts/by_region/export", params={"format": "csv"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="by_region.csv"'
    assert r.content.startswith(b"\xef\xbb\xbf")
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines == [
        "Region,Deals,Amount",
        "east,3,1400",
        "west,2,275.5",
        '"\'=HYPERLINK(""http://evil.example"",""click"")",1,50',
    ]
    assert (await sales["builder"].get(f"{DATA}/charts/by_region/export")).status_code == 403  # read, but no export right


async def test_xlsx_export_holds_the_same_cells_with_numbers_as_numbers(sales: Sales) -> None:
    await sales.save("charts", BY_REGION)
    r = await sales["viewer"].get(f"{DATA}/charts/by_region/export", params={"format": "xlsx"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert r.headers["content-disposition"] == 'attachment; filename="by_region.xlsx"'
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    assert sheet.title == "by_region"
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells == [["Region", "Deals", "Amount"], ["east", 3, 1400], ["west", 2, 275.5], ["'" + INJECTED, 1, 50]]
    assert [c.data_type for c in next(sheet.iter_rows(min_row=4))] == ["s", "n", "n"]  # text, never a formula
    bad = await sales["viewer"].get(f"{DATA}/charts/by_region/export", params={"format": "pdf"})
    assert bad.status_code == 422


async def test_a_report_past_its_time_limit_is_a_422_naming_the_limit(sales: Sales, monkeypatch: pytest.MonkeyPatch) -> None:
    await sales.save("charts", BY_STAGE)
    await sales.save("dashboards", {"key": "slow", "tiles": [{"chart": "by_stage"}]})

    async def too_slow(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise ReportTimeout(20)

    monkeypatch.setattr(sales.ctx.reports, "run", too_slow)
    r = await sales["admin"].post(f"{DATA}/charts/by_stage/data")
    assert r.status_code == 422 and r.json()["detail"] == "the report took longer than 20 s"
    assert errors(r) == [("", "timeout")]
    tile = (await sales["admin"].post(f"{DATA}/dashboards/slow/data")).json()["tiles"][0]
    assert tile["error"]["status"] == 422 and tile["error"]["detail"] == "the report took longer than 20 s"
