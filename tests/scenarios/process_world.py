"""A small real sales, order and service app for the process scenarios (SCENARIOS.md P1-P7).

App "crm":

    quote        name, amount, discount, status (draft/pending/approved/rejected)
    order        number, amount, product_type (standard/custom), status (new/approved/rejected),
                 shipped, quote -> quote (the quote it was made from)
    ticket       subject, state (new/accepted/diagnosed/dispatched/handled/visited/closed), urgency,
                 first_response_at, engineer (a user, chosen at dispatch)
    opportunity  name, stage (qualify/needs/proposal/won), needs_report (url), amount
    contract     name, amount, status (draft/signed/done)

People and teams (team manager in brackets):

    sales [director]                 director: role sales_director
    `-- sales_east [sales_mgr]       rep (role sales: own records); sales_mgr is a member of sales
    finance [finance_director]       finance, finance_director
    warehouse                        warehouse
    legal                            legal
    service [service_lead]           engineer, engineer2 (role service)

Every approver's role reads and edits all crm records; the rep creates and edits their own. The clock is
frozen at START (test modules use a FrozenClock `clock` fixture); `drain` runs the job queue until
idle, so deadlines and timers fire only when a test advances the clock.

Processes are driven through the Python services (ctx.process_service, ctx.processes) and records
through the HTTP records API, each user with their own token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.api.app import create_app
from engine.api.context import Context
from engine.auth.access import load_access
from engine.auth.policy import Access
from engine.auth.roles import Grant, RoleDefinition
from engine.auth.service import grant_role
from engine.auth.tables import user_teams
from engine.core.clock import FrozenClock
from engine.jobs.tables import jobs
from engine.jobs.worker import Worker
from engine.notify.tables import notifications
from engine.process.tables import events, instances, steps, tasks
from tests.scenarios.crm_world import insert_role, insert_team

START = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # a Monday
APP = "crm"


def _select(key: str, *options: str, default: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"key": key, "type": "select", "options": [{"key": o} for o in options]}
    return doc | ({"default": default} if default else {})


def _money(key: str) -> dict[str, Any]:
    return {"key": key, "type": "decimal", "precision": 15, "scale": 2}


QUOTE = {"key": "quote", "label": {"en": "Quote"}, "display_field": "name", "fields": [
    {"key": "name", "type": "text", "required": True},
    _money("amount"),
    {"key": "discount", "type": "decimal", "precision": 5, "scale": 2},
    _select("status", "draft", "pending", "approved", "rejected", default="draft"),
]}  # fmt: skip
ORDER = {"key": "order", "label": {"en": "Order"}, "display_field": "number", "fields": [
    {"key": "number", "type": "text", "required": True},
    _money("amount"),
    _select("product_type", "standard", "custom", default="standard"),
    _select("status", "new", "approved", "rejected", default="new"),
    {"key": "shipped", "type": "boolean", "default": False},
    {"key": "quote", "type": "relation", "target": "quote", "on_delete": "set_null"},
]}  # fmt: skip
TICKET = {"key": "ticket", "label": {"en": "Ticket"}, "display_field": "subject", "fields": [
    {"key": "subject", "type": "text", "required": True},
    _select("state", "new", "accepted", "diagnosed", "dispatched", "handled", "visited", "closed", default="new"),
    _select("urgency", "normal", "high", default="normal"),
    {"key": "first_response_at", "type": "datetime"},
    {"key": "engineer", "type": "user"},  # who handles it: chosen at dispatch
]}  # fmt: skip
OPPORTUNITY = {"key": "opportunity", "label": {"en": "Opportunity"}, "display_field": "name", "fields": [
    {"key": "name", "type": "text", "required": True},
    _select("stage", "qualify", "needs", "proposal", "won", default="qualify"),
    {"key": "needs_report", "type": "url"},
    _money("amount"),
]}  # fmt: skip
CONTRACT = {"key": "contract", "label": {"en": "Contract"}, "display_field": "name", "fields": [
    {"key": "name", "type": "text", "required": True},
    _money("amount"),
    _select("status", "draft", "signed", "done", default="draft"),
]}  # fmt: skip
ENTITIES = (QUOTE, ORDER, TICKET, OPPORTUNITY, CONTRACT)

READ_ALL = [Grant(entity="crm.*", read="all", update="all", create=True)]
ROLES = (
    RoleDefinition(key="sales", label={"en": "Sales rep"}, grants=[Grant(entity="crm.*", read="own", create=True, update="own")]),
    RoleDefinition(key="sales_manager", label={"en": "Sales manager"},
                   grants=[Grant(entity="crm.*", read="team", update="team")]),
    *(RoleDefinition(key=k, label={"en": k.replace("_", " ").title()}, grants=READ_ALL)
      for k in ("sales_director", "finance_director", "finance", "warehouse", "legal", "service")),
)  # fmt: skip
# user -> (primary team or None, roles)
PEOPLE: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "rep": ("sales_east", ("sales",)),
    "sales_mgr": ("sales", ("sales_manager",)),
    "director": (None, ("sales_director",)),
    "finance_director": ("finance", ("finance_director",)),
    "finance": ("finance", ("finance",)),
    "warehouse": ("warehouse", ("warehouse",)),
    "legal": ("legal", ("legal",)),
    "engineer": ("service", ("service",)),
    "engineer2": ("service", ("service",)),
    "service_lead": ("service", ("service",)),
}
# team -> (parent, manager)
TEAMS: dict[str, tuple[str | None, str | None]] = {
    "sales": (None, "director"),
    "sales_east": ("sales", "sales_mgr"),
    "finance": (None, "finance_director"),
    "warehouse": (None, None),
    "legal": (None, None),
    "service": (None, "service_lead"),
}


def email(who: str) -> str:
    return f"{who}@example.com"


@dataclass
class ProcessWorld:
    ctx: Context
    http: httpx.AsyncClient  # the administrator's
    users: dict[str, int]
    teams: dict[str, int] = field(default_factory=dict)
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    @property
    def clock(self) -> FrozenClock:
        assert isinstance(self.ctx.clock, FrozenClock), "process scenarios run on a frozen clock"
        return self.ctx.clock

    def advance(self, **delta: float) -> datetime:
        """Move the frozen clock (timedelta keywords); returns the new now."""
        self.clock.advance(timedelta(**delta))
        return self.clock.now()

    def who(self, user_id: int) -> str:
        return next(k for k, v in self.users.items() if v == user_id)

    # -- definitions -----------------------------------------------------------------------------
    async def publish(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Create (or replace) the draft and publish it; returns the stored process."""
        async with self.ctx.db.write() as conn:
            admin = await self.access(conn, "admin")
            existing = [p["key"] for p in await self.ctx.process_service.list(conn, APP)]
            if doc["key"] in existing:
                await self.ctx.process_service.replace(conn, APP, doc["key"], doc, None)
            else:
                await self.ctx.process_service.create(conn, APP, doc)
            return await self.ctx.process_service.publish(conn, APP, doc["key"], admin)

    # -- records (HTTP) --------------------------------------------------------------------------
    async def create(self, entity: str, who: str = "rep", **values: Any) -> dict[str, Any]:
        r = await self.clients[who].post(f"/api/v1/apps/{APP}/{entity}", json=values)
        assert r.status_code == 201, r.text
        return r.json()

    async def patch(self, entity: str, rid: int, who: str = "rep", **values: Any) -> httpx.Response:
        return await self.clients[who].patch(f"/api/v1/apps/{APP}/{entity}/{rid}", json=values)

    async def update(self, entity: str, rid: int, who: str = "rep", **values: Any) -> dict[str, Any]:
        r = await self.patch(entity, rid, who, **values)
        assert r.status_code == 200, r.text
        return r.json()

    async def get(self, entity: str, rid: int) -> dict[str, Any]:
        r = await self.http.get(f"/api/v1/apps/{APP}/{entity}/{rid}")
        assert r.status_code == 200, r.text
        return r.json()

    async def items(self, entity: str, **params: Any) -> list[dict[str, Any]]:
        r = await self.http.get(f"/api/v1/apps/{APP}/{entity}", params={"limit": 1000, **params})
        assert r.status_code == 200, r.text
        return r.json()["items"]

    # -- processes (Python services) -------------------------------------------------------------
    async def access(self, conn: AsyncConnection, who: str) -> Access:
        return await load_access(conn, self.users[who], who == "admin", source="api")

    async def start(self, entity: str, record_id: int, key: str, as_user: str = "rep") -> int:
        async with self.ctx.db.write() as conn:
            compiled = await self.ctx.store.get(conn, APP, entity)
            return await self.ctx.processes.start(conn, compiled, record_id, key, await self.access(conn, as_user))

    async def act(self, task_id: int, action: str, as_user: str, **kw: Any) -> dict[str, Any]:
        """One action on a task (kw: comment, values, to, user, placement), its own transaction."""
        async with self.ctx.db.write() as conn:
            return await self.ctx.processes.act(conn, task_id, action, await self.access(conn, as_user), **kw)

    async def withdraw(self, instance_id: int, as_user: str = "rep", comment: str | None = None) -> None:
        async with self.ctx.db.write() as conn:
            await self.ctx.processes.withdraw(conn, instance_id, await self.access(conn, as_user), comment)

    async def pending(self, who: str, instance_id: int | None = None) -> list[int]:
        """Ids of the tasks waiting for `who` (oldest first), on one instance or all."""
        query = select(tasks.c.id).where(tasks.c.assignee_id == self.users[who], tasks.c.state == "pending")
        if instance_id is not None:
            query = query.where(tasks.c.instance_id == instance_id)
        async with self.ctx.db.read() as conn:
            return list((await conn.execute(query.order_by(tasks.c.id))).scalars())

    async def the_task(self, who: str, instance_id: int) -> int:
        """The one task waiting for `who` on the instance."""
        found = await self.pending(who, instance_id)
        assert len(found) == 1, f"{who} should have exactly one pending task on instance {instance_id}, has {found}"
        return found[0]

    async def instance(self, instance_id: int) -> Any:
        async with self.ctx.db.read() as conn:
            return (await conn.execute(select(instances).where(instances.c.id == instance_id))).one()

    async def timeline(self, instance_id: int) -> list[Any]:
        """The instance's steps (node visits) in order."""
        async with self.ctx.db.read() as conn:
            query = select(steps).where(steps.c.instance_id == instance_id).order_by(steps.c.id)
            return list((await conn.execute(query)).all())

    async def path(self, instance_id: int) -> list[tuple[str, str | None]]:
        """(node id, outcome) of every step, in the order stored (the timeline's order)."""
        return [(s.node_id, s.outcome) for s in await self.timeline(instance_id)]

    async def instances_of(self, entity: str, record_id: int) -> list[Any]:
        query = select(instances).where(instances.c.app == APP, instances.c.entity == entity, instances.c.record_id == record_id)
        async with self.ctx.db.read() as conn:
            return list((await conn.execute(query.order_by(instances.c.id))).all())

    async def events(self, instance_id: int) -> list[Any]:
        async with self.ctx.db.read() as conn:
            query = select(events).where(events.c.instance_id == instance_id).order_by(events.c.id)
            return list((await conn.execute(query)).all())

    async def actions(self, instance_id: int) -> list[str]:
        return [e.action for e in await self.events(instance_id)]

    async def tasks(self, instance_id: int, *, kind: str | None = None) -> list[Any]:
        query = select(tasks).where(tasks.c.instance_id == instance_id).order_by(tasks.c.id)
        if kind is not None:
            query = query.where(tasks.c.kind == kind)
        async with self.ctx.db.read() as conn:
            return list((await conn.execute(query)).all())

    async def assigned(self, instance_id: int) -> list[tuple[str, str, str, str | None]]:
        """(node, assignee name, state, decision) of every non-cc task, in order."""
        return [
            (t.node_id, self.who(t.assignee_id), t.state, t.decision) for t in await self.tasks(instance_id) if t.kind != "cc"
        ]

    async def notifications(self, who: str) -> list[Any]:
        query = select(notifications).where(notifications.c.user_id == self.users[who]).order_by(notifications.c.id)
        async with self.ctx.db.read() as conn:
            return list((await conn.execute(query)).all())

    async def titles(self, who: str) -> list[str]:
        return [n.title for n in await self.notifications(who)]

    async def dead_jobs(self) -> list[Any]:
        async with self.ctx.db.read() as conn:
            return list((await conn.execute(select(jobs.c.kind, jobs.c.last_error).where(jobs.c.state == "dead"))).all())

    async def drain(self) -> int:
        """Run every due job (auto starts, timers, deadlines) until none is due."""
        return await Worker(self.ctx.db, self.ctx.clock, self.ctx.job_handlers).run_until_idle()


async def _seed(ctx: Context, world: ProcessWorld) -> None:
    async with ctx.db.write() as conn:
        now = ctx.clock.now()
        for role in ROLES:
            await insert_role(conn, role, now)
        for who in PEOPLE:
            world.users[who] = await ctx.auth.create_user(conn, email(who), who)
        refs: dict[str, tuple[int, str]] = {}  # team -> (id, materialised path)
        for key, (parent, manager) in TEAMS.items():
            refs[key] = await insert_team(
                conn, key, refs[parent] if parent else None, world.users[manager] if manager else None, now
            )
            world.teams[key] = refs[key][0]
        for who, (team, role_keys) in PEOPLE.items():
            for role_key in role_keys:
                await grant_role(conn, world.users[who], role_key)
            if team is not None:
                values = {"user_id": world.users[who], "team_id": world.teams[team], "is_primary": True}
                await conn.execute(insert(user_teams).values(values))


@asynccontextmanager
async def process_world(ctx: Context, http: httpx.AsyncClient, admin_id: int) -> AsyncIterator[ProcessWorld]:
    """The app, its people and a client per person (closed on exit)."""
    r = await http.post("/api/v1/meta/apps", json={"key": APP, "label": {"en": "CRM"}})
    assert r.status_code == 201, r.text
    for entity in ENTITIES:
        r = await http.post(f"/api/v1/meta/apps/{APP}/entities", json=entity)
        assert r.status_code == 201, r.text
    world = ProcessWorld(ctx, http, {"admin": admin_id})
    await _seed(ctx, world)
    app = create_app(ctx.settings, ctx)
    async with AsyncExitStack() as stack:
        world.clients["admin"] = http
        for who in PEOPLE:
            async with ctx.db.write() as conn:
                token, _ = await ctx.auth.create_token(conn, world.users[who], "scenario")
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://test", headers={"Authorization": f"Bearer {token}"}
            )
            world.clients[who] = await stack.enter_async_context(client)
        yield world
