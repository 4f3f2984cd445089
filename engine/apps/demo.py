"""Demo data for an installed app (`tangram demo crm`): realistic, consistent records generated from the
package's declarative demo.json (no Python in packages) with a fixed seed, so the same command gives the
same data. Records are written through the record service in batches (validation, auto-numbers,
formulas, audit) with automation paused: history must not fire today's rules and processes."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.apps.demo_org import make_organisation
from engine.apps.demo_spec import Block, Spec, compile_spec
from engine.apps.demo_values import Gen, Row, World
from engine.auth.access import load_access
from engine.auth.policy import Access, scope
from engine.auth.service import AuthService
from engine.core.clock import Clock
from engine.core.db import Database
from engine.core.errors import Conflict, ErrorCollector, ErrorDetail, NotFound, TangramError, ValidationFailed
from engine.core.settings import Settings
from engine.expr.condition import parse_condition
from engine.expr.to_sql import to_sql
from engine.formula.env import Env
from engine.records.automation import automation_paused
from engine.records.reads import scoped
from engine.records.service import RecordService
from engine.rules.service import RuleService
from engine.schema.store import EntityStore
from engine.schema.tables import apps

DEFAULT_SEED = 20240607
BATCH = 500
Progress = Callable[[str, int, int | None], None]  # (entity, records written so far, total if known)


class DemoContext(Protocol):
    settings: Settings
    db: Database
    clock: Clock
    store: EntityStore
    records: RecordService
    auth: AuthService
    rule_service: RuleService
    processes: Any  # engine.process.engine.Processes: starts the in-flight work


@dataclass
class DemoSummary:
    app: str
    scale: int
    seed: int
    counts: dict[str, int] = field(default_factory=dict)  # entity -> records created
    users: list[str] = field(default_factory=list)  # demo users' emails
    password: str = ""
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    skipped: str | None = None  # why nothing was made (`if_empty` and the app has records)
    in_flight: int = 0  # processes left waiting (approvals, tickets) so inboxes are not empty

    @property
    def records_per_second(self) -> float:
        return sum(self.counts.values()) / self.seconds if self.seconds else 0.0


def load_spec(app: str, catalog: Path) -> Any:
    path = catalog / app / "demo.json"
    if not path.is_file():
        raise NotFound(f"app {app!r} has no demo data spec ({path} does not exist)")
    return json.loads(path.read_text(encoding="utf-8"))


async def generate(
    ctx: DemoContext, app: str, accounts: int | None = None, seed: int = DEFAULT_SEED, *, append: bool = False,
    if_empty: bool = False, spec: Any = None, today: date | None = None, progress: Progress | None = None,
) -> DemoSummary:  # fmt: skip
    """Create the demo organisation and records of `app` in one transaction and return what was made.
    `accounts` is the spec's scale (default from the spec); refuses when the app already has records
    unless `append` (or, with `if_empty`, makes nothing and says why: `make run` on later starts).
    `spec` defaults to the catalog's <app>/demo.json; `today` anchors every date."""
    started = time.perf_counter()
    doc = load_spec(app, Path(ctx.settings.tangram_catalog_dir)) if spec is None else spec
    async with ctx.db.write() as conn:
        if (await conn.execute(select(apps.c.id).where(apps.c.key == app))).first() is None:
            raise NotFound(f"app {app!r} is not installed")
        compiled = compile_spec(doc, {e.key: e for e in await ctx.store.list(conn, app)})
        scale = _scale(compiled, accounts)
        summary = DemoSummary(app, scale, seed, password=compiled.organisation.password)
        held = None if append else await _records_held(conn, compiled, app)
        if held and if_empty:
            summary.skipped = held
            return summary
        if held:
            raise Conflict(f"{held}: demo data goes into an empty app (or pass --append)")
        by_role, summary.users = await make_organisation(conn, ctx.auth, compiled.organisation, summary.warnings)
        world = _world(ctx, compiled, seed, today, by_role)
        with automation_paused():
            await _Run(ctx.records, conn, compiled, world, scale, summary, progress).all()
        await _enable_rules(conn, ctx.rule_service, app, compiled.organisation.enable_rules, summary.warnings)
        summary.in_flight = await _leave_in_flight(ctx, conn, compiled, app, world.today, summary.warnings)
    summary.seconds = time.perf_counter() - started
    return summary


async def _leave_in_flight(
    ctx: DemoContext, conn: AsyncConnection, spec: Spec, app: str, today: date, warnings: list[str]
) -> int:
    """Start the spec's in-flight processes (automation on: they run as they would for a person)."""
    started = 0
    system = Access.system(source="demo")
    env = Env.at(datetime(today.year, today.month, today.day, 12, tzinfo=ZoneInfo(ctx.settings.tangram_timezone)))
    for i, item in enumerate(spec.in_flight):
        entity = await ctx.store.get(conn, app, item.entity)
        source = await ctx.store.get(conn, app, item.source.entity) if item.source else entity
        where = item.source.where if item.source else item.where
        for row in await _one_per_owner(conn, source, where, item.count, env, f"/in_flight/{i}"):
            try:
                async with conn.begin_nested():  # a process that cannot start leaves nothing behind
                    await _start_one(ctx, conn, item, entity, row, system)
            except TangramError as exc:
                warnings.append(f"in_flight/{i}: {item.process} was not started: {exc.detail}")
                break
            started += 1
    return started


async def _start_one(
    ctx: DemoContext, conn: AsyncConnection, item: Any, entity: Any, row: dict[str, Any], system: Access
) -> None:
    rid = row["id"]
    if item.source is not None:
        values = {k: _wire(_filled(v, row)) for k, v in item.values.items()}
        rid = (await ctx.records.create(conn, entity, values | {"owner": row["owner"]}, system))["id"]
    if item.set:
        await ctx.records.update(conn, entity, rid, item.set, system)
    owner = row["owner"]
    actor = await load_access(conn, owner, False, source="ui") if owner is not None else system
    try:
        await ctx.processes.start(conn, entity, rid, item.process, actor)
    except Conflict as exc:
        if "already running" not in exc.detail:  # `set` fired a rule that started it: fine
            raise


async def _one_per_owner(
    conn: AsyncConnection, entity: Any, where: dict[str, Any] | None, count: int, env: Env, path: str
) -> list[dict[str, Any]]:
    """The first live records matching `where`, at most one per owner (spread over the demo's people)."""
    t = entity.table
    query = select(t).where(t.c.deleted_at.is_(None)).order_by(t.c.id).limit(5000)
    if where is not None:
        errors = ErrorCollector()
        node = parse_condition(where, entity, errors, f"{path}/where")
        errors.raise_if_any("Invalid demo spec")
        if node is not None:
            query = query.where(to_sql(node, t, env))
    out: list[dict[str, Any]] = []
    owners: set[Any] = set()
    for r in (await conn.execute(query)).mappings():
        if r["owner"] not in owners:
            owners.add(r["owner"])
            out.append(dict(r))
            if len(out) == count:
                break
    return out


def _filled(value: Any, row: dict[str, Any]) -> Any:
    """ "{field}" -> the source record's value of field; anything else as written."""
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return row.get(value[1:-1])
    return value


def _scale(spec: Spec, accounts: int | None) -> int:
    value = spec.scale.default if accounts is None else accounts
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= spec.scale.max:
        error = ErrorDetail(f"/{spec.scale.name}", "range", f"{spec.scale.name} must be between 1 and {spec.scale.max}")
        raise ValidationFailed(f"Invalid number of {spec.scale.name}: {value!r}", errors=[error])
    return value


async def _records_held(conn: AsyncConnection, spec: Spec, app: str) -> str | None:
    """Which generated entity already has records ("app 'crm' already has 6 campaign records"), if any."""
    for key in dict.fromkeys(b.entity.key for b in spec.blocks):
        entity = next(b.entity for b in spec.blocks if b.entity.key == key)
        count = (await conn.execute(select(func.count()).select_from(entity.table))).scalar_one()
        if count:
            return f"app {app!r} already has {count} {key} records"
    return None


async def _enable_rules(conn: AsyncConnection, rules: RuleService, app: str, keys: list[str], warnings: list[str]) -> None:
    """Switch on the rules that waited for the demo organisation's teams (after the history is loaded)."""
    for key in keys:
        try:
            row = await rules.row(conn, app, key)
        except NotFound:
            warnings.append(f"rule {key!r} does not exist: not enabled")
            continue
        if row.definition.get("enabled") is False:
            await rules.replace(conn, app, key, {**row.definition, "enabled": True}, None)


def _world(ctx: DemoContext, spec: Spec, seed: int, today: date | None, by_role: dict[str, list[int]]) -> World:
    zone = ZoneInfo(ctx.settings.tangram_timezone)
    day = today or ctx.clock.now().astimezone(zone).date()
    midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
    return World(random.Random(seed), day, midnight, by_role, spec.words)  # noqa: S311 - reproducible, not secret


class _Run:
    """One generation: block after block, each flushed to the record service in batches."""

    def __init__(
        self, records: RecordService, conn: AsyncConnection, spec: Spec, world: World, scale: int, summary: DemoSummary,
        progress: Progress | None,
    ) -> None:  # fmt: skip
        self.records, self.conn, self.spec, self.world, self.scale = records, conn, spec, world, scale
        self.summary, self.progress = summary, progress
        self.actor = Access.system(source="demo")
        self.made: list[list[Row]] = []  # rows of each block, kept only for blocks others hang from
        self.keep = spec.kept | {entity for entity, _ in spec.picked}
        self.seen: dict[tuple[str, str], set[Any]] = {}
        self.indexes: dict[tuple[str, str | None], tuple[int, dict[Any, list[int]]]] = {}
        world.picker = self._pick

    async def all(self) -> None:
        await self._load_picked()
        for block in self.spec.blocks:
            self.made.append(await self._block(block))

    async def _block(self, block: Block) -> list[Row]:
        key = block.entity.key
        keep = key in self.keep or any(b.per == len(self.made) for b in self.spec.blocks)
        kept: list[Row] = []
        pending: list[Row] = []
        total = None if block.per is not None else self._top_count(block)
        self.summary.counts.setdefault(key, 0)
        for parent, n in self._groups(block, total):
            group: dict[str, Any] = {"n": n}
            for i in range(n):
                group["i"] = i
                pending.append(self._row(block, parent, group))
                if len(pending) >= BATCH:  # also inside a group: a top-level block is one group of thousands
                    await self._flush(block, pending, kept if keep else None, total)
                    pending = []
        await self._flush(block, pending, kept if keep else None, total)
        return kept

    def _top_count(self, block: Block) -> int:
        per_unit, least = block.scale or (0.0, 0)
        return max(least, round(per_unit * self.scale))

    def _groups(self, block: Block, total: int | None) -> Any:
        if block.per is None:
            yield None, total
            return
        for parent in self.made[block.per]:
            n = block.count(parent, self.world, {})
            yield parent, max(0, int(n or 0))

    def _row(self, block: Block, parent: Row | None, group: dict[str, Any]) -> Row:
        row = Row(block.entity.key, parent)
        for key, gen, unique in block.fields:
            value = gen(row, self.world, group)
            if unique and value is not None:
                value = self._unique(block.entity.key, key, value, gen, row, group)
            row.values[key] = value
        return row

    def _unique(self, entity: str, key: str, value: Any, gen: Gen, row: Row, group: dict[str, Any]) -> Any:
        seen = self.seen.setdefault((entity, key), set())
        for _ in range(20):
            if value not in seen:
                break
            value = gen(row, self.world, group)
        base, n = value, 2
        while value in seen:  # a small value space ran out: number the repeats
            value, n = f"{base} ({n})", n + 1
        seen.add(value)
        return value

    async def _flush(self, block: Block, rows: list[Row], kept: list[Row] | None, total: int | None) -> None:
        if not rows:
            return
        items = [{k: _wire(v) for k, v in r.values.items() if v is not None and k != "created_at"} for r in rows]
        saved = await self.records.create_many(self.conn, block.entity, items, self.actor)
        await self._backdate(block, rows, saved)
        store = self.world.known.setdefault(block.entity.key, {}) if kept is not None else None
        for row, record in zip(rows, saved, strict=True):
            row.id = record["id"]
            row.values.update({k: v for k, v in record.items() if k not in row.values and k in block.entity.fields})
            row.values.setdefault("owner", record.get("owner"))
            if store is not None and kept is not None:
                store[row.id] = row
                kept.append(row)
        self.summary.counts[block.entity.key] += len(rows)
        if self.progress is not None:
            self.progress(block.entity.key, self.summary.counts[block.entity.key], total)

    async def _backdate(self, block: Block, rows: list[Row], saved: list[dict[str, Any]]) -> None:
        """Set the generated creation moments: the record service stamps every record "now", and history
        is not new. Only the system column changes; the audit log keeps when the demo loaded it."""
        dated = [{"rid": rec["id"], "at": row.values["created_at"]} for row, rec in zip(rows, saved, strict=True)
                 if row.values.get("created_at") is not None]  # fmt: skip
        if dated:
            t = block.entity.table
            stmt = update(t).where(t.c.id == bindparam("rid")).values(created_at=bindparam("at"))
            await self.conn.execute(stmt, dated)

    async def _load_picked(self) -> None:
        """Entities picked from but not generated (products of the package's sample data): read them once."""
        generated = {b.entity.key for b in self.spec.blocks}
        for key in sorted({e for e, _ in self.spec.picked} - generated):
            entity = await self.records.store.get(self.conn, self.summary.app, key)
            s = scope(self.actor, entity, "read")
            t = entity.table
            rows = await self.conn.execute(scoped(select(t).where(t.c.deleted_at.is_(None)).order_by(t.c.id), s))
            known = self.world.known.setdefault(key, {})
            for r in rows:
                row = Row(key, None)
                row.id, row.values = r.id, {k: r._mapping[k] for k in (*entity.fields, "owner")}
                known[r.id] = row

    def _pick(self, entity: str, by: str | None, value: Any) -> list[int]:
        known = self.world.known.get(entity, {})
        size, index = self.indexes.get((entity, by), (-1, {}))
        if size != len(known):
            index = {}
            for rid, row in known.items():
                index.setdefault(None if by is None else row.values.get(by), []).append(rid)
            self.indexes[(entity, by)] = (len(known), index)
        return index.get(None if by is None else value, [])


def _wire(value: Any) -> Any:
    """The JSON form the record service parses: dates and moments as ISO 8601 text."""
    return value.isoformat() if isinstance(value, date) else value
