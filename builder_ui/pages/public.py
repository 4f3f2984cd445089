"""Anonymous pages of public forms: the form at /f/{slug} (framable by the form's allowed origins only)
and the submitter's private status page. Submissions go from the page's JS to /api/v1/public/forms/{slug}."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from builder_ui.fields import field_views
from builder_ui.i18n import gettext, text_in
from builder_ui.layout import field_rules
from builder_ui.render import page
from builder_ui.session import request_locale
from engine.api.deps import Ctx
from engine.api.public_forms import describe
from engine.apps.public_submit import HONEYPOT, status
from engine.auth.policy import Access, scope
from engine.core.locales import LOCALES

router = APIRouter(include_in_schema=False)
Lang = Annotated[str | None, Query(max_length=10)]
NO_STORE = {"Cache-Control": "no-store"}


def _locale(request: Request, lang: str | None) -> str:
    return lang if lang in LOCALES else request_locale(request)


@router.get("/f/status/{token}")
async def status_page(token: str, request: Request, c: Ctx, lang: Lang = None) -> Response:
    """Only the fields the form shows its submitters, read-only."""
    locale = _locale(request, lang)
    async with c.db.read() as conn:
        form, result = await status(conn, c.public_forms, token)
    _ = gettext(locale)
    system = Access.system(source="public_form")
    views = field_views(form.entity, scope(system, form.entity, "read"), locale, _)
    rows = [(views[f["key"]], f["value"]) for f in result["fields"]]
    ctx = SimpleNamespace(tz=ZoneInfo(c.settings.tangram_timezone), targets={}, names={})
    return page(request, "pages/public_status.html", locale=locale, title=text_in(result["title"], locale),
                submitted_at=result["submitted_at"], rows=rows, ctx=ctx, headers=NO_STORE)  # fmt: skip


@router.get("/f/{slug}")
async def form_page(slug: str, request: Request, c: Ctx, lang: Lang = None) -> Response:
    """The form with a fresh form token and challenge; framable only by the form's allowed origins."""
    locale = _locale(request, lang)
    async with c.db.read() as conn:
        form = await c.public_forms.published(conn, slug)
        rules = await field_rules(c, conn, form.entity)
    _ = gettext(locale)
    system = Access.system(source="public_form")
    views = field_views(form.entity, scope(system, form.entity, "read"), locale, _, scope(system, form.entity, "create"))
    fields = [replace(views[k], rules=rules.get(k, {})) for k in form.fields()]  # evaluated live, as the server will
    info: dict[str, Any] = describe(request, form, c.clock.now())
    request.state.frame_ancestors = tuple(form.settings.origins)
    ctx = SimpleNamespace(tz=ZoneInfo(c.settings.tangram_timezone), targets={}, names={})
    return page(
        request, "pages/public_form.html", locale=locale, headers=NO_STORE, form=form, fields=fields, ctx=ctx,
        title=text_in(info["title"], locale) or _("Form"), description=text_in(info["description"], locale),
        thank_you=text_in(form.settings.thank_you, locale) or _("Thank you: we have received your submission."),
        info=info, honeypot=HONEYPOT, time_zone=c.settings.tangram_timezone,
    )  # fmt: skip
