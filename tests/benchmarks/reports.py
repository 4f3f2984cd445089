"""The report engine on a large opportunity table: three charts (month x stage bar, stage funnel,
region x stage pivot with totals) run through Reports.result beside hand-written SQL giving the same
groups, in the same run, interleaved; their compile time; and each chart for a team-scoped member
beside the same chart for an administrator (unscoped).

The table: BENCH_REPORT_ROWS opportunities (default 1,000,000) bulk-loaded with Core executemany:
created_at spread over two years, owners over 50 users in 5 teams of 10, stage (6 options, indexed),
region (text, indexed), whole-number amounts (so SQLite's float sums stay exact and comparable).
Months are read in the business time zone Asia/Shanghai (UTC+8, no daylight saving since 1991).

Per chart: 'product' = Reports.result (metadata lookup, compile, statement timeout, execution);
'statement' = the compiled statement alone (compiled once, executed as is), also without its LIMIT
MAX_GROUPS + 1 (a bound parameter: see the notes on PostgreSQL's generic plans); 'hand' = a hand-written
statement for the same groups (what an engineer would write per database: on PostgreSQL GROUPING SETS
for the pivot, on SQLite one grouping materialised then summed up). BENCH_REPORT_REPS timed runs each
(default 5); medians are reported.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.api.context import Context
from engine.auth.access import load_access
from engine.auth.policy import Access
from engine.auth.roles import Grant, RoleDefinition
from engine.auth.service import grant_role
from engine.auth.tables import roles, teams, user_teams
from engine.core.db import Database
from engine.core.settings import Settings
from engine.reports.compile import Context as CompileContext
from engine.reports.compile import compile_chart
from engine.reports.definition import ChartDefinition
from engine.schema.model import CompiledEntity
from engine.setup import prepare_database
from tests.benchmarks.backends import Backend
from tests.benchmarks.measure import Metric, Section, interleave
from tests.benchmarks.report import progress

APP = "crm"
TZ = "Asia/Shanghai"
TZ_SECONDS = 8 * 3600  # its fixed offset, for the hand-written SQLite bucket
STAGES = ("new", "qualified", "proposal", "negotiation", "won", "lost")
STAGE_WEIGHTS = (30, 22, 16, 12, 12, 8)  # percent: a funnel's usual shape
REGIONS = ("north", "south", "east", "west", "central", "overseas", "online", "partner")
USERS, TEAM_SIZE = 50, 10  # 5 teams
START = datetime(2024, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 730 * 86400  # two years
BATCH = 10_000
COMPILE_RUNS = 200
MAX_SQL_RATIO, MAX_SCOPE_RATIO, MAX_COMPILE_MS = 1.2, 1.3, 5.0
WARMUP = 1

OPPORTUNITY: dict[str, Any] = {
    "key": "opportunity",
    "label": {"en": "Opportunity"},
    "fields": [
        {"key": "stage", "type": "select", "indexed": True, "options": [{"key": k} for k in STAGES]},
        {"key": "amount", "type": "decimal", "precision": 15, "scale": 2},
        {"key": "region", "type": "text", "indexed": True},
    ],
}
COUNT_AND_SUM = [{"key": "deals", "agg": "count"}, {"key": "amount", "agg": "sum", "field": "amount"}]
CHARTS: dict[str, ChartDefinition] = {
    "bar month x stage": ChartDefinition.model_validate({
        "key": "pipeline_by_month", "type": "bar", "source": "opportunity", "measures": COUNT_AND_SUM,
        "dimensions": [{"field": "created_at", "bucket": "month"}, {"field": "stage"}],
    }),
    "funnel by stage": ChartDefinition.model_validate({
        "key": "stage_funnel", "type": "funnel", "source": "opportunity", "dimensions": [{"field": "stage"}],
        "measures": [{"key": "deals", "agg": "count"}], "options": {"cumulative": True, "exclude": ["lost"]},
    }),
    "pivot region x stage": ChartDefinition.model_validate({
        "key": "region_by_stage", "type": "pivot", "source": "opportunity", "measures": COUNT_AND_SUM,
        "dimensions": [{"field": "region"}, {"field": "stage"}], "options": {"rows": ["region"], "columns": ["stage"]},
    }),
}  # fmt: skip


@dataclass(frozen=True)
class ReportSizes:
    rows: int
    reps: int

    @classmethod
    def from_env(cls) -> ReportSizes:
        return cls(int(os.environ.get("BENCH_REPORT_ROWS", "1000000")), int(os.environ.get("BENCH_REPORT_REPS", "5")))


@dataclass
class World:
    ctx: Context
    entity: CompiledEntity
    admin: Access  # unscoped
    reader: Access  # reads their team's records only
    members: list[int]  # the reader's team: the owners they may read


# -- hand-written SQL -------------------------------------------------------------------------------
def hand_sql(chart: str, dialect: str, table: str) -> str:
    """The same groups as the compiled chart, written by hand for this database (constants of the
    benchmark written in; the table name comes from the entity's metadata)."""
    live = f"FROM {table} WHERE deleted_at IS NULL"
    if chart == "bar month x stage":
        if dialect == "postgresql":
            month = f"date_trunc('month', created_at AT TIME ZONE '{TZ}')"
            return (f"SELECT to_char({month}, 'YYYY-MM-DD') AS created_at, stage, count(*) AS deals, sum(amount) AS amount "
                    f"{live} GROUP BY {month}, stage")  # fmt: skip
        month = f"strftime('%Y-%m-01', substr(created_at, 1, 19), '+{TZ_SECONDS} seconds')"
        return f"SELECT {month} AS created_at, stage, count(*) AS deals, sum(amount) AS amount {live} GROUP BY 1, 2"
    if chart == "funnel by stage":
        return f"SELECT stage, count(*) AS deals {live} GROUP BY stage"
    if dialect == "postgresql":
        return (f"SELECT region, stage, count(*) AS deals, sum(amount) AS amount, GROUPING(region, stage) AS _set {live} "
                "GROUP BY GROUPING SETS ((region, stage), (region), (stage), ())")  # fmt: skip
    # SQLite has no grouping sets: group once, then add the groups up for the subtotals and the total.
    return (
        f"WITH g AS MATERIALIZED (SELECT region, stage, count(*) AS deals, sum(amount) AS amount {live} GROUP BY region, stage) "
        "SELECT region, stage, deals, amount, 0 AS _set FROM g "
        "UNION ALL SELECT region, NULL, sum(deals), sum(amount), 1 FROM g GROUP BY region "
        "UNION ALL SELECT NULL, stage, sum(deals), sum(amount), 2 FROM g GROUP BY stage "
        "UNION ALL SELECT NULL, NULL, sum(deals), sum(amount), 3 FROM g"
    )


def groups(chart: ChartDefinition, rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """Rows as {dimension values (and grouping set): measure values}, numbers compared as Decimals."""
    keys = [d.name for d in chart.dimensions] + (["_set"] if chart.type == "pivot" else [])
    measures = [m.key for m in chart.measures]

    def number(v: Any) -> Any:
        return None if v is None else Decimal(str(v))

    return {tuple(r[k] for k in keys): tuple(number(r[m]) for m in measures) for r in rows}


# -- the data ---------------------------------------------------------------------------------------
def _mix(i: int, salt: int) -> int:
    return ((i + salt) * 2654435761) & 0xFFFFFFFF  # Knuth's multiplicative hash: spread without randomness


def _stage(roll: int) -> str:
    for stage, weight in zip(STAGES, STAGE_WEIGHTS, strict=True):
        if roll < weight:
            return stage
        roll -= weight
    return STAGES[-1]


def opportunity(i: int, owners: list[int], creator: int) -> dict[str, Any]:
    a, b = _mix(i, 0), _mix(i, 0x9E3779B9)
    at = START + timedelta(seconds=b % SPAN_SECONDS)
    return {
        "stage": _stage(a % 100), "amount": Decimal((a >> 8) % 100_000), "region": REGIONS[(a >> 20) % len(REGIONS)],
        "version": 1, "created_at": at, "updated_at": at, "created_by": creator, "updated_by": creator,
        "owner": owners[(b >> 7) % len(owners)],
    }  # fmt: skip


async def load(ctx: Context, entity: CompiledEntity, rows: int, owners: list[int], creator: int) -> float:
    """Core executemany in batches of BATCH rows, ten batches a transaction; seconds taken."""
    started = time.perf_counter()
    t = entity.table
    for first in range(0, rows, BATCH * 10):
        async with ctx.db.write() as conn:
            for start in range(first, min(first + BATCH * 10, rows), BATCH):
                await conn.execute(insert(t), [opportunity(i, owners, creator) for i in range(start, min(start + BATCH, rows))])
    return time.perf_counter() - started


async def people(ctx: Context) -> tuple[list[int], Access, list[int]]:
    """USERS owners in teams of TEAM_SIZE; the first owner may read their team's records. Returns the
    owners, the reader's Access (loaded as a request loads it) and the reader's team."""
    async with ctx.db.write() as conn:
        now = ctx.clock.now()
        owners = [await ctx.auth.create_user(conn, f"rep{i}@bench.example", f"Rep {i}") for i in range(USERS)]
        for n in range(USERS // TEAM_SIZE):
            team = (await conn.execute(insert(teams).values(key=f"team{n}", label={"en": f"Team {n}"}, path="", created_at=now)
                                       .returning(teams.c.id))).scalar_one()  # fmt: skip
            await conn.execute(update(teams).where(teams.c.id == team).values(path=f"/{team}/"))
            members = owners[n * TEAM_SIZE : (n + 1) * TEAM_SIZE]
            await conn.execute(insert(user_teams), [{"user_id": u, "team_id": team, "is_primary": True} for u in members])
        role = RoleDefinition(key="team_reader", label={"en": "Team reader"}, grants=[Grant(entity=f"{APP}.*", read="team")])
        await conn.execute(insert(roles).values(key=role.key, definition=role.model_dump(mode="json"), builtin=False,
                                                created_at=now, updated_at=now))  # fmt: skip
        await grant_role(conn, owners[0], role.key)
    async with ctx.db.read() as conn:
        reader = await load_access(conn, owners[0], False, source="api")
    return owners, reader, owners[:TEAM_SIZE]


async def build(ctx: Context, sizes: ReportSizes) -> tuple[World, list[str]]:
    async with ctx.db.write() as conn:
        uid, _ = await ctx.auth.ensure_admin(conn, "bench@example.com", "benchmark password 1")
        admin = Access(user_id=uid, is_admin=True, source="api")
        await ctx.schema.create_app(conn, APP, {"en": "CRM"}, None)
        entity = await ctx.schema.create_entity(conn, APP, OPPORTUNITY, admin)
    owners, reader, members = await people(ctx)
    progress(f"loading {sizes.rows:,} opportunities (Core executemany, {BATCH:,} a batch)")
    seconds = await load(ctx, entity, sizes.rows, owners, uid)
    await settle(ctx, entity)
    notes = [f"load: {sizes.rows:,} rows in {seconds:.1f}s ({sizes.rows / seconds:,.0f} rows/s, indexes maintained)"]
    return World(ctx, entity, admin, reader, members), notes + await index_notes(ctx, entity)


async def settle(ctx: Context, entity: CompiledEntity) -> None:
    """PostgreSQL: VACUUM ANALYZE as autovacuum would after a bulk load. SQLite is left as the product
    leaves it (no ANALYZE)."""
    if ctx.db.is_sqlite:
        return
    async with ctx.db.writer_engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'VACUUM ANALYZE "{entity.table_name}"'))


async def index_notes(ctx: Context, entity: CompiledEntity) -> list[str]:
    if ctx.db.is_sqlite:
        query = text("SELECT name, coalesce(sql, '(primary key)') FROM sqlite_master WHERE type = 'index' AND tbl_name = :t")
    else:
        query = text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t")
    async with ctx.db.read() as conn:
        found = (await conn.execute(query, {"t": entity.table_name})).all()
    return ["indexes on the table:"] + [f"    {sql}" for _, sql in sorted(found)]


# -- measuring --------------------------------------------------------------------------------------
def _ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


async def read(world: World, work: Callable[[AsyncConnection], Awaitable[Any]]) -> Any:
    async with world.ctx.db.read() as conn:
        return await work(conn)


def chart_step(world: World, chart: ChartDefinition, access: Access) -> Callable[[int], Awaitable[Any]]:
    async def step(_: int) -> Any:
        return await read(world, lambda conn: world.ctx.reports.result(conn, APP, chart, access, None))

    return step


def sql_step(world: World, statement: Any) -> Callable[[int], Awaitable[Any]]:
    async def step(_: int) -> Any:
        return await read(world, lambda conn: _rows(conn, statement))

    return step


async def _rows(conn: AsyncConnection, statement: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in (await conn.execute(statement)).all()]


async def compile_times(world: World, chart: ChartDefinition) -> tuple[float, float, float]:
    """Medians (ms) over COMPILE_RUNS: compile_chart alone; compile_chart + SQL text; Reports.plan (with
    the app's entities read from the store)."""
    async with world.ctx.db.read() as conn:
        entities = {e.key: e for e in await world.ctx.store.list(conn, APP)}
        dialect = conn.dialect
        cctx = CompileContext(entities, world.admin, world.ctx.reports.env(world.admin), dialect.name)
        alone, to_text, planned = [], [], []
        for _ in range(COMPILE_RUNS):
            started = time.perf_counter()
            plan = compile_chart(chart, cctx)
            alone.append(time.perf_counter() - started)
            str(plan.statement.compile(dialect=dialect))
            to_text.append(time.perf_counter() - started)
            started = time.perf_counter()
            await world.ctx.reports.plan(conn, APP, chart, world.admin, None)
            planned.append(time.perf_counter() - started)
    return _ms(alone), _ms(to_text), _ms(planned)


async def explain(world: World, statement: Any) -> list[str]:
    """EXPLAIN (no ANALYZE) on PostgreSQL; EXPLAIN QUERY PLAN on SQLite."""
    async with world.ctx.db.read() as conn:
        sql = (
            statement
            if isinstance(statement, str)
            else str(statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        )
        if world.ctx.db.is_sqlite:
            return [row[-1] for row in await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
        return [row[0] for row in await conn.exec_driver_sql("EXPLAIN " + sql)]


async def scoped_check(world: World, chart: ChartDefinition, rows: list[dict[str, Any]]) -> str:
    """The team member's chart counts exactly their team's records."""
    t = world.entity.table
    query = select(func.count()).where(t.c.deleted_at.is_(None), t.c.owner.in_(world.members))
    expected = await read(world, lambda conn: conn.scalar(query))
    counted = sum(r["deals"] for r in rows if r.get("_set", 0) == 0)
    verdict = "equal" if counted == expected else "DIFFERENT"
    return f"  scoped check: the member's chart counts {counted:,} records, their team owns {expected:,}: {verdict}"


async def measure_chart(world: World, name: str, chart: ChartDefinition, reps: int) -> Section:
    progress(f"{name}: {reps} runs each of Reports.result, the statement alone, hand-written SQL, scoped")
    dialect = "sqlite" if world.ctx.db.is_sqlite else "postgresql"
    hand = hand_sql(name, dialect, world.entity.table_name)
    plan = await read(world, lambda conn: world.ctx.reports.plan(conn, APP, chart, world.admin, None))
    scoped_plan = await read(world, lambda conn: world.ctx.reports.plan(conn, APP, chart, world.reader, None))
    variants = {
        "product": chart_step(world, chart, world.admin), "statement": sql_step(world, plan.statement),
        "no limit": sql_step(world, plan.statement.limit(None)),
        "hand": sql_step(world, text(hand)), "scoped": chart_step(world, chart, world.reader),
    }  # fmt: skip
    ms = {k: _ms(v) for k, v in (await interleave(variants, reps, WARMUP)).items()}
    product = groups(chart, (await variants["product"](0)).rows)
    by_hand = groups(chart, await variants["hand"](0))
    compile_ms, text_ms, plan_ms = await compile_times(world, chart)
    sql_ratio, scope_ratio = ms["product"] / ms["hand"], ms["scoped"] / ms["product"]
    metrics = [
        Metric(f"{name}: compiled vs hand SQL", ms["product"], ms["hand"], "ms", sql_ratio, f"<= {MAX_SQL_RATIO:g}x",
               sql_ratio <= MAX_SQL_RATIO and product == by_hand),
        Metric(f"{name}: statement alone vs hand SQL", ms["statement"], ms["hand"], "ms", ms["statement"] / ms["hand"]),
        Metric(f"{name}: statement without LIMIT vs hand SQL", ms["no limit"], ms["hand"], "ms", ms["no limit"] / ms["hand"]),
        Metric(f"{name}: team-scoped vs unscoped", ms["scoped"], ms["product"], "ms", scope_ratio, f"<= {MAX_SCOPE_RATIO:g}x",
               scope_ratio <= MAX_SCOPE_RATIO),
        Metric(f"{name}: compile + SQL text", text_ms, ms["hand"], "ms", text_ms / ms["hand"], f"< {MAX_COMPILE_MS:g} ms",
               text_ms < MAX_COMPILE_MS),
    ]  # fmt: skip
    same = (
        "equal"
        if product == by_hand
        else f"DIFFERENT (product {sorted(product.items())[:3]}.., hand {sorted(by_hand.items())[:3]}..)"
    )
    scoped_rows = (await variants["scoped"](0)).rows
    notes = [
        f"{name}: {len(product)} groups; compiled and hand-written results {same}",
        f"  compile medians over {COMPILE_RUNS}: compile_chart {compile_ms:.3f} ms, + SQL text {text_ms:.3f} ms, "
        f"Reports.plan (with the store lookup) {plan_ms:.3f} ms",
        await scoped_check(world, chart, scoped_rows),
        f"  compiled SQL: {_one_line(world, plan.statement)}",
        *[f"    {line}" for line in await explain(world, plan.statement)],
        f"  scoped SQL adds: {_scope_clause(world, scoped_plan.statement)}",
        *[f"    {line}" for line in await explain(world, scoped_plan.statement)],
        f"  hand SQL: {hand}",
        *[f"    {line}" for line in await explain(world, hand)],
    ]
    return Section(metrics, notes)


def _one_line(world: World, statement: Any) -> str:
    sql = str(statement.compile(dialect=world.ctx.db.writer_engine.dialect, compile_kwargs={"literal_binds": True}))
    return " ".join(sql.split())


def _scope_clause(world: World, statement: Any) -> str:
    sql = _one_line(world, statement)
    at = sql.find(".owner IN")
    return sql[at - 3 : sql.find(")", at) + 1] if at >= 0 else "(no owner filter found)"


# -- entry ------------------------------------------------------------------------------------------
async def _run(backend: Backend, sizes: ReportSizes) -> Section:
    settings = Settings(database_url=backend.url, var_dir=str(backend.work_dir / "var"), tangram_secret_key="bench-secret",
                        tangram_timezone=TZ)  # fmt: skip
    ctx = Context(settings=settings, db=Database(backend.url))
    try:
        world, notes = await build(ctx, sizes)
        version = ".".join(map(str, ctx.db.writer_engine.dialect.server_version_info or ()))
        report = Section(notes=[f"{backend.name} {version}", *notes])
        for name, chart in CHARTS.items():
            report.extend(await measure_chart(world, name, chart, sizes.reps))
        return report
    finally:
        await ctx.db.dispose()


def run_backend(backend: Backend, sizes: ReportSizes) -> Section:
    """On a fresh database (alembic runs its own event loop, so this one is not async)."""
    prepare_database(backend.url)
    return asyncio.run(_run(backend, sizes))
