"""Simple JUEL (Camunda 7: `${discount > 10}`) and FEEL (Camunda 8 / Zeebe: `= amount > 1000 and
level = "vip"`) sequence-flow conditions as Tangram condition documents.

Only what maps one to one is translated: comparisons of a variable with a literal or another
variable, and/or/not, a bare boolean variable, null checks. Anything else (function calls, arithmetic,
method calls, lists) raises Untranslatable with a message for the builder; the caller turns that into
an issue on the edge. Whether the variables name fields of the entity is checked afterwards by the
condition parser (engine.expr.condition), as for any condition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MAX_TEXT = 2000
MAX_DEPTH = 16  # nested parentheses / negations, as conditions themselves allow (engine.expr.condition)
TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>-?\d+(?:\.\d+)?)
    | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<op>&&|\|\||==|!=|>=|<=|>|<|=|!|\(|\))
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    )""",
    re.VERBOSE,
)
COMPARISONS = {"==": "eq", "=": "eq", "!=": "ne", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}
JUEL_WORDS = {"eq": "==", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<=", "and": "&&", "or": "||", "not": "!"}
FLIPPED = {"eq": "eq", "ne": "ne", "gt": "lt", "gte": "lte", "lt": "gt", "lte": "gte"}
LITERALS = {"true": True, "false": False, "null": None}


class Untranslatable(ValueError):
    """The expression is not one of the simple forms translated here."""


@dataclass(frozen=True)
class _Tok:
    kind: str  # number | string | op | name | literal
    text: str
    value: Any = None


def translate(text: str) -> dict[str, Any]:
    """The condition document for a JUEL (`${...}` / `#{...}`) or FEEL (`= ...`) expression."""
    source = text.strip()
    if len(source) > MAX_TEXT:
        raise Untranslatable("the expression is too long to translate")
    if (source.startswith("${") or source.startswith("#{")) and source.endswith("}"):
        tokens = _tokens(source[2:-1], feel=False)
    elif source.startswith("="):
        tokens = _tokens(source[1:], feel=True)
    else:
        raise Untranslatable("neither a JUEL expression (${...}) nor a FEEL one (= ...)")
    parser = _Parser(tokens)
    doc = parser.expression()
    if parser.pos != len(tokens):
        raise Untranslatable(f"cannot translate from {tokens[parser.pos].text!r}")
    return doc


def _tokens(text: str, *, feel: bool) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if not text[pos:].strip():
            break
        m = TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise Untranslatable(f"cannot translate {text[pos:].strip()[:30]!r}")
        pos = m.end()
        if m["number"] is not None:
            number = float(m["number"]) if "." in m["number"] else int(m["number"])
            out.append(_Tok("literal", m["number"], number))
        elif m["string"] is not None:
            out.append(_Tok("literal", m["string"], re.sub(r"\\(.)", r"\1", m["string"][1:-1])))
        elif m["name"] is not None:
            name = m["name"]
            if name in LITERALS:
                out.append(_Tok("literal", name, LITERALS[name]))
            elif not feel and name in JUEL_WORDS:
                out.append(_Tok("op", JUEL_WORDS[name]))
            elif feel and name in ("and", "or", "not"):
                out.append(_Tok("op", {"and": "&&", "or": "||", "not": "!"}[name]))
            elif name == "empty":
                out.append(_Tok("op", "empty"))
            else:
                out.append(_Tok("name", name))
        elif feel and m["op"] in ("==", "&&", "||", "!"):
            raise Untranslatable(f"{m['op']!r} is not FEEL (use =, and, or, not(...))")
        else:
            out.append(_Tok("op", m["op"]))
    if not out:
        raise Untranslatable("the expression is empty")
    return out


class _Parser:
    def __init__(self, tokens: list[_Tok]) -> None:
        self.tokens, self.pos, self.depth = tokens, 0, 0

    def peek(self) -> _Tok | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, text: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.kind == "op" and tok.text == text:
            self.pos += 1
            return True
        return False

    def expression(self) -> dict[str, Any]:
        items = [self.conjunction()]
        while self.take("||"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else {"any": items}

    def conjunction(self) -> dict[str, Any]:
        items = [self.unary()]
        while self.take("&&"):
            items.append(self.unary())
        return items[0] if len(items) == 1 else {"all": items}

    def unary(self) -> dict[str, Any]:
        self.depth += 1
        try:
            return self._unary()
        finally:
            self.depth -= 1

    def _unary(self) -> dict[str, Any]:
        if self.depth > MAX_DEPTH:
            raise Untranslatable(f"the expression nests deeper than {MAX_DEPTH} levels")
        if self.take("!"):
            return {"not": self.unary()}
        if self.take("empty"):
            name = self._name()
            return {"field": name, "op": "is_empty"}
        if self.take("("):
            inner = self.expression()
            if not self.take(")"):
                raise Untranslatable("a parenthesis is not closed")
            return inner
        return self.comparison()

    def _name(self) -> str:
        tok = self.peek()
        if tok is None or tok.kind != "name":
            raise Untranslatable("expected a variable name")
        self.pos += 1
        return tok.text

    def operand(self) -> _Tok:
        tok = self.peek()
        if tok is None or tok.kind not in ("name", "literal"):
            raise Untranslatable(f"cannot translate {tok.text if tok else 'the end'!r} here")
        self.pos += 1
        if tok.kind == "name" and self.peek() is not None and self.peek().text == "(":  # type: ignore[union-attr]
            raise Untranslatable(f"the function or method {tok.text!r}(...) has no equivalent")
        return tok

    def comparison(self) -> dict[str, Any]:
        left = self.operand()
        tok = self.peek()
        if tok is None or tok.kind != "op" or tok.text not in COMPARISONS:
            if left.kind != "name":
                raise Untranslatable(f"{left.text!r} alone is not a condition")
            return {"field": left.text, "op": "eq", "value": True}  # `${approved}`: a yes/no field
        self.pos += 1
        right = self.operand()
        op = COMPARISONS[tok.text]
        if left.kind == "literal" and right.kind == "name":
            left, right, op = right, left, FLIPPED[op]
        if left.kind != "name":
            raise Untranslatable("a comparison needs a variable on one side")
        if right.kind == "name":
            return {"field": left.text, "op": op, "value": {"field": right.text}}
        if right.value is None:
            if op not in ("eq", "ne"):
                raise Untranslatable("null can only be compared with == or !=")
            return {"field": left.text, "op": "is_empty" if op == "eq" else "is_not_empty"}
        return {"field": left.text, "op": op, "value": right.value}
