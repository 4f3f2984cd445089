"""The result of a compiled chart query, as chart types receive it, and how its values read to a viewer.

The compiler fills a `Result` (raw values: select keys, bucket starts, bin lower bounds, ids); chart
types turn it into what the UI draws, using `dim_text` and `ordered_values` so every chart labels and
orders the same dimension the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

OTHERS = "__others__"  # the dimension value of the row summing every group past a top-N limit
OTHERS_TEXT = "Others"
EMPTY_TEXT = "(empty)"


@dataclass(frozen=True)
class ResultDim:
    name: str  # column name in rows
    label: str  # the dimension's label in the viewer's locale
    kind: str  # "select" | "bucket" | "bins" | "relation" | "user" | "plain"
    order: tuple[Any, ...] | None = None  # select: option keys in their defined order
    labels: Mapping[Any, str] = field(default_factory=dict)  # select: key -> label; relation/user: id -> display text
    bucket: str | None = None  # hour/day/week/month/quarter/year
    width: float | None = None  # bins: equal width from the lower bound...
    edges: tuple[float, ...] | None = None  # ...or explicit ascending edges


@dataclass(frozen=True)
class ResultMeasure:
    name: str
    label: str
    format: str | None = None


@dataclass
class Result:
    dims: list[ResultDim]
    measures: list[ResultMeasure]
    rows: list[dict[str, Any]]  # dim name -> raw value, measure name -> number or None; pivot: "_set" -> set index
    sets: list[tuple[str, ...]] | None = None  # pivot: the dim names grouped in each set (index = "_set")
    kpi_previous: dict[str, Any] | None = None  # kpi with comparison: measure name -> previous period's value
    truncated: bool = False


def dim_text(dim: ResultDim, value: Any) -> str:
    """How a raw dimension value reads: option label, bucket period, bin range, display value."""
    if value is None:
        return EMPTY_TEXT
    if value == OTHERS:
        return OTHERS_TEXT
    if dim.kind == "bucket" and dim.bucket:
        return bucket_text(dim.bucket, value)
    if dim.kind == "bins":
        return bin_text(dim, value)
    text = dim.labels.get(value)
    return text if text is not None else str(value)


def bucket_text(bucket: str, value: Any) -> str:
    """A bucket start ("2026-11-25" or "2026-11-25T14:00", or a date/datetime) as its period:
    2026-11-25 14:00, 2026-11-25, 2026-W48 (ISO week), 2026-11, 2026-Q4, 2026."""
    moment = as_datetime(value)
    if bucket == "hour":
        return moment.strftime("%Y-%m-%d %H:00")
    if bucket == "day":
        return moment.strftime("%Y-%m-%d")
    if bucket == "week":
        year, week, _ = moment.date().isocalendar()  # ISO: a week belongs to the year holding its Thursday
        return f"{year}-W{week:02d}"
    if bucket == "month":
        return moment.strftime("%Y-%m")
    if bucket == "quarter":
        return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"
    return str(moment.year)


def as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return datetime.fromisoformat(str(value).replace(" ", "T", 1))


def bin_text(dim: ResultDim, lower: Any) -> str:
    """ "1,000-2,000" from a bin's lower bound; the last explicit edge reads "10,000+", values under
    the first edge (a lower bound that is no edge) "<0"."""
    bound = float(lower)
    if dim.width is not None:
        return f"{number_text(bound)}-{number_text(bound + dim.width)}"
    edges = dim.edges or ()
    if bound in edges:
        following = [e for e in edges if e > bound]
        return f"{number_text(bound)}-{number_text(following[0])}" if following else f"{number_text(bound)}+"
    if edges and bound < edges[0]:
        return f"<{number_text(edges[0])}"
    return number_text(bound)


def number_text(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.10f}".rstrip("0").rstrip(".")


def ordered_values(dim: ResultDim, rows: list[dict[str, Any]]) -> list[Any]:
    """The distinct values of a dimension in display order: select options in their defined order then
    unknown keys, buckets and bins ascending, others as they first appear (the compiler's sort).
    Empty (None) comes after every value, the "others" group last."""
    seen: dict[Any, None] = {}
    for row in rows:
        seen.setdefault(row.get(dim.name), None)
    values = [v for v in seen if v is not None and v != OTHERS]
    if dim.kind == "select" and dim.order is not None:
        position = {key: i for i, key in enumerate(dim.order)}
        values.sort(key=lambda v: position.get(v, len(position)))  # stable: unknown keys keep their order
    elif dim.kind == "bins":
        values.sort(key=float)
    elif dim.kind == "bucket":
        values.sort(key=as_datetime)
    tail = [v for v in (None, OTHERS) if v in seen]
    return values + tail


def plain_number(value: Any) -> int | float | None:
    """A measure value as JSON can carry it: Decimal becomes int when whole, float otherwise."""
    if value is None:
        return None
    if isinstance(value, int):  # bool included: True counts as 1
        return int(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return float(value)


def plain_value(value: Any) -> Any:
    """A raw dimension value as JSON can carry it (dates as ISO text, decimals as numbers)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return plain_number(value)
    return value
