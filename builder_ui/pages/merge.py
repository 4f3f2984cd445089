"""The merge page of duplicate records: the records side by side, a value to keep per differing field, then
the merge (and its undo) through the REST API from the browser (static/js/merge.js)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from builder_ui.fields import SYSTEM, FieldView, display_of, field_views
from builder_ui.nav import app_for
from builder_ui.pages.records import _names, _targets
from builder_ui.render import page
from builder_ui.session import CurrentViewer
from engine.api.deps import Ctx
from engine.auth.policy import scope
from engine.core.errors import BadRequest
from engine.records.dedup.merge import MAX_ID, MergeRequest

router = APIRouter(include_in_schema=False)
MAX_RECORDS = 1 + next(m.max_length for m in MergeRequest.model_fields["others"].metadata if hasattr(m, "max_length"))
UNPICKABLE = frozenset({"attachment"})  # files belong to their record: a merge does not move them


@dataclass(frozen=True)
class MergeRow:
    """One field across the records: a choice when they differ and the viewer may write the field."""

    field: FieldView
    values: list[Any]
    differs: bool

    @property
    def pickable(self) -> bool:
        return self.differs and self.field.writable and self.field.type not in UNPICKABLE


def parse_ids(text: str, _: Any) -> list[int]:
    """`12,15` -> [12, 15]: 2 to MAX_RECORDS distinct record ids, else 400 with the reason."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not all(p.isdigit() and 0 < int(p) <= MAX_ID for p in parts):
        raise BadRequest(_("The records to merge are given as ids separated by commas, like ?ids=12,15."))
    ids = list(dict.fromkeys(int(p) for p in parts))
    if not 2 <= len(ids) <= MAX_RECORDS:
        raise BadRequest(_("Choose between 2 and {most} different records to merge.", most=MAX_RECORDS))
    return ids


def _same(values: list[Any]) -> bool:
    plain = [json.dumps(v.get("id") if isinstance(v, dict) else v, sort_keys=True, default=str) for v in values]
    return len(set(plain)) == 1


def merge_rows(fields: dict[str, FieldView], records: list[dict[str, Any]]) -> list[MergeRow]:
    """Every field of the entity (system columns aside) with a value in some record, in definition order."""
    rows = []
    for key, f in fields.items():
        if key in SYSTEM:
            continue
        values = [r.get(key) for r in records]
        if all(v in (None, "", []) for v in values):
            continue
        rows.append(MergeRow(f, values, not _same(values)))
    return rows


@router.get("/apps/{app}/{entity}/merge")
async def merge_page(
    request: Request, app: str, entity: str, c: Ctx, viewer: CurrentViewer,
    ids: Annotated[str, Query(max_length=1100)] = "",
) -> Response:  # fmt: skip
    wanted = parse_ids(ids, viewer._)
    async with c.db.read() as conn:
        e = await c.store.get(conn, app, entity)
        expand = [f.key for f in e.relations()]
        records = [await c.reader.get(conn, viewer.access, e, rid, expand=expand) for rid in wanted]
        fields = field_views(e, scope(viewer.access, e, "read"), viewer.locale, viewer._, scope(viewer.access, e, "update"))
        users = [k for k, f in fields.items() if f.type == "user"]
        names = await _names(conn, records, users)
        targets = await _targets(c, conn, e)
        nav = await app_for(c, conn, viewer, app)
    rows = merge_rows(fields, records)
    return page(
        request, "pages/merge.html", viewer=viewer, nav=nav, current_entity=entity, entity=e, records=records,
        differ=[r for r in rows if r.differs], same=[r for r in rows if not r.differs], names=names,
        targets=targets, display_of=display_of, base=f"/apps/{app}/{entity}",
    )  # fmt: skip
