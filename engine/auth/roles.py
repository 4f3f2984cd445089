"""Role definitions: what a role may do on which entities, and which fields it may not see or edit.

A role is data (JSON, schema in docs/schemas/role.schema.json), so apps can ship their own:

    {"key": "sales_rep", "label": {"en": "Sales rep", "zh-CN": "销售代表"},
     "grants": [{"entity": "crm.*", "read": "own", "create": true, "update": "own", "delete": "none",
                 "export": "none"},
                {"entity": "crm.opportunity", "read": "team", "hidden_fields": ["cost"]}]}

Row scopes: none < own (owner is me) < team (owner in my teams and their sub-teams) < all. A user
with several roles gets, per entity and action, the widest scope any of them grants; a field is
hidden (or read-only) only if every granting role hides it (or makes it read-only).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.core.errors import ValidationFailed, pydantic_errors
from engine.schema.definition import Help, Key, Label

Level = Literal["none", "own", "team", "all"]
LEVELS: tuple[str, ...] = ("none", "own", "team", "all")
ROW_ACTIONS = ("read", "update", "delete", "export")
ENTITY_PATTERN = r"^(\*|[a-z][a-z0-9_]{0,62}\.(\*|[a-z][a-z0-9_]{0,62}))$"


class Grant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    entity: Annotated[str, Field(pattern=ENTITY_PATTERN, description='"app.entity", "app.*" or "*"')]
    read: Level = "none"
    create: bool = False
    update: Level = "none"
    delete: Level = "none"
    export: Level = "none"
    assign: bool = Field(default=False, description="may set or change the owner of records it may update")
    manage: bool = Field(default=False, description="may change the entity's definition")
    hidden_fields: Annotated[list[Key], Field(max_length=500)] = []
    read_only_fields: Annotated[list[Key], Field(max_length=500)] = []

    def matches(self, app: str, entity: str) -> int:
        """How specifically this grant names app.entity: 0 not at all, 1 "*", 2 "app.*", 3 exact."""
        if self.entity == "*":
            return 1
        g_app, _, g_entity = self.entity.partition(".")
        if g_app != app:
            return 0
        return 3 if g_entity == entity else 2 if g_entity == "*" else 0


class RoleDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: Key
    label: Label
    description: Help | None = None
    grants: Annotated[list[Grant], Field(max_length=1000)] = []


def parse_role(doc: Any) -> RoleDefinition:
    try:
        return RoleDefinition.model_validate(doc)
    except ValidationError as exc:
        raise ValidationFailed("Invalid role definition", errors=pydantic_errors(exc)) from None


def wider(a: str, b: str) -> str:
    return a if LEVELS.index(a) >= LEVELS.index(b) else b


def _everything(level: Level, write: bool, manage: bool = False) -> list[dict[str, Any]]:
    written = level if write else "none"
    return [
        {"entity": "*", "read": level, "create": write, "update": written, "delete": written, "export": level,
         "assign": write and level != "own", "manage": manage}
    ]  # fmt: skip


# Holders of this built-in role may create apps (they then manage the apps they create, through a role the
# engine makes for each: engine/apps/app_admin.py). It grants nothing on records by itself.
BUILDER_ROLE = "builder"

# The roles every installation starts with; apps can ship more (app packages).
BUILTIN_ROLES: tuple[RoleDefinition, ...] = tuple(
    RoleDefinition.model_validate(d)
    for d in (
        {"key": "admin", "label": {"en": "Administrator", "zh-CN": "管理员"}, "grants": _everything("all", True, manage=True)},
        {"key": "manager", "label": {"en": "Manager", "zh-CN": "经理"}, "grants": _everything("team", True)},
        {"key": "member", "label": {"en": "Member", "zh-CN": "成员"}, "grants": _everything("own", True)},
        {"key": "read_only", "label": {"en": "Read-only", "zh-CN": "只读"}, "grants": _everything("all", False)},
        {
            "key": BUILDER_ROLE,
            "label": {"en": "App builder", "zh-CN": "应用搭建者"},
            "description": {
                "en": "May create apps, and manages the apps they create",
                "zh-CN": "可以创建应用并管理自己创建的应用",
            },
            "grants": [],
        },
    )
)
