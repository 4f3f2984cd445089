"""A small real sales-and-service app for the rule scenarios (SCENARIOS.md R1-R13):

    lead         name, email, phone, company, title, industry, budget, region, employees, email_opens,
                 score, stage (new/mql/sql), tags, duplicate_of -> lead
    opportunity  name, amount, important, status (open/won/lost), last_activity_at
    contact      name, email, birthday, tags
    ticket       subject, kind (complaint/question), status (open/handled/resolved), satisfied,
                 escalated, priority, contact -> contact
    order        number, contact -> contact, amount
    task         title, due, lead / opportunity / order -> ...
    campaign_member  campaign, contact -> contact

People (role member: their own records): the admin, reps a1 and a2 in team key_accounts_a
(manager: boss), rep b1 in team region_b, warehouse staff w1 in team warehouse. The clock is
frozen; `drain` runs the job queue until idle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import insert

from engine.api.context import Context
from engine.auth.service import grant_role
from engine.auth.tables import user_teams
from engine.jobs.worker import Worker
from tests.scenarios.crm_world import insert_team

START = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def _select(key: str, *options: str) -> dict[str, Any]:
    return {"key": key, "type": "select", "options": [{"key": o} for o in options]}


LEAD = {"key": "lead", "label": {"en": "Lead"}, "display_field": "name", "fields": [
    {"key": "name", "type": "text", "required": True},
    {"key": "email", "type": "email"},
    {"key": "phone", "type": "phone"},
    {"key": "company", "type": "text"},
    {"key": "title", "type": "text"},
    _select("industry", "manufacturing", "retail", "finance"),
    {"key": "budget", "type": "decimal", "precision": 15, "scale": 2},
    {"key": "region", "type": "text"},
    {"key": "employees", "type": "integer"},
    {"key": "email_opens", "type": "integer", "default": 0},
    {"key": "score", "type": "integer", "default": 0},
    _select("stage", "new", "mql", "sql") | {"default": "new"},
    {"key": "tags", "type": "multi_select", "options": [{"key": "vip"}, {"key": "possible_duplicate"}]},
    {"key": "duplicate_of", "type": "relation", "target": "lead", "on_delete": "set_null"},
]}  # fmt: skip
OPPORTUNITY = {"key": "opportunity", "label": {"en": "Opportunity"}, "display_field": "name", "fields": [
    {"key": "name", "type": "text", "required": True},
    {"key": "amount", "type": "decimal", "precision": 15, "scale": 2},
    {"key": "important", "type": "boolean", "default": False},
    _select("status", "open", "won", "lost") | {"default": "open"},
    {"key": "last_activity_at", "type": "datetime"},
]}  # fmt: skip
CONTACT = {"key": "contact", "label": {"en": "Contact"}, "display_field": "name", "fields": [
    {"key": "name", "type": "text", "required": True},
    {"key": "email", "type": "email"},
    {"key": "birthday", "type": "date"},
]}  # fmt: skip
TICKET = {"key": "ticket", "label": {"en": "Ticket"}, "display_field": "subject", "fields": [
    {"key": "subject", "type": "text", "required": True},
    _select("kind", "complaint", "question"),
    _select("status", "open", "handled", "resolved") | {"default": "open"},
    {"key": "satisfied", "type": "boolean", "default": False},
    {"key": "escalated", "type": "boolean", "default": False},
    _select("priority", "normal", "high") | {"default": "normal"},
    {"key": "contact", "type": "relation", "target": "contact", "on_delete": "set_null"},
]}  # fmt: skip
ORDER = {"key": "order", "label": {"en": "Order"}, "display_field": "number", "fields": [
    {"key": "number", "type": "text", "required": True},
    {"key": "contact", "type": "relation", "target": "contact", "on_delete": "set_null"},
    {"key": "amount", "type": "decimal", "precision": 15, "scale": 2},
]}  # fmt: skip
TASK = {"key": "task", "label": {"en": "Task"}, "display_field": "title", "fields": [
    {"key": "title", "type": "text", "required": True},
    {"key": "due", "type": "date"},
    {"key": "lead", "type": "relation", "target": "lead", "on_delete": "set_null"},
    {"key": "opportunity", "type": "relation", "target": "opportunity", "on_delete": "set_null"},
    {"key": "order", "type": "relation", "target": "order", "on_delete": "set_null"},
]}  # fmt: skip
CAMPAIGN_MEMBER = {"key": "campaign_member", "label": {"en": "Campaign member"}, "fields": [
    {"key": "campaign", "type": "text", "required": True},
    {"key": "contact", "type": "relation", "target": "contact", "on_delete": "cascade"},
]}  # fmt: skip
ENTITIES = (LEAD, OPPORTUNITY, CONTACT, TICKET, ORDER, TASK, CAMPAIGN_MEMBER)
RULES = "/api/v1/meta/apps/sales/rules"


@dataclass
class RulesWorld:
    ctx: Context
    http: httpx.AsyncClient
    users: dict[str, int] = field(default_factory=dict)

    async def rule(self, doc: dict[str, Any]) -> dict[str, Any]:
        r = await self.http.post(RULES, json=doc)
        assert r.status_code == 201, r.text
        return r.json()

    async def create(self, entity: str, **values: Any) -> dict[str, Any]:
        r = await self.http.post(f"/api/v1/apps/sales/{entity}", json=values)
        assert r.status_code == 201, r.text
        return r.json()

    async def update(self, entity: str, rid: int, **values: Any) -> dict[str, Any]:
        r = await self.http.patch(f"/api/v1/apps/sales/{entity}/{rid}", json=values)
        assert r.status_code == 200, r.text
        return r.json()

    async def get(self, entity: str, rid: int) -> dict[str, Any]:
        r = await self.http.get(f"/api/v1/apps/sales/{entity}/{rid}")
        assert r.status_code == 200, r.text
        return r.json()

    async def items(self, entity: str, **params: Any) -> list[dict[str, Any]]:
        r = await self.http.get(f"/api/v1/apps/sales/{entity}", params={"limit": 1000, **params})
        assert r.status_code == 200, r.text
        return r.json()["items"]

    async def drain(self) -> int:
        """Run every due job (rule runs, ticks, emails) until none is due."""
        return await Worker(self.ctx.db, self.ctx.clock, self.ctx.job_handlers).run_until_idle()

    async def log(self, key: str) -> dict[str, Any]:
        r = await self.http.get(f"{RULES}/{key}/log")
        assert r.status_code == 200, r.text
        return r.json()


async def build_world(ctx: Context, http: httpx.AsyncClient, admin_id: int) -> RulesWorld:
    r = await http.post("/api/v1/meta/apps", json={"key": "sales", "label": {"en": "Sales"}})
    assert r.status_code == 201, r.text
    for e in ENTITIES:
        r = await http.post("/api/v1/meta/apps/sales/entities", json=e)
        assert r.status_code == 201, r.text
    world = RulesWorld(ctx, http, {"admin": admin_id})
    async with ctx.db.write() as conn:
        now = ctx.clock.now()
        for who in ("a1", "a2", "b1", "w1", "boss"):
            world.users[who] = await ctx.auth.create_user(conn, f"{who}@example.com", who)
            await grant_role(conn, world.users[who], "member")
        teams = {
            "key_accounts_a": await insert_team(conn, "key_accounts_a", None, world.users["boss"], now),
            "region_b": await insert_team(conn, "region_b", None, world.users["boss"], now),
            "warehouse": await insert_team(conn, "warehouse", None, None, now),
        }
        for who, team in (("a1", "key_accounts_a"), ("a2", "key_accounts_a"), ("b1", "region_b"), ("w1", "warehouse")):
            await conn.execute(insert(user_teams).values(user_id=world.users[who], team_id=teams[team][0], is_primary=True))
    return world
