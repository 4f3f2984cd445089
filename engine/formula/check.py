"""The type checker: infers the kind of every node from the kinds of the record's fields, and
refuses unknown fields, unknown functions and kinds that do not fit, each at its position.

Kinds: number, text, boolean, date, datetime, list (multi-select), id (relation, user).
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.formula.ast import NULL, Binary, Call, ChildRef, FieldRef, Formula, Literal, Node, Unary, Var
from engine.formula.errors import FormulaError, Position
from engine.formula.functions import ArgError
from engine.formula.library import functions

ARITHMETIC = {"+", "-", "*", "/"}
COMPARISON = {"=", "!=", "<", "<=", ">", ">="}
ORDERED = {"number", "text", "date", "datetime", "id"}
VARIABLE_KINDS = {"now": "datetime", "today": "date", "user": "id"}
AGGREGATE_HINT = "SUM, COUNT, AVG, MIN or MAX"


def check(formula: Formula, kinds: Mapping[str, str]) -> str:
    """The kind of the formula's result. `kinds` maps field keys to kinds; an aggregate's child
    column is looked up by its key ("order_line.amount"). Raises FormulaError."""
    return annotate(formula, kinds)[id(formula.root)]


def annotate(formula: Formula, kinds: Mapping[str, str]) -> dict[int, str]:
    """The kind of every node, by node id (the SQL back end needs them)."""
    checker = _Checker(formula.text, kinds)
    checker.kind(formula.root)
    return checker.kinds


class _Checker:
    def __init__(self, text: str, fields: Mapping[str, str]) -> None:
        self.text = text
        self.fields = fields
        self.kinds: dict[int, str] = {}

    def fail(self, message: str, node: Node) -> FormulaError:
        return FormulaError(message, Position.of(self.text, node.pos))

    def kind(self, node: Node) -> str:
        found = self._kind(node)
        self.kinds[id(node)] = found
        return found

    def _kind(self, node: Node) -> str:
        if isinstance(node, Literal):
            return node.kind
        if isinstance(node, Var):
            return VARIABLE_KINDS[node.name]
        if isinstance(node, FieldRef):
            if node.key not in self.fields:
                raise self.fail(f"unknown field {node.key!r}", node)
            return self.fields[node.key]
        if isinstance(node, ChildRef):
            raise self.fail(f"{node.key} names the values of child records: use it inside {AGGREGATE_HINT}", node)
        if isinstance(node, Unary):
            return self._unary(node)
        if isinstance(node, Binary):
            return self._binary(node)
        return self._call(node)

    def _expect(self, node: Node, wanted: str, what: str) -> None:
        got = self.kind(node)
        if got not in (wanted, NULL):
            raise self.fail(f"{what} needs a {wanted}, not a {got}", node)

    def _unary(self, node: Unary) -> str:
        if node.op == "NOT":
            self._expect(node.operand, "boolean", "NOT")
            return "boolean"
        self._expect(node.operand, "number", "'-'")
        return "number"

    def _binary(self, node: Binary) -> str:
        op = node.op
        if op in ("AND", "OR"):
            self._expect(node.left, "boolean", op)
            self._expect(node.right, "boolean", op)
            return "boolean"
        if op == "&":
            for side in (node.left, node.right):
                if self.kind(side) not in ("text", NULL):
                    raise self.fail(f"'&' joins texts, not a {self.kinds[id(side)]}: use TEXT(...) to write it as text", side)
            return "text"
        if op in ARITHMETIC:
            for side in (node.left, node.right):
                got = self.kind(side)
                if got not in ("number", NULL):
                    hint = "; use DATE_ADD or DAYS_BETWEEN for dates" if got in ("date", "datetime") else ""
                    raise self.fail(f"{op!r} needs numbers, not a {got}{hint}", side)
            return "number"
        return self._compare(node)

    def _compare(self, node: Binary) -> str:
        left, right = self.kind(node.left), self.kind(node.right)
        for side, kind in ((node.left, left), (node.right, right)):
            if kind == NULL:
                raise self.fail("a comparison with NULL is never true: test for an empty value with ISBLANK(...)", side)
            if kind == "list":
                raise self.fail("a multi-select cannot be compared; test it with ISBLANK(...)", side)
        if {left, right} != {"number", "id"} and left != right:
            raise self.fail(f"cannot compare a {left} with a {right}", node)
        if node.op not in ("=", "!=") and left not in ORDERED:
            raise self.fail(f"{node.op!r} needs values that have an order, not {left}s", node)
        return "boolean"

    def _call(self, node: Call) -> str:
        fn = functions().get(node.name)
        if fn is None:
            raise self.fail(f"unknown function {node.name}", node)
        if len(node.args) == 1 and isinstance(node.args[0], ChildRef):
            return self._aggregate(node, node.args[0])
        kinds = [self.kind(a) for a in node.args]
        try:
            result = fn.result_kind(kinds)
            if fn.check is not None:
                fn.check(kinds, node.args)
        except ArgError as exc:
            raise self.fail(exc.message, node if exc.index is None else node.args[exc.index]) from None
        return result

    def _aggregate(self, node: Call, ref: ChildRef) -> str:
        fn = functions()[node.name]
        if fn.aggregate is None:
            raise self.fail(f"{node.name} does not fold child records; use {AGGREGATE_HINT}", node)
        child = self.fields.get(ref.key)
        if child is None:
            raise self.fail(f"unknown child field {ref.key!r}", ref)
        if child not in fn.aggregate.kinds:
            raise self.fail(f"{node.name} cannot fold {child} values", ref)
        self.kinds[id(ref)] = child
        return fn.aggregate.returns or child
