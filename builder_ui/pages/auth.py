"""Sign-in, sign-out, and the user's own settings: language, time zone, password."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from pydantic import TypeAdapter, ValidationError
from starlette.responses import RedirectResponse, Response

from builder_ui.i18n import LOCALES, gettext
from builder_ui.render import page
from builder_ui.session import CurrentViewer, request_locale
from engine.api.csrf import csrf_token
from engine.api.deps import Ctx
from engine.audit.journal import AuditJournal
from engine.auth import account
from engine.auth.profile import set_preferences
from engine.core.errors import Forbidden, TooManyRequests, Unauthorized, ValidationFailed

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=1000)]
NEW_PASSWORD: TypeAdapter[str] = TypeAdapter(account.NewPassword)


def new_password_errors(password: str, repeat: str, _: Any, field: str = "new_password") -> dict[str, str]:
    """What is wrong with a chosen password (the engine's rule) and its repetition, by form field."""
    errors: dict[str, str] = {}
    try:
        NEW_PASSWORD.validate_python(password)
    except ValidationError:
        errors[field] = _("Use at least 10 characters.")
    if password != repeat:
        errors["repeat"] = _("The two passwords differ.")
    return errors


TIME_ZONES = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo", "Europe/London",
              "Europe/Berlin", "America/New_York", "America/Los_Angeles", "UTC")  # fmt: skip


def _local(target: str | None) -> str:
    """Only same-site paths: `next` must never send a user to another site."""
    return target if target and target.startswith("/") and not target.startswith(("//", "/\\")) else "/"


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    return page(request, "pages/login.html", locale=request_locale(request), next=_local(next), error=None, email="")


@router.post("/login")
async def login(request: Request, c: Ctx, email: Text, password: Text, next: Text = "/") -> Response:
    locale = request_locale(request)
    _ = gettext(locale)
    ip = request.client.host if request.client else None
    try:
        actor = await account.sign_in(c.db, c.auth, AuditJournal(c.clock), email, password, ip)
    except TooManyRequests as exc:
        error = _("Too many failed attempts. Try again in {minutes} minutes.", minutes=-(-exc.extra["retry_after"] // 60))
    except Unauthorized:
        error = _("The email or password is wrong.")
    else:
        request.session.clear()
        request.session["user_id"] = actor.user_id
        csrf_token(request.session)
        return RedirectResponse(_local(next), status_code=303)
    return page(request, "pages/login.html", status=401, locale=locale, next=_local(next), error=error, email=email)


@router.post("/logout")
async def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/language/{locale}")
async def choose_language_before_sign_in(locale: str, next: str | None = None) -> Response:
    """The sign-in page's language links: a cookie only (no account yet)."""
    response = RedirectResponse(_local(next), status_code=303)
    if locale in LOCALES:
        response.set_cookie("tangram_lang", locale, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    return response


@router.post("/me/language")
async def choose_language(request: Request, c: Ctx, viewer: CurrentViewer, locale: Text, next: Text = "/") -> Response:
    async with c.db.write() as conn:
        await set_preferences(conn, viewer.profile.id, locale=locale if locale in LOCALES else None)
    return RedirectResponse(_local(next), status_code=303)


@router.get("/me")
async def settings_page(request: Request, viewer: CurrentViewer, saved: str | None = None) -> Response:
    return page(request, "pages/me.html", nav=None, viewer=viewer, zones=TIME_ZONES, errors={}, saved=saved)


@router.post("/me/time-zone")
async def choose_time_zone(request: Request, c: Ctx, viewer: CurrentViewer, time_zone: Text = "") -> Response:
    try:
        async with c.db.write() as conn:
            await set_preferences(conn, viewer.profile.id, time_zone=time_zone)
    except ValidationFailed:
        errors = {"time_zone": viewer._("Unknown time zone.")}
        return page(request, "pages/me.html", nav=None, status=422, viewer=viewer, zones=TIME_ZONES, errors=errors, saved=None)
    return RedirectResponse("/me?saved=time_zone", status_code=303)


@router.post("/me/password")
async def change_password(
    request: Request, c: Ctx, viewer: CurrentViewer, current_password: Text, new_password: Text, repeat: Text
) -> Response:
    _ = viewer._
    errors = new_password_errors(new_password, repeat, _)
    if not errors:
        ip = request.client.host if request.client else None
        try:
            await account.change_password(c.db, c.auth, AuditJournal(c.clock), viewer.access, current_password, new_password, ip)
            return RedirectResponse("/me?saved=password", status_code=303)
        except Forbidden:
            errors["current_password"] = _("The current password is wrong.")
        except TooManyRequests:
            errors["current_password"] = _("Too many failed attempts. Try again later.")
    return page(request, "pages/me.html", nav=None, status=422, viewer=viewer, zones=TIME_ZONES, errors=errors, saved=None)
