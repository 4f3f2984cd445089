"""Fields as the UI shows them: label in the viewer's language, options with colours, whether the viewer
may write them, and the form's rules. One FieldView feeds the one macro per field type (templates/
components/fields.html), in lists, record pages and forms alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from builder_ui.i18n import text_in
from engine.auth.policy import Scope
from engine.schema.model import CompiledEntity

NUMERIC = frozenset({"integer", "decimal", "currency", "percent", "auto_number"})
WIDE = frozenset({"long_text", "json", "attachment"})
SYSTEM = {  # system columns a list may show: (type, English label; the catalog translates it)
    "id": ("integer", "ID"),
    "owner": ("user", "Owner"),
    "created_at": ("datetime", "Created at"),
    "updated_at": ("datetime", "Updated at"),
    "created_by": ("user", "Created by"),
    "updated_by": ("user", "Updated by"),
}


@dataclass(frozen=True)
class Option:
    key: str
    label: str
    color: str | None


@dataclass(frozen=True)
class FieldView:
    key: str
    type: str
    label: str
    required: bool = False
    writable: bool = False
    help: str = ""
    options: tuple[Option, ...] = ()
    cfg: Any = None
    target: tuple[str, str] | None = None  # relation: (app, entity)
    rules: dict[str, Any] = field(default_factory=dict)  # visible_when / required_when / read_only_when

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC

    @property
    def wide(self) -> bool:
        return self.type in WIDE

    def option(self, key: Any) -> Option | None:
        return next((o for o in self.options if o.key == key), None)


def field_views(entity: CompiledEntity, s: Scope, locale: str, _: Any, write: Scope | None = None) -> dict[str, FieldView]:
    """Every field the viewer may read, in definition order, plus the system columns."""
    out: dict[str, FieldView] = {}
    for key, bound in entity.fields.items():
        if key in s.hidden:
            continue
        cfg, ftype = bound.cfg, bound.type
        options = tuple(Option(o.key, text_in(o.label, locale, o.key), o.color) for o in getattr(cfg, "options", None) or ())
        generated = ftype.generated or ftype.computed or cfg.read_only
        writable = write is not None and write.allowed and not generated and key not in write.read_only
        target = entity.relation_target(bound) if cfg.type == "relation" else None
        out[key] = FieldView(
            key, cfg.type, text_in(cfg.label, locale, key), bool(cfg.required), writable,
            text_in(cfg.help_text, locale), options, cfg, target,
        )  # fmt: skip
    for key, (ftype, label) in SYSTEM.items():
        out.setdefault(key, FieldView(key, ftype, _(label)))
    return out


def display_of(record: Any, entity: CompiledEntity | None) -> str:
    """What a record is called: its display field, else its number."""
    if not isinstance(record, dict):
        return f"#{record}" if record is not None else ""
    key = entity.definition.display_field if entity else None
    value = record.get(key) if key else None
    return str(value) if value not in (None, "") else f"#{record.get('id')}"
