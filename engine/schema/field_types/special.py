"""Special field types: auto_number (server-generated sequence) and json (free-form document)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field
from sqlalchemy import String
from sqlalchemy.types import TypeEngine

from engine.core.sql import JsonType
from engine.schema.definition import FieldBase
from engine.schema.field_types.base import FieldType, InvalidValue

MAX_JSON_DEPTH = 32
MAX_JSON_BYTES = 256 * 1024


class AutoNumberConfig(FieldBase):
    type: Literal["auto_number"]
    prefix: Annotated[str, Field(max_length=20, pattern=r"^[A-Za-z0-9_\-/.#]*$")] = ""
    digits: Annotated[int, Field(ge=1, le=18)] = 6
    start: Annotated[int, Field(ge=0)] = 1


class JsonConfig(FieldBase):
    type: Literal["json"]


class AutoNumberType(FieldType):
    key = "auto_number"
    config = AutoNumberConfig
    generated = True

    def column_type(self, cfg: Any) -> TypeEngine[Any]:
        return String(64)

    def parse(self, cfg: Any, value: Any) -> Any:
        raise InvalidValue("read_only", "auto numbers are assigned by the server")

    def format(self, cfg: Any, n: int) -> str:
        return f"{cfg.prefix}{n:0{cfg.digits}d}"

    def value_schema(self, cfg: Any) -> dict[str, Any]:
        return {"type": "string", "readOnly": True, "examples": [self.format(cfg, cfg.start)]}


def _depth(value: Any, limit: int, level: int = 1) -> int:
    if level > limit:
        return level
    if isinstance(value, dict):
        return max((_depth(v, limit, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, limit, level + 1) for v in value), default=level)
    return level


def _number(value: Any) -> Any:
    # Request bodies carry Decimals (exact money); inside free-form JSON they are plain numbers.
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TypeError(type(value).__name__)
    if value == 0 or (value.adjusted() < 19 and value == value.to_integral_value()):
        return int(value)  # only from the exponent: int(Decimal("1e999999999")) would take minutes
    number = float(value)
    if number in (0.0, float("inf"), float("-inf")):
        raise InvalidValue("out_of_range", "number out of the range of a JSON number (about 1e-308 to 1e308)")
    return number


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class JsonFieldType(FieldType):
    key = "json"
    config = JsonConfig

    def indexable(self, cfg: Any) -> str | None:
        return f"a {self.key} field holds a document, which cannot be indexed or unique"

    def column_type(self, cfg: Any) -> TypeEngine[Any]:
        return JsonType

    def parse(self, cfg: Any, value: Any) -> Any:
        if _depth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
            raise InvalidValue("too_deep", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        if _has_nul(value):
            raise InvalidValue("invalid_character", "JSON text must not contain the NUL character")
        try:
            text = json.dumps(value, default=_number, ensure_ascii=False)
        except TypeError:
            raise InvalidValue("type", "expected a JSON value") from None
        if len(text.encode()) > MAX_JSON_BYTES:
            raise InvalidValue("too_large", f"JSON value larger than {MAX_JSON_BYTES // 1024} KiB")
        return json.loads(text)

    def value_schema(self, cfg: Any) -> dict[str, Any]:
        return {}
