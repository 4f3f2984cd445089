"""The zh-CN catalogs: every area's file parses, a string translated in two areas means the same in both,
and every English string the templates and pages ask for has its Chinese translation."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from builder_ui.i18n import CATALOGS, gettext

ROOT = Path(__file__).resolve().parents[3] / "builder_ui"
LITERAL = re.compile(r"""\b_\(\s*(?P<q>["'])(?P<text>(?:(?!(?P=q)).)+)(?P=q)\s*[,)]""")


def _catalogs() -> dict[str, dict[str, str]]:
    out = {}
    for path in sorted((CATALOGS / "zh_CN").glob("*.po")):
        with path.open("rb") as f:
            out[path.name] = {str(m.id): str(m.string) for m in read_po(f, locale="zh_CN") if m.id}
    return out


def test_a_string_in_two_catalogs_has_one_translation() -> None:
    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for name, messages in _catalogs().items():
        for msgid, text in messages.items():
            if msgid in seen and seen[msgid][1] != text:
                clashes.append((msgid, seen[msgid], (name, text)))
            seen.setdefault(msgid, (name, text))
    assert clashes == []


def test_every_string_the_ui_asks_for_is_translated() -> None:
    zh = gettext("zh-CN")
    asked = {
        m.group("text")
        for path in [*ROOT.rglob("*.html"), *ROOT.rglob("*.py")]
        for m in LITERAL.finditer(path.read_text(encoding="utf-8"))
    }
    untranslated = sorted(text for text in asked if zh(text) == text and re.search("[A-Za-z]{2}", text))
    assert untranslated == []
