"""The function registry: one entry per formula function, holding its arity, the kinds it takes
and returns, its Python implementation and its SQL implementation, side by side.

Kinds in `params`: "number", "text|date", "*" (any value) or "T" / "T:number|date" (any kind, the
same for every T argument and the result: IF, COALESCE, MIN). NULL fits every parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from engine.formula.ast import NULL, Literal, Node, Unary
from engine.formula.env import Env

NOT_CONSTANT = object()
SCALAR = ("number", "text", "boolean", "date", "datetime", "id")


class ArgError(Exception):
    """An argument does not fit; `index` says which (None: the call as a whole)."""

    def __init__(self, index: int | None, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.message = message


@dataclass(frozen=True)
class Arg:
    """An argument as the SQL implementation sees it."""

    sql: Any  # ColumnElement
    kind: str
    const: Any = NOT_CONSTANT  # the value when the argument is a literal


@dataclass(frozen=True)
class Aggregate:
    """How a function folds the child records' values (SUM(order_line.amount))."""

    python: Callable[[list[Any]], Any]  # over the non-null values
    sql: Callable[[Any], Any]  # the SQL aggregate of a child column
    kinds: tuple[str, ...]  # child field kinds it accepts
    returns: str | None = None  # None: the child field's kind
    empty: Any = None  # the value over no child records (SUM and COUNT: 0)


@dataclass(frozen=True)
class Function:
    key: str
    params: tuple[str, ...]
    returns: str
    python: Callable[..., Any]
    sql: Callable[[list[Arg], Env], Any]
    optional: int = 0  # how many trailing params may be left out
    repeat: bool = False  # the last param may repeat (CONCAT, COALESCE, AND)
    check: Callable[[Sequence[str], Sequence[Node]], None] | None = None  # beyond kinds
    # Replaces the kind rules above for functions with their own shape (CASE, IFS).
    signature: Callable[[Sequence[str]], str] | None = None
    aggregate: Aggregate | None = None
    uses_env: bool = False  # the Python implementation takes the Env first
    example: str = ""

    def arity_text(self) -> str:
        low = len(self.params) - self.optional
        if self.repeat:
            return f"at least {low} argument{'s' if low != 1 else ''}"
        high = len(self.params)
        span = str(high) if low == high else f"{low} to {high}"
        return f"{span} argument{'s' if high != 1 else ''}"

    def param_kind(self, index: int) -> str | None:
        """The one kind argument `index` takes ("T": the call's own kind), None if it takes several."""
        param = self.params[min(index, len(self.params) - 1)] if self.params else "*"
        if param.startswith("T") and self.returns == "T":
            return "T"
        allowed = _allowed(param)
        return allowed[0] if len(allowed) == 1 else None

    def result_kind(self, kinds: Sequence[str]) -> str:
        """Check argument kinds and give the result kind; raises ArgError."""
        if self.signature is not None:
            return self.signature(kinds)
        low = len(self.params) - self.optional
        if len(kinds) < low or (not self.repeat and len(kinds) > len(self.params)):
            raise ArgError(None, f"{self.key} takes {self.arity_text()}, not {len(kinds)}")
        generic: list[str] = []
        for i, kind in enumerate(kinds):
            param = self.params[min(i, len(self.params) - 1)]
            allowed = _allowed(param)
            if kind != NULL and kind not in allowed:
                raise ArgError(i, f"argument {i + 1} of {self.key} must be {_kinds_text(allowed)}, not {kind}")
            if param.startswith("T"):
                generic.append(kind)
        common = unify(generic)
        if common is None:
            raise ArgError(None, f"the values given to {self.key} must be of one kind, not {' and '.join(sorted(set(generic)))}")
        return common if self.returns == "T" else self.returns


def _allowed(param: str) -> tuple[str, ...]:
    spec = param.partition(":")[2] if param.startswith("T") else param
    return SCALAR if spec in ("", "*") else tuple(spec.split("|"))


def _kinds_text(kinds: Sequence[str]) -> str:
    return "a value" if tuple(kinds) == SCALAR else " or ".join(f"a {k}" for k in kinds)


def unify(kinds: Sequence[str]) -> str | None:
    """The one kind several values share (NULL fits any; ids compare with numbers), else None."""
    real = {k for k in kinds if k != NULL}
    if real == {"number", "id"}:
        return "number"
    if len(real) > 1:
        return None
    return real.pop() if real else NULL


def constant(node: Node) -> Any:
    """The value of a literal argument (a negated number included), else NOT_CONSTANT."""
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Unary) and node.op == "-" and isinstance(node.operand, Literal) and node.operand.kind == "number":
        return -node.operand.value
    return NOT_CONSTANT


def strict(fn: Callable[..., Any]) -> Callable[..., Any]:
    """NULL in, NULL out: the Python side of most functions (SQL functions behave so natively)."""

    def call(*args: Any) -> Any:
        return None if any(a is None for a in args) else fn(*args)

    return call
