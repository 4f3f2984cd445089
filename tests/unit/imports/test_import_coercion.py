"""X4: spreadsheet cells become the values a user means, through each field type's own parser
(table-driven: cell, field config, stored value or error code)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from engine.imports.coerce import Lookup, coercer
from engine.imports.formats import Formula
from engine.schema.field_types import InvalidValue, field_types
from engine.schema.model import BoundField, bind

SHANGHAI = ZoneInfo("Asia/Shanghai")
INDUSTRY = {
    "type": "select",
    "options": [
        {"key": "manufacturing", "label": {"en": "Manufacturing", "zh-CN": "制造业"}},
        {"key": "retail", "label": {"en": "Retail Trade", "zh-CN": "零售"}},
    ],
}
TAGS = {**INDUSTRY, "type": "multi_select"}


def field(config: dict[str, Any]) -> BoundField:
    cfg = {"key": "f", **config}
    return bind([field_types()[cfg["type"]].config.model_validate(cfg)])[0]


def stored(config: dict[str, Any], cell: Any) -> Any:
    f = field(config)
    value = coercer(f, SHANGHAI)(cell)
    return value if isinstance(value, Lookup) else f.parse(value)


CASES = [
    # dates: ISO, Chinese forms, compact, Excel serial numbers and real date cells
    ({"type": "date"}, "2026-03-01", date(2026, 3, 1)),
    ({"type": "date"}, "2026/3/1", date(2026, 3, 1)),
    ({"type": "date"}, "2026.03.01", date(2026, 3, 1)),
    ({"type": "date"}, "2026年3月1日", date(2026, 3, 1)),
    ({"type": "date"}, "２０２６年３月１日", date(2026, 3, 1)),
    ({"type": "date"}, "20260301", date(2026, 3, 1)),
    ({"type": "date"}, "2026-03-01 00:00:00", date(2026, 3, 1)),
    ({"type": "date"}, 46082, date(2026, 3, 1)),
    ({"type": "date"}, datetime(2026, 3, 1, 0, 0), date(2026, 3, 1)),
    ({"type": "date"}, date(2026, 3, 1), date(2026, 3, 1)),
    # datetimes: a time without a zone is the installation's (Asia/Shanghai here), stored in UTC
    ({"type": "datetime"}, "2026-03-01 09:30", datetime(2026, 3, 1, 1, 30, tzinfo=UTC)),
    ({"type": "datetime"}, "2026/3/1 9:30:15", datetime(2026, 3, 1, 1, 30, 15, tzinfo=UTC)),
    ({"type": "datetime"}, "2026年3月1日 9:30", datetime(2026, 3, 1, 1, 30, tzinfo=UTC)),
    ({"type": "datetime"}, "2026-03-01T09:30:00+00:00", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
    ({"type": "datetime"}, "2026-03-01", datetime(2026, 2, 28, 16, 0, tzinfo=UTC)),
    ({"type": "datetime"}, datetime(2026, 3, 1, 9, 30), datetime(2026, 3, 1, 1, 30, tzinfo=UTC)),
    ({"type": "datetime"}, 46082.5, datetime(2026, 3, 1, 4, 0, tzinfo=UTC)),
    # numbers: thousands separators, full-width digits, currency signs, 万, accounting negatives
    ({"type": "decimal"}, "1,234.50", Decimal("1234.50")),
    ({"type": "decimal"}, "１２３", Decimal("123")),  # noqa: RUF001 - full-width on purpose
    ({"type": "currency"}, "¥1,200", Decimal("1200")),
    ({"type": "currency"}, "￥1,200.00", Decimal("1200.00")),
    ({"type": "currency"}, "1200元", Decimal("1200")),
    ({"type": "currency"}, "(1,200.50)", Decimal("-1200.50")),
    ({"type": "currency"}, "-¥35", Decimal("-35")),
    ({"type": "decimal"}, "1.5万", Decimal("15000.0")),
    ({"type": "decimal"}, 0.1, Decimal("0.1")),
    ({"type": "integer"}, "12,000", 12000),
    ({"type": "integer"}, 42.0, 42),
    ({"type": "percent"}, "12%", Decimal("12")),
    ({"type": "percent"}, "12.5％", Decimal("12.5")),  # noqa: RUF001 - full-width on purpose
    ({"type": "percent"}, "0.5", Decimal("0.5")),
    # booleans
    ({"type": "boolean"}, "是", True),
    ({"type": "boolean"}, "否", False),
    ({"type": "boolean"}, "Yes", True),
    ({"type": "boolean"}, "no", False),
    ({"type": "boolean"}, "TRUE", True),
    ({"type": "boolean"}, "false", False),
    ({"type": "boolean"}, "1", True),
    ({"type": "boolean"}, 0, False),
    ({"type": "boolean"}, "Y", True),
    ({"type": "boolean"}, "n", False),
    ({"type": "boolean"}, True, True),
    # options by key, by zh-CN or en label, ignoring case and spaces
    (INDUSTRY, "manufacturing", "manufacturing"),
    (INDUSTRY, "制造业", "manufacturing"),
    (INDUSTRY, "Manufacturing", "manufacturing"),
    (INDUSTRY, " retail trade ", "retail"),
    (INDUSTRY, "RetailTrade", "retail"),
    (TAGS, "制造业、零售", ["manufacturing", "retail"]),
    (TAGS, "retail; Manufacturing", ["manufacturing", "retail"]),
    (TAGS, "retail|零售", ["retail"]),
    (TAGS, "零售，制造业", ["manufacturing", "retail"]),  # noqa: RUF001 - full-width on purpose
    # text keeps what Excel shows: a phone typed as a number loses its ".0"
    ({"type": "phone"}, 13800138000.0, "13800138000"),
    ({"type": "text"}, "  Acme  ", "Acme"),
    ({"type": "email"}, "Li.Lei@Example.COM", "li.lei@example.com"),
    ({"type": "json"}, '{"a": 1}', {"a": 1}),
    # relation and user cells are looked up later, a batch at a time
    ({"type": "relation", "target": "account"}, "华为技术有限公司", Lookup("华为技术有限公司")),
    ({"type": "relation", "target": "account"}, 1001, Lookup("1001")),
    ({"type": "user"}, "Wang.Fang@Example.com", Lookup("wang.fang@example.com")),
]


@pytest.mark.parametrize(("config", "cell", "expected"), CASES)
def test_x4_cells_become_the_values_meant(config: dict[str, Any], cell: Any, expected: Any) -> None:
    assert stored(config, cell) == expected


REFUSED = [
    ({"type": "date"}, "2026-02-30", "format"),
    ({"type": "date"}, "March 1st", "format"),
    ({"type": "date"}, 0, "format"),
    ({"type": "datetime"}, "2026-03-01 25:00", "format"),
    ({"type": "decimal"}, "12%", "type"),  # a percentage only fits a percent field
    ({"type": "decimal"}, "1,2,3", "type"),
    ({"type": "decimal"}, "abc", "type"),
    ({"type": "decimal", "scale": 2}, "1.234", "scale"),
    ({"type": "integer"}, "1.5", "type"),
    ({"type": "boolean"}, "maybe", "type"),
    (INDUSTRY, "Wholesale", "unknown_option"),
    (TAGS, "retail, wholesale", "unknown_option"),
    ({"type": "text"}, Formula('=HYPERLINK("http://evil")'), "formula"),
    ({"type": "decimal"}, Formula("=SUM(A1:A3)"), "formula"),
    ({"type": "text"}, "a\x00b", "invalid_character"),
]


@pytest.mark.parametrize(("config", "cell", "code"), REFUSED)
def test_x4_cells_that_do_not_fit_are_refused_with_a_code(config: dict[str, Any], cell: Any, code: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        stored(config, cell)
    assert caught.value.code == code
