"""The first-password page of an invitation (`/invite/{token}`, public): the invited person chooses a
password and is signed in. The link is single-use and expires (engine/auth/admin/invitations.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from starlette.responses import RedirectResponse, Response

from builder_ui.i18n import gettext
from builder_ui.pages.auth import new_password_errors
from builder_ui.render import page
from builder_ui.session import request_locale
from engine.api.csrf import csrf_token
from engine.api.deps import Ctx
from engine.audit.journal import AuditJournal
from engine.auth.admin import invitations
from engine.core.errors import NotFound

router = APIRouter(include_in_schema=False)
Token = Annotated[str, Path(max_length=100)]
Text = Annotated[str, Form(max_length=1000)]


def _page(request: Request, locale: str, status: int = 200, **context: object) -> Response:
    values = {"who": None, "errors": {}, "csrf": csrf_token(request.session)} | context
    return page(request, "pages/invite.html", status=status, locale=locale, **values)


@router.get("/invite/{token}")
async def invitation_page(request: Request, token: Token, c: Ctx) -> Response:
    async with c.db.read() as conn:
        try:
            who = await invitations.invited(conn, c.auth, token)
        except NotFound:
            return _page(request, request_locale(request), 404)
    return _page(request, who["locale"] if not request.cookies.get("tangram_lang") else request_locale(request), who=who)


@router.post("/invite/{token}")
async def choose_password(request: Request, token: Token, c: Ctx, password: Text, repeat: Text) -> Response:
    async with c.db.read() as conn:
        try:
            who = await invitations.invited(conn, c.auth, token)
        except NotFound:
            return _page(request, request_locale(request), 404)
    locale = who["locale"] if not request.cookies.get("tangram_lang") else request_locale(request)
    _ = gettext(locale)
    errors = new_password_errors(password, repeat, _, "password")
    if errors:
        return _page(request, locale, 422, who=who, errors=errors)
    try:
        actor = await invitations.accept(c.db, c.auth, AuditJournal(c.clock), token, password)
    except NotFound:
        return _page(request, locale, 404)
    request.session.clear()
    request.session["user_id"] = actor.user_id
    csrf_token(request.session)
    return RedirectResponse("/", status_code=303)
