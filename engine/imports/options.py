"""What an import is asked to do: the mapping and the options, as the API and the CLI take them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Mode = Literal["all_or_nothing", "skip_bad_rows"]
Raw = Annotated[str, Field(max_length=1000)]
ValueMap = Annotated[dict[Raw, Annotated[str, Field(max_length=63)]], Field(max_length=1000)]


class ImportOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mapping: Annotated[dict[str, str], Field(max_length=1000)] | None = Field(
        default=None, description="Column header -> field key; omitted: the suggested mapping"
    )
    mode: Mode = Field(
        default="all_or_nothing", description="all_or_nothing: any error writes nothing; skip_bad_rows: good rows go in"
    )
    dry_run: bool = Field(default=False, description="Check everything and report, write nothing")
    upsert_on: str | None = Field(default=None, description="A unique field: rows whose value exists update that record")
    run_automation: bool = Field(default=True, description="false: rules and processes do not run (history loads)")
    sheet: str | None = Field(default=None, max_length=255, description="The workbook sheet to read; omitted: the first")
    value_map: Annotated[dict[str, ValueMap], Field(max_length=1000)] | None = Field(
        default=None, description="Column header -> {cell text: option key}, for select cells no option matches"
    )
    format: Literal["csv", "xlsx"] | None = Field(default=None, description="Omitted: told from the file itself")
