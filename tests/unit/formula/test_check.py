"""The type checker: result kinds, and refusals with the position of the offending part."""

from __future__ import annotations

import pytest

from engine.formula import FormulaError, check, parse_formula

KINDS = {
    "budget": "number", "name": "text", "vip": "boolean", "due": "date", "seen_at": "datetime", "tags": "list",
    "account": "id", "order_line.amount": "number", "order_line.title": "text", "order_line.due": "date",
}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("budget * 2", "number"), ("name & '!'", "text"), ("budget > 3 AND vip", "boolean"),
        ("DATE_ADD(due, 1, 'months')", "date"), ("DATE_ADD(seen_at, 2, 'hours')", "datetime"),
        ("IF(vip, budget, NULL)", "number"), ("CASE(name, 'a', 1, 'b', 2, 0)", "number"), ("NULL", "null"),
        ("SUM(order_line.amount)", "number"), ("COUNT(order_line.title)", "number"), ("MAX(order_line.due)", "date"),
        ("account = $user", "boolean"), ("ISBLANK(tags)", "boolean"), ("TEXT(due)", "text"), ("NOW()", "datetime"),
        ("IFS(vip, 'gold', budget > 10, 'silver')", "text"), ("MIN(due, TODAY())", "date"),
    ],
)  # fmt: skip
def test_result_kinds(text, kind):
    assert check(parse_formula(text), KINDS) == kind


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("budget + nope", "unknown field 'nope'", 10),
        ("'a' + 1", "'+' needs numbers, not a text", 1),
        ("due + 1", "'+' needs numbers, not a date; use DATE_ADD or DAYS_BETWEEN for dates", 1),
        ("YEAR(budget)", "argument 1 of YEAR must be a date or a datetime, not number", 6),
        ("budget & 'x'", "'&' joins texts, not a number: use TEXT(...)", 1),
        ("name > budget", "cannot compare a text with a number", 6),
        ("vip < TRUE", "'<' needs values that have an order, not booleans", 5),
        ("budget = NULL", "a comparison with NULL is never true", 10),
        ("tags = 'x'", "a multi-select cannot be compared", 1),
        ("IF(budget, 1, 2)", "argument 1 of IF must be a boolean, not number", 4),
        ("IF(vip, 1, 'x')", "the values given to IF must be of one kind", 1),
        ("IF(vip, 1)", "IF takes 3 arguments, not 2", 1),
        ("LEFT('x')", "LEFT takes 2 arguments, not 1", 1),
        ("FOO(1)", "unknown function FOO", 1),
        ("ROUND(budget, budget)", "the number of decimals must be a whole number from 0 to 10", 15),
        ("ROUND(budget, 11)", "the number of decimals must be a whole number from 0 to 10", 15),
        ("DATE_ADD(due, 1, 'fortnights')", "the unit of DATE_ADD must be written as one of", 18),
        ("DATE_ADD(due, 1, 'hours')", "adding hours needs a datetime, not a date", 10),
        ("order_line.amount + 1", "order_line.amount names the values of child records", 1),
        ("SUM(order_line.nope)", "unknown child field 'order_line.nope'", 5),
        ("SUM(order_line.title)", "SUM cannot fold text values", 5),
        ("UPPER(order_line.title)", "UPPER does not fold child records", 1),
        ("NOT budget", "NOT needs a boolean, not a number", 5),
        ("CASE(name, 1, 'x')", "the values CASE matches must be of the kind of its first argument", 12),
    ],
)
def test_refusals_point_at_the_problem(text, message, column):
    with pytest.raises(FormulaError) as exc:
        check(parse_formula(text), KINDS)
    assert exc.value.message.startswith(message), exc.value.message
    assert exc.value.position.column == column
