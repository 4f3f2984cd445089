"""How a value looks, per field type: the display macro and a list page's per-column formatter (`render.cell`)
give the same HTML, escape what users typed, and show an empty value as a muted dash; numbers and money by
the plain formatter read exactly as babel writes them."""

from __future__ import annotations

import random
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from babel.numbers import format_currency, format_decimal

from builder_ui.fields import FieldView, Option, display_of
from builder_ui.i18n import gettext
from builder_ui.render import BABEL, cell, env, money, number

HOSTILE = '<script>alert("x")</script>&'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;"
TARGET = SimpleNamespace(app="crm", key="account", definition=SimpleNamespace(display_field="name"))
CTX = {"tz": ZoneInfo("Asia/Shanghai"), "targets": {"account": TARGET}, "names": {7: "王 <Wang>"}, "display_of": display_of}
OPTIONS = (Option("hot", "热 <b>", "#f00"), Option("cold", "Cold", None))
CASES = [
    (FieldView("s", "select", "S", options=OPTIONS), "hot",
     '<span class="tg-tag"><svg class="tg-dot-svg" width="8" height="8" aria-hidden="true"><circle cx="4" cy="4" r="4"'
     ' fill="#f00"></circle></svg>热 &lt;b&gt;</span>'),
    (FieldView("m", "multi_select", "M", options=OPTIONS), ["cold", "gone"],
     '<span class="tg-chips"><span class="tg-tag"><span class="tg-dot" aria-hidden="true"></span>Cold</span>'
     '<span class="tg-tag"><span class="tg-dot" aria-hidden="true"></span>gone</span></span>'),
    (FieldView("b", "boolean", "B"), False, "否"),
    (FieldView("c", "currency", "C", cfg=SimpleNamespace(currency="CNY")), "1234.5", "¥1,234.50"),
    (FieldView("p", "percent", "P"), 12.5, "12.5%"),
    (FieldView("d", "decimal", "D", cfg=SimpleNamespace(scale=2)), "3", "3.00"),
    (FieldView("i", "integer", "I"), 12345, "12,345"),
    (FieldView("x", "formula", "X", cfg=SimpleNamespace(scale=1)), 2, "2.0"),
    (FieldView("x", "formula", "X", cfg=SimpleNamespace(scale=1)), HOSTILE, ESCAPED),
    (FieldView("t", "datetime", "T"), "2026-12-07T01:30:00Z", "2026-12-07 09:30"),
    (FieldView("account", "relation", "A"), {"id": 3, "name": HOSTILE}, f'<a href="/apps/crm/account/3">{ESCAPED}</a>'),
    (FieldView("other", "relation", "O"), 4, "#4"),
    (FieldView("u", "user", "U"), 7, "王 &lt;Wang&gt;"),
    (FieldView("u", "user", "U"), 8, "#8"),
    (FieldView("e", "email", "E"), HOSTILE, f'<a href="mailto:{ESCAPED}">{ESCAPED}</a>'),
    (FieldView("w", "url", "W"), "javascript:alert(1)", "javascript:alert(1)"),
    (FieldView("w", "url", "W"), "https://a.cn/?a=1&b=2",
     '<a href="https://a.cn/?a=1&amp;b=2" rel="noopener noreferrer" target="_blank">https://a.cn/?a=1&amp;b=2</a>'),
    (FieldView("ph", "phone", "Ph"), "+86 138", '<a href="tel:+86 138">+86 138</a>'),
    (FieldView("f", "attachment", "F"), [{"url": "/f/1", "name": HOSTILE}, "junk"],
     f'<span class="tg-chips"><a class="tg-tag" href="/f/1"><svg class="tg-icon tg-icon-sm" aria-hidden="true"'
     f' focusable="false"><use href="/static/vendor/icons/sprite.svg#paper-clip"></use></svg>{ESCAPED}</a></span>'),
    (FieldView("j", "json", "J"), {"b": "</code>", "a": 1}, '<code>{"a": 1, "b": "\\u003c/code\\u003e"}</code>'),
    (FieldView("n", "text", "N"), HOSTILE, ESCAPED),
    (FieldView("n", "text", "N"), "", '<span class="tg-muted">—</span>'),
    (FieldView("m", "multi_select", "M"), [], '<span class="tg-muted">—</span>'),
    (FieldView("i", "integer", "I"), None, '<span class="tg-muted">—</span>'),
]  # fmt: skip
MACRO = env.from_string('{% from "components/fields.html" import display with context %}{{ display(f, value, ctx) }}')


@pytest.mark.parametrize(("f", "value", "expected"), CASES)
def test_the_display_macro_and_a_list_column_show_a_value_alike(f, value, expected):
    _ = gettext("zh-CN")
    assert MACRO.render(f=f, value=value, ctx=CTX, locale="zh-CN", _=_) == expected
    assert str(cell(f, CTX, "zh-CN", _)(value)) == expected


SAMPLES = ["0", "-0", "0.0005", "0.0015", "-0.001", "-0.005", "1e3", "1E-7", "99999999999.999", "-1234567.125", "2.5", "-2.5"]
SAMPLES += [str(random.Random(13).uniform(-1e9, 1e9) * k) for k in (1, 1e-4, 1e-8)]
SAMPLES += [f"{n / 10**e}" for n, e in zip(random.Random(5).sample(range(-(10**12), 10**12), 300), range(300))]
INTEGERS = [0, 7, -7, 999, 1000, -1000, 123456789, 10**15 - 1, -(10**15) + 1, 10**15, 10**30]
INTEGERS += random.Random(3).sample(range(-(10**16), 10**16), 200)


def outcome(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except ArithmeticError as exc:  # babel fails on some (NaN, past the decimal context): so must the page
        return type(exc)


@pytest.mark.parametrize("locale", sorted(BABEL))
def test_the_plain_number_formatter_writes_what_babel_writes(locale):
    for value in [*SAMPLES, "NaN", "Infinity", "1e40", "123456789012345678901234567890.5"]:
        for scale in (None, 0, 1, 2, 4):
            pattern = None if scale is None else "#,##0" + ("." + "0" * scale if scale else "")
            babel = outcome(format_decimal, Decimal(value), format=pattern, locale=BABEL[locale])
            assert outcome(number, value, locale, scale) == babel, (value, scale)
        for currency in ("CNY", "USD", "JPY", "EUR"):
            babel = outcome(format_currency, Decimal(value), currency, locale=BABEL[locale])
            assert outcome(money, value, currency, locale) == babel, (value, currency)


@pytest.mark.parametrize("locale", sorted(BABEL))
def test_whole_numbers_take_a_shortcut_that_writes_what_babel_writes(locale):
    for value in INTEGERS:
        for scale in (None, 0, 1, 2, 4):
            pattern = None if scale is None else "#,##0" + ("." + "0" * scale if scale else "")
            babel = outcome(format_decimal, Decimal(value), format=pattern, locale=BABEL[locale])
            assert outcome(number, value, locale, scale) == babel, (value, scale)
