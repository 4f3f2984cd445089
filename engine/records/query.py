"""List queries: filter (the condition language), sort, keyset cursor pagination, field selection.

Cursors are keyset positions (the last row's sort values + id), so deep pages cost the same as the
first and concurrent inserts never shift a page. NULLs sort last in both directions on both databases.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement, Select

from engine.auth.policy import Access, scope
from engine.core.errors import BadRequest, ErrorCollector
from engine.expr.condition import Node, parse_condition, parse_operand
from engine.expr.fields import Readable, resolve
from engine.expr.paths import entities_for
from engine.expr.to_sql import to_sql
from engine.formula.env import Env
from engine.records.search import TextSearch, parse_search, search_condition
from engine.schema.field_types import InvalidValue
from engine.schema.model import BoundField, CompiledEntity
from engine.schema.store import EntityStore

UNSORTABLE = {"multi_select", "json", "long_text", "attachment"}
MAX_SORT_KEYS = 8


@dataclass(frozen=True)
class SortKey:
    field: BoundField
    descending: bool


@dataclass
class ListQuery:
    condition: Node | None
    sort: list[SortKey]
    sort_text: str
    limit: int
    after: tuple[list[Any], int] | None
    fields: list[str] | None
    expand: list[str]
    count: bool
    env: Env  # what the filter's variables read
    text: TextSearch | None = None  # the `q` text search, AND-ed with the filter


def caller_env(access: Access, now: datetime, tz: str) -> Env:
    """The filter's variables for this caller: `user`, `user.team` (primary team), `now`, `today` in `tz`."""
    return Env(now=now, tz=ZoneInfo(tz), user_id=access.user_id, user_team_id=access.primary_team_id)


async def filter_targets(
    store: EntityStore, conn: AsyncConnection, access: Access, entity: CompiledEntity, filter: str | None
) -> dict[str, Readable]:
    """The relation targets a filter's paths may reach, as the caller may read them: an entity they
    cannot read is left out (its paths are unknown fields), hidden fields and row scope apply."""
    if not filter or "." not in filter:  # no path in it: spare the lookup on every plain list
        return {}
    out = {}
    for name, target in (await entities_for(store, conn, entity)).items():
        s = scope(access, target, "read")
        if s.allowed:
            out[name] = Readable(target, s.hidden, s.where)
    return out


def parse_list_query(
    entity: CompiledEntity,
    *,
    filter: str | None,
    sort: str | None,
    limit: int,
    cursor: str | None,
    fields: str | None,
    expand: str | None,
    count: bool,
    hidden: frozenset[str] = frozenset(),
    targets: dict[str, Readable] | None = None,
    env: Env | None = None,
    q: str | None = None,
) -> ListQuery:
    """Parse list parameters; fields in `hidden` (the caller's field mask) answer as unknown.
    `targets` (see `filter_targets`) let the filter follow relations; `env` is what its variables read;
    `q` is a text search over the text fields the caller may read (engine.records.search)."""
    errors = ErrorCollector()
    condition = None
    if filter:
        try:
            doc = json.loads(filter)
        except (ValueError, RecursionError):
            raise BadRequest("filter is not valid JSON") from None
        condition = parse_condition(doc, entity, errors, "/filter", hidden, targets)
    keys = _sort_keys(entity, sort or "", errors, hidden)
    selected = _names(entity, fields, errors, "/fields", hidden) if fields else None
    expanded = _names(entity, expand, errors, "/expand", hidden, relations_only=True) if expand else []
    text = parse_search(entity, q, hidden, errors=errors) if q is not None else None
    errors.raise_if_any("The list query has errors")
    sort_text = ",".join(("-" if k.descending else "") + k.field.key for k in keys)
    after = _decode_cursor(cursor, keys, sort_text)
    return ListQuery(condition, keys, sort_text, limit, after, selected, expanded, count, env or Env.at(), text)


def sortable(entity: CompiledEntity, name: str, hidden: frozenset[str]) -> BoundField | str:
    """The field a list may sort on by `name`, or why it may not (a hidden field is an unknown one)."""
    f = resolve(entity, name, hidden)
    if f is None:
        return "unknown field"
    if name == "id":
        return "id is always the last sort key"
    return "cannot sort on this field" if f.cfg.type in UNSORTABLE else f


def _sort_keys(entity: CompiledEntity, sort: str, errors: ErrorCollector, hidden: frozenset[str]) -> list[SortKey]:
    keys = []
    for i, part in enumerate(p.strip() for p in sort.split(",") if p.strip()):
        name = part.removeprefix("-")
        f = sortable(entity, name, hidden)
        if isinstance(f, str):
            errors.add(f"/sort/{i}", "invalid_sort", f"{name[:100]!r}: {f}")
            continue
        keys.append(SortKey(f, part.startswith("-")))
    if len(keys) > MAX_SORT_KEYS:
        errors.add(f"/sort/{MAX_SORT_KEYS}", "too_many", f"sort by at most {MAX_SORT_KEYS} fields")
    return keys


def _names(
    entity: CompiledEntity, text: str, errors: ErrorCollector, path: str, hidden: frozenset[str], relations_only: bool = False
) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    system = {"id", "version", "created_at", "updated_at", "created_by", "updated_by", "owner", "deleted_at"}
    for i, n in enumerate(names):
        f = None if n in hidden else entity.fields.get(n)
        if relations_only and (f is None or f.cfg.type != "relation"):
            errors.add(f"{path}/{i}", "invalid_expand", f"{n[:100]!r} is not a relation field")
        elif not relations_only and f is None and (n not in system or n in hidden):
            errors.add(f"{path}/{i}", "unknown_field", f"{n[:100]!r} is not a field")
    return names


def encode_cursor(sort_text: str, values: list[Any], last_id: int) -> str:
    raw = json.dumps({"s": sort_text, "v": values, "id": last_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None, keys: list[SortKey], sort_text: str) -> tuple[list[Any], int] | None:
    if not cursor:
        return None
    try:
        doc = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if doc["s"] != sort_text:
            raise BadRequest("the cursor belongs to another sort order; start again without a cursor")
        values = [None if v is None else parse_operand(k.field, v) for k, v in zip(keys, doc["v"], strict=True)]
        last_id = doc["id"]
        if isinstance(last_id, bool) or not isinstance(last_id, int) or not 0 <= last_id <= 2**63 - 1:
            raise ValueError
        return values, last_id
    except BadRequest:
        raise
    except (ValueError, KeyError, TypeError, InvalidValue):
        raise BadRequest("the cursor is not valid; start again without a cursor") from None


def _after(table: Any, keys: list[SortKey], values: list[Any], last_id: int) -> ColumnElement[bool]:
    """Rows strictly after the cursor position in (keys..., id) order with NULLs last."""
    if not keys:
        return table.c.id > last_id
    key, rest = keys[0], keys[1:]
    col, v = table.c[key.field.key], values[0]
    tail = _after(table, rest, values[1:], last_id)
    if v is None:
        return and_(col.is_(None), tail)
    beyond = col < v if key.descending else col > v
    return or_(beyond, col.is_(None), and_(col == v, tail))


NOT_NULL_SYSTEM = {"version", "created_at", "updated_at"}


def _order(col: Any, key: SortKey, binned: bool) -> Any:
    """Empty values sort last both ways. A column that cannot hold NULL among live records (a system
    stamp, or a required field: data is checked before `required` is switched on) needs no NULLS
    clause, which lets PostgreSQL read an index backwards for descending sorts."""
    term = col.desc() if key.descending else col.asc()
    if key.field.key in NOT_NULL_SYSTEM or (key.field.cfg.required and not binned):  # binned rows are not re-checked
        return term
    return term.nulls_last()


def _filtered(entity: CompiledEntity, q: ListQuery, stmt: Select[Any], binned: bool) -> Select[Any]:
    table = entity.table
    stmt = stmt.where(table.c.deleted_at.is_not(None) if binned else table.c.deleted_at.is_(None))
    if q.text is not None:
        stmt = stmt.where(search_condition(table, q.text))
    return stmt if q.condition is None else stmt.where(to_sql(q.condition, table, q.env))


def build_select(entity: CompiledEntity, q: ListQuery, *, binned: bool = False) -> Select[Any]:
    table = entity.table
    stmt = _filtered(entity, q, select(table), binned)
    if q.after is not None:
        stmt = stmt.where(_after(table, q.sort, *q.after))
    order = [_order(table.c[k.field.key], k, binned) for k in q.sort]
    return stmt.order_by(*order, table.c.id.asc()).limit(q.limit + 1)


def count_select(entity: CompiledEntity, q: ListQuery, *, binned: bool = False) -> Select[Any]:
    return _filtered(entity, q, select(func.count()).select_from(entity.table), binned)
