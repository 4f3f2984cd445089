"""Chart and dashboard definitions: what a builder drags together, checked whole before it is saved.

    {"key": "pipeline_by_month", "type": "bar", "source": "opportunity",
     "label": {"en": "Pipeline by month", "zh-CN": "每月商机"},
     "dimensions": [{"field": "created_at", "bucket": "month"}, {"field": "stage"}],
     "measures": [{"key": "amount", "agg": "sum", "field": "amount"},
                  {"key": "deals", "agg": "count"},
                  {"key": "won", "agg": "count", "where": {"field": "stage", "op": "eq", "value": "won"}},
                  {"key": "win_rate", "ratio": ["won", "deals"]}],
     "filter": {"field": "created_at", "op": "within_last", "value": {"amount": 12, "unit": "months"}},
     "sort": [{"by": "amount", "dir": "desc"}], "limit": 20}

A field is named by its key on the source entity ("amount"), or "<join>.<key>" on a joined entity
("leads.status"). Joins follow relations, each spelled out: forward along a relation field of the
entity it starts from (many-to-one), or reverse along a relation field of another entity that points
back (one-to-many). The shape is checked here (pydantic); the meaning (fields exist and are readable,
aggregates fit their types, joins follow real relations) by engine.reports.compile.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from engine.core.errors import ErrorCollector, pydantic_errors
from engine.schema.definition import Help, Key, Label

FIELD_REF = r"^([a-z][a-z0-9_]{0,62}\.)?[a-z][a-z0-9_]{0,62}$"
FieldRef = Annotated[str, StringConstraints(pattern=FIELD_REF)]
MAX_DIMENSIONS = 4
MAX_MEASURES = 20
MAX_JOINS = 4
BUCKETS = ("hour", "day", "week", "month", "quarter", "year")
AGGREGATES = ("count", "count_distinct", "sum", "avg", "min", "max", "median")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Join(Strict):
    """`as`: the alias fields name it by. forward: `from`.`field` is a relation to the joined entity.
    reverse: `entity`.`field` is a relation pointing at `from` (one-to-many: rows multiply)."""

    alias: Key = Field(alias="as")
    source: str = Field(default="source", alias="from", pattern=r"^[a-z][a-z0-9_]{0,62}$")  # "source" or a join alias
    field: Key
    direction: Literal["forward", "reverse"] = "forward"
    entity: Key | None = None  # reverse joins: the entity holding `field`
    required: bool = False  # inner join: drop source rows without a joined record

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _entity(self) -> Join:
        if (self.direction == "reverse") != (self.entity is not None):
            raise ValueError("a reverse join names the entity holding the relation (entity), a forward join does not")
        return self


class Bins(Strict):
    """Numeric bins: equal `width` from `start`, or explicit ascending `edges` ([0, 1000, 10000])."""

    width: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    start: float = Field(default=0, allow_inf_nan=False)
    edges: list[Annotated[float, Field(allow_inf_nan=False)]] | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _one(self) -> Bins:
        if (self.width is None) == (self.edges is None):
            raise ValueError("give exactly one of width or edges")
        if self.edges is not None and any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
            raise ValueError("edges must be strictly ascending")
        return self


class Dimension(Strict):
    """Group by a field: as is (select options in their defined order, relations and users by their
    display value), by a time bucket, or by numeric bins."""

    field: FieldRef
    key: Key | None = None  # the name in the result (default: the field with "." as "_")
    label: Label = None
    bucket: Literal["hour", "day", "week", "month", "quarter", "year"] | None = None
    bins: Bins | None = None

    @model_validator(mode="after")
    def _one(self) -> Dimension:
        if self.bucket is not None and self.bins is not None:
            raise ValueError("a dimension has a time bucket or numeric bins, not both")
        return self

    @property
    def name(self) -> str:
        return self.key or self.field.replace(".", "_")


class Measure(Strict):
    """An aggregate (`agg` over `field`, or over a formula `expr`; `where` counts only matching
    rows), or a measure derived from others: `ratio` [a, b] = a / b, `percent_of_total`, `running_total`,
    `change` (against the previous row of the first dimension: period over period)."""

    key: Key
    label: Label = None
    agg: Literal["count", "count_distinct", "sum", "avg", "min", "max", "median"] | None = None
    field: FieldRef | None = None
    expr: str | None = Field(default=None, max_length=2000)  # a formula over the source record
    where: dict[str, Any] | None = None  # a condition on the measured records (the entity `field` is on; else the source)
    ratio: list[Key] | None = Field(default=None, min_length=2, max_length=2)
    percent_of_total: Key | None = None
    running_total: Key | None = None
    change: Key | None = None
    format: Literal["number", "currency", "percent", "duration"] | None = None

    @model_validator(mode="after")
    def _kind(self) -> Measure:
        derived = [d for d in ("ratio", "percent_of_total", "running_total", "change") if getattr(self, d) is not None]
        if len(derived) + (self.agg is not None) != 1:
            raise ValueError(
                "a measure is one aggregate (agg) or one derived measure (ratio, percent_of_total, running_total, change)"
            )
        if self.agg is None and (self.field or self.expr or self.where):
            raise ValueError("field, expr and where belong to aggregates")
        if self.agg is not None and self.agg != "count" and (self.field is None) == (self.expr is None):
            raise ValueError(f"{self.agg} needs exactly one of field or expr")
        if self.agg == "count" and self.expr is not None:
            raise ValueError("count takes a field (counting non-empty values) or nothing (counting rows)")
        return self

    @property
    def derived_from(self) -> list[str]:
        return list(self.ratio or ()) + [k for k in (self.percent_of_total, self.running_total, self.change) if k]


class Sort(Strict):
    by: Key  # a dimension or measure key
    dir: Literal["asc", "desc"] = "asc"


class Compare(Strict):
    """KPI comparison: the same measure over the previous period of the same length."""

    field: FieldRef | None = None  # the date the periods are read on (default: the chart's date_field)
    period: Literal["day", "week", "month", "quarter", "year"] = "month"


class ChartDefinition(Strict):
    key: Key
    label: Label = None
    description: Help | None = None
    type: str = Field(max_length=40)  # a registered chart type: kpi, bar, line, pie, funnel, table, pivot, ...
    source: Key
    joins: list[Join] = Field(default_factory=list, max_length=MAX_JOINS)
    dimensions: list[Dimension] = Field(default_factory=list, max_length=MAX_DIMENSIONS)
    measures: list[Measure] = Field(min_length=1, max_length=MAX_MEASURES)
    filter: dict[str, Any] | None = None  # a condition on the source entity (relation paths allowed)
    date_field: FieldRef = "created_at"  # what a dashboard's date range filters
    sort: list[Sort] = Field(default_factory=list, max_length=6)
    limit: int | None = Field(default=None, ge=1, le=10_000)  # top N groups
    others: bool = False  # with limit: the rest summed into one "others" group
    options: dict[str, Any] = Field(default_factory=dict)  # chart-type settings (stacked, cumulative, rows/columns...)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class DashboardFilters(Strict):
    """Filters a dashboard applies to each of its charts: a date range on each chart's date_field,
    owners, teams (their members' records, sub-teams included)."""

    date_from: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    date_to: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")  # inclusive
    relative: Literal["today", "this_week", "this_month", "this_quarter", "this_year", "last_7_days",
                      "last_30_days", "last_90_days", "last_month", "last_quarter", "last_year"] | None = None  # fmt: skip
    owners: list[int] = Field(default_factory=list, max_length=200)
    teams: list[Key] = Field(default_factory=list, max_length=50)


class Tile(Strict):
    chart: Key
    x: int = Field(default=0, ge=0, le=100)
    y: int = Field(default=0, ge=0, le=1000)
    w: int = Field(default=6, ge=1, le=24)
    h: int = Field(default=4, ge=1, le=100)


class DashboardDefinition(Strict):
    key: Key
    label: Label = None
    description: Help | None = None
    tiles: list[Tile] = Field(min_length=1, max_length=50)
    filters: DashboardFilters = DashboardFilters()  # defaults; a viewer may pass others

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def parse_chart(doc: Any, errors: ErrorCollector) -> ChartDefinition | None:
    try:
        return ChartDefinition.model_validate(doc)
    except ValidationError as exc:
        errors.extend(pydantic_errors(exc))
        return None


def parse_dashboard(doc: Any, errors: ErrorCollector) -> DashboardDefinition | None:
    try:
        return DashboardDefinition.model_validate(doc)
    except ValidationError as exc:
        errors.extend(pydantic_errors(exc))
        return None
