"""The formula AST: small immutable nodes, each with the text offset it came from (for errors).

Both back ends (`python.py`, `sql.py`) and the type checker (`check.py`) walk this one tree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

KINDS = ("number", "text", "boolean", "date", "datetime", "list", "id")
NULL = "null"  # the kind of the NULL literal: fits wherever a value fits


@dataclass(frozen=True)
class Literal:
    value: Any  # Decimal | str | bool | None
    kind: str
    pos: int


@dataclass(frozen=True)
class FieldRef:
    key: str
    pos: int


@dataclass(frozen=True)
class ChildRef:
    """`order_line.amount` or `order_line[order].amount`: a field of the child records that point
    at this record; only valid as the argument of an aggregate (SUM, COUNT, AVG, MIN, MAX)."""

    entity: str
    relation: str | None
    field: str
    pos: int

    @property
    def key(self) -> str:
        """The name callers use for this child column, in `columns` (SQL) and records (Python)."""
        via = f"[{self.relation}]" if self.relation else ""
        return f"{self.entity}{via}.{self.field}"


@dataclass(frozen=True)
class Var:
    name: str  # now | today | user
    pos: int


@dataclass(frozen=True)
class Unary:
    op: str  # "-" | "NOT"
    operand: Node
    pos: int


@dataclass(frozen=True)
class Binary:
    op: str  # + - * / & = != < <= > >= AND OR
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True)
class Call:
    name: str  # upper case
    args: tuple[Node, ...]
    pos: int


Node = Literal | FieldRef | ChildRef | Var | Unary | Binary | Call


@dataclass(frozen=True)
class Formula:
    """A parsed formula: its source text and the root of its tree."""

    text: str
    root: Node

    def nodes(self) -> Iterator[Node]:
        stack: list[Node] = [self.root]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(children(node))


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Call):
        return node.args
    return ()


def references(formula: Formula) -> set[str]:
    """Keys of the record's own fields the formula reads (child fields of aggregates excluded)."""
    return {n.key for n in formula.nodes() if isinstance(n, FieldRef)}


def child_refs(formula: Formula) -> list[ChildRef]:
    """The child columns the formula aggregates, in order of appearance, without repeats."""
    found = {n.key: n for n in sorted(formula.nodes(), key=lambda n: n.pos) if isinstance(n, ChildRef)}
    return list(found.values())


def aggregations(formula: Formula) -> list[Call]:
    """The calls that fold child records (SUM(order_line.amount)), without repeats."""
    found = {folded_key(n): n for n in formula.nodes() if isinstance(n, Call) and _folds(n)}
    return list(found.values())


def _folds(node: Call) -> bool:
    return len(node.args) == 1 and isinstance(node.args[0], ChildRef)


def folded_key(call: Call) -> str:
    """Where a record may carry an aggregate already folded (in SQL): "SUM(order_line.amount)"."""
    ref = call.args[0]
    assert isinstance(ref, ChildRef)
    return f"{call.name}({ref.key})"
