"""JUEL and FEEL sequence-flow conditions as Tangram conditions (the BPMN draft import)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.process.bpmn_conditions import Untranslatable, translate

GT10 = {"field": "discount", "op": "gt", "value": 10}
APPROVED = {"field": "approved", "op": "eq", "value": True}


@pytest.mark.parametrize(
    ("text", "condition"),
    [
        ("${discount > 10}", GT10),
        ("#{discount gt 10}", GT10),
        ("${10 < discount}", GT10),
        ("${amount >= 1000 && region == 'east'}",
         {"all": [{"field": "amount", "op": "gte", "value": 1000}, {"field": "region", "op": "eq", "value": "east"}]}),
        ("${approved}", APPROVED),
        ("${!approved}", {"not": APPROVED}),
        ("${a == 1 || (b != 'x' && c <= 2.5)}",
         {"any": [{"field": "a", "op": "eq", "value": 1},
                  {"all": [{"field": "b", "op": "ne", "value": "x"}, {"field": "c", "op": "lte", "value": 2.5}]}]}),
        ("${owner == null}", {"field": "owner", "op": "is_empty"}),
        ("${empty owner}", {"field": "owner", "op": "is_empty"}),
        ("${amount > budget}", {"field": "amount", "op": "gt", "value": {"field": "budget"}}),
        ('=priority = "high"', {"field": "priority", "op": "eq", "value": "high"}),
        ('= amount > 1000 and level = "vip"',
         {"all": [{"field": "amount", "op": "gt", "value": 1000}, {"field": "level", "op": "eq", "value": "vip"}]}),
        ("= not(approved)", {"not": APPROVED}),
        ("= account.level != null", {"field": "account.level", "op": "is_not_empty"}),
    ],
)  # fmt: skip
def test_translated(text: str, condition: dict[str, Any]) -> None:
    assert translate(text) == condition


@pytest.mark.parametrize(
    "text",
    [
        '${execution.getVariable("approved")}',
        "= sum(items.price) > 100",
        "${a + 1 > 2}",
        "${a > }",
        "${(a > 1}",
        "amount > 10",
        "= a && b",
        "${}",
        "${1 > 2}",
        "${a > null}",
        "${'x'}",
        "= items[1] > 2",
        "${" + "(" * 1500 + "a" + ")" * 1500 + "}",
        "${" + "!" * 1900 + "a}",
        "${" + "a > 1 && " * 400 + "a > 1}",
    ],
)
def test_untranslatable_is_a_message_not_a_crash(text: str) -> None:
    with pytest.raises(Untranslatable):
        translate(text)
