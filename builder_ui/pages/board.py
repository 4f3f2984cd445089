"""The kanban board of an entity: one lane per option of a select field (plus "no value"), each a page of
cards in the viewer's read scope with its count. Moving a card is a versioned PATCH the browser sends."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from builder_ui.fields import FieldView, display_of, field_views
from builder_ui.nav import app_for
from builder_ui.pages.records import _names, _targets
from builder_ui.render import page
from builder_ui.session import CurrentViewer, Viewer
from engine.api.context import Context
from engine.api.deps import Ctx
from engine.api.records import filter_context
from engine.auth.policy import scope
from engine.core.errors import NotFound
from engine.records.query import parse_list_query
from engine.schema.model import CompiledEntity

router = APIRouter(include_in_schema=False)
PAGE = 50  # cards per lane and per "more"
MAX_CARD_FIELDS = 4
NONE = ""  # the lane of records without a value
Key = Annotated[str | None, Query(max_length=64)]


@dataclass(frozen=True)
class Board:
    """What a board shows: the grouping field, the card fields, and the view it was built from."""

    entity: CompiledEntity
    group: FieldView
    cards: list[FieldView]
    choices: list[FieldView]  # select fields the viewer may group by
    view: dict[str, Any]
    views: list[dict[str, Any]]
    movable: bool  # the viewer may change the grouping field (each record may still refuse)

    @property
    def fixed(self) -> bool:
        """A kanban view names its own grouping field: the chooser is not offered."""
        return self.view.get("kind") == "kanban" and bool(self.view.get("group_field"))


def _chosen(views: list[dict[str, Any]], wanted: int | None) -> dict[str, Any]:
    """The view asked for, else the first kanban view, else the entity's default."""
    asked = next((v for v in views if wanted is not None and v["id"] == wanted), None)
    return asked or next((v for v in views if v.get("kind") == "kanban"), views[0])


async def board_of(
    c: Context, conn: AsyncConnection, viewer: Viewer, e: CompiledEntity, view: int | None, field: str | None
) -> Board:
    """The grouping field: the kanban view's `group_field`, else `?field=`, else the first select field."""
    views = await c.views.list(conn, viewer.access, e)
    current = _chosen(views, view)
    fvs = field_views(e, scope(viewer.access, e, "read"), viewer.locale, viewer._, scope(viewer.access, e, "update"))
    choices = [f for f in fvs.values() if f.type == "select"]
    wanted = [current.get("group_field") if current.get("kind") == "kanban" else None, field]
    group = next((fvs[k] for k in wanted if k in fvs and fvs[k].type == "select"), choices[0] if choices else None)
    if group is None:
        raise NotFound(viewer._("{entity} has no select field to group a board by.", entity=e.key))
    named = current.get("card_fields") or [k for k in current["columns"] if k not in (group.key, e.definition.display_field)]
    cards = [fvs[k] for k in named if k in fvs and k != group.key][:MAX_CARD_FIELDS]
    return Board(e, group, cards, choices, current, views, group.writable)


def _lane_filter(view_filter: str | None, group: str, key: str) -> str:
    lane = {"field": group, "op": "is_empty"} if key == NONE else {"field": group, "op": "eq", "value": key}
    return json.dumps({"all": [json.loads(view_filter), lane]} if view_filter else lane)


async def _lane(c: Context, conn: AsyncConnection, viewer: Viewer, b: Board, key: str, cursor: str | None) -> dict[str, Any]:
    """One lane's page of cards (display field and card fields, relations expanded) and its total."""
    e, params = b.entity, b.view["list_params"]
    where = _lane_filter(params["filter"], b.group.key, key)
    context = await filter_context(c, conn, viewer.access, e, where)
    expand = ",".join(f.key for f in b.cards if f.type == "relation") or None
    query = parse_list_query(
        e, filter=where, sort=params["sort"], limit=PAGE, cursor=cursor, fields=None, expand=expand, count=cursor is None,
        q=None, **context,
    )  # fmt: skip
    return await c.reader.list(conn, viewer.access, e, query)


def _lanes(b: Board) -> list[tuple[str, str, str | None]]:
    """(key, label, colour) per lane: the options in order, then "no value" unless the field is required."""
    lanes = [(o.key, o.label, o.color) for o in b.group.options]
    return lanes if b.group.required else [*lanes, (NONE, "", None)]


def _context(b: Board, names: dict[int, str], targets: dict[str, Any], base: str) -> dict[str, Any]:
    keep = f"view={b.view['id']}&" if b.view["id"] is not None else ""
    return {
        "board": b, "entity": b.entity, "names": names, "targets": targets, "display_of": display_of, "base": base,
        "board_url": f"{base}/board?{keep}field={b.group.key}", "keep": keep,
    }  # fmt: skip


@router.get("/apps/{app}/{entity}/board")
async def board_page(
    request: Request, app: str, entity: str, c: Ctx, viewer: CurrentViewer, view: int | None = None, field: Key = None
) -> Response:
    async with c.db.read() as conn:
        e = await c.store.get(conn, app, entity)
        b = await board_of(c, conn, viewer, e, view, field)
        lanes = [(key, label, color, await _lane(c, conn, viewer, b, key, None)) for key, label, color in _lanes(b)]
        users = [f.key for f in b.cards if f.type == "user"]
        names = await _names(conn, [r for *_, res in lanes for r in res["items"]], users)
        targets = await _targets(c, conn, e)
        nav = await app_for(c, conn, viewer, app)
    return page(
        request, "pages/board.html", viewer=viewer, nav=nav, current_entity=entity, lanes=lanes, views=b.views,
        lane_options=_lanes(b),
        view=b.view, **_context(b, names, targets, f"/apps/{app}/{entity}"),
    )  # fmt: skip


@router.get("/apps/{app}/{entity}/board/lane")
async def lane_page(
    request: Request, app: str, entity: str, c: Ctx, viewer: CurrentViewer, field: Key = None, lane: Key = None,
    view: int | None = None, cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:  # fmt: skip
    """The next page of one lane's cards (the lane's "more" button), with the button for the page after."""
    async with c.db.read() as conn:
        e = await c.store.get(conn, app, entity)
        b = await board_of(c, conn, viewer, e, view, field)
        key = lane or NONE
        if key != NONE and b.group.option(key) is None:
            raise NotFound(viewer._("No such column."))
        result = await _lane(c, conn, viewer, b, key, cursor)
        names = await _names(conn, result["items"], [f.key for f in b.cards if f.type == "user"])
        targets = await _targets(c, conn, e)
    return page(
        request, "components/board_cards.html", viewer=viewer, lane_key=key, result=result, lane_options=_lanes(b),
        **_context(b, names, targets, f"/apps/{app}/{entity}"),
    )  # fmt: skip
