"""Formula text -> AST, with a real LALR parser (lark); nothing is ever evaluated by Python.

    IF(discount > 0, SUM(order_line.amount) * (1 - discount / 100), {total})

Keywords and function names are case-insensitive. A field is named by its key; a key that reads
like a keyword (`{and}`, `{null}`) is written in braces, which works for every key.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from engine.formula.ast import Binary, Call, ChildRef, FieldRef, Formula, Literal, Node, Unary, Var
from engine.formula.errors import FormulaError, Position

MAX_LENGTH = 2000
MAX_DEPTH = 40
VARIABLES = {"now", "today", "user"}

GRAMMAR = r"""
?start: or_
?or_: and_ | or_ OR and_ -> binary
?and_: not_ | and_ AND not_ -> binary
?not_: compare | NOT not_ -> unary
?compare: concat | concat CMP concat -> binary
?concat: sum | concat AMP sum -> binary
?sum: product | sum PLUS product -> binary | sum MINUS product -> binary
?product: unary | product STAR unary -> binary | product SLASH unary -> binary
?unary: atom | MINUS unary -> unary
?atom: NUMBER -> number
     | STRING -> string
     | TRUE -> true
     | FALSE -> false
     | NULL -> null
     | VAR -> var
     | NAME -> field
     | LBRACE NAME "}" -> field
     | NAME "(" [or_ ("," or_)*] ")" -> call
     | NAME "." NAME -> child
     | NAME "[" NAME "]" "." NAME -> child
     | "(" or_ ")"

OR.2: /or\b/i
AND.2: /and\b/i
NOT.2: /not\b/i
TRUE.2: /true\b/i
FALSE.2: /false\b/i
NULL.2: /null\b/i
CMP: /<=|>=|<>|!=|=|<|>/
AMP: "&"
PLUS: "+"
MINUS: "-"
STAR: "*"
SLASH: "/"
LBRACE: "{"
NUMBER: /[0-9]+(\.[0-9]+)?/
STRING: /'(?:[^']|'')*'/ | /"(?:[^"]|"")*"/
VAR: /\$[A-Za-z_]+/
NAME: /[A-Za-z_][A-Za-z0-9_]*/

%ignore /[ \t\r\n]+/
"""

# What a person calls the tokens lark expected, in its error messages.
TOKEN_NAMES = {
    "RPAR": "')'", "LPAR": "'('", "COMMA": "','", "NAME": "a field or function", "NUMBER": "a number",
    "STRING": "a text", "CMP": "a comparison", "PLUS": "'+'", "MINUS": "'-'", "STAR": "'*'", "SLASH": "'/'",
    "AMP": "'&'", "AND": "AND", "OR": "OR", "NOT": "NOT", "RBRACE": "'}'", "RSQB": "']'", "DOT": "'.'",
}  # fmt: skip


@lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)


def parse_formula(text: str) -> Formula:
    """Parse formula text; raises FormulaError with the line and column of the first problem."""
    if not isinstance(text, str):
        raise FormulaError("a formula must be a text")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"a formula may be {MAX_LENGTH} characters long at most", Position.of(text, MAX_LENGTH))
    if not text.strip():
        raise FormulaError("the formula is empty", Position.of(text, 0))
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    _check_depth(text, tree)
    return Formula(text, _Builder(text).node(tree))


def _syntax_error(text: str, exc: UnexpectedInput) -> FormulaError:
    offset = exc.pos_in_stream if exc.pos_in_stream is not None else len(text)
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        return FormulaError("the formula ends too early", Position.of(text, len(text)))
    if isinstance(exc, UnexpectedCharacters):
        return FormulaError(f"unexpected character {text[offset]!r}", Position.of(text, offset))
    assert isinstance(exc, UnexpectedToken)
    expected = sorted({TOKEN_NAMES.get(t, t) for t in exc.expected if not t.startswith("__")})
    hint = f"; expected {', '.join(expected[:6])}" if expected else ""
    return FormulaError(f"unexpected {str(exc.token)[:30]!r}{hint}", Position.of(text, offset))


def _check_depth(text: str, tree: Tree[Any]) -> None:
    # Iterative: a deep formula must be refused, not overflow Python's stack while being read.
    stack: list[tuple[Any, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise FormulaError(f"the formula nests deeper than {MAX_DEPTH} levels", Position.of(text, _offset(node)))
        if isinstance(node, Tree):
            stack.extend((child, depth + 1) for child in node.children)


def _offset(node: Any) -> int:
    if isinstance(node, Token):
        return node.start_pos or 0
    return getattr(node.meta, "start_pos", 0) if not node.meta.empty else 0


class _Builder:
    """Lark parse tree -> AST (depth already bounded, so recursion is safe)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def node(self, tree: Tree[Any] | Token) -> Node:
        if isinstance(tree, Token):  # a lone operand the grammar inlined
            return self.node(Tree(tree.type.lower(), [tree], meta=None))
        handler = getattr(self, f"_{tree.data}")
        return handler(tree.children, _offset(tree))

    def _binary(self, c: list[Any], pos: int) -> Node:
        op = str(c[1]).upper()
        op = "!=" if op == "<>" else op
        return Binary(op, self.node(c[0]), self.node(c[2]), c[1].start_pos)

    def _unary(self, c: list[Any], pos: int) -> Node:
        return Unary(str(c[0]).upper(), self.node(c[1]), pos)

    def _number(self, c: list[Token], pos: int) -> Node:
        return Literal(Decimal(str(c[0])), "number", c[0].start_pos)

    def _string(self, c: list[Token], pos: int) -> Node:
        raw = str(c[0])
        quote = raw[0]
        return Literal(raw[1:-1].replace(quote * 2, quote), "text", c[0].start_pos)

    def _true(self, c: list[Token], pos: int) -> Node:
        return Literal(True, "boolean", c[0].start_pos)

    def _false(self, c: list[Token], pos: int) -> Node:
        return Literal(False, "boolean", c[0].start_pos)

    def _null(self, c: list[Token], pos: int) -> Node:
        return Literal(None, "null", c[0].start_pos)

    def _var(self, c: list[Token], pos: int) -> Node:
        name = str(c[0])[1:].lower()
        if name not in VARIABLES:
            known = ", ".join(f"${v}" for v in sorted(VARIABLES))
            raise FormulaError(f"unknown variable {str(c[0])!r}; known: {known}", Position.of(self.text, c[0].start_pos))
        return Var(name, c[0].start_pos)

    def _field(self, c: list[Token], pos: int) -> Node:
        return FieldRef(str(c[-1]), c[0].start_pos)

    def _call(self, c: list[Any], pos: int) -> Node:
        name = c[0]
        return Call(str(name).upper(), tuple(self.node(a) for a in c[1:] if a is not None), name.start_pos)

    def _child(self, c: list[Token], pos: int) -> Node:
        relation = str(c[1]) if len(c) == 3 else None
        return ChildRef(str(c[0]), relation, str(c[-1]), c[0].start_pos)
