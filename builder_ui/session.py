"""Who is looking at a page: the signed-in user's access, profile, language and time zone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

from builder_ui.i18n import LOCALES, from_accept_language, gettext
from engine.api.context import Context, ctx
from engine.api.csrf import csrf_token
from engine.auth.policy import Access
from engine.auth.profile import Profile


class SignInRequired(Exception):
    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


@dataclass(frozen=True)
class Viewer:
    access: Access
    profile: Profile
    locale: str
    tz: ZoneInfo
    csrf: str

    @property
    def _(self) -> Any:
        return gettext(self.locale)


def request_locale(request: Request, chosen: Profile | None = None) -> str:
    """The user's chosen language, else the language cookie (set on the sign-in page), else Accept-Language."""
    if chosen is not None and chosen.locale_chosen and chosen.locale in LOCALES:
        return chosen.locale
    cookie = request.cookies.get("tangram_lang")
    return cookie if cookie in LOCALES else from_accept_language(request.headers.get("accept-language"))


async def viewer(request: Request, c: Annotated[Context, Depends(ctx)]) -> Viewer:
    user_id = request.session.get("user_id")
    async with c.db.read() as conn:
        found = await c.auth.viewer_for_user(conn, user_id) if isinstance(user_id, int) else None
    if found is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(quote(path, safe="/?=&"))
    access, me = found
    tz = ZoneInfo(me.time_zone or c.settings.tangram_timezone)
    return Viewer(access, me, request_locale(request, me), tz, csrf_token(request.session))


CurrentViewer = Annotated[Viewer, Depends(viewer)]
