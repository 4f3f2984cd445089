"""The saved-view document: a list's filter, columns, sort and page size, or a kanban board's grouping
and cards, plus its name and sharing (published as docs/schemas/view.schema.json). Checking it against
an entity and a caller's field mask is engine.records.views' job."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.schema.definition import Key, Label

MAX_FILTER_BYTES = 8192  # a view's filter as compact JSON; list filters in a URL stay well below this
SHARE_PATTERN = r"^(\*|[a-z][a-z0-9_]{0,62})$"  # a role key, or "*": everyone who may read the entity
SYSTEM_COLUMNS = ("id", "owner", "created_at", "created_by", "updated_at", "updated_by")


class SortItem(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    field: Key
    desc: bool = False


class ViewDefinition(BaseModel):
    """What a view shows: stored as the `definition` of a tg_views row."""

    model_config = ConfigDict(extra="forbid", strict=True)

    kind: Literal["table", "kanban"] = "table"
    filter: dict[str, Any] | None = Field(default=None, description="A condition (the one condition language)")
    columns: Annotated[list[Key], Field(min_length=1, max_length=50, description="Field keys or system columns, in order")]
    sort: Annotated[list[SortItem], Field(max_length=8)] = []
    page_size: Annotated[int, Field(ge=10, le=200)] = 50
    group_field: Key | None = Field(default=None, description="kanban: the select field whose options are the lanes")
    card_fields: Annotated[list[Key], Field(max_length=12, description="kanban: fields shown on a card")] = []

    @field_validator("filter")
    @classmethod
    def _small_filter(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(json.dumps(value, separators=(",", ":"), default=str)) > MAX_FILTER_BYTES:
            raise ValueError(f"a view's filter may take at most {MAX_FILTER_BYTES} bytes of JSON")
        return value


class ViewDocument(ViewDefinition):
    """A view as the API takes it: the definition plus its name and who it is shared with."""

    name: Label
    shared_with: Annotated[str, Field(pattern=SHARE_PATTERN)] | None = Field(
        default=None, description='null: personal; a role key; or "*": everyone who may read the entity'
    )
    is_default: bool = Field(default=False, description="the entity's default view (a shared view; one per entity)")

    def definition(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"name", "shared_with", "is_default"})
