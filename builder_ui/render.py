"""Jinja2 (autoescape on) for every page and partial, with the helpers templates share: the viewer's
language, labels of user-authored definitions, dates in the viewer's time zone, numbers by locale."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.numbers import NumberPattern, format_currency, format_decimal, parse_pattern
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from builder_ui.i18n import gettext, text_in

TEMPLATES = Path(__file__).parent / "templates"
env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
BABEL = {"zh-CN": "zh_Hans_CN", "en": "en_US"}
# Parsed once: a list page formats hundreds of numbers, and babel parses the locale and the pattern per call.
BABEL_LOCALES = {key: Locale.parse(name) for key, name in BABEL.items()}


@lru_cache(maxsize=32)
def _pattern(scale: int) -> NumberPattern:
    return parse_pattern("#,##0" + ("." + "0" * scale if scale else ""))


def number(value: Any, locale: str, scale: int | None = None) -> str:
    if value is None or value == "":
        return ""
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return format_decimal(d, format=None if scale is None else _pattern(scale), locale=BABEL_LOCALES[locale])


def money(value: Any, currency: str, locale: str) -> str:
    if value is None or value == "":
        return ""
    return format_currency(Decimal(str(value)), currency, locale=BABEL_LOCALES[locale])


def local_datetime(value: Any, tz: Any, with_time: bool = True) -> str:
    """An ISO timestamp from the API in the viewer's zone: 2026-12-07 09:30."""
    if not value:
        return ""
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00")) if isinstance(value, str) else value
    if isinstance(moment, datetime):
        local = moment.astimezone(tz) if moment.tzinfo else moment
        return local.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")
    return moment.isoformat() if isinstance(moment, date) else str(moment)


def page(
    request: Request, template: str, status: int = 200, headers: dict[str, str] | None = None, **context: Any
) -> HTMLResponse:
    viewer = context.get("viewer")
    locale = viewer.locale if viewer else context.pop("locale", "zh-CN")
    html = env.get_template(template).render(
        request=request,
        nonce=getattr(request.state, "csp_nonce", ""),
        locale=locale,
        _=gettext(locale),
        t=lambda value, fallback="": text_in(value, locale, fallback),
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=headers)


env.globals.update(number=number, money=money, local_datetime=local_datetime)
