"""Line-item grids of the record page: each lines section of the record form with its child entity's
columns (writable by the viewer's rights on the child), the lines the viewer may read (the engine's
LineItems service, as `GET ?lines=true` answers) and the records their relation columns name."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from builder_ui.fields import FieldView, field_views
from builder_ui.i18n import text_in
from builder_ui.session import Viewer
from engine.api.context import Context
from engine.apps.forms import LinesSection
from engine.apps.lines_input import MAX_LINES
from engine.auth.policy import rights, scope
from engine.records.query import parse_list_query
from engine.schema.model import CompiledEntity

TargetsOf = Callable[[Context, AsyncConnection, CompiledEntity], Awaitable[dict[str, CompiledEntity]]]


@dataclass
class LineGrid:
    """One lines section as the page draws it: `columns` for the lines there are (update rights),
    `new_columns` for rows the viewer adds (create rights)."""

    key: str
    label: str
    child: CompiledEntity
    columns: list[FieldView]
    new_columns: list[FieldView]
    targets: dict[str, CompiledEntity]
    rows: list[dict[str, Any]] = field(default_factory=list)
    may_create: bool = False
    may_delete: bool = False


async def line_grids(
    c: Context, conn: AsyncConnection, viewer: Viewer, e: CompiledEntity, rid: int | None, targets_of: TargetsOf
) -> dict[str, LineGrid]:
    """The entity's lines sections the viewer may read, by key, with the lines of record `rid` (none for a new one)."""
    read_back: dict[str, Any] = {"id": rid}
    if rid is not None:
        await c.lines.read(conn, viewer.access, e, read_back)
    grids = {}
    for section in await c.lines.sections(conn, e):
        if not isinstance(section, LinesSection):
            continue
        child = await c.store.get(conn, e.app, section.entity)
        read = scope(viewer.access, child, "read")
        if not read.allowed:
            continue
        update, create = scope(viewer.access, child, "update"), scope(viewer.access, child, "create")
        keys = [k for k in section.fields if k != section.link]
        mine = field_views(child, read, viewer.locale, viewer._, update if update.allowed else None)
        new = field_views(child, read, viewer.locale, viewer._, create if create.allowed else None)
        grid = LineGrid(
            section.key, text_in(section.label, viewer.locale, section.key), child,
            [mine[k] for k in keys if k in mine], [new[k] for k in keys if k in new], await targets_of(c, conn, child),
            read_back.get(section.key) or [], rights(viewer.access, child).create,
            scope(viewer.access, child, "delete").allowed,
        )  # fmt: skip
        await _expand(c, conn, viewer, grid)
        grids[section.key] = grid
    return grids


async def _expand(c: Context, conn: AsyncConnection, viewer: Viewer, grid: LineGrid) -> None:
    """Relation ids in the lines as the records they name (those the viewer may read), for their names."""
    for f in grid.columns:
        target = grid.targets.get(f.key)
        ids = sorted({r[f.key] for r in grid.rows if isinstance(r.get(f.key), int)})
        if target is None or not ids or not scope(viewer.access, target, "read").allowed:
            continue
        query = parse_list_query(
            target, filter=json.dumps({"field": "id", "op": "in", "value": ids}), sort=None, limit=MAX_LINES,
            cursor=None, fields=None, expand=None, count=False, hidden=scope(viewer.access, target, "read").hidden,
        )  # fmt: skip
        found = {r["id"]: r for r in (await c.reader.list(conn, viewer.access, target, query))["items"]}
        for row in grid.rows:
            row[f.key] = found.get(row.get(f.key), row.get(f.key))
