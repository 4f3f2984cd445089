"""Compiling a chart definition into one SQL statement (SQLAlchemy Core) for one viewer.

Identifiers come only from metadata (entity tables, field columns); every value is a bound
parameter. The viewer's row scope is applied to the source and to every joined entity (in the
join's ON clause, so rows the viewer may not read count as empty, not as missing source rows),
and a field the viewer's role hides cannot be named anywhere in the chart.

Shape of the statement:
- without one-to-many joins: SELECT dims, aggregates FROM source [JOIN ...] WHERE ... GROUP BY dims;
- with them, rows fan out, so an aggregate over the source (or any entity above the fan-out) would
  count each record once per joined row. Each aggregate is then computed at its own grain: the rows
  are first made distinct per (dimensions, the measured entity's id) in a CTE, then grouped; the
  groups of every grain are joined on the dimensions. Still one statement.
- derived measures (ratio, percent of total, running total, change) are window/arithmetic
  expressions in an outer SELECT over the groups;
- pivot totals are extra grouping sets, UNION ALL'ed (SQLite has no ROLLUP).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import (
    Float,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.sql import ColumnElement

from engine.auth.policy import Access, Scope, scope
from engine.auth.tables import teams, user_teams, users
from engine.core.errors import ErrorCollector, Forbidden, pointer
from engine.expr.condition import parse_condition
from engine.expr.dates import period
from engine.expr.fields import SYSTEM_FIELDS, Readable
from engine.expr.to_sql import to_sql
from engine.formula import FormulaError, check, parse_formula
from engine.formula.env import Env
from engine.formula.sql import to_sql as formula_sql
from engine.reports import dialect as sqld
from engine.reports.charts import chart_types
from engine.reports.definition import ChartDefinition, DashboardFilters, Dimension, Measure
from engine.reports.result import ResultDim, ResultMeasure
from engine.schema.definition import label_text
from engine.schema.field_types.formula import value_type
from engine.schema.formulas import entity_kinds
from engine.schema.model import BoundField, CompiledEntity

MAX_GROUPS = 5000  # groups one chart may return; more is a 422 asking for a filter or a coarser bucket
NUMERIC = {"integer", "decimal", "currency", "percent"}
ORDERED = NUMERIC | {"date", "datetime"}
ADDITIVE = {"count", "sum"}
# How a coarser group's value follows from the finer groups' values (pivot subtotals on SQLite).
ROLLUP = {"count": func.sum, "sum": func.sum, "min": func.min, "max": func.max}


@dataclass
class Alias:
    name: str
    entity: CompiledEntity
    table: Any
    scope: Scope
    parent: str | None  # the alias it was joined from
    fans: bool  # a one-to-many (reverse) join: rows of its parent multiply


@dataclass
class Plan:
    chart: ChartDefinition
    statement: Any
    dims: list[ResultDim]
    measures: list[ResultMeasure]
    sets: list[tuple[str, ...]] | None
    kpi_previous: list[str] = field(default_factory=list)  # measure names with a "__previous" column
    source: CompiledEntity | None = None
    limit: int = MAX_GROUPS


@dataclass(frozen=True)
class MeasurePlan:
    result: ResultMeasure
    agg: str
    value: Any  # the per-row value aggregated (None: count rows)
    grain: Alias  # the entity whose records the aggregate counts once each

    def sql(self, dialect: str, value: Any = ...) -> Any:
        return aggregate(self.agg, self.value if value is ... else value, dialect)


@dataclass
class Context:
    """What a chart compiles against: the app's entities, the viewer, time, the database flavour."""

    entities: Mapping[str, CompiledEntity]  # the app's entities by key
    access: Access
    env: Env
    dialect: str  # sqlite | postgresql
    locale: str = "en"
    filters: DashboardFilters | None = None
    action: str = "read"  # the right whose scope applies: read (charts), export (downloads)


class Compiler:
    def __init__(self, chart: ChartDefinition, ctx: Context) -> None:
        self.chart, self.ctx = chart, ctx
        self.errors = ErrorCollector()
        self.aliases: dict[str, Alias] = {}
        self.joins: list[tuple[str, Any, Any]] = []  # (alias name, table, ON clause), in join order
        self.required: set[str] = set()  # inner joins

    # -- entry -----------------------------------------------------------------------------------
    def compile(self) -> Plan:
        chart = self.chart
        kind = chart_types().get(chart.type)
        if kind is None:
            self.errors.add(
                "/type", "unknown_chart_type", f"unknown chart type {chart.type!r}; use one of {chart_types().keys()}"
            )
        else:
            kind.check(chart, self.errors)
        source = self._source()
        if source is None:
            self.errors.raise_if_any("The chart has errors")
            raise AssertionError
        for i, join in enumerate(chart.joins):
            self._join(i, join)
        dims = [self._dimension(i, d) for i, d in enumerate(chart.dimensions)]
        where = self._where(source)
        measures = [p for i, m in enumerate(chart.measures) if m.agg is not None and (p := self._measure(i, m)) is not None]
        self._check_derived()
        self._check_sort(dims)
        self.errors.raise_if_any("The chart has errors")
        sets = kind.grouping_sets(chart) if kind is not None else None
        return self._plan(source, dims, measures, where, sets)

    # -- entities --------------------------------------------------------------------------------
    def _source(self) -> Alias | None:
        entity = self.ctx.entities.get(self.chart.source)
        if entity is None:
            self.errors.add("/source", "unknown_entity", f"there is no entity {self.chart.source!r}")
            return None
        s = scope(self.ctx.access, entity, self.ctx.action)
        if not s.allowed:
            raise Forbidden(f"you may not {self.ctx.action} {entity.key} records")
        alias = Alias("source", entity, entity.table.alias("src"), s, None, False)
        self.aliases["source"] = alias
        return alias

    def _join(self, i: int, join: Any) -> None:
        path = f"/joins/{i}"
        parent = self.aliases.get(join.source)
        if parent is None:
            self.errors.add(f"{path}/from", "unknown_alias", f"{join.source!r} is not the source or an earlier join")
            return
        if join.alias in self.aliases:
            self.errors.add(f"{path}/as", "duplicate", f"{join.alias!r} is already used")
            return
        if join.direction == "forward":
            f = self._field(parent, join.field, f"{path}/field")
            target = self._target(f, f"{path}/field") if f is not None else None
            if target is None:
                return
            holder, other = target, parent
        else:
            holder = self.ctx.entities.get(join.entity or "")
            if holder is None:
                self.errors.add(f"{path}/entity", "unknown_entity", f"there is no entity {join.entity!r}")
                return
            f = self._field_of(holder, join.field, f"{path}/field")
            if f is None:
                return
            if self._target(f, f"{path}/field") is not parent.entity:
                self.errors.add(
                    f"{path}/field", "not_a_relation", f"{holder.key}.{join.field} does not point at {parent.entity.key}"
                )
                return
            other = parent
        s = scope(self.ctx.access, holder, self.ctx.action)
        table = holder.table.alias(f"j{i}")
        alias = Alias(join.alias, holder, table, s, parent.name, join.direction == "reverse")
        forward = join.direction == "forward"
        on = table.c.id == other.table.c[join.field] if forward else table.c[join.field] == other.table.c.id
        terms = [on, table.c.deleted_at.is_(None)]
        if (w := s.where(table)) is not None:
            terms.append(w)
        self.aliases[join.alias] = alias
        self.joins.append((join.alias, table, and_(*terms)))
        if join.required:
            self.required.add(join.alias)

    def _target(self, f: BoundField, path: str) -> CompiledEntity | None:
        if f.cfg.type != "relation":
            self.errors.add(path, "not_a_relation", f"{f.key!r} is not a relation field")
            return None
        target = self.ctx.entities.get(f.cfg.target)
        if target is None:
            self.errors.add(path, "other_app", f"{f.key!r} points at {f.cfg.target!r}, outside this app")
        return target

    def _field_of(self, entity: CompiledEntity, key: str, path: str) -> BoundField | None:
        f = entity.fields.get(key) or SYSTEM_FIELDS.get(key)
        hidden = scope(self.ctx.access, entity, self.ctx.action).hidden
        if f is None or key in hidden:
            self.errors.add(path, "unknown_field", f"{entity.key} has no field {key!r}")
            return None
        return f

    def _field(self, alias: Alias, key: str, path: str) -> BoundField | None:
        f = alias.entity.fields.get(key) or SYSTEM_FIELDS.get(key)
        if f is None or key in alias.scope.hidden:
            self.errors.add(path, "unknown_field", f"{alias.entity.key} has no field {key!r}")
            return None
        if f.cfg.type == "json":
            self.errors.add(path, "type", f"{key!r} is a json field: it cannot be grouped or measured")
            return None
        return f

    def _ref(self, ref: str, path: str) -> tuple[Alias, BoundField] | None:
        name, _, key = ref.rpartition(".")
        alias = self.aliases.get(name or "source")
        if alias is None:
            self.errors.add(path, "unknown_alias", f"{name!r} is not a join alias")
            return None
        f = self._field(alias, key, path)
        return None if f is None else (alias, f)

    # -- dimensions ------------------------------------------------------------------------------
    def _dimension(self, i: int, d: Dimension) -> tuple[ResultDim, ColumnElement[Any], list[Any]] | None:
        path = f"/dimensions/{i}"
        found = self._ref(d.field, f"{path}/field")
        if found is None:
            return None
        alias, f = found
        col = alias.table.c[f.key]
        kind = value_type(f.cfg)  # a formula field counts as the type it returns
        label = (
            label_text(d.label, self.ctx.locale)
            if d.label
            else label_text(getattr(f.cfg, "label", None), self.ctx.locale) or f.key
        )
        extra: list[Any] = []
        if d.bucket is not None:
            if kind not in ("date", "datetime"):
                self.errors.add(f"{path}/bucket", "type", f"{f.key!r} is not a date: it has no time buckets")
                return None
            if kind == "date" and d.bucket == "hour":
                self.errors.add(f"{path}/bucket", "type", f"{f.key!r} is a date: the finest bucket is a day")
                return None
            try:
                expr = sqld.bucket(col, d.bucket, str(self.ctx.env.tz), self.ctx.dialect, kind, formatted=False)
            except ValueError as exc:  # a time zone the database cannot read
                self.errors.add(f"{path}/bucket", "invalid", str(exc))
                return None
            return ResultDim(d.name, label, "bucket", bucket=d.bucket), expr, extra
        if d.bins is not None:
            if kind not in NUMERIC:
                self.errors.add(f"{path}/bins", "type", f"{f.key!r} is not a number: it has no bins")
                return None
            try:
                expr = sqld.bins(col, d.bins.width, d.bins.start, d.bins.edges)
            except ValueError as exc:  # e.g. a width too big to write as a number
                self.errors.add(f"{path}/bins", "invalid", str(exc))
                return None
            return ResultDim(d.name, label, "bins", edges=tuple(d.bins.edges or ()), width=d.bins.width), expr, extra
        wanted = getattr(chart_types().get(self.chart.type), "dimension_kind", None)
        if wanted is not None and kind != wanted:
            self.errors.add(f"{path}/field", "type", f"a {self.chart.type} chart groups by a {wanted} field; {f.key!r} is {kind}")
            return None
        if kind in ("select",):
            options = tuple(o.key for o in f.cfg.options)
            labels = {o.key: label_text(o.label, self.ctx.locale) or o.key for o in f.cfg.options}
            return ResultDim(d.name, label, "select", order=options, labels=labels), col, extra
        if kind == "multi_select":
            self.errors.add(f"{path}/field", "type", f"{f.key!r} holds several options: group by a single select")
            return None
        if kind == "relation":
            target = self.ctx.entities.get(f.cfg.target)
            show = target.definition.display_field if target is not None else None
            if target is not None and show:
                shown = target.table.alias(f"d{i}")
                cond = [shown.c.id == col, shown.c.deleted_at.is_(None)]
                if (w := scope(self.ctx.access, target, self.ctx.action).where(shown)) is not None:
                    cond.append(w)
                self.joins.append((f"__d{i}", shown, and_(*cond)))
                extra = [shown.c[show].label(f"{d.name}__label")]
            return ResultDim(d.name, label, "relation"), col, extra
        if kind == "user":
            person = users.alias(f"u{i}")
            self.joins.append((f"__u{i}", person, person.c.id == col))
            extra = [func.coalesce(func.nullif(person.c.name, ""), person.c.email).label(f"{d.name}__label")]
            return ResultDim(d.name, label, "user"), col, extra
        return ResultDim(d.name, label, "plain"), col, extra

    # -- filters ---------------------------------------------------------------------------------
    @cached_property
    def _targets(self) -> dict[str, Readable]:
        """The app's entities as this viewer may read them, for relation paths in conditions (once per chart)."""
        out = {}
        for key, entity in self.ctx.entities.items():
            s = scope(self.ctx.access, entity, self.ctx.action)
            if s.allowed:
                out[key] = Readable(entity, s.hidden, s.where)
        return out

    def _condition(self, alias: Alias, doc: Any, path: str) -> ColumnElement[bool] | None:
        """A condition on one entity of the chart (the source, or a join's) over its table alias."""
        node = parse_condition(doc, alias.entity, self.errors, path, hidden=alias.scope.hidden, entities=self._targets)
        return None if node is None else to_sql(node, alias.table, self.ctx.env)

    def _where(self, source: Alias) -> list[ColumnElement[bool]]:
        t = source.table
        terms: list[ColumnElement[bool]] = [t.c.deleted_at.is_(None)]
        if (w := source.scope.where(t)) is not None:
            terms.append(w)
        if self.chart.filter is not None and (c := self._condition(source, self.chart.filter, "/filter")) is not None:
            terms.append(c)
        terms.extend(self._dashboard(source))
        return terms

    def _dashboard(self, source: Alias) -> list[ColumnElement[bool]]:
        f = self.ctx.filters
        if f is None:
            return []
        t = source.table
        terms = []
        window = self._window(f)
        if window is not None:
            found = self._date_column(self.chart.date_field, "/date_field")
            if found is not None:
                col, timed = found
                tz = self.ctx.env.tz
                lo, hi = window if timed else (window[0].astimezone(tz).date(), window[1].astimezone(tz).date())
                terms += [col >= lo, col < hi]
        if f.owners:
            terms.append(t.c.owner.in_(f.owners))
        if f.teams:
            parent = teams.alias("tp")
            member_team = teams.alias("tm")
            members = (
                select(user_teams.c.user_id)
                .join(member_team, member_team.c.id == user_teams.c.team_id)
                .join(parent, member_team.c.path.startswith(parent.c.path))
                .where(parent.c.key.in_(f.teams))
            )
            terms.append(t.c.owner.in_(members))
        return terms

    def _window(self, f: DashboardFilters) -> tuple[datetime, datetime] | None:
        return dashboard_window(f, self.ctx.env)

    def _date_column(self, ref: str, path: str) -> tuple[Any, bool] | None:
        """The column of a date or datetime field periods are read on, and whether it holds instants."""
        found = self._ref(ref, path)
        if found is None:
            return None
        kind = value_type(found[1].cfg)
        if kind not in ("date", "datetime"):
            self.errors.add(path, "type", f"{ref!r} is not a date or datetime field")
            return None
        return found[0].table.c[found[1].key], kind == "datetime"

    # -- measures --------------------------------------------------------------------------------
    def _measure(self, i: int, m: Measure) -> MeasurePlan | None:
        path = f"/measures/{i}"
        source = self.aliases["source"]
        grain, value = source, None
        if m.field is not None:
            found = self._ref(m.field, f"{path}/field")
            if found is None:
                return None
            grain, f = found
            value = grain.table.c[f.key]
            kind = value_type(f.cfg)  # a formula field counts as the type it returns
            if m.agg in ("sum", "avg") and kind not in NUMERIC:
                self.errors.add(f"{path}/field", "type", f"{m.agg} needs a number; {f.key!r} is {kind}")
                return None
            if m.agg in ("min", "max", "median") and kind not in ORDERED:
                self.errors.add(f"{path}/field", "type", f"{m.agg} needs a number or a date; {f.key!r} is {kind}")
                return None
        elif m.expr is not None:
            value = self._formula(source, m.expr, f"{path}/expr")
            if value is None:
                return None
        if m.where is not None:  # on the measured records: the source's, or the joined entity's the field is on
            cond = self._condition(grain, m.where, f"{path}/where")
            if cond is None:
                return None
            value = case((cond, value if value is not None else literal(1)))
        label = label_text(m.label, self.ctx.locale) if m.label else m.key
        plan = MeasurePlan(ResultMeasure(m.key, label, m.format), m.agg or "count", value, grain)
        try:
            plan.sql(self.ctx.dialect)
        except ValueError as exc:
            self.errors.add(f"{path}/agg", "unsupported", str(exc))
            return None
        return plan

    def _formula(self, source: Alias, text: str, path: str) -> ColumnElement[Any] | None:
        entity = source.entity
        kinds = entity_kinds([f.cfg for k, f in entity.fields.items() if k not in source.scope.hidden])
        try:
            formula = parse_formula(text)
            returns = check(formula, kinds)
        except FormulaError as exc:
            self.errors.add(path, "formula", str(exc))
            return None
        if returns != "number":
            self.errors.add(path, "type", f"the formula gives a {returns}; a measure needs a number")
            return None
        columns = {k: source.table.c[k] for k in kinds if k in source.table.c}
        return formula_sql(formula, columns, self.ctx.env, kinds)

    def _check_derived(self) -> None:
        keys = [m.key for m in self.chart.measures]
        aggregates = {m.key for m in self.chart.measures if m.agg is not None}
        if len(set(keys)) != len(keys):
            self.errors.add("/measures", "duplicate", "measure keys must be unique")
        for i, m in enumerate(self.chart.measures):
            for ref in m.derived_from:
                if ref not in aggregates:
                    self.errors.add(f"/measures/{i}", "unknown_measure", f"{ref!r} is not an aggregate measure of this chart")
        if any(m.running_total or m.change for m in self.chart.measures) and not self.chart.dimensions:
            self.errors.add("/measures", "needs_dimension", "running totals and changes run along the first dimension")

    def _check_sort(self, dims: list[Any]) -> None:
        names = {d[0].name for d in dims if d is not None} | {m.key for m in self.chart.measures}
        for i, s in enumerate(self.chart.sort):
            if s.by not in names:
                self.errors.add(f"/sort/{i}/by", "unknown", f"{s.by!r} is not a dimension or measure of this chart")
        if self.chart.others and self.chart.limit is None:
            self.errors.add("/others", "needs_limit", "others groups what is left after the top `limit` groups")

    # -- the statement ---------------------------------------------------------------------------
    def _plan(self, source: Alias, dims: list[Any], measures: list[Any], where: list[Any], sets: Any) -> Plan:
        dims_ok = [d for d in dims if d is not None]
        result_dims = [d[0] for d in dims_ok]
        aggregated = {m.result.name: m.result for m in measures}
        result_measures = [  # in the definition's order, derived ones included
            aggregated.get(m.key) or ResultMeasure(m.key, label_text(m.label, self.ctx.locale) if m.label else m.key, m.format)
            for m in self.chart.measures
        ]
        kpi = self.chart.type == "kpi" and bool(self.chart.options.get("compare"))
        if sets:
            statement = self._grouping_sets(source, dims_ok, measures, where, sets)
        elif self._fans(measures):
            statement = self._by_grain(source, dims_ok, measures, where)
        else:
            statement = self._grouped(source, dims_ok, measures, where, kpi)
        statement = self._outer(statement, dims_ok, measures)
        limit = self.chart.limit if (self.chart.limit and not self.chart.others) else MAX_GROUPS
        previous = [m.result.name for m in measures] if kpi else []
        # The LIMIT only guards against too many groups, so PostgreSQL must not plan for "the first few
        # rows": bound, a prepared statement's generic plan assumed few rows and picked a slow index scan;
        # even literal, a GROUP BY on an expression (its groups not estimable) came out as a sorted
        # aggregate instead of a hash (1.5x on the 1M-row benchmark). A MATERIALIZED CTE is planned for
        # all of its rows. With a sort, the chart's own order must hold: no fence then.
        if self.ctx.dialect == "postgresql" and not (self.chart.sort or self.chart.limit):
            fenced = statement.cte("chart").prefix_with("MATERIALIZED")
            statement = select(*fenced.c).select_from(fenced)
        statement = statement.limit(literal_column(str(int(limit) + 1)))
        return Plan(self.chart, statement, result_dims, result_measures, sets, previous, source.entity, limit)

    def _from(self, source: Alias) -> Any:
        joined = source.table
        for name, table, on in self.joins:
            joined = joined.join(table, on, isouter=name not in self.required)
        return joined

    def _grouped(self, source: Alias, dims: list[Any], measures: list[Any], where: list[Any], kpi: bool) -> Any:
        cols = [expr.label(rd.name) for rd, expr, _ in dims] + [c for _, _, extra in dims for c in extra]
        aggs = [m.sql(self.ctx.dialect).label(m.result.name) for m in measures]
        if kpi:
            aggs = self._kpi(measures)
        stmt = select(*cols, *aggs).select_from(self._from(source)).where(*where)
        group = [expr for _, expr, _ in dims] + [c.element for _, _, extra in dims for c in extra]
        return stmt.group_by(*group) if group else stmt

    def _kpi(self, measures: list[MeasurePlan]) -> list[Any]:
        """The measures this period and the previous one, as filtered aggregates (one statement)."""
        compare = self.chart.options.get("compare") or {}
        unit = str(compare.get("period", "month"))
        found = self._date_column(str(compare.get("field") or self.chart.date_field), "/options/compare/field")
        self.errors.raise_if_any("The chart has errors")
        assert found is not None
        col, timed = found
        now_first, now_after = period(f"this_{unit}", self.ctx.env.today)
        before_first, _ = period(f"last_{unit}", self.ctx.env.today)
        tz = self.ctx.env.tz

        def at(d: date) -> Any:
            return datetime.combine(d, datetime.min.time(), tzinfo=tz).astimezone(UTC) if timed else d

        windows = {
            "": and_(col >= at(now_first), col < at(now_after)),
            "__previous": and_(col >= at(before_first), col < at(now_first)),
        }
        out = []
        for m in measures:
            value = m.value if m.value is not None else literal(1)
            for suffix, window in windows.items():
                out.append(m.sql(self.ctx.dialect, case((window, value))).label(m.result.name + suffix))
        return out

    def _fans(self, measures: list[Any]) -> bool:
        return any(a.fans for a in self.aliases.values())

    def _lineage(self, alias: Alias) -> set[str]:
        names = set()
        current: Alias | None = alias
        while current is not None:
            names.add(current.name)
            current = self.aliases.get(current.parent) if current.parent else None
        return names

    def _by_grain(self, source: Alias, dims: list[Any], measures: list[MeasurePlan], where: list[Any]) -> Any:
        """Aggregates over entities above a one-to-many join, each counted once per record: rows made
        distinct per (dimensions, the measured entity's id) before grouping; grains joined on the dims."""
        dim_cols = [expr.label(rd.name) for rd, expr, _ in dims] + [c for _, _, extra in dims for c in extra]
        dim_names = [c.name for c in dim_cols]
        by_grain: dict[str, list[MeasurePlan]] = {}
        for m in measures:
            by_grain.setdefault(m.grain.name, []).append(m)
        parts = []
        for n, (name, items) in enumerate(by_grain.items()):
            grain = self.aliases[name]
            fanned = any(a.fans and a.name not in self._lineage(grain) for a in self.aliases.values())
            values = [(m.value if m.value is not None else literal(1)).label(f"v{k}") for k, m in enumerate(items)]
            base = select(*dim_cols, grain.table.c.id.label("__gid"), *values).select_from(self._from(source)).where(*where)
            if fanned:
                base = base.distinct()
            rows = base.subquery(f"g{n}")
            aggs = [m.sql(self.ctx.dialect, rows.c[f"v{k}"]).label(m.result.name) for k, m in enumerate(items)]
            grouped = select(*[rows.c[d] for d in dim_names], *aggs)
            if dim_names:
                grouped = grouped.group_by(*[rows.c[d] for d in dim_names])
            parts.append(grouped.subquery(f"a{n}"))
        first = parts[0]
        joined = first
        for other in parts[1:]:
            on = and_(true(), *[_same(first.c[d], other.c[d]) for d in dim_names])
            joined = joined.join(other, on, isouter=True)
        cols = [first.c[d] for d in dim_names]
        for part, items in zip(parts, by_grain.values(), strict=True):
            # A group another grain has no rows for counts 0 there, not "empty".
            cols += [func.coalesce(part.c[m.result.name], 0).label(m.result.name) if m.agg in ("count", "count_distinct")
                     else part.c[m.result.name] for m in items]  # fmt: skip
        return select(*cols).select_from(joined)

    def _grouping_sets(
        self, source: Alias, dims: list[Any], measures: list[MeasurePlan], where: list[Any], sets: list[tuple[str, ...]]
    ) -> Any:
        """Pivot subtotals: PostgreSQL's GROUPING SETS (one scan); on SQLite, additive measures rolled up
        from the finest grouping (one scan, then small sums); otherwise one grouped SELECT per set."""
        if self.ctx.dialect == "postgresql":
            return self._pg_grouping_sets(source, dims, measures, where, sets)
        if all(m.agg in ROLLUP for m in measures):
            return self._rolled_up(source, dims, measures, where, sets)
        selects = []
        for n, names in enumerate(sets):
            cols, group = _set_columns(dims, names)
            aggs = [m.sql(self.ctx.dialect).label(m.result.name) for m in measures]
            stmt = select(*cols, *aggs, literal(n).label("_set")).select_from(self._from(source)).where(*where)
            selects.append(stmt.group_by(*group) if group else stmt)
        return union_all(*selects).subquery("sets").select()

    def _pg_grouping_sets(
        self, source: Alias, dims: list[Any], measures: list[MeasurePlan], where: list[Any], sets: list[tuple[str, ...]]
    ) -> Any:
        exprs = [[expr, *(c.element for c in extra)] for _, expr, extra in dims]
        cols = [expr.label(rd.name) for rd, expr, _ in dims] + [c for _, _, extra in dims for c in extra]
        # GROUPING(...) over the dimensions: a bit per dimension, 1 where the set leaves it out.
        bits = func.grouping(*[expr for _, expr, _ in dims])
        masks = [sum(1 << (len(dims) - 1 - i) for i, (rd, _, _) in enumerate(dims) if rd.name not in names) for names in sets]
        which = case(*[(bits == literal_column(str(mask)), literal_column(str(n))) for n, mask in enumerate(masks)])
        groups = [
            tuple_(*[e for (rd, _, _), group in zip(dims, exprs, strict=True) if rd.name in names for e in group])
            for names in sets
        ]
        aggs = [m.sql(self.ctx.dialect).label(m.result.name) for m in measures]
        stmt = select(*cols, *aggs, which.label("_set")).select_from(self._from(source)).where(*where)
        return stmt.group_by(func.grouping_sets(*groups)).subquery("sets").select()

    def _rolled_up(
        self, source: Alias, dims: list[Any], measures: list[MeasurePlan], where: list[Any], sets: list[tuple[str, ...]]
    ) -> Any:
        finest = self._grouped(source, dims, measures, where, kpi=False).cte("finest")
        selects = []
        for n, names in enumerate(sets):
            cols, group = [], []
            for rd, _, extra in dims:
                names_here = [rd.name, *(c.name for c in extra)]
                if rd.name in names:
                    cols += [finest.c[k] for k in names_here]
                    group += [finest.c[k] for k in names_here]
                else:
                    cols += [null().label(k) for k in names_here]
            aggs = [ROLLUP[m.agg](finest.c[m.result.name]).label(m.result.name) for m in measures]
            stmt = select(*cols, *aggs, literal(n).label("_set")).select_from(finest)
            selects.append(stmt.group_by(*group) if group else stmt)
        return union_all(*selects).subquery("sets").select()

    def _outer(self, inner: Any, dims: list[Any], measures: list[Any]) -> Any:
        derived = [m for m in self.chart.measures if m.agg is None]
        sort = self.chart.sort
        if not derived and not sort and not self.chart.limit:
            return inner
        sub = inner.subquery("groups")
        cols: list[Any] = list(sub.c)
        order_dim = sub.c[dims[0][0].name] if dims else None
        partition = [sub.c[d[0].name] for d in dims[1:]]
        for m in derived:
            cols.append(self._derived(m, sub, order_dim, partition).label(m.key))
        stmt = select(*cols).select_from(sub)
        by = {c.name: c for c in cols}
        if sort:
            stmt = stmt.order_by(*[(by[s.by].desc() if s.dir == "desc" else by[s.by].asc()) for s in sort if s.by in by])
        elif self.chart.limit and measures:
            stmt = stmt.order_by(by[measures[0].result.name].desc())
        return stmt

    def _derived(self, m: Measure, sub: Any, order_dim: Any, partition: list[Any]) -> Any:
        def num(name: str) -> Any:
            return cast(sub.c[name], Float)

        if m.ratio is not None:
            return num(m.ratio[0]) / func.nullif(num(m.ratio[1]), 0)
        if m.percent_of_total is not None:
            return num(m.percent_of_total) / func.nullif(func.sum(num(m.percent_of_total)).over(), 0)
        if m.running_total is not None:
            return func.sum(num(m.running_total)).over(partition_by=partition or None, order_by=order_dim)
        assert m.change is not None
        previous = func.lag(num(m.change)).over(partition_by=partition or None, order_by=order_dim)
        return (num(m.change) - previous) / func.nullif(previous, 0)


def _set_columns(dims: list[Any], names: tuple[str, ...]) -> tuple[list[Any], list[Any]]:
    """The SELECT columns and GROUP BY terms of one grouping set: NULL for the dimensions it leaves out."""
    cols, group = [], []
    for rd, expr, extra in dims:
        if rd.name in names:
            cols += [expr.label(rd.name), *extra]
            group += [expr, *(c.element for c in extra)]
        else:
            cols += [null().label(rd.name), *(null().label(c.name) for c in extra)]
    return cols, group


def aggregate(agg: str, value: Any, dialect: str) -> Any:
    if agg == "count":
        return func.count() if value is None else func.count(value)
    if agg == "count_distinct":
        return func.count(distinct(value))
    if agg == "median":
        return sqld.median(value, dialect)
    return getattr(func, agg)(value)


def _same(a: Any, b: Any) -> Any:
    return or_(a == b, and_(a.is_(None), b.is_(None)))


def relative_days(name: str, today: date) -> tuple[date, date]:
    """[first day, first day after) of a dashboard's relative period."""
    if name.startswith("last_") and name.endswith("_days"):
        n = int(name.split("_")[1])
        return today - timedelta(days=n - 1), today + timedelta(days=1)
    return period({"today": "is_today"}.get(name, name), today)


def dashboard_window(f: DashboardFilters, env: Env) -> tuple[datetime, datetime] | None:
    """[start, end) instants of a dashboard's date range (days read in the business time zone)."""
    if f.relative is not None:
        first, after = relative_days(f.relative, env.today)
    elif f.date_from or f.date_to:
        first = date.fromisoformat(f.date_from) if f.date_from else date(1, 1, 2)
        after = date.fromisoformat(f.date_to) + timedelta(days=1) if f.date_to else date(9999, 12, 30)
    else:
        return None
    start = datetime.combine(first, datetime.min.time(), tzinfo=env.tz).astimezone(UTC)
    end = datetime.combine(after, datetime.min.time(), tzinfo=env.tz).astimezone(UTC)
    return start, end


def compile_chart(chart: ChartDefinition, ctx: Context) -> Plan:
    return Compiler(chart, ctx).compile()


__all__ = ["MAX_GROUPS", "Context", "Plan", "compile_chart", "pointer"]
