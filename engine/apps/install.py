"""Installing a package, or upgrading an installed one, inside the caller's transaction.

Order: app -> roles -> entities (two passes) -> forms -> rules -> processes (created and published) ->
charts -> dashboards -> sample data. Each definition is written in its own SAVEPOINT, so one that is
refused is reported (file and JSON path) and the others are still checked; at the end any error
raises, and the caller's transaction rolls everything back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from graphlib import CycleError, TopologicalSorter
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.apps.contents import Doc, Package
from engine.apps.definitions import Definitions, Engines
from engine.apps.kinds import KINDS
from engine.apps.manifest import Version
from engine.apps.package import in_file, refuse
from engine.apps.samples import load_samples
from engine.apps.tables import app_install_items, app_installs
from engine.apps.upgrade import Plan, Step, plan_kind
from engine.audit.log import audit
from engine.auth.policy import Access
from engine.core.errors import Conflict, ErrorDetail, TangramError
from engine.schema.tables import apps


async def installed(conn: AsyncConnection, app: str) -> Any:
    return (await conn.execute(select(app_installs).where(app_installs.c.app == app))).first()


async def baseline(conn: AsyncConnection, app: str) -> dict[str, dict[str, Doc]]:
    """kind -> key -> the definition as the package last installed it."""
    found: dict[str, dict[str, Doc]] = {k.name: {} for k in KINDS}
    for row in await conn.execute(select(app_install_items).where(app_install_items.c.app == app)):
        found[row.kind][row.key] = row.definition
    return found


class Install:
    def __init__(self, engines: Engines, conn: AsyncConnection, package: Package, actor: Access, *, force: bool, sample: bool):
        self.engines, self.conn, self.package, self.actor = engines, conn, package, actor
        self.force, self.sample = force, sample
        self.defs = Definitions(engines, package.app, actor)
        self.errors: list[ErrorDetail] = []

    async def run(self) -> Doc:
        pkg, conn = self.package, self.conn
        record = await installed(conn, pkg.app)
        adopted = False
        if record is None:
            adopted = await self._new_app()
        else:
            self._check_version(record.version)
        plan = await self.plan(record is not None)
        await self._apply(plan)
        counts = await self._samples() if self.sample and record is None and not adopted and pkg.samples else {}
        refuse(self.errors, "The package has errors; nothing was installed")
        await self._remember(record)
        report = {
            "app": pkg.app, "package": pkg.manifest.key,
            "mode": "upgrade" if record else "adopt" if adopted else "install",
            "from_version": record.version if record else None, "version": pkg.manifest.version,
            "definitions": pkg.counts(), "sample": counts, **plan.summary(),
        }  # fmt: skip
        action = "app.upgraded" if record else "app.installed"
        detail = {k: report[k] for k in ("package", "from_version", "version", "definitions", "sample")}
        detail["conflicts"] = len(plan.conflicts)
        await audit(conn, self.engines.clock, action, self.actor, subject=pkg.app, detail=detail)
        return report

    async def plan(self, upgrading: bool) -> Plan:
        plan = Plan()
        base = await baseline(self.conn, self.package.app) if upgrading else {}
        for kind in KINDS:
            current = await self.defs.current(self.conn, kind.name)
            plan_kind(plan, kind.name, self.package.definitions[kind.name], base.get(kind.name, {}), current)
        return plan

    async def _new_app(self) -> bool:
        """Create the app; or, forced, adopt an app of that key built here (True): its definitions are the
        "current" side of the plan with no baseline, so identical ones stay, new ones are added, and every
        one that differs is kept as it is here and listed as a conflict (exists_locally)."""
        m = self.package.manifest
        row = (await self.conn.execute(select(apps.c.id, apps.c.deleted_at).where(apps.c.key == m.key))).first()
        if row is not None and row.deleted_at is not None:
            raise Conflict(f"app {m.key!r} is in the recycle bin: restore it or purge it first", reason="binned")
        if row is not None and not self.force:
            raise Conflict(
                f"app {m.key!r} exists and was not installed from a package; force it to install over it (what is "
                "here is kept, what the package adds is added)", reason="exists_not_installed",
            )  # fmt: skip
        if row is not None:
            return True
        await self.engines.schema.create_app(self.conn, m.key, m.name, m.description, m.icon, m.color)
        return False

    def _check_version(self, old: str) -> None:
        new = self.package.manifest.version
        if Version(new) <= Version(old) and not self.force:
            raise Conflict(
                f"{self.package.app} {old} is installed; the package is {new}. Install a newer version, "
                "or force it to reinstall (untouched definitions are reset to the package's, changed ones kept)",
                installed_version=old, package_version=new,
            )  # fmt: skip

    # -- writing -----------------------------------------------------------------------------------
    async def _apply(self, plan: Plan) -> None:
        for kind in KINDS:
            if kind.name == "entity":
                await self._entities(plan.writes("entity"))
                continue
            for step in plan.writes(kind.name):
                await self._write(step)

    async def _write(self, step: Step) -> bool:
        assert step.doc is not None
        if step.action == "add":
            return await self._guard(step.file, partial(self.defs.create, self.conn, step.kind, step.doc))
        return await self._guard(step.file, partial(self.defs.replace, self.conn, step.kind, step.key, step.doc))

    async def _entities(self, steps: list[Step]) -> None:
        """New entities first without their formulas and relations to entities not created yet (targets
        first where relations allow), then every new or changed entity with its full definition."""
        added = {s.key: s for s in steps if s.action == "add"}
        existing = {e.key for e in await self.engines.store.list(self.conn, self.package.app)}
        second = [s for s in steps if s.action != "add"]
        for key in _targets_first({k: s.doc for k, s in added.items() if s.doc is not None}):
            step = added[key]
            assert step.doc is not None
            first = first_pass(self.package.app, step.doc, existing)
            if await self._guard(step.file, partial(self.defs.create, self.conn, "entity", first)):
                existing.add(key)
                if first != step.doc:
                    second.insert(0, Step("entity", key, "replace", step.file, step.doc))
        for step in second:
            await self._write(step)

    async def _guard(self, file: str, write: Callable[[], Awaitable[Any]]) -> bool:
        """Run one definition's write in a SAVEPOINT; a refusal is noted against its file."""
        try:
            async with self.conn.begin_nested():
                await write()
            return True
        except TangramError as exc:
            self.errors += in_file(file, exc.errors or [ErrorDetail("", exc.type_slug, exc.detail)])
        except IntegrityError as exc:
            self.errors += in_file(file, [ErrorDetail("", "conflict", f"refused by the database: {exc.orig}")])
        self.engines.store.forget()  # it may have compiled an entity version the savepoint took back
        return False

    async def _samples(self) -> dict[str, int]:
        access = Access.system(source="install", user_id=self.actor.user_id)
        pkg, e = self.package, self.engines
        counts, errors = await load_samples(self.conn, e.store, e.records, pkg.app, pkg.samples, access)
        self.errors += errors
        return counts

    async def _remember(self, record: Any) -> None:
        """The install record, and every definition as the package has it: the next upgrade's baseline."""
        pkg, conn, now = self.package, self.conn, self.engines.clock.now()
        values = {"package": pkg.manifest.key, "version": pkg.manifest.version, "manifest": pkg.manifest.to_json()}
        if record is None:
            values |= {"app": pkg.app, "installed_at": now, "installed_by": self.actor.user_id}
            await conn.execute(insert(app_installs).values(values))
        else:
            await conn.execute(update(app_installs).where(app_installs.c.id == record.id).values(values | {"upgraded_at": now}))
        await conn.execute(delete(app_install_items).where(app_install_items.c.app == pkg.app))
        items = [
            {"app": pkg.app, "kind": kind, "key": key, "definition": doc}
            for kind, defs in pkg.definitions.items()
            for key, (_, doc) in sorted(defs.items())
        ]
        if items:
            await conn.execute(insert(app_install_items), items)


def first_pass(app: str, doc: Doc, existing: set[str]) -> Doc:
    """The entity without formula fields and relations to entities that do not exist yet."""

    def later(f: Doc) -> bool:
        if f["type"] == "formula":
            return True
        if f["type"] != "relation":
            return False
        target_app, _, target = f["target"].rpartition(".")
        return (target_app or app) == app and target != doc["key"] and target not in existing

    fields = [f for f in doc["fields"] if not later(f)]
    first = {**doc, "fields": fields}
    if doc.get("display_field") not in {f["key"] for f in fields}:
        first.pop("display_field", None)
    return first


def _targets_first(docs: dict[str, Doc]) -> list[str]:
    graph = {
        key: {f["target"].rpartition(".")[2] for f in doc["fields"] if f["type"] == "relation"} & set(docs) - {key}
        for key, doc in sorted(docs.items())
    }
    try:
        return list(TopologicalSorter(graph).static_order())
    except CycleError:
        return sorted(docs)
