"""Jinja2 (autoescape on) for every page and partial, with the helpers templates share: the viewer's
language, labels of user-authored definitions, dates in the viewer's time zone, numbers by locale."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import lru_cache
from numbers import Number
from pathlib import Path
from typing import Any

from babel import Locale
from babel.numbers import NumberPattern, format_currency, format_decimal, get_currency_precision, parse_pattern
from jinja2 import Environment, FileSystemLoader, select_autoescape
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from builder_ui.builder.access import may_build_anything
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


def _grouped(d: Decimal, scale: int | None) -> str:
    """What babel's `#,##0.00` (or default `#,##0.###`) gives where the locale groups by three with "," and
    writes "." (both of ours; tests compare the two): half-even rounding, then Python's own grouping."""
    if scale is not None:
        return f"{d.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_EVEN):,.{scale}f}"
    text = f"{d.quantize(Decimal('0.001'), rounding=ROUND_HALF_EVEN):,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# A list page formats hundreds of numbers: babel's general formatter costs ~5x the plain one.
PLAIN = frozenset(k for k, loc in BABEL_LOCALES.items() if format_decimal(Decimal("1234567.891"), locale=loc) == "1,234,567.891")


INT_FAST = 10**15


def number(value: Any, locale: str, scale: int | None = None) -> str:
    if type(value) is int and locale in PLAIN and -INT_FAST < value < INT_FAST:  # most numbers on a page: no Decimal
        return f"{value:,}." + "0" * scale if scale else f"{value:,}"
    if value is None or value == "":
        return ""
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if locale in PLAIN and d.is_finite():
        try:
            return _grouped(d, scale)
        except InvalidOperation:  # more digits than the decimal context holds: babel's way
            pass
    return format_decimal(d, format=None if scale is None else _pattern(scale), locale=BABEL_LOCALES[locale])


@lru_cache(maxsize=64)
def _money_shape(currency: str, locale: str) -> tuple[str, str, int] | None:
    """(prefix, negative prefix, digits) when babel writes this currency as a symbol before the plain number."""
    loc, digits = BABEL_LOCALES[locale], get_currency_precision(currency)
    one, minus = (format_currency(Decimal(v), currency, locale=loc) for v in ("1000", "-1000"))
    body = _grouped(Decimal("1000"), digits)
    if locale not in PLAIN or not one.endswith(body) or not minus.endswith(body):
        return None
    return one[: -len(body)], minus[: -len(body)], digits


def money(value: Any, currency: str, locale: str) -> str:
    if value is None or value == "":
        return ""
    d, shape = Decimal(str(value)), _money_shape(currency, locale)
    if shape is None or not d.is_finite():
        return format_currency(d, currency, locale=BABEL_LOCALES[locale])
    body = _grouped(abs(d), shape[2])
    return (shape[1] if d.is_signed() else shape[0]) + body


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


# How a value looks, one formatter per field type: the display macro (components/fields.html) calls `show`;
# a list page picks each column's formatter once (`cell`) instead of dispatching per cell.
EMPTY = Markup('<span class="tg-muted">—</span>')


@dataclass(frozen=True)
class Cell:
    """A column's field and what formatting its values needs: the display macro's `ctx`, locale and gettext."""

    f: Any
    ctx: Any
    locale: str
    _: Any
    memo: dict[Any, Markup] = field(default_factory=dict)  # an option's tag, drawn once per page

    def get(self, key: str) -> Any:
        return self.ctx.get(key) if isinstance(self.ctx, dict) else getattr(self.ctx, key, None)


# The formatters below build HTML by concatenating Markup parts: literals, and values that went through escape()
# once. `Markup.join` escapes every part again (a Markup per part) and Markup.format goes through
# string.Formatter; both were a large share of a list page.
def _html(*parts: Markup) -> Markup:
    """Parts already safe (Markup literals, escape() results): joined as they are."""
    return Markup("".join(parts))  # noqa: S704 -- every part is Markup (typed), nothing here is raw text


DOT = Markup('<span class="tg-dot" aria-hidden="true"></span>')
# Literals made once: a Markup(...) in a formatter's body is built again for every cell.
A, A_MID, A_END, HASH = Markup('<a href="'), Markup('">'), Markup("</a>"), Markup("#")
CHIPS, CHIPS_END, NOTHING = Markup('<span class="tg-chips">'), Markup("</span>"), Markup("")


def swatch(color: Any) -> Markup:
    if color:
        circle = _html(Markup('<circle cx="4" cy="4" r="4" fill="'), escape(color), Markup('"></circle>'))
        return _html(Markup('<svg class="tg-dot-svg" width="8" height="8" aria-hidden="true">'), circle, Markup("</svg>"))
    return DOT


def tag(f: Any, key: Any) -> Markup:
    o = f.option(key)
    label = escape(o.label if o else key)
    return _html(Markup('<span class="tg-tag">'), swatch(o.color if o else None), label, Markup("</span>"))


def _tag(c: Cell, key: Any) -> Markup:
    drawn = c.memo.get(key)
    if drawn is None:
        drawn = c.memo[key] = tag(c.f, key)
    return drawn


def _relation(c: Cell, v: Any) -> Markup:
    target = (c.get("targets") or {}).get(c.f.key)
    rid = escape(v.get("id", "") if isinstance(v, dict) else v)
    if not target:
        return _html(HASH, rid)
    href = escape(f"/apps/{target.app}/{target.key}/")
    return _html(A, href, rid, A_MID, escape(c.get("display_of")(v, target)), A_END)


def _link(scheme: Markup) -> Format:
    def link(c: Cell, v: Any) -> Markup:
        e = escape(v)
        return _html(A, scheme, e, A_MID, e, A_END)

    return link


def _url(c: Cell, v: Any) -> Markup:
    if v.startswith("https://") or v.startswith("http://"):
        return Markup('<a href="{0}" rel="noopener noreferrer" target="_blank">{0}</a>').format(v)
    return escape(v)


def _file(file: dict[str, Any]) -> Markup:
    url, name = file.get("url", ""), file.get("name", "")
    if file.get("is_image"):
        link = Markup('<a class="tg-thumb-link" href="{0}" target="_blank" rel="noopener" title="{1}">').format(url, name)
        img = Markup('<img class="tg-thumb" src="{}" alt="{}" loading="lazy"></a>').format(file.get("thumbnail_url", ""), name)
        return link + img
    clip = env.get_template("components/icon.html").module.icon("paper-clip", "tg-icon tg-icon-sm")  # type: ignore[attr-defined]
    return Markup('<a class="tg-tag" href="{}">{}{}</a>').format(url, clip, name)


def _chips(parts: Any) -> Markup:
    return _html(CHIPS, NOTHING.join(parts), CHIPS_END)


def _json(v: Any) -> Markup:
    dumps = env.policies["json.dumps_function"]
    return Markup("<code>{}</code>").format(htmlsafe_json_dumps(v, dumps=dumps, **env.policies["json.dumps_kwargs"]))


# Each returns escaped HTML: plain text goes through escape() here, once (not again in `cell`).
Format = Callable[[Cell, Any], Markup]
FORMATS: dict[str, Format] = {
    "select": _tag,
    "multi_select": lambda c, v: _chips(_tag(c, k) for k in v),
    "boolean": lambda c, v: escape(c._("Yes") if v else c._("No")),
    "currency": lambda c, v: escape(money(v, c.f.cfg.currency, c.locale)),
    "percent": lambda c, v: escape(number(v, c.locale) + "%"),
    "formula": lambda c, v: escape(number(v, c.locale, c.f.cfg.scale) if isinstance(v, Number) else v),
    "integer": lambda c, v: escape(number(v, c.locale, 0)),
    "decimal": lambda c, v: escape(number(v, c.locale, c.f.cfg.scale)),
    "datetime": lambda c, v: escape(local_datetime(v, c.get("tz"))),
    "relation": _relation,
    "user": lambda c, v: escape((c.get("names") or {}).get(v, f"#{v}")),
    "email": _link(Markup("mailto:")),
    "url": _url,
    "phone": _link(Markup("tel:")),
    "attachment": lambda c, v: _chips(_file(file) for file in v if isinstance(file, dict)),
    "json": lambda c, v: _json(v),
}


def cell(f: Any, ctx: Any, locale: str, _: Any) -> Callable[[Any], Markup]:
    """The formatter of one field's values (HTML, escaped), chosen once: a list page calls it per row."""
    c, fmt = Cell(f, ctx, locale, _), FORMATS.get(f.type)

    def one(value: Any) -> Markup:
        if value is None or value == "" or value == []:
            return EMPTY
        return fmt(c, value) if fmt else escape(value)

    return one


def show(f: Any, value: Any, ctx: Any, locale: str, _: Any) -> Markup:
    return cell(f, ctx, locale, _)(value)


def row_cells(columns: list[Any], ctx: Any, locale: str, _: Any, base: str, entity: Any) -> Callable[[dict[str, Any]], Markup]:
    """A list row's <td>s, one Python call per row: the table loop in Jinja cost as much as the query (50 rows x
    16 columns of tests, lookups and calls). The selection checkbox first; the first column links to the record."""
    shells = [
        Markup('<td data-label="{}" class="{}{}">').format(f.label, "num" if f.numeric else "", " tg-first" if i == 0 else "")
        for i, f in enumerate(columns)
    ]
    plan = [(f.key, shell, cell(f, ctx, locale, _)) for f, shell in zip(columns, shells, strict=True)]
    link, close = Markup('<a class="tg-row-link" href="{}/').format(base), Markup("</td>")
    check = Markup('<td class="tg-check"><input class="form-check-input" type="checkbox" data-select="')
    version, label, check_end = Markup('" data-version="'), Markup('" aria-label="'), Markup('"></td>')
    select, display_of = escape(_("Select") + " "), ctx["display_of"]

    def row(r: dict[str, Any]) -> Markup:
        rid = escape(r["id"])
        out: list[Markup] = [check, rid, version, escape(r.get("version", "")), label, select,
                             escape(display_of(r, entity)), check_end]  # fmt: skip
        for i, (key, shell, fmt) in enumerate(plan):
            value = fmt(r[key]) if key in r else NOTHING
            if i == 0:
                value = _html(link, rid, A_MID, value, A_END)
            out += (shell, value, close)
        return _html(*out)

    return row


env.globals.update(may_build=may_build_anything)
env.globals.update(number=number, money=money, local_datetime=local_datetime, cell=cell, show=show, swatch_html=swatch)
env.globals.update(row_cells=row_cells)
