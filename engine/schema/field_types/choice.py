"""Choice field types: boolean, select, multi_select. Options have stable keys; labels may change."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import Boolean, String, Text, cast, or_
from sqlalchemy.types import TypeEngine

from engine.core.errors import ErrorDetail
from engine.core.sql import JsonType
from engine.schema.definition import FieldBase, Key, Label
from engine.schema.field_types.base import FieldType, InvalidValue

Colour = Annotated[str, StringConstraints(pattern=r"^(#[0-9a-fA-F]{6}|[a-z]{3,20})$")]


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: Key
    label: Label | None = None
    color: Colour | None = None


Options = Annotated[list[Option], Field(min_length=1, max_length=1000)]


class BooleanConfig(FieldBase):
    type: Literal["boolean"]


class SelectConfig(FieldBase):
    type: Literal["select"]
    options: Options


class MultiSelectConfig(FieldBase):
    type: Literal["multi_select"]
    options: Options
    max_items: Annotated[int, Field(ge=1, le=1000)] | None = None


class BooleanType(FieldType):
    key = "boolean"
    config = BooleanConfig

    def column_type(self, cfg: Any) -> TypeEngine[Any]:
        return Boolean()

    def parse(self, cfg: Any, value: Any) -> Any:
        if not isinstance(value, bool):
            raise InvalidValue("type", "expected true or false")
        return value

    def value_schema(self, cfg: Any) -> dict[str, Any]:
        return {"type": "boolean"}


class OptionsType(FieldType):
    def option_keys(self, cfg: Any) -> list[str]:
        return [o.key for o in cfg.options]

    def check_option(self, cfg: Any, value: Any) -> str:
        if not isinstance(value, str):
            raise InvalidValue("type", "expected an option key (string)")
        if value not in self.option_keys(cfg):
            raise InvalidValue("unknown_option", f"{value[:100]!r} is not an option; options: {', '.join(self.option_keys(cfg))}")
        return value

    def extra_checks(self, cfg: Any) -> list[ErrorDetail]:
        keys = self.option_keys(cfg)
        return [
            ErrorDetail(f"/options/{i}/key", "duplicate", f"option key {k!r} is used twice")
            for i, k in enumerate(keys)
            if k in keys[:i]
        ]


class SelectType(OptionsType):
    key = "select"
    config = SelectConfig

    def column_type(self, cfg: Any) -> TypeEngine[Any]:
        return String(63)

    def parse(self, cfg: Any, value: Any) -> Any:
        return self.check_option(cfg, value)

    def value_schema(self, cfg: Any) -> dict[str, Any]:
        return {"type": "string", "enum": self.option_keys(cfg)}

    def violation(self, cfg: Any, column: Any, old: Any = None) -> Any:
        return column.not_in(self.option_keys(cfg))


class MultiSelectType(OptionsType):
    key = "multi_select"
    config = MultiSelectConfig

    def indexable(self, cfg: Any) -> str | None:
        return f"a {self.key} field holds a document, which cannot be indexed or unique"

    def column_type(self, cfg: Any) -> TypeEngine[Any]:
        return JsonType

    def parse(self, cfg: Any, value: Any) -> Any:
        if not isinstance(value, list):
            raise InvalidValue("type", "expected a list of option keys")
        chosen = {self.check_option(cfg, v) for v in value}
        if cfg.max_items is not None and len(chosen) > cfg.max_items:
            raise InvalidValue("max_items", f"at most {cfg.max_items} options")
        return [k for k in self.option_keys(cfg) if k in chosen]  # stored in option order, no repeats

    def violation(self, cfg: Any, column: Any, old: Any = None) -> Any:
        gone = (
            [k for k in self.option_keys(old) if k not in self.option_keys(cfg)]
            if old is not None and old.type == self.key
            else []
        )
        # Keys are [a-z0-9_]: '"key"' in the stored JSON text matches that exact array element.
        return or_(*(cast(column, Text).like(f'%"{k}"%') for k in gone)) if gone else None

    def value_schema(self, cfg: Any) -> dict[str, Any]:
        return {"type": "array", "uniqueItems": True, "items": {"type": "string", "enum": self.option_keys(cfg)}}
