"""Formula fields of an entity: the kinds formulas see, the checks that need the whole entity
(referenced fields exist, kinds fit `returns`, no cycles, aggregate children exist), the order
formulas are computed in, and their SQL over the entity's table (for backfills and aggregates).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Table, and_, case, func, literal
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.core.errors import ErrorCollector
from engine.formula import ChildRows, Env, Formula, FormulaError, check, child_refs, parse_formula, references, to_sql
from engine.formula.dialect import round_to
from engine.schema.model import CompiledEntity
from engine.schema.store import EntityStore

FIELD_KINDS = {
    **dict.fromkeys(("integer", "decimal", "currency", "percent"), "number"),
    **dict.fromkeys(("text", "long_text", "email", "phone", "url", "select", "auto_number"), "text"),
    "boolean": "boolean", "date": "date", "datetime": "datetime", "multi_select": "list", "relation": "id", "user": "id",
}  # fmt: skip
SYSTEM_KINDS = {
    "id": "id", "version": "number", "created_at": "datetime", "updated_at": "datetime", "owner": "id",
    "created_by": "id", "updated_by": "id",
}  # fmt: skip
RESULT_FITS = {"number": {"number", "id"}, "text": {"text"}, "boolean": {"boolean"}, "date": {"date"}, "datetime": {"datetime"}}
PRECISION = 15


def field_kind(cfg: Any) -> str | None:
    """The formula kind of a field's values; None when formulas cannot read it (json)."""
    return str(cfg.returns) if cfg.type == "formula" else FIELD_KINDS.get(cfg.type)


def entity_kinds(fields: Iterable[Any]) -> dict[str, str]:
    """Field key -> kind for formulas over an entity's records, system fields included."""
    return SYSTEM_KINDS | {f.key: kind for f in fields if (kind := field_kind(f)) is not None}


@dataclass(frozen=True)
class Child:
    """What an aggregate folds: a field of another entity, over the records whose relation field
    points at the parent."""

    entity: CompiledEntity
    relation: str
    field: str

    def kind(self) -> str | None:
        f = self.entity.fields.get(self.field)
        return field_kind(f.cfg) if f is not None else SYSTEM_KINDS.get(self.field)

    def rows(self, parent: Table) -> ChildRows:
        t = self.entity.table
        return ChildRows(t.c[self.field], and_(t.c[self.relation] == parent.c.id, t.c.deleted_at.is_(None)))


def child_kinds(children: Mapping[str, Child]) -> dict[str, str]:
    return {key: kind for key, child in children.items() if (kind := child.kind()) is not None}


def parsed(fields: Iterable[Any]) -> dict[str, Formula]:
    """The formula of every formula field whose expression parses (check_config reports the others)."""
    out = {}
    for cfg in fields:
        if cfg.type == "formula":
            try:
                out[cfg.key] = parse_formula(cfg.expression)
            except FormulaError:
                continue
    return out


async def find_children(
    conn: AsyncConnection, store: EntityStore, app: str, key: str, fields: Iterable[Any], errors: ErrorCollector
) -> dict[str, Child]:
    """Child key ("order_line.amount") -> the child its aggregate folds; problems go to `errors`."""
    found: dict[str, Child] = {}
    for i, cfg in enumerate(fields):
        formula = parsed([cfg]).get(cfg.key)
        for ref in child_refs(formula) if formula else []:
            where = f"/fields/{i}/expression"
            other = None if ref.entity == key else await store.get_or_none(conn, app, ref.entity)
            if other is None:
                errors.add(where, "formula", f"{ref.key}: there is no other entity {ref.entity!r} in app {app!r}")
                continue
            links = [f.key for f in other.relations() if other.relation_target(f) == (app, key)]
            chosen = [k for k in links if ref.relation in (None, k)]
            if len(chosen) != 1:
                why = "none of" if not chosen else "several of"
                hint = f"; name one: {ref.entity}[{chosen[0]}].{ref.field}" if len(chosen) > 1 else ""
                errors.add(where, "formula", f"{ref.key}: {why} {ref.entity}'s relation fields point at {key!r}{hint}")
                continue
            child = Child(other, chosen[0], ref.field)
            if child.kind() is None:
                errors.add(where, "formula", f"{ref.key}: {ref.entity!r} has no field {ref.field!r} a formula can read")
                continue
            found[ref.key] = child
    return found


def check_formulas(fields: list[Any], children: Mapping[str, Child], errors: ErrorCollector) -> None:
    """Type-check every formula field against the entity and refuse cycles among them."""
    kinds = entity_kinds(fields) | child_kinds(children)
    formulas = parsed(fields)
    for i, cfg in enumerate(fields):
        if cfg.key not in formulas or any(r.key not in children for r in child_refs(formulas[cfg.key])):
            continue
        try:
            result = check(formulas[cfg.key], kinds)
        except FormulaError as exc:
            errors.add(f"/fields/{i}/expression", "formula", str(exc))
            continue
        if result not in RESULT_FITS[cfg.returns] | {"null"}:
            errors.add(f"/fields/{i}/returns", "formula", f"the formula gives a {result}, but the field returns {cfg.returns}")
    cycle = _cycle({k: references(f) & formulas.keys() for k, f in formulas.items()})
    if cycle:
        i = next(i for i, cfg in enumerate(fields) if cfg.key == cycle[0])
        errors.add(f"/fields/{i}/expression", "cycle", f"formula fields refer to each other in a cycle: {' -> '.join(cycle)}")


def _cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt, [*path, nxt])):
                return found
        state[node] = 2
        return None

    for start in graph:
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def in_order(entity: CompiledEntity) -> list[tuple[Any, Formula]]:
    """(field, formula) of every formula field, each after the formula fields it reads."""
    formulas = parsed(f.cfg for f in entity.fields.values())
    done: list[str] = []

    def place(key: str) -> None:
        if key not in done:
            for dep in sorted(references(formulas[key]) & formulas.keys()):
                place(dep)
            done.append(key)

    for key in formulas:
        place(key)
    return [(entity.fields[k], formulas[k]) for k in done]


def fit(cfg: Any, value: Any) -> Any:
    """A formula result as the field stores it: numbers rounded half away from zero to the
    scale; a number too large for the field is stored empty, like a division by zero."""
    if value is None or cfg.returns != "number":
        return value
    rounded = Decimal(value).quantize(Decimal(1).scaleb(-cfg.scale), ROUND_HALF_UP)
    return rounded if abs(rounded) < Decimal(10) ** (PRECISION - cfg.scale) else None


def sql_values(entity: CompiledEntity, table: Table, children: Mapping[str, Child], env: Env) -> dict[str, Any]:
    """Field key -> SQL computing it from the row (formulas that read formulas inline them), for
    `UPDATE table SET key = value`: every formula of a row in one statement."""
    columns: dict[str, Any] = {k: table.c[k] for k in (*SYSTEM_KINDS, *entity.fields) if k in table.c}
    columns |= {key: child.rows(table) for key, child in children.items()}
    kinds = entity_kinds(f.cfg for f in entity.fields.values()) | child_kinds(children)
    values = {}
    for f, formula in in_order(entity):
        expr = to_sql(formula, columns, env, kinds)
        if f.cfg.returns == "number":
            rounded = round_to(expr, f.cfg.scale)
            expr = case((func.abs(rounded) < literal(Decimal(10) ** (PRECISION - f.cfg.scale)), rounded), else_=None)
        columns[f.key] = values[f.key] = expr
    return values
