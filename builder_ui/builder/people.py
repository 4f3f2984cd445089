"""People and teams (`/build/people`, administrators): users (search, paging, roles as chips added or
removed one at a time, teams, deactivation, invitations with a first-password link) and the team tree
(drag a team onto another, or "move to", manager, members). The page is a shell; static/js/builder-people.js
reads and writes through the admin API (/api/v1/admin/...), whose refusals it shows at their field."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from builder_ui.builder.roles import CurrentAdmin, role_admin, role_card
from builder_ui.render import page
from engine.api.deps import Ctx

router = APIRouter(include_in_schema=False)


@router.get("/build/people")
async def people_page(
    request: Request, c: Ctx, viewer: CurrentAdmin, role: Annotated[str, Query(max_length=63)] = ""
) -> Response:
    async with c.db.read() as conn:
        roles = [role_card(r, viewer.locale) for r in await role_admin(c).all(conn, viewer.access)]
    roles.sort(key=lambda r: (not r["builtin"], r["label"]))
    chosen = role if any(r["key"] == role for r in roles) else ""
    return page(request, "builder/people.html", viewer=viewer, roles=roles, role=chosen, build_section="people")
