"""The one scoping function: (who, entity, action) -> a row filter plus a field mask.

Every read and write of records goes through `scope()`. The record reader and service take an
`Access` (never a bare actor) and have no unscoped method, so a new read path cannot forget it;
code that must see everything (rules, processes, the CLI) says so with `Access.system()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import false, or_
from sqlalchemy.sql import ColumnElement

from engine.auth.roles import LEVELS, Grant, wider
from engine.core.actor import Actor
from engine.schema.model import CompiledEntity

ACTIONS = ("read", "create", "update", "delete", "export")


@dataclass(frozen=True)
class Access(Actor):
    """An actor with the rights it holds: roles' grants (one tuple per role), teams, narrowing."""

    roles: tuple[tuple[Grant, ...], ...] = ()
    team_ids: frozenset[int] = frozenset()  # teams the user belongs to
    primary_team_id: int | None = None  # their primary team: what `user.team` means in conditions
    subtree_team_ids: frozenset[int] = frozenset()  # those teams and all their sub-teams
    token_read_only: bool = False
    token_apps: frozenset[str] | None = None
    unrestricted: bool = False
    creates_apps: bool = False  # holds the built-in "builder" role
    # Resolved when the access is loaded, so scope filters bind plain id lists that the owner and
    # primary-key indexes can serve (a subquery inside the OR made both databases scan).
    team_member_ids: frozenset[int] = frozenset()  # users in my teams and their sub-teams
    shared: dict[tuple[str, str], tuple[frozenset[int], frozenset[int]]] = field(default_factory=dict)  # readable, editable

    @classmethod
    def system(cls, source: str = "system", user_id: int | None = None) -> Access:
        """Sees and may do everything: for the engine's own work, never for a request."""
        return cls(user_id=user_id, is_admin=True, source=source, unrestricted=True)


@dataclass(frozen=True)
class Rights:
    """What one access may do on one entity, all roles combined."""

    levels: dict[str, str] = field(default_factory=dict)  # read/update/delete/export -> level
    create: bool = False
    assign: bool = False
    manage: bool = False
    hidden: frozenset[str] = frozenset()
    read_only: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Scope:
    """The answer for one (access, entity, action)."""

    access: Access
    entity: CompiledEntity
    action: str
    level: str  # none | own | team | all
    rights: Rights

    @property
    def allowed(self) -> bool:
        return self.level != "none"

    @property
    def hidden(self) -> frozenset[str]:
        return self.rights.hidden

    @property
    def read_only(self) -> frozenset[str]:
        return self.rights.read_only

    def visible_fields(self) -> list[str]:
        return [k for k in self.entity.fields if k not in self.rights.hidden]

    def where(self, table: Any) -> ColumnElement[bool] | None:
        """The row filter: None means every row."""
        if self.level == "all":
            return None
        if self.level == "none":
            return false()
        uid = self.access.user_id
        owners = {uid} | (self.access.team_member_ids if self.level == "team" else frozenset())
        terms = [table.c.owner == uid if len(owners) == 1 else table.c.owner.in_(sorted(owners, key=lambda o: o or 0))]
        readable, editable = self.access.shared.get((self.entity.app, self.entity.key), (frozenset(), frozenset()))
        shared = editable if self.action in ("update", "delete") else readable
        if shared:
            terms.append(table.c.id.in_(sorted(shared)))
        return or_(*terms)


def rights(access: Access, entity: CompiledEntity) -> Rights:
    """Combine every role's most specific grant for the entity; then apply token narrowing."""
    if not isinstance(access, Access):
        raise TypeError("records are reached through an Access, never a bare Actor")
    if access.unrestricted or access.is_admin:
        return _narrow(access, entity, Rights({a: "all" for a in ("read", "update", "delete", "export")}, True, True, True))
    per_role = [_pick(grants, entity.app, entity.key) for grants in access.roles]
    granted = [g for g in per_role if g is not None]
    levels = {a: "none" for a in ("read", "update", "delete", "export")}
    for g in granted:
        for a in levels:
            levels[a] = wider(levels[a], getattr(g, a))
    readers = [g for g in granted if g.read != "none"]
    writers = [g for g in granted if g.update != "none" or g.create]
    hidden = frozenset.intersection(*(frozenset(g.hidden_fields) for g in readers)) if readers else frozenset()
    locked = (
        frozenset.intersection(*(frozenset(g.read_only_fields) | frozenset(g.hidden_fields) for g in writers))
        if writers
        else frozenset()
    )
    combined = Rights(
        levels,
        any(g.create for g in granted),
        any(g.assign for g in granted),
        any(g.manage for g in granted),
        hidden,
        locked | hidden,
    )
    return _narrow(access, entity, combined)


def _pick(grants: tuple[Grant, ...], app: str, key: str) -> Grant | None:
    best = max(grants, key=lambda g: g.matches(app, key), default=None)
    return best if best is not None and best.matches(app, key) else None


def may_manage(access: Access, app: str, key: str) -> bool:
    """May this access change the definition of app.key (also one not created yet)?"""
    if access.token_read_only or (access.token_apps is not None and app not in access.token_apps):
        return False
    if access.unrestricted or access.is_admin:
        return True
    return any((g := _pick(grants, app, key)) is not None and g.manage for grants in access.roles)


def may_create_apps(access: Access) -> bool:
    """Administrators and holders of the "builder" role, through an unnarrowed session or token."""
    if access.token_read_only or access.token_apps is not None:
        return False
    return access.unrestricted or access.is_admin or access.creates_apps


def _narrow(access: Access, entity: CompiledEntity, r: Rights) -> Rights:
    if access.token_apps is not None and entity.app not in access.token_apps:
        return Rights({a: "none" for a in r.levels})
    if access.token_read_only:
        levels = {a: (lvl if a in ("read", "export") else "none") for a, lvl in r.levels.items()}
        return Rights(levels, False, False, False, r.hidden, frozenset(entity.fields))
    return r


def scope(access: Access, entity: CompiledEntity, action: str) -> Scope:
    """THE scoping function. `action` is read, create, update, delete or export."""
    r = rights(access, entity)
    level = ("all" if r.create else "none") if action == "create" else r.levels[action]
    assert level in LEVELS
    return Scope(access, entity, action, level, r)
