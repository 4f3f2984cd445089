"""F5: the project-delivery template (apps_catalog/project, built in the builder by
tests/e2e/build_project_app.py) installed on top of the CRM and used through the API: a project linked to a
signed contract, milestones, tasks, timesheets, the kick-off approval (项目立项审批) run to approved, the
margin dashboard's numbers against hand-computed ones, and a member who sees only their own timesheets and
none of the money. Without the CRM the package is refused, nothing installed. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest

from engine.api.app import create_app
from engine.api.context import Context
from engine.auth.service import grant_role
from tests.scenarios.crm_template_world import PACKAGE, install, load

PROJECT = PACKAGE.parent / "project"
API = "/api/v1/apps/project"
PEOPLE = {  # who -> roles
    "pm": ("project_manager", "crm_director"),  # reads every contract
    "rep1": ("project_member", "crm_sales_rep"),
    "rep2": ("project_member", "crm_sales_rep"),
}
MONEY = ("contract_amount", "cost_rate", "labour_cost", "margin", "margin_rate")


async def _install_project(http: httpx.AsyncClient) -> httpx.Response:
    return await http.post("/api/v1/meta/packages/catalog/project/install", params={"sample": "false"})


@dataclass
class World:
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    async def create(self, who: str, entity: str, values: dict[str, Any], app: str = "project") -> dict[str, Any]:
        r = await self.clients[who].post(f"/api/v1/apps/{app}/{entity}", json=values)
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def items(self, who: str, entity: str) -> list[dict[str, Any]]:
        r = await self.clients[who].get(f"{API}/{entity}", params={"limit": 100})
        assert r.status_code == 200, r.text
        return list(r.json()["items"])


@pytest.fixture
async def world(ctx: Context, client: httpx.AsyncClient) -> AsyncIterator[World]:
    await install(client, with_sample=False)
    r = await _install_project(client)
    assert r.status_code in (200, 201), r.text
    w = World({"admin": client})
    app = create_app(ctx.settings, ctx)
    async with AsyncExitStack() as stack:
        for who, roles in PEOPLE.items():
            async with ctx.db.write() as conn:
                uid = await ctx.auth.create_user(conn, f"{who}@example.com", who)
                for role in roles:
                    await grant_role(conn, uid, role)
                token, _ = await ctx.auth.create_token(conn, uid, "f5")
                w.ids[who] = uid
            headers = {"Authorization": f"Bearer {token}"}
            http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers)
            w.clients[who] = await stack.enter_async_context(http)
        yield w


async def test_f5_the_package_needs_the_crm_and_installs_everything_on_top_of_it(ctx: Context, client: httpx.AsyncClient) -> None:
    r = await _install_project(client)  # no CRM here: the contract relation has no target; nothing is written
    assert r.status_code == 422, r.text
    assert any(e["code"] == "unknown_entity" and "crm.contract" in e["message"] for e in r.json()["errors"]), r.text
    assert (await client.get("/api/v1/meta/apps/project")).status_code == 404

    await install(client, with_sample=False)
    r = await _install_project(client)
    assert r.status_code in (200, 201), r.text
    entities = (await client.get("/api/v1/meta/apps/project/entities")).json()["items"]
    assert sorted(e["key"] for e in entities) == sorted(e["key"] for e in load("entities", PROJECT))
    assert [p["key"] for p in (await client.get("/api/v1/meta/apps/project/processes")).json()["items"]] == ["kickoff"]
    assert [d["key"] for d in (await client.get("/api/v1/meta/apps/project/dashboards")).json()["items"]] == ["margin"]


async def test_f5_a_project_on_a_contract_is_approved_staffed_and_its_margin_shows(world: World) -> None:
    account = await world.create("admin", "account", {"name": "宁波海曙智造有限公司"}, app="crm")
    contract = await world.create(
        "admin", "contract", {"title": "MES 实施合同", "account": account["id"], "amount": 200000, "status": "signed"}, app="crm"
    )
    # the project: its contract amount as signed, labour costed at 300 yuan an hour
    project = await world.create("pm", "project", {
        "name": "宁波 MES 实施", "contract": contract["id"], "project_manager": world.ids["pm"], "status": "option_1",
        "start_date": "2026-12-01", "due_date": "2027-03-31", "contract_amount": 200000, "cost_rate": 300,
    })  # fmt: skip
    other = await world.create("pm", "project", {"name": "售后培训", "contract_amount": 50000, "cost_rate": 200})
    design = await world.create("pm", "milestone", {"name": "方案确认", "project": project["id"], "due_date": "2026-12-20"})
    await world.create("pm", "milestone", {"name": "上线验收", "project": project["id"], "due_date": "2027-03-15"})
    survey = await world.create("pm", "task", {
        "name": "现场调研", "project": project["id"], "milestone": design["id"], "assignee": world.ids["rep1"],
        "status": "option_2",
    })  # fmt: skip
    blueprint = await world.create("pm", "task", {"name": "蓝图设计", "project": project["id"], "milestone": design["id"]})

    # the kick-off approval: submitted by the project manager's desk, approved by a project manager
    r = await world.clients["pm"].post(f"{API}/project/{project['id']}/processes/kickoff")
    assert r.status_code == 201, r.text
    instance = r.json()["id"]
    r = await world.clients["pm"].get("/api/v1/me/tasks", params={"box": "pending"})
    (task,) = r.json()["items"]
    r = await world.clients["pm"].post(f"/api/v1/tasks/{task['id']}/actions", json={"action": "approve", "comment": "同意立项"})
    assert r.status_code == 200, r.text
    r = await world.clients["admin"].get(f"/api/v1/process-instances/{instance}")
    assert (r.json()["state"], r.json()["outcome"]) == ("completed", "approved"), r.json()

    # timesheets: 10 + 6.5 hours by rep1, 8 by rep2
    for who, hours, task_id in (("rep1", 10, survey["id"]), ("rep1", 6.5, survey["id"]), ("rep2", 8, blueprint["id"])):
        await world.create(who, "timesheet", {
            "name": "工作记录", "project": project["id"], "task": task_id, "person": world.ids[who],
            "work_date": "2026-12-03", "hours": hours,
        })  # fmt: skip

    # the project's numbers: 24.5 h x 300 = 7,350 of cost on 200,000: margin 192,650 (96.33 %)
    r = await world.clients["pm"].get(f"{API}/project/{project['id']}")
    p = r.json()
    assert [Decimal(str(p[k])) for k in ("logged_hours", "labour_cost", "margin", "margin_rate")] == [
        Decimal("24.5"), Decimal("7350"), Decimal("192650"), Decimal("96.33")
    ]  # fmt: skip

    # the margin dashboard: one bar group per project, contract amount / labour cost / margin
    r = await world.clients["pm"].post(f"{API}/dashboards/margin/data", json={})
    assert r.status_code == 200, r.text
    (tile,) = r.json()["tiles"]
    assert "error" not in tile, tile
    data = tile["result"]["data"]
    by_project = {
        name: [Decimal(str(s["data"][i])) for s in data["series"]] for i, name in enumerate(data["categories"])
    }  # fmt: skip
    assert by_project == {
        "宁波 MES 实施": [Decimal("200000"), Decimal("7350"), Decimal("192650")],
        "售后培训": [Decimal("50000"), Decimal("0"), Decimal("50000")],
    }, data
    assert Decimal(str(other["margin_rate"])) == Decimal("100")

    # scope: a member sees their own timesheets only, and none of the project's money
    assert [t["hours"] for t in await world.items("rep1", "timesheet")] in ([10, 6.5], ["10.00", "6.50"], [10.0, 6.5])
    assert len(await world.items("rep2", "timesheet")) == 1
    assert len(await world.items("pm", "timesheet")) == 3
    seen = await world.items("rep1", "project")
    assert len(seen) == 2 and not any(k in row for row in seen for k in MONEY)
    r = await world.clients["rep1"].post(f"{API}/charts/project_margin/data", json={})
    assert r.status_code == 422, r.text  # the money fields are hidden from them: the chart cannot read them
    assert {e["code"] for e in r.json()["errors"]} == {"unknown_field"}
