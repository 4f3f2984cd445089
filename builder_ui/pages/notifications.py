"""The notifications inbox page and the top bar's bell (its unread count, refreshed by bell.js).

Reads go through `engine.notify.inbox`, the service behind `/api/v1/me/notifications`; marking read is
done by the browser through that API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from builder_ui.render import page
from builder_ui.session import CurrentViewer
from engine.api.deps import Ctx
from engine.api.params import MAX_ID
from engine.notify import inbox

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
Before = Annotated[int | None, Query(ge=1, le=MAX_ID)]


@router.get("/notifications")
async def notifications_page(request: Request, c: Ctx, viewer: CurrentViewer, before: Before = None) -> Response:
    async with c.db.read() as conn:
        result = await inbox.page(conn, viewer.access, limit=PAGE_SIZE, before_id=before)
    items = [{**n, "href": link_of(n)} for n in result["items"]]
    return page(request, "pages/notifications.html", viewer=viewer, nav=None, result=result, items=items)


@router.get("/ui/notifications/bell")
async def bell(request: Request, c: Ctx, viewer: CurrentViewer) -> Response:
    """The bell's inside: icon, badge and the accessible name with the unread count."""
    async with c.db.read() as conn:
        unread = await inbox.unread_count(conn, viewer.access)
    return page(request, "components/bell_count.html", viewer=viewer, unread=unread)


def link_of(n: dict[str, Any]) -> str | None:
    """Where a notification leads: its task, else its record, else nowhere."""
    if n.get("task_id"):
        return f"/tasks/{n['task_id']}"
    if n.get("app") and n.get("entity") and n.get("record_id"):
        return f"/apps/{n['app']}/{n['entity']}/{n['record_id']}"
    return None
