"""The UI's two languages: Babel catalogs (builder_ui/i18n/<locale>/*.po, one per area, English source strings), the
language a request is served in, and user-authored labels ({"zh-CN": .., "en": ..}) in the viewer's language."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

from engine.core.locales import LOCALES
from engine.core.locales import from_accept_language as accept_language

DEFAULT = "zh-CN"
CATALOGS = Path(__file__).parent / "i18n"


@cache
def _messages(locale: str) -> dict[str, str]:
    # One catalog per area (app.po for the generated app, builder_*.po for the designers) so that work on
    # two areas never edits the same file; a string defined twice must mean the same (a test checks).
    messages: dict[str, str] = {}
    for path in sorted((CATALOGS / locale.replace("-", "_")).glob("*.po")):
        with path.open("rb") as f:
            catalog = read_po(f, locale=locale.replace("-", "_"))
        messages.update((str(m.id), str(m.string)) for m in catalog if m.id and m.string)
    return messages


def gettext(locale: str) -> Callable[..., str]:
    """`_("Save")` in that language; keyword arguments fill `{name}` placeholders after translation."""
    messages = _messages(locale)

    def _(text: str, **values: Any) -> str:
        out = messages.get(text, text)
        return out.format(**values) if values else out

    return _


def from_accept_language(header: str | None) -> str:
    """The first of our languages the browser asks for, else the UI's default (Chinese)."""
    return accept_language(header, DEFAULT)


def text_in(value: Any, locale: str, fallback: str = "") -> str:
    """A user-authored text in the viewer's language, falling back to the other one."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and value:
        for key in (locale, *LOCALES):
            if isinstance(value.get(key), str):
                return str(value[key])
        return str(next(iter(value.values())))
    return fallback
