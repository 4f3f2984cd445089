"""The formula language: a small expression syntax for computed fields and rule action values.

    parse_formula("IF(discount > 0, total * (1 - discount / 100), total)")  -> Formula
    check(formula, {"discount": "number", "total": "number"})             -> "number"
    compile_python(formula)(record, env)                                   -> Decimal('90.00')
    to_sql(formula, table.c, env)                                          -> a SQLAlchemy expression

It sits below `engine.schema` because a formula field's definition is checked when the entity is
defined; it knows field *kinds*, never entities or tables. docs/user-guide/formulas.md describes
the language for the people who write formulas.
"""

from engine.formula.ast import ChildRef, Formula, aggregations, child_refs, folded_key, references
from engine.formula.check import check
from engine.formula.env import Env
from engine.formula.errors import FormulaError, Position
from engine.formula.parser import parse_formula
from engine.formula.python import compile_python
from engine.formula.sql import ChildRows, fold_sql, to_sql

__all__ = [
    "ChildRef", "ChildRows", "Env", "Formula", "FormulaError", "Position", "aggregations", "check", "child_refs",
    "compile_python", "fold_sql", "folded_key", "parse_formula", "references", "to_sql",
]  # fmt: skip
