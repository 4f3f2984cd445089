"""The 360 view of one record: the record, one list per relation field that points at it (its total and
its newest records) and one timeline merged across those lists. Generic: for a CRM account that is its
contacts, opportunities, orders, payments, tickets, activities... with no CRM code here.

Everything is read as the caller may read it (`scope` + `scoped`, field masks):
- a list whose entity the caller may not read, or whose relation field their role hides, is left out
  (showing which records point here through a hidden field would leak that field);
- a list's total and records count only the rows of their read scope (a sales rep sees their own).

A record's time is its entity's `options.timeline_field` (a date or datetime field, e.g. activity
occurred_at, order ordered_on) or, without one or when the caller's role hides it, its `created_at`.
"Newest" in a list means by that time (empty times last); the timeline holds the records that have one.
Cost: one query per list (the total is a window count over the same scan), none per record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.policy import Access, Scope, scope
from engine.core.jsonvalues import iso_utc
from engine.records.reads import RecordReader, scoped
from engine.records.serialize import record_json
from engine.schema.model import BoundField, CompiledEntity
from engine.schema.store import referrers

DEFAULT_LIMIT = 20
DEFAULT_TIMELINE = 50


@dataclass(frozen=True)
class RelatedList:
    """Records of `entity` whose relation `field` points at the record, as `read` lets the caller see them."""

    entity: CompiledEntity
    field: BoundField
    read: Scope

    @property
    def key(self) -> str:
        """entity.field: stable when fields are added (the 360 answer prefixes another app's key)."""
        return f"{self.entity.key}.{self.field.key}"

    @property
    def time_key(self) -> str:
        chosen = self.entity.definition.options.timeline_field
        usable = chosen in self.entity.fields and chosen not in self.read.hidden
        return chosen if usable and chosen else "created_at"


async def readable_lists(
    conn: AsyncConnection, reader: RecordReader, access: Access, entity: CompiledEntity
) -> list[RelatedList]:
    """Every relation pointing at `entity` that the caller may follow: readable entity, visible field."""
    found = []
    for other, f in await referrers(reader.store, conn, entity):
        s = scope(access, other, "read")
        if s.allowed and f.key not in s.hidden:
            found.append(RelatedList(other, f, s))
    return found


async def record_360(
    conn: AsyncConnection, reader: RecordReader, access: Access, entity: CompiledEntity, rid: int, *,
    limit: int = DEFAULT_LIMIT, timeline: int = DEFAULT_TIMELINE, tz: str = "UTC",
) -> dict[str, Any]:  # fmt: skip
    """The record (404 unless the caller may read it), its related lists and the merged timeline of the
    `timeline` most recent events. Each list fetches max(limit, timeline) newest rows, so the merged
    timeline is exact: any of the newest `timeline` events is among its own list's newest `timeline`."""
    record = await reader.get(conn, access, entity, rid)
    fetch = max(limit, timeline)
    lists, events = [], []
    for related in await readable_lists(conn, reader, access, entity):
        rows = (await conn.execute(_page(related, rid, fetch))).all()
        lists.append(_list_json(related, rows[:limit], rows[0]._mapping["_total"] if rows else 0, entity.app))
        events += [e for r in rows if (e := _event(related, r, ZoneInfo(tz))) is not None]
    events.sort(key=lambda e: (e.pop("_at"), e["id"], e["entity"]), reverse=True)
    return {"record": record, "related": lists, "timeline": events[:timeline]}


def _page(related: RelatedList, rid: int, fetch: int) -> Any:
    """The newest `fetch` rows pointing at `rid`, each carrying the total of all such rows (one scan)."""
    t = related.entity.table
    live = (t.c[related.field.key] == rid, t.c.deleted_at.is_(None))
    stmt = scoped(select(t, func.count().over().label("_total")).where(*live), related.read)
    return stmt.order_by(t.c[related.time_key].desc().nulls_last(), t.c.id.desc()).limit(fetch)


def _list_json(related: RelatedList, rows: list[Any], total: int, home_app: str) -> dict[str, Any]:
    e = related.entity
    return {
        "key": related.key if e.app == home_app else f"{e.app}.{related.key}",
        "app": e.app,
        "entity": e.key,
        "field": related.field.key,
        "label": e.label,
        "total": total,
        "items": [record_json(e, r, None, related.read.hidden) for r in rows],
    }


def _event(related: RelatedList, row: Any, tz: ZoneInfo) -> dict[str, Any] | None:
    value = row._mapping[related.time_key]
    if value is None:
        return None
    e = related.entity
    display = e.definition.display_field
    shown = display is not None and display not in related.read.hidden and row._mapping[display] is not None
    return {
        "entity": e.key,
        "app": e.app,
        "id": row.id,
        "display": e.fields[display].type.dump(e.fields[display].cfg, row._mapping[display]) if shown else None,
        "kind": related.time_key,
        "time": value.isoformat() if _is_day(value) else iso_utc(value),
        "_at": _moment(value, tz),
    }


def _is_day(value: Any) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def _moment(value: Any, tz: ZoneInfo) -> datetime:
    """Where a value sorts on the timeline: a day at its start in the installation's time zone."""
    return datetime.combine(value, time(), tz).astimezone(UTC) if _is_day(value) else value
