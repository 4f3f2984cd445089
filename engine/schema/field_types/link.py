"""Link field types: relation (many-to-one to any entity) and user. Values are target record ids."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field
from sqlalchemy.types import TypeEngine

from engine.core.sql import IdType
from engine.schema.definition import FieldBase
from engine.schema.field_types.base import FieldType, InvalidValue

ENTITY_REF = r"^([a-z][a-z0-9_]{0,62}\.)?[a-z][a-z0-9_]{0,62}$"


class RelationConfig(FieldBase):
    type: Literal["relation"]
    # "account" (same app) or "crm.account" (another app's entity).
    target: Annotated[str, Field(pattern=ENTITY_REF)]
    # What deleting a target record does to records pointing at it.
    on_delete: Literal["restrict", "set_null", "cascade"] = "restrict"


class UserConfig(FieldBase):
    type: Literal["user"]


class IdValueType(FieldType):
    def column_type(self, cfg: Any) -> TypeEngine[Any]:
        return IdType

    def parse(self, cfg: Any, value: Any) -> Any:
        # Existence (and visibility) of the target is checked by the record service in one query.
        if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value > 2**63 - 1:
            raise InvalidValue("type", "expected a record id (positive integer)")
        return value

    def value_schema(self, cfg: Any) -> dict[str, Any]:
        return {"type": "integer", "minimum": 1}


class RelationType(IdValueType):
    key = "relation"
    config = RelationConfig

    def change_blocker(self, old: Any, new: Any) -> str | None:
        if old.type == new.type and old.target != new.target:
            return f"{old.key!r} cannot be pointed at another entity; add a new relation field instead"
        return super().change_blocker(old, new)


class UserType(IdValueType):
    key = "user"
    config = UserConfig
