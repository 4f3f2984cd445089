"""Textual field types: text, long_text, email, phone, url."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from sqlalchemy import Text, func, or_
from sqlalchemy.types import TypeEngine

from engine.core.errors import ErrorDetail
from engine.schema.definition import FieldBase
from engine.schema.field_types.base import FieldType, InvalidValue, reject_nul

TEXT_FAMILY = frozenset({"text", "long_text"})
MAX_INDEXED_LENGTH = 500


class TextLimits(FieldBase):
    min_length: Annotated[int, Field(ge=0)] | None = None
    max_length: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    pattern: Annotated[str, Field(max_length=500)] | None = None

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return pattern


class TextConfig(TextLimits):
    type: Literal["text"]


class LongTextConfig(TextLimits):
    type: Literal["long_text"]


class TextType(FieldType):
    key = "text"
    config = TextConfig
    default_max = 255
    widens_to = frozenset({"long_text"})

    def column_type(self, cfg: Any) -> TypeEngine[Any]:
        return Text()

    def indexable(self, cfg: Any) -> str | None:
        # A B-tree entry must fit a third of a page (2,704 bytes on PostgreSQL); 500 characters of
        # four-byte UTF-8 stay under it.
        if self.max_length(cfg) > MAX_INDEXED_LENGTH:
            return f"an indexed or unique text field holds at most {MAX_INDEXED_LENGTH} characters (set max_length)"
        return None

    def max_length(self, cfg: Any) -> int:
        return getattr(cfg, "max_length", None) or self.default_max

    def parse(self, cfg: Any, value: Any) -> Any:
        return self.parser(cfg)(value)

    def parser(self, cfg: Any) -> Callable[[Any], Any]:
        max_length = self.max_length(cfg)
        min_length = getattr(cfg, "min_length", None)
        pattern = re.compile(cfg.pattern) if getattr(cfg, "pattern", None) else None
        normalise = self.normalise

        def parse(value: Any) -> Any:
            if not isinstance(value, str):
                raise InvalidValue("type", "expected a string")
            value = reject_nul(value)
            if len(value) > max_length:
                raise InvalidValue("max_length", f"at most {max_length} characters")
            if min_length is not None and len(value) < min_length:
                raise InvalidValue("min_length", f"at least {min_length} characters")
            if pattern is not None and not pattern.fullmatch(value):
                raise InvalidValue("pattern", f"does not match the pattern {pattern.pattern}")
            return normalise(value)

        return parse

    def normalise(self, value: str) -> str:
        return value

    def violation(self, cfg: Any, column: Any, old: Any = None) -> Any:
        # `pattern` is enforced on writes only: regular expressions are not portable SQL.
        too_long = func.length(column) > self.max_length(cfg)
        min_length = getattr(cfg, "min_length", None)
        return too_long if not min_length else or_(too_long, func.length(column) < min_length)

    def value_schema(self, cfg: Any) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "maxLength": self.max_length(cfg)}
        if getattr(cfg, "min_length", None) is not None:
            schema["minLength"] = cfg.min_length
        if getattr(cfg, "pattern", None) is not None:
            schema["pattern"] = cfg.pattern
        return schema

    def extra_checks(self, cfg: Any) -> list[ErrorDetail]:
        lo, hi = getattr(cfg, "min_length", None), getattr(cfg, "max_length", None)
        if lo is not None and hi is not None and lo > hi:
            return [ErrorDetail("/min_length", "range", "min_length is greater than max_length")]
        return []


class LongTextType(TextType):
    key = "long_text"
    config = LongTextConfig
    default_max = 100_000
    widens_to = frozenset()


class EmailConfig(FieldBase):
    type: Literal["email"]


class PhoneConfig(FieldBase):
    type: Literal["phone"]


class UrlConfig(FieldBase):
    type: Literal["url"]


EMAIL_RE = re.compile(r"^[^@\s<>\"']{1,64}@[^@\s<>\"']+\.[^@\s<>\"'.]{2,}$")
PHONE_RE = re.compile(r"^\+?[0-9 ()\-./]{3,32}$")


class EmailType(TextType):
    key = "email"
    config = EmailConfig  # type: ignore[assignment]
    default_max = 320
    widens_to = TEXT_FAMILY

    def normalise(self, value: str) -> str:
        value = value.strip().lower()
        if not EMAIL_RE.match(value):
            raise InvalidValue("format", "not a valid email address")
        return value

    def value_schema(self, cfg: Any) -> dict[str, Any]:
        return {"type": "string", "format": "email", "maxLength": self.default_max}


class PhoneType(TextType):
    key = "phone"
    config = PhoneConfig  # type: ignore[assignment]
    default_max = 32
    widens_to = TEXT_FAMILY

    def normalise(self, value: str) -> str:
        value = value.strip()
        if not PHONE_RE.match(value) or sum(c.isdigit() for c in value) < 3:
            raise InvalidValue("format", "not a valid phone number (digits, spaces, + - ( ) . /)")
        return value

    def value_schema(self, cfg: Any) -> dict[str, Any]:
        return {"type": "string", "pattern": PHONE_RE.pattern, "maxLength": self.default_max}


class UrlType(TextType):
    key = "url"
    config = UrlConfig  # type: ignore[assignment]
    default_max = 2048
    widens_to = TEXT_FAMILY

    def indexable(self, cfg: Any) -> str | None:
        return "URLs (up to 2,048 characters) cannot be indexed or unique; keep a short text key beside them"

    def normalise(self, value: str) -> str:
        value = value.strip()
        parts = urlsplit(value)
        # Only web addresses: javascript:, data: and friends would be XSS when rendered as links.
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
            raise InvalidValue("format", "not a valid http(s) URL")
        return value

    def value_schema(self, cfg: Any) -> dict[str, Any]:
        return {"type": "string", "format": "uri", "maxLength": self.default_max}
