"""Day one of an implementer, end to end (issue 7's quality bar), on SQLite and PostgreSQL:

install the CRM package on an empty database -> generate the demo organisation and data -> a sales rep
imports a real XLSX file of leads with bad rows -> lead scoring (R5) and key-lead assignment (R1) run on
the imported rows -> a quote goes through the discount approval (P2) -> a complaint ticket runs into its
SLA escalation (P4 deadlines, R6) on an injected clock -> the dashboards show the numbers recomputed here
from the records themselves, each viewer within their own scope.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from openpyxl import Workbook
from sqlalchemy import select

from engine.api.app import create_app
from engine.api.context import Context
from engine.apps.demo import generate
from engine.auth.tables import teams, user_teams, users
from engine.core.clock import FrozenClock
from engine.jobs.worker import Worker
from tests.scenarios.crm_template_world import install

START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Shanghai
API = "/api/v1/apps/crm"
PEOPLE = {
    "rep1": "demo.rep1@example.com", "rep2": "demo.rep2@example.com", "rep4": "demo.rep4@example.com",
    "manager_east": "demo.manager.east@example.com", "manager_west": "demo.manager.west@example.com",
    "director": "demo.director@example.com",
    "engineer1": "demo.engineer1@example.com", "engineer2": "demo.engineer2@example.com",
}  # fmt: skip


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


class Day:
    """The installed CRM and one API client per demo user."""

    def __init__(self, ctx: Context, admin: httpx.AsyncClient) -> None:
        self.ctx, self.http, self.ids = ctx, {"admin": admin}, {}

    async def login(self, stack: AsyncExitStack) -> None:
        app = create_app(self.ctx.settings, self.ctx)
        for who, email in PEOPLE.items():
            async with self.ctx.db.write() as conn:
                self.ids[who] = (await conn.execute(select(users.c.id).where(users.c.email == email))).scalar_one()
                token, _ = await self.ctx.auth.create_token(conn, self.ids[who], "end to end")
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://test", headers={"Authorization": f"Bearer {token}"}
            )
            self.http[who] = await stack.enter_async_context(client)

    async def drain(self) -> None:
        await Worker(self.ctx.db, self.ctx.clock, self.ctx.job_handlers).run_until_idle()

    async def all(self, entity: str, who: str = "admin", **params: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        cursor = None
        while True:
            r = await self.http[who].get(
                f"{API}/{entity}", params={"limit": 1000, **params, **({"cursor": cursor} if cursor else {})}
            )
            assert r.status_code == 200, r.text
            found += r.json()["items"]
            cursor = r.json().get("next_cursor")
            if not cursor:
                return found

    async def tasks(self, who: str, entity: str | None = None, record_id: int | None = None) -> list[dict[str, Any]]:
        """`who`'s pending tasks, on one record when given (the demo leaves other approvals in flight)."""
        r = await self.http[who].get("/api/v1/me/tasks", params={"box": "pending", "limit": 200})
        assert r.status_code == 200, r.text
        items = list(r.json()["items"])
        return [t for t in items if record_id is None or (t["entity"], t["record_id"]) == (entity, record_id)]

    async def titles(self, who: str, record_id: int | None = None) -> list[str]:
        """Titles of `who`'s notifications, about one record when given."""
        r = await self.http[who].get("/api/v1/me/notifications", params={"limit": 100})
        assert r.status_code == 200, r.text
        return [n["title"] for n in r.json()["items"] if record_id is None or n.get("record_id") == record_id]


@pytest.fixture
async def day(ctx: Context, client: httpx.AsyncClient) -> AsyncIterator[Day]:
    world = Day(ctx, client)
    async with AsyncExitStack() as stack:
        report = await install(client)
        assert (report["mode"], report["version"], report["sample"]) == (
            "install",
            "1.0.0",
            {"product": 14, "knowledge_article": 11},
        )
        summary = await generate(ctx, "crm", accounts=60, seed=11)
        assert summary.warnings == [] and summary.counts["account"] == 60
        await world.login(stack)
        yield world


def leads_xlsx() -> bytes:
    """What a marketing assistant exports from Excel: Chinese headers, money with ¥ and separators,
    industry by its Chinese label, and three bad rows."""
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "公司", "职位", "行业", "预算", "邮箱", "员工人数"])
    sheet.append(["王强", "苏州精密机械有限公司", "采购总监", "制造业", "¥800,000", "wangqiang@example.com", 800])
    sheet.append(["李娜", "杭州云启科技有限公司", "工程师", "信息技术", "120,000", "lina@example.com", 60])
    sheet.append(["赵敏", "无锡重工集团", "设备经理", "制造业", "1,500,000", "zhaomin@example.com", 2000])
    sheet.append(["陈刚", "南京恒通贸易", "采购", "航天", "50000", "chengang@example.com", 30])  # unknown industry
    sheet.append(["Emma Stone", "Acme Trading Co., Ltd.", "Buyer", "零售", "lots", "emma@example.com", 12])  # budget
    sheet.append(["刘洋", "成都天府物流", "主管", "物流", "90000", "not-an-email", 45])  # email
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_imported_leads_are_scored_and_key_leads_go_to_key_account_team_a(day: Day) -> None:
    """X4 import (skip bad rows) by a sales rep, then R5 scoring and R1 round-robin on the rows written."""
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    files = {"file": ("线索导入.xlsx", leads_xlsx(), xlsx)}
    options = '{"mode": "skip_bad_rows"}'
    r = await day.http["rep2"].post(f"{API}/lead/imports", files=files, data={"options": options})
    assert r.status_code == 202, r.text
    status_url = r.headers["location"]
    await day.drain()
    status = (await day.http["rep2"].get(status_url)).json()
    assert (status["state"], status["counts"]) == (
        "done", {"total": 6, "processed": 6, "created": 3, "updated": 0, "failed": 3}
    )  # fmt: skip
    report = (await day.http["rep2"].get(f"{status_url}/errors", params={"format": "csv"})).content.decode("utf-8-sig")
    rows = [(int(r["row"]), r["column"], r["value"]) for r in csv.DictReader(io.StringIO(report))]
    assert rows == [(5, "行业", "航天"), (6, "预算", "lots"), (7, "邮箱", "not-an-email")]

    emails = ["wangqiang", "lina", "zhaomin", "chengang", "emma"]
    mine = json.dumps({"field": "email", "op": "in", "value": [f"{e}@example.com" for e in emails]})
    imported = {lead["email"].split("@")[0]: lead for lead in await day.all("lead", filter=mine)}
    assert sorted(imported) == ["lina", "wangqiang", "zhaomin"]
    wang, li, zhao = imported["wangqiang"], imported["lina"], imported["zhaomin"]
    # R5: a 总监/经理 title is worth 40, 500+ employees 30; R1: manufacturing with a budget over 500,000.
    assert [(x["score"], x["status"], x["key_lead"]) for x in (wang, li, zhao)] == [
        (70, "new", True),
        (0, "new", False),
        (70, "new", True),
    ]
    assert (wang["budget"], zhao["budget"]) == (800000, 1500000)
    key_team = {day.ids["rep1"], day.ids["rep4"]}  # Key Account Team A in the demo organisation
    assert {wang["owner"], zhao["owner"]} == key_team  # round robin: one each
    assert li["owner"] == day.ids["rep2"]  # not a key lead: stays with whoever imported it
    await day.drain()
    for who in ("rep1", "rep4"):
        assert sum(t.startswith("重点线索 / Key lead") for t in await day.titles(who)) == 1


async def test_a_15_percent_quote_on_a_demo_deal_goes_to_the_reps_own_manager(day: Day) -> None:
    """P2: above 10% the submitter's direct manager approves (Sales East's manager for rep1, not West's)."""
    open_deals = await day.all(
        "opportunity", "rep1", filter='{"field": "stage", "op": "in", "value": ["proposal", "negotiation"]}'
    )
    deal = open_deals[0]
    assert {d["owner"] for d in open_deals} == {day.ids["rep1"]}  # a rep sees only their own deals
    products = await day.all("product", "rep1", filter='{"field": "code", "op": "eq", "value": "HW-PLC-200"}')
    quote = (
        await day.http["rep1"].post(f"{API}/quote", json={"opportunity": deal["id"], "account": deal["account"], "discount": 15})
    ).json()
    line = {"quote": quote["id"], "product": products[0]["id"], "quantity": 4, "unit_price": "12500"}
    assert (await day.http["rep1"].post(f"{API}/quote_line", json=line)).status_code == 201
    r = await day.http["rep1"].post(f"{API}/quote/{quote['id']}/processes/quote_discount", json={})
    assert r.status_code in (200, 201), r.text
    mine = ("quote", quote["id"])
    assert await day.tasks("manager_west", *mine) == [] and await day.tasks("director", *mine) == []
    (task,) = await day.tasks("manager_east", *mine)
    r = await day.http["manager_east"].post(f"/api/v1/tasks/{task['id']}/actions", json={"action": "approve", "comment": "同意"})
    assert r.status_code == 200, r.text
    stored = (await day.http["rep1"].get(f"{API}/quote/{quote['id']}")).json()
    assert (stored["status"], stored["subtotal"], stored["total"]) == ("approved", 50000, 42500)


async def test_a_complaint_left_alone_is_reminded_then_escalated_by_the_sla(day: Day, clock: FrozenClock) -> None:
    """P4's acceptance limit (remind at 1 h) and R6 (a complaint not handled in 24 h is escalated), on the
    injected clock; R9 hands complaints to the service leads."""
    account = (await day.all("account", filter='{"field": "code", "op": "eq", "value": "ACC-000001"}'))[0]
    ticket = {"subject": "设备频繁宕机 要求赔偿", "account": account["id"], "type": "complaint", "channel": "phone"}
    r = await day.http["admin"].post(f"{API}/ticket", json=ticket)
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert (ticket["opened_at"], ticket["owner"], ticket["escalated"]) == ("2026-11-23T01:00:00Z", day.ids["engineer1"], False)
    await day.drain()  # P4 starts: the acceptance task goes to the service engineers
    assert [t["record_id"] for t in await day.tasks("engineer2", "ticket", ticket["id"])] == [ticket["id"]]

    clock.advance(timedelta(minutes=59))
    await day.drain()
    assert not any(t.startswith("Reminder:") for t in await day.titles("engineer2", ticket["id"]))
    clock.advance(timedelta(minutes=1))  # an hour after it was opened
    await day.drain()
    assert sum(t.startswith("Reminder:") for t in await day.titles("engineer2", ticket["id"])) == 1

    clock.advance(timedelta(hours=22, minutes=59))
    await day.drain()
    assert (await day.http["admin"].get(f"{API}/ticket/{ticket['id']}")).json()["escalated"] is False
    clock.advance(timedelta(minutes=16))  # 24 hours after it was opened, still not accepted: the date
    await day.drain()  # rule looks every 15 minutes (its check_every), so it acts within 15 minutes
    stored = (await day.http["admin"].get(f"{API}/ticket/{ticket['id']}")).json()
    assert (stored["escalated"], stored["urgency"], stored["state"]) == (True, "critical", "new")
    assert "投诉已升级 / Complaint escalated: 设备频繁宕机 要求赔偿" in await day.titles("engineer1")


async def test_dashboards_show_what_the_records_say_within_each_viewers_scope(day: Day) -> None:
    """D2 for a sales manager (his team's reps only, this quarter), D1 and D6 for the director (everything),
    each recomputed here from the records the API lists."""
    deals = await day.all("opportunity")
    async with day.ctx.db.read() as conn:
        east = select(teams.c.id).where(teams.c.key == "crm_sales_east").scalar_subquery()
        team = set((await conn.execute(select(user_teams.c.user_id).where(user_teams.c.team_id == east))).scalars())
    quarter = [d for d in deals if d["closed_on"] and "2026-10-01" <= d["closed_on"] <= "2026-12-31"]
    board: dict[int, dict[str, Any]] = {}
    for d in (d for d in quarter if d["owner"] in team):
        row = board.setdefault(d["owner"], {"won_amount": None, "won_deals": 0, "closed": 0})
        row["closed"] += 1
        if d["stage"] == "won":
            row["won_amount"] = (row["won_amount"] or 0) + d["amount"]
            row["won_deals"] += 1
    r = await day.http["manager_east"].post(f"{API}/dashboards/sales_manager/data", json={})
    assert r.status_code == 200, r.text
    rows = _tiles(r)["d2_rep_leaderboard"]["data"]["rows"]
    assert {row["key"]: {k: row["values"][k] for k in ("won_amount", "won_deals", "closed")} for row in rows} == board
    assert board and any(d["owner"] not in team for d in quarter)  # the West team's deals are not on his board
    assert [row["values"]["won_amount"] or 0 for row in rows] == sorted(
        (b["won_amount"] or 0 for b in board.values()), reverse=True
    )

    r = await day.http["director"].post(f"{API}/dashboards/ceo_cockpit/data", json={})
    tiles = _tiles(r)
    stages = ["qualify", "needs_analysis", "proposal", "negotiation", "won"]
    reached = [sum(1 for d in deals if d["stage"] in stages[i:]) for i in range(len(stages))]
    assert [s["value"] for s in tiles["d1_sales_funnel"]["data"]["stages"]] == reached
    revenue: dict[str, float] = {}
    for o in await day.all("order"):
        if o["status"] != "cancelled" and o["ordered_on"] and o["ordered_on"].startswith("2026"):
            revenue[o["product_line"]] = revenue.get(o["product_line"], 0) + o["amount"]
    labels = {"hardware": "Hardware", "software": "Software", "service": "Service", "consumables": "Consumables"}
    shown = {p["name"]: p["value"] for p in tiles["d6_revenue_by_product_line"]["data"]}
    assert shown == {labels[k]: pytest.approx(v) for k, v in revenue.items()} and shown


def _tiles(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    return {t["chart"]: t["result"] for t in r.json()["tiles"]}
