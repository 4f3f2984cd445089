"""Hypothesis strategies: random formula texts of a wanted kind, and random records to run them on."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import strategies as st

FIELDS = {
    "n1": "number", "n2": "number", "i1": "number", "t1": "text", "t2": "text", "d1": "date", "d2": "date",
    "dt1": "datetime", "b1": "boolean",
}  # fmt: skip
TEXT_ALPHABET = "abAB xy-.05"
UNITS = ["days", "weeks", "months", "years"]


def _maybe(values: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.none(), values)


numbers = st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False, allow_infinity=False)
texts = st.text(TEXT_ALPHABET, max_size=8)
dates = st.dates(date(1990, 1, 1), date(2040, 12, 31))
datetimes = st.datetimes(datetime(1990, 1, 1), datetime(2040, 12, 31)).map(lambda d: d.replace(microsecond=0, tzinfo=UTC))

records = st.fixed_dictionaries(
    {
        "n1": _maybe(numbers), "n2": _maybe(numbers), "i1": _maybe(st.integers(-50, 50)), "t1": _maybe(texts),
        "t2": _maybe(texts), "d1": _maybe(dates), "d2": _maybe(dates), "dt1": _maybe(datetimes),
        "b1": _maybe(st.booleans()),
    }
)  # fmt: skip


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@st.composite
def formula(draw: st.DrawFn, kind: str, depth: int = 3, smooth: bool = False) -> str:
    """A formula text of `kind`. `smooth` keeps division out: SQLite computes in binary floating
    point, so a quotient can differ from the exact decimal in the 16th digit, which FLOOR, ROUND,
    TEXT or a comparison would turn into a visible difference."""
    leaves = _LEAVES[kind](draw)
    if depth <= 0 or draw(st.integers(0, 3)) == 0:
        return leaves
    sub = lambda k, s=smooth: draw(formula(k, depth - 1, s))  # noqa: E731
    return _BUILDERS[kind](draw, sub, smooth)


def _number_leaf(draw: st.DrawFn) -> str:
    return draw(st.one_of(st.sampled_from(["n1", "n2", "i1", "NULL"]), numbers.map(lambda d: f"({d})")))


_LEAVES = {
    "number": _number_leaf,
    "text": lambda draw: draw(st.one_of(st.sampled_from(["t1", "t2", "NULL"]), texts.map(_quote))),
    "boolean": lambda draw: draw(st.sampled_from(["b1", "TRUE", "FALSE", "NULL"])),
    "date": lambda draw: draw(st.sampled_from(["d1", "d2", "TODAY()", "$today"])),
    "datetime": lambda draw: draw(st.sampled_from(["dt1", "NOW()", "$now"])),
}


def _pick(draw: st.DrawFn, options: list) -> str:
    # Only the chosen option is built: building every option would draw exponentially many subformulas.
    return draw(st.sampled_from(options))()


def _num(draw, sub, smooth):
    a, b = (lambda: sub("number")), (lambda: sub("number"))
    smooth_n = lambda: sub("number", True)  # noqa: E731
    options = [
        lambda: f"({a()} + {b()})",
        lambda: f"({a()} - {b()})",
        lambda: f"({a()} * {b()})",
        lambda: f"-({a()})",
        lambda: f"ABS({a()})",
        lambda: f"COALESCE({a()}, {b()})",
        lambda: f"MIN({a()}, {b()})",
        lambda: f"MAX({a()}, {b()}, {a()})",
        lambda: f"SUM({a()}, {b()})",
        lambda: f"COUNT({a()}, {sub('text')})",
        lambda: f"IF({sub('boolean')}, {a()}, {b()})",
        lambda: f"LEN({sub('text')})",
        lambda: f"VALUE({sub('text')})",
        lambda: f"YEAR({sub('date')})",
        lambda: f"MONTH({sub('datetime')})",
        lambda: f"DAY({sub('date')})",
        lambda: f"DAYS_BETWEEN({sub('date')}, {sub('datetime')})",
        lambda: f"CASE({a()}, 1, {b()}, 2, 3, {a()})",
        lambda: f"ROUND({smooth_n()}, {draw(st.integers(0, 3))})",
        lambda: f"FLOOR({smooth_n()})",
        lambda: f"CEIL({smooth_n()})",
    ]
    if not smooth:
        options += [lambda: f"({a()} / {b()})", lambda: f"AVG({a()}, {b()})"]
    return _pick(draw, options)


def _text(draw, sub, smooth):
    a, b = (lambda: sub("text")), (lambda: sub("text"))
    n = lambda: draw(st.integers(-1, 5))  # noqa: E731
    return _pick(draw, [
        lambda: f"({a()} & {b()})", lambda: f"CONCAT({a()}, {b()}, {a()})", lambda: f"LEFT({a()}, {n()})",
        lambda: f"RIGHT({a()}, {n()})", lambda: f"MID({a()}, {draw(st.integers(0, 4))}, {n()})",
        lambda: f"UPPER({a()})", lambda: f"LOWER({a()})", lambda: f"TRIM({a()})",
        lambda: f"SUBSTITUTE({a()}, {b()}, {a()})", lambda: f"TEXT({sub('number', True)}, {draw(st.integers(0, 3))})",
        lambda: f"TEXT({sub('date')})", lambda: f"TEXT({sub('boolean')})", lambda: f"TEXT({sub('datetime')})",
        lambda: f"IF({sub('boolean')}, {a()}, {b()})", lambda: f"IFS({sub('boolean')}, {a()}, {sub('boolean')}, {b()})",
    ])  # fmt: skip


def _bool(draw, sub, smooth):
    kind = draw(st.sampled_from(["number", "text", "date", "datetime", "boolean"]))
    op = draw(st.sampled_from(["=", "!=", "<>"] if kind == "boolean" else ["=", "!=", "<", "<=", ">", ">="]))
    p = lambda: sub("boolean")  # noqa: E731
    return _pick(draw, [
        lambda: f"({sub(kind, True)} {op} {sub(kind, True)})", lambda: f"({p()} AND {p()})", lambda: f"({p()} OR {p()})",
        lambda: f"(NOT {p()})", lambda: f"ISBLANK({sub(kind)})", lambda: f"CONTAINS({sub('text')}, {sub('text')})",
        lambda: f"AND({p()}, {p()}, {p()})", lambda: f"OR({p()}, {p()})",
    ])  # fmt: skip


def _date(draw, sub, smooth):
    d = lambda: sub("date")  # noqa: E731
    return _pick(draw, [
        lambda: f"DATE_ADD({d()}, {draw(st.integers(-40, 40))}, '{draw(st.sampled_from(UNITS))}')",
        lambda: f"DATE({draw(st.integers(1990, 2040))}, {draw(st.integers(-3, 15))}, {draw(st.integers(-3, 33))})",
        lambda: f"IF({sub('boolean')}, {d()}, {d()})", lambda: f"MIN({d()}, {d()})", lambda: f"COALESCE({d()}, {d()})",
    ])  # fmt: skip


def _datetime(draw, sub, smooth):
    t = lambda: sub("datetime")  # noqa: E731
    unit = lambda: draw(st.sampled_from([*UNITS, "hours", "minutes"]))  # noqa: E731
    return _pick(draw, [
        lambda: f"DATE_ADD({t()}, {draw(st.integers(-100, 100))}, '{unit()}')", lambda: f"MAX({t()}, {t()})",
        lambda: f"IF({sub('boolean')}, {t()}, {t()})",
    ])  # fmt: skip


_BUILDERS = {"number": _num, "text": _text, "boolean": _bool, "date": _date, "datetime": _datetime}
NOW = datetime(2026, 11, 23, 9, 30, 15, tzinfo=UTC)
