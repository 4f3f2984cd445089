"""The field-type registry. Built explicitly at start-up; nothing registers itself on import."""

from __future__ import annotations

from functools import lru_cache

from engine.core.registry import Registry
from engine.schema.field_types.attachment import AttachmentType
from engine.schema.field_types.base import FieldType, InvalidValue
from engine.schema.field_types.choice import BooleanType, MultiSelectType, SelectType
from engine.schema.field_types.formula import FormulaType
from engine.schema.field_types.link import RelationType, UserType
from engine.schema.field_types.number import CurrencyType, DecimalType, IntegerType, PercentType
from engine.schema.field_types.special import AutoNumberType, JsonFieldType
from engine.schema.field_types.temporal import DateTimeType, DateType
from engine.schema.field_types.text import EmailType, LongTextType, PhoneType, TextType, UrlType

BUILTIN_FIELD_TYPES: tuple[type[FieldType], ...] = (
    TextType, LongTextType, IntegerType, DecimalType, CurrencyType, PercentType, BooleanType, DateType,
    DateTimeType, SelectType, MultiSelectType, EmailType, PhoneType, UrlType, RelationType, UserType,
    AutoNumberType, JsonFieldType, FormulaType, AttachmentType,
)  # fmt: skip


def register_builtins(registry: Registry[FieldType]) -> Registry[FieldType]:
    for cls in BUILTIN_FIELD_TYPES:
        registry.register(cls())
    return registry


@lru_cache
def field_types() -> Registry[FieldType]:
    """The process-wide registry of field types."""
    return register_builtins(Registry("field type"))


__all__ = ["FieldType", "InvalidValue", "field_types", "register_builtins"]
