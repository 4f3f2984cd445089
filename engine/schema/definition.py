"""Entity definitions: the JSON documents business users author, validated by pydantic models.

A definition is parsed in two steps so every error gets a clean JSON path: the header (key, labels,
options) by `EntityHeader`, then each field by the config model of its registered field type.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
)

from engine.core.errors import ErrorCollector, pointer, pydantic_errors

KEY_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
LOCALE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"


def _text_map_checker(max_len: int, min_len: int) -> Any:
    """A label (or help text) is a string, or a map of locale -> string such as {"en": .., "zh-CN": ..}."""

    def check(value: Any) -> Any:
        texts = value.values() if isinstance(value, dict) else [value]
        if isinstance(value, dict) and not (1 <= len(value) <= 20 and all(re.match(LOCALE_PATTERN, k) for k in value)):
            raise ValueError("a map of texts needs 1-20 locale keys such as 'en' or 'zh-CN'")
        if not all(isinstance(t, str) and min_len <= len(t) <= max_len and "\x00" not in t for t in texts):
            raise ValueError(f"expected a text of {min_len}-{max_len} characters, or a map of locale to such texts")
        return value

    return check


def _text_map_schema(max_len: int, min_len: int) -> dict[str, Any]:
    text = {"type": "string", "minLength": min_len, "maxLength": max_len}
    return {
        "oneOf": [
            text,
            {
                "type": "object",
                "propertyNames": {"pattern": LOCALE_PATTERN},
                "additionalProperties": text,
                "minProperties": 1,
                "maxProperties": 20,
            },
        ]
    }


Label = Annotated[Any, AfterValidator(_text_map_checker(200, 1)), WithJsonSchema(_text_map_schema(200, 1))]
Help = Annotated[Any, AfterValidator(_text_map_checker(2000, 0)), WithJsonSchema(_text_map_schema(2000, 0))]


def _sane_number(value: Decimal) -> Decimal:
    # No field holds more than 19 digits before the point or 10 after it; 1e999999999 would make
    # every later int() or str() of the bound take minutes.
    if value and not -30 <= value.adjusted() <= 18:
        raise ValueError("number out of range (at most 19 digits before the decimal point)")
    return value


# Decimals in definitions (min, max) stay exact in Python and are written back as JSON numbers.
Number = Annotated[
    Decimal,
    AfterValidator(_sane_number),
    PlainSerializer(lambda d: int(d) if d == d.to_integral_value() else float(d), return_type=int | float, when_used="json"),
]

SYSTEM_KEYS = frozenset({"id", "version", "created_at", "updated_at", "created_by", "updated_by", "owner", "deleted_at"})
MAX_FIELDS = 500


class FieldBase(BaseModel):
    """Parameters every field type accepts. Type-specific ones live on each type's subclass."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: Key
    type: str
    label: Label | None = None
    help_text: Help | None = None
    required: bool = False
    unique: bool = False
    read_only: bool = False
    indexed: bool = Field(default=False, description="Create an index (relations and unique fields always have one)")
    default: Any = None


# Duplicate rules (engine.records.dedup): which field types each normaliser suits (None: any stored scalar).
DUPLICATE_NORMALIZERS: dict[str, frozenset[str] | None] = {
    "exact": None,
    "phone": frozenset({"phone", "text"}),
    "email": frozenset({"email", "text"}),
    "company": frozenset({"text"}),
}
NOT_MATCHABLE = frozenset({"json", "multi_select", "long_text", "attachment"})


class DuplicateMatch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    field: Key
    normalize: Literal["exact", "phone", "email", "company"] = "exact"


class DuplicateRule(BaseModel):
    """Records are possible duplicates when every listed field matches after normalising (AND);
    an entity's rules are alternatives (OR)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: Key
    label: Label | None = None
    match: Annotated[list[DuplicateMatch], Field(min_length=1, max_length=5)]
    action: Literal["warn", "block"] = "warn"


class EntityOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: Help | None = None
    icon: Annotated[str, StringConstraints(max_length=64, pattern=r"^[a-z0-9-]*$")] | None = None
    duplicates: Annotated[list[DuplicateRule], Field(max_length=10)] | None = None
    timeline_field: Key | None = Field(
        default=None, description="The date or date-time field that places a record on a timeline (else its created_at)"
    )


class EntityHeader(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: Key
    label: Label
    display_field: Key | None = None
    options: EntityOptions = EntityOptions()
    fields: Annotated[list[Any], Field(min_length=1, max_length=MAX_FIELDS)]  # each checked by its type


class EntityDefinition(BaseModel):
    """A validated entity definition: header plus typed field configs, in author order."""

    model_config = ConfigDict(frozen=True)

    key: str
    label: Any
    display_field: str | None
    options: EntityOptions
    fields: tuple[Any, ...]

    def field(self, key: str) -> FieldBase | None:
        return next((f for f in self.fields if f.key == key), None)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"key": self.key, "label": self.label}
        if self.display_field:
            doc["display_field"] = self.display_field
        options = self.options.model_dump(exclude_none=True)
        if options:
            doc["options"] = options
        doc["fields"] = [field_json(f) for f in self.fields]
        return doc


def field_json(cfg: FieldBase) -> dict[str, Any]:
    """A field config as its author would write it: key and type first, defaults left out."""
    return {"key": cfg.key, "type": cfg.type} | cfg.model_dump(mode="json", exclude_defaults=True)


def parse_fields(raw_fields: list[Any], field_types: Any, errors: ErrorCollector, prefix: str = "/fields") -> list[FieldBase]:
    """Validate each raw field by its type's config model; collect located errors."""
    parsed: list[FieldBase] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_fields):
        path = f"{prefix}/{i}"
        if not isinstance(raw, dict):
            errors.add(path, "type", "a field must be an object")
            continue
        ftype = field_types.get(raw.get("type")) if isinstance(raw.get("type"), str) else None
        if ftype is None:
            known = ", ".join(sorted(field_types.keys()))
            errors.add(path + "/type", "unknown_type", f"unknown field type {raw.get('type')!r}; known types: {known}")
            continue
        try:
            cfg = ftype.config.model_validate(raw)
        except ValidationError as exc:
            errors.extend(pydantic_errors(exc, path))
            continue
        if cfg.key in SYSTEM_KEYS:
            errors.add(path + "/key", "reserved", f"{cfg.key!r} is a system field and cannot be defined")
        elif cfg.key in seen:
            errors.add(path + "/key", "duplicate", f"field key {cfg.key!r} is used twice")
        seen.add(cfg.key)
        errors.extend(ftype.check_config(cfg), path)
        parsed.append(cfg)
    return parsed


def parse_entity(doc: Any, field_types: Any) -> EntityDefinition:
    """Validate a definition document; raise ValidationFailed listing every problem with its path."""
    errors = ErrorCollector()
    if not isinstance(doc, dict):
        errors.add("", "type", "an entity definition must be a JSON object")
        errors.raise_if_any("Invalid entity definition")
    try:
        header = EntityHeader.model_validate(doc)
    except ValidationError as exc:
        errors.extend(pydantic_errors(exc))
        raw_fields = doc.get("fields") if isinstance(doc.get("fields"), list) else []
        parse_fields(raw_fields[:MAX_FIELDS], field_types, errors)
        errors.raise_if_any("Invalid entity definition")
        raise AssertionError("unreachable") from exc
    fields = parse_fields(header.fields, field_types, errors)
    if header.display_field and header.display_field not in {f.key for f in fields}:
        errors.add("/display_field", "unknown_field", f"display_field {header.display_field!r} is not a field of this entity")
    timeline = header.options.timeline_field
    if timeline and next((f.type for f in fields if f.key == timeline), None) not in ("date", "datetime"):
        errors.add("/options/timeline_field", "invalid_field", f"timeline_field {timeline!r} is not a date or datetime field")
    _check_duplicate_rules(header.options.duplicates or [], {f.key: f.type for f in fields}, errors)
    errors.raise_if_any("Invalid entity definition")
    return EntityDefinition(
        key=header.key,
        label=header.label,
        display_field=header.display_field,
        options=header.options,
        fields=tuple(fields),
    )


def _check_duplicate_rules(rules: list[DuplicateRule], types: dict[str, str], errors: ErrorCollector) -> None:
    """Each rule names fields of this entity that its normalisers can read; rule keys are unique."""
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        path = f"/options/duplicates/{i}"
        if rule.key in seen:
            errors.add(path + "/key", "duplicate", f"duplicate rule key {rule.key!r} is used twice")
        seen.add(rule.key)
        for j, m in enumerate(rule.match):
            suits = DUPLICATE_NORMALIZERS[m.normalize]
            ftype = types.get(m.field)
            if ftype is None:
                errors.add(f"{path}/match/{j}/field", "unknown_field", f"{m.field!r} is not a field of this entity")
            elif ftype in NOT_MATCHABLE or (suits is not None and ftype not in suits):
                allowed = "any field but json, multi_select and long_text" if suits is None else ", ".join(sorted(suits))
                errors.add(
                    f"{path}/match/{j}/normalize", "unsuitable",
                    f"the {m.normalize!r} normaliser cannot read a {ftype} field ({m.field!r}); it suits {allowed}",
                )  # fmt: skip


def label_text(label: Any, locale: str = "en") -> str:
    if isinstance(label, dict):
        return str(label.get(locale) or label.get("en") or next(iter(label.values()), ""))
    return str(label or "")


__all__ = ["SYSTEM_KEYS", "EntityDefinition", "FieldBase", "Key", "Label", "label_text", "parse_entity", "pointer"]
