"""An app's definitions of every kind, read in canonical form and written through each kind's own service,
so a package install checks and stores exactly what the meta APIs would."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.apps.forms import FormService
from engine.apps.kinds import BY_NAME, canonical, owned_by
from engine.audit.journal import AuditJournal
from engine.auth.admin import RoleAdmin
from engine.auth.policy import Access
from engine.auth.service import AuthService
from engine.auth.tables import roles, team_roles
from engine.core.clock import Clock
from engine.process.service import ProcessService
from engine.process.tables import process_versions, processes
from engine.records.service import RecordService
from engine.reports.engine import Reports
from engine.reports.service import ChartService, DashboardService
from engine.rules.service import RuleService
from engine.rules.tables import rules
from engine.schema.service import SchemaService
from engine.schema.store import EntityStore


class Engines(Protocol):
    """The services a package touches (engine.api.context.Context has them all)."""

    schema: SchemaService
    store: EntityStore
    records: RecordService
    rule_service: RuleService
    process_service: ProcessService
    reports: Reports
    auth: AuthService
    clock: Clock


@dataclass
class Definitions:
    engines: Engines
    app: str
    actor: Access

    def __post_init__(self) -> None:
        e = self.engines
        self.forms = FormService(e.store, e.clock)
        self.charts = ChartService(e.reports, e.clock)
        self.dashboards = DashboardService(e.clock)
        self.roles = RoleAdmin(e.auth, AuditJournal(e.clock))

    async def current(self, conn: AsyncConnection, kind: str) -> dict[str, dict[str, Any]]:
        """key -> canonical definition, for every definition of the kind the app has now."""
        raw = await self._stored(conn, kind)
        return {key: canonical(BY_NAME[kind], doc) for key, doc in sorted(raw.items())}

    async def _stored(self, conn: AsyncConnection, kind: str) -> dict[str, Any]:
        app = self.app
        if kind == "entity":
            return {e.key: e.definition.to_json() for e in await self.engines.store.list(conn, app)}
        if kind == "role":
            # Roles held by teams give a team access to the app on this installation (app settings): not shipped.
            by_teams = select(team_roles.c.role_id)
            query = select(roles.c.key, roles.c.definition).where(roles.c.builtin.is_(False), roles.c.id.not_in(by_teams))
            rows = await conn.execute(query)
            return {key: doc for key, doc in rows if owned_by(doc, app)}
        if kind == "rule":
            return {r.key: r.definition for r in await conn.execute(select(rules).where(rules.c.app == app))}
        if kind == "process":  # the published version: what runs (drafts never published are not part of it)
            query = (
                select(processes.c.key, process_versions.c.definition)
                .join(process_versions, process_versions.c.process_id == processes.c.id)
                .where(processes.c.app == app, process_versions.c.version == processes.c.published_version)
            )
            return {key: doc for key, doc in await conn.execute(query)}
        service = {"form": self.forms, "chart": self.charts, "dashboard": self.dashboards}[kind]
        return {r.key: r.definition for r in await service.list(conn, app)}

    async def create(self, conn: AsyncConnection, kind: str, doc: dict[str, Any]) -> None:
        app, e = self.app, self.engines
        if kind == "entity":
            await e.schema.create_entity(conn, app, doc, self.actor)
        elif kind == "role":
            await self.roles.create(conn, self.actor, doc)
        elif kind == "rule":
            await e.rule_service.create(conn, app, doc)
        elif kind == "process":
            await e.process_service.create(conn, app, doc)
            await e.process_service.publish(conn, app, doc["key"], self.actor)
        elif kind == "dashboard":
            await self.dashboards.create(conn, app, await self.dashboards.check(conn, app, doc))
        else:
            await {"form": self.forms, "chart": self.charts}[kind].create(conn, app, doc)

    async def replace(self, conn: AsyncConnection, kind: str, key: str, doc: dict[str, Any]) -> None:
        app, e = self.app, self.engines
        if kind == "entity":
            await e.schema.update_entity(conn, app, key, doc, self.actor)
        elif kind == "role":
            await self.roles.replace(conn, self.actor, key, doc)
        elif kind == "rule":
            await e.rule_service.replace(conn, app, key, doc, None)
        elif kind == "process":
            await e.process_service.replace(conn, app, key, doc, None)
            await e.process_service.publish(conn, app, key, self.actor)
        elif kind == "dashboard":
            await self.dashboards.replace(conn, app, key, await self.dashboards.check(conn, app, doc), None)
        else:
            await {"form": self.forms, "chart": self.charts}[kind].replace(conn, app, key, doc, None)
