"""Numbers and money on pages: formatted by the viewer's locale exactly as babel formats them from the
locale's name and a pattern string (the parsed locales and patterns are cached, the output is not changed)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from babel.numbers import format_currency, format_decimal

from builder_ui.render import BABEL, money, number

VALUES = ["1234567.5", "0", 12, -3.14159, Decimal("0.005"), "99999999999.999", "1e3"]


@pytest.mark.parametrize("locale", sorted(BABEL))
@pytest.mark.parametrize("scale", [None, 0, 1, 2, 4])
def test_number_is_babels_format_decimal(locale, scale):
    pattern = None if scale is None else "#,##0" + ("." + "0" * scale if scale else "")
    for value in VALUES:
        assert number(value, locale, scale) == format_decimal(Decimal(str(value)), format=pattern, locale=BABEL[locale])


@pytest.mark.parametrize("locale", sorted(BABEL))
@pytest.mark.parametrize("currency", ["CNY", "USD", "JPY"])
def test_money_is_babels_format_currency(locale, currency):
    for value in VALUES:
        assert money(value, currency, locale) == format_currency(Decimal(str(value)), currency, locale=BABEL[locale])


def test_what_is_not_a_number_is_shown_as_it_is():
    assert number("n/a", "zh-CN") == "n/a"
    assert number(None, "en") == number("", "en") == money(None, "CNY", "en") == ""
    assert number("1234.5", "zh-CN", 2) == "1,234.50"
    assert money("1234.5", "CNY", "zh-CN") == "¥1,234.50"
