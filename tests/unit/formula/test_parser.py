"""Parsing formula text: precedence, literals, quoting, case-insensitivity, and errors that say
where the problem is."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.formula import FormulaError, parse_formula, references
from engine.formula.ast import Binary, Call, ChildRef, FieldRef, Literal, Unary, Var, child_refs
from engine.formula.parser import MAX_DEPTH, MAX_LENGTH


def test_precedence_and_associativity():
    root = parse_formula("1 + 2 * 3 - 4").root
    assert isinstance(root, Binary) and root.op == "-"
    assert isinstance(root.left, Binary) and root.left.op == "+"
    assert isinstance(root.left.right, Binary) and root.left.right.op == "*"
    root = parse_formula("a & b = c OR NOT d AND e").root
    assert root.op == "OR" and root.left.op == "=" and root.left.left.op == "&"
    assert root.right.op == "AND" and isinstance(root.right.left, Unary)


def test_literals():
    assert parse_formula("12.50").root == Literal(Decimal("12.50"), "number", 0)
    assert parse_formula("'it''s'").root.value == "it's"
    assert parse_formula('"say ""hi"""').root.value == 'say "hi"'
    assert parse_formula("true").root.value is True and parse_formula("FALSE").root.value is False
    assert parse_formula("Null").root.kind == "null"


def test_names_keywords_and_variables():
    assert parse_formula("if(a, b, c)").root.name == "IF"
    assert parse_formula("{and} OR {null}").root == Binary("OR", FieldRef("and", 0), FieldRef("null", 9), 6)
    assert parse_formula("true_value").root == FieldRef("true_value", 0)
    assert parse_formula("AND(a, b)").root == Call("AND", (FieldRef("a", 4), FieldRef("b", 7)), 0)
    assert [parse_formula(v).root for v in ("$now", "$TODAY", "$user")] == [Var("now", 0), Var("today", 0), Var("user", 0)]
    assert parse_formula("a <> b").root.op == "!="


def test_child_references_and_the_fields_a_formula_reads():
    formula = parse_formula("SUM(order_line.amount) + MAX(order_line[order].amount) * discount")
    assert [r.key for r in child_refs(formula)] == ["order_line.amount", "order_line[order].amount"]
    assert child_refs(formula)[1] == ChildRef("order_line", "order", "amount", 29)
    assert references(formula) == {"discount"}


@pytest.mark.parametrize(
    ("text", "message", "line", "column"),
    [
        ("1 +", "the formula ends too early", 1, 4),
        ("(a", "the formula ends too early", 1, 3),
        ("a b", "unexpected 'b'", 1, 3),
        ("1 +\n  # 2", "unexpected character '#'", 2, 3),
        ("$nobody + 1", "unknown variable '$nobody'", 1, 1),
        ("  ", "the formula is empty", 1, 1),
        ("a = NOT b", "unexpected 'b'", 1, 9),  # NOT binds looser than '=': write NOT(b)
    ],
)
def test_syntax_errors_have_line_and_column(text, message, line, column):
    with pytest.raises(FormulaError) as exc:
        parse_formula(text)
    assert exc.value.message.startswith(message)
    assert (exc.value.position.line, exc.value.position.column) == (line, column)
    assert str(exc.value).endswith(f"(line {line}, column {column})")


def test_length_and_depth_are_limited():
    with pytest.raises(FormulaError, match="characters long at most"):
        parse_formula("1" + " + 1" * MAX_LENGTH)
    with pytest.raises(FormulaError, match="nests deeper"):
        parse_formula("ABS(" * 200 + "1" + ")" * 200)
    with pytest.raises(FormulaError, match="nests deeper"):
        parse_formula("-" * 500 + "1")
    assert parse_formula("(" * 500 + "1" + ")" * 500).root.value == 1  # parentheses add no depth
    assert parse_formula("ABS(" * (MAX_DEPTH // 3) + "1" + ")" * (MAX_DEPTH // 3)).root.name == "ABS"
