"""The 360 view of a record and ranked text search with snippets. Thin: parse, call one service, shape.

Included before the records router: `/{app}/{entity}/search` must win over `/{app}/{entity}/{rid}`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from engine.api.deps import Ctx, CurrentActor
from engine.api.jsonio import json_response
from engine.api.params import IdPath
from engine.records.related import DEFAULT_LIMIT, DEFAULT_TIMELINE, record_360
from engine.records.search import search_records

router = APIRouter(prefix="/api/v1/apps", tags=["records"])


@router.get("/{app}/{entity}/search")
async def search(
    app: str, entity: str, c: Ctx, actor: CurrentActor, q: Annotated[str, Query(max_length=1000)],
    in_: Annotated[str | None, Query(alias="in", max_length=2000)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20, offset: Annotated[int, Query(ge=0, le=10000)] = 0,
) -> Response:  # fmt: skip
    """Records matching every term of `q` in their text fields (or those listed in `in`), best first,
    each with a plain-text snippet of the match; `total` counts all matches."""
    async with c.db.read() as conn:
        e = await c.store.get(conn, app, entity)
        return json_response(await search_records(conn, actor, e, q, listed=in_, limit=limit, offset=offset))


@router.get("/{app}/{entity}/{rid}/360")
async def view_360(
    app: str, entity: str, rid: IdPath, c: Ctx, actor: CurrentActor,
    limit: Annotated[int, Query(ge=1, le=100)] = DEFAULT_LIMIT,
    timeline: Annotated[int, Query(ge=0, le=200)] = DEFAULT_TIMELINE,
) -> Response:  # fmt: skip
    """The record, every related list (total and newest `limit` records) and the merged timeline."""
    async with c.db.read() as conn:
        e = await c.store.get(conn, app, entity)
        body = await record_360(conn, c.reader, actor, e, rid, limit=limit, timeline=timeline, tz=c.settings.tangram_timezone)
        return json_response(body)
