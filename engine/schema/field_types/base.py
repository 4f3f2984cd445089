"""The field-type contract. Each type owns its config model, value parsing, column and JSON Schema."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar

from sqlalchemy.types import TypeEngine

from engine.core.errors import ErrorDetail
from engine.schema.definition import FieldBase


class InvalidValue(ValueError):
    """A value does not fit its field; `code` is machine-readable, the message is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def reject_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refusing it everywhere keeps both databases identical.
    if "\x00" in value:
        raise InvalidValue("invalid_character", "text must not contain the NUL character")
    return value


class FieldType:
    """Base of every registered field type (stateless; one instance per type in the registry)."""

    key: ClassVar[str]
    config: ClassVar[type[FieldBase]]
    # Server-generated (auto_number): clients never write it.
    generated: ClassVar[bool] = False
    # Computed from other fields by the server (formula): clients never write it either, but it
    # is not a sequence (no unique index, nothing to number).
    computed: ClassVar[bool] = False
    # Types the stored column may be converted to without losing data (see `change_blocker`).
    widens_to: ClassVar[frozenset[str]] = frozenset()

    def column_type(self, cfg: Any) -> TypeEngine[Any]:
        raise NotImplementedError

    def parse(self, cfg: Any, value: Any) -> Any:
        """JSON value (never None) -> value to store. Raises InvalidValue."""
        raise NotImplementedError

    def parser(self, cfg: Any) -> Callable[[Any], Any]:
        """`parse` bound to one config, built once per compiled entity: a type whose checks read
        several config attributes overrides this to look them up once instead of per value."""
        return partial(self.parse, cfg)

    def dump(self, cfg: Any, value: Any) -> Any:
        """Stored value (never None) -> JSON value."""
        return value

    def value_schema(self, cfg: Any) -> dict[str, Any]:
        """JSON Schema of a non-null value, for the per-app OpenAPI document."""
        raise NotImplementedError

    def indexable(self, cfg: Any) -> str | None:
        """Why values of this field cannot be indexed (so neither `unique` nor `indexed`), or None."""
        return None

    def check_config(self, cfg: Any) -> list[ErrorDetail]:
        """Semantic checks beyond the config model (min <= max, default fits the field...)."""
        errors = list(self.extra_checks(cfg))
        why_not = self.indexable(cfg) if (cfg.unique or cfg.indexed) else None
        if why_not:
            errors.append(ErrorDetail("/unique" if cfg.unique else "/indexed", "not_indexable", why_not))
        if cfg.default is not None:
            if self.generated or self.computed:
                errors.append(ErrorDetail("/default", "not_allowed", f"a {self.key} field cannot have a default"))
            else:
                try:
                    self.parse(cfg, cfg.default)
                except InvalidValue as exc:
                    errors.append(ErrorDetail("/default", exc.code, f"default does not fit the field: {exc.message}"))
        return errors

    def extra_checks(self, cfg: Any) -> list[ErrorDetail]:
        return []

    def violation(self, cfg: Any, column: Any, old: Any = None) -> Any:
        """SQL condition true for stored values `cfg` would refuse, checked before a definition
        change is applied; `old` is the config being replaced. None: nothing to check in SQL."""
        return None

    def change_blocker(self, old: Any, new: Any) -> str | None:
        """Why the stored column cannot change from `old` to `new` config, or None if it can."""
        if old.type != new.type and new.type not in self.widens_to:
            return f"changing {old.key!r} from {old.type} to {new.type} could lose data; add a new field and copy instead"
        return None
