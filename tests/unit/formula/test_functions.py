"""Every function and operator on the Python back end, NULLs included (the SQL back end is held to
the same answers by test_backends_agree.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from engine.core.registry import DuplicateKeyError, Registry
from engine.formula import Env, check, compile_python, parse_formula
from engine.formula.library import functions, register_builtins

ENV = Env.at(datetime(2026, 11, 23, 22, 30, tzinfo=UTC), "Asia/Shanghai", user_id=7)  # already the 24th there
RECORD = {
    "n": Decimal("12.345"), "i": 3, "zero": 0, "t": "  Hello World ", "d": date(2026, 1, 31),
    "dt": datetime(2026, 11, 23, 1, 30, tzinfo=UTC), "yes": True, "none": None, "tags": ["a"],
    "line.amount": [Decimal("10"), None, Decimal("2.5")], "line.due": [], "owner": 7,
}  # fmt: skip
KINDS = {
    "n": "number", "i": "number", "zero": "number", "t": "text", "d": "date", "dt": "datetime", "yes": "boolean",
    "none": "number", "tags": "list", "line.amount": "number", "line.due": "date", "owner": "id",
}  # fmt: skip
DOCS = Path(__file__).resolve().parents[3] / "docs" / "user-guide" / "formulas.md"


def run(text: str, **record):
    formula = parse_formula(text)
    check(formula, KINDS | {k: "text" for k in record if k not in KINDS})
    return compile_python(formula)(RECORD | record, ENV)


CASES = [
    # arithmetic and NULL
    ("n * 2 - i / 2", Decimal("23.190")), ("-i", -3), ("i / zero", None), ("n + none", None), ("none * 0", None),
    # comparisons are two-valued: NULL compares as FALSE, both ways
    ("i = 3", True), ("i != 3", False), ("none = none + 0", False), ("none != 1", False), ("NOT (none > 1)", True),
    ("owner = $user", True), ("'a' < 'b'", True), ("d < DATE(2026, 2, 1)", True),
    # logic: NULL counts as FALSE
    ("yes AND none > 0", False), ("OR(none > 0, yes)", True), ("AND(yes, yes, i > 1)", True),
    ("IF(none > 0, 'x', 'y')", "y"), ("IF(yes, 1, 2)", 1), ("CASE(i, 1, 'one', 3, 'three', 'many')", "three"),
    ("CASE(none, 1, 'one', 'other')", "other"), ("CASE(i, 1, 'one')", None), ("IFS(i > 5, 'big', i > 1, 'mid')", "mid"),
    ("COALESCE(none, none, 4)", 4), ("IFNULL(NULL, 'x')", "x"), ("ISBLANK(none)", True), ("ISBLANK('')", True),
    ("ISBLANK(tags)", False), ("ISBLANK(t)", False),
    # text: & and CONCAT read NULL as ''
    ("'a' & NULL & 'b'", "ab"), ("CONCAT('a', NULL, 'b')", "ab"), ("LEFT(t, 4)", "  He"), ("LEFT(t, -1)", ""),
    ("RIGHT('abc', 2)", "bc"), ("RIGHT('abc', 9)", "abc"), ("RIGHT('abc', 0)", ""), ("MID('abcdef', 2, 3)", "bcd"),
    ("MID('abc', 0, 2)", "ab"), ("UPPER('abc')", "ABC"), ("LOWER('ABC')", "abc"), ("TRIM(t)", "Hello World"),
    ("LEN(t)", 14), ("LEN(NULL)", None), ("CONTAINS(t, 'WORLD')", True), ("CONTAINS(NULL, 'x')", False),
    ("SUBSTITUTE('a-b-c', '-', '')", "abc"), ("SUBSTITUTE('abc', '', 'x')", "abc"), ("TEXT(n, 2)", "12.35"),
    ("TEXT(2.5)", "3"), ("TEXT(-0.001, 2)", "0.00"), ("TEXT(d)", "2026-01-31"), ("TEXT(dt)", "2026-11-23T01:30:00Z"),
    ("TEXT(yes)", "TRUE"), ("TEXT(none)", None),
    # numbers: rounding half away from zero, NULLs skipped by SUM/COUNT/AVG/MIN/MAX
    ("ROUND(n, 2)", Decimal("12.35")), ("ROUND(-2.5)", Decimal("-3")), ("ROUND(none, 1)", None),
    ("FLOOR(-1.5)", -2), ("CEIL(1.2)", 2), ("ABS(-4)", 4), ("VALUE(' 12.5 ')", Decimal("12.5")), ("VALUE('1e3')", None),
    ("VALUE('abc')", None), ("SUM(1, none, 2)", 3), ("SUM(none)", 0), ("COUNT(1, none, 'x')", 2),
    ("AVG(1, none, 2)", Decimal("1.5")), ("AVG(none)", None), ("MIN(3, none, 1)", 1),
    ("MAX(d, DATE(2030, 1, 1))", date(2030, 1, 1)), ("MIN(none)", None),
    # aggregates over child values (a list), NULLs skipped; over no children SUM and COUNT are 0
    ("SUM(line.amount)", Decimal("12.5")), ("COUNT(line.amount)", 2), ("AVG(line.amount)", Decimal("6.25")),
    ("MAX(line.amount)", Decimal("10")), ("MIN(line.due)", None), ("COUNT(line.due)", 0),
    # dates: today in the app's time zone, datetimes read in UTC, months clamped, DATE rolls over
    ("TODAY()", date(2026, 11, 24)), ("$today", date(2026, 11, 24)), ("NOW() = $now", True),
    ("DATE(2026, 2, 30)", date(2026, 3, 2)), ("DATE(2026, 13, 1)", date(2027, 1, 1)), ("DATE(2026, 0, 0)", date(2025, 11, 30)),
    ("YEAR(d)", 2026), ("MONTH(dt)", 11), ("DAY(d)", 31), ("YEAR(IF(yes, NULL, d))", None),
    ("DATE_ADD(d, 1, 'months')", date(2026, 2, 28)), ("DATE_ADD(d, -1, 'years')", date(2025, 1, 31)),
    ("DATE_ADD(d, 2, 'weeks')", date(2026, 2, 14)), ("DATE_ADD(dt, 90, 'minutes')", datetime(2026, 11, 23, 3, 0, tzinfo=UTC)),
    ("DATE_ADD(d, 10000000, 'days')", None), ("DAYS_BETWEEN(d, DATE(2026, 2, 2))", 2), ("DAYS_BETWEEN(dt, d)", -296),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_function_semantics(text, expected):
    assert run(text) == expected
    if isinstance(expected, bool) or expected is None:
        assert run(text) is expected


def test_an_aggregate_folded_in_sql_is_read_as_given():
    assert run("SUM(line.amount) * 2", **{"SUM(line.amount)": Decimal(4)}) == 8


def test_registry_refuses_a_function_twice():
    registry = register_builtins(Registry("formula function"))
    with pytest.raises(DuplicateKeyError):
        registry.register(functions()["IF"])


@pytest.mark.parametrize("key", functions().keys())
def test_every_function_has_a_parsing_example_and_is_documented(key):
    fn = functions()[key]
    assert parse_formula(fn.example).nodes()
    assert f"`{fn.example}`" in DOCS.read_text(), f"document {key} in {DOCS.name} with its example"
