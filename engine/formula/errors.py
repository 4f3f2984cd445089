"""The one error a formula raises: a short message and where in the text it applies."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Position:
    offset: int  # 0-based character offset into the formula text
    line: int  # 1-based
    column: int  # 1-based

    @classmethod
    def of(cls, text: str, offset: int) -> Position:
        offset = max(0, min(offset, len(text)))
        before = text[:offset]
        line = before.count("\n") + 1
        return cls(offset, line, offset - (before.rfind("\n") + 1) + 1)


class FormulaError(ValueError):
    """A formula that cannot be parsed, type-checked or compiled. `str()` reads "message (line L,
    column C)", which is what definition errors show to the person who wrote the formula."""

    def __init__(self, message: str, position: Position | None = None) -> None:
        self.message = message
        self.position = position
        where = f" (line {position.line}, column {position.column})" if position else ""
        super().__init__(message + where)
