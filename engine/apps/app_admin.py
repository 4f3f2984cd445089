"""Apps as their builders manage them: create (administrators and holders of the built-in "builder" role;
a builder then manages the app through a role made for it), relabel, restyle, re-key before the first
entity, the recycle bin, and who may use the app (one grant on "app.*" per role, engine/auth/app_grants.py).

Permissions: creating needs `may_create_apps`; everything else on an app needs `may_manage(app, "*")`, the
same right that lets someone change the app's definitions; purging from the bin is for administrators.
Role changes go into the roles' definitions (tg_roles), validated by `parse_role` and journaled like the
admin API's, so there is no second permission system: the scoping function reads these grants as any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.admin.base import require_admin
from engine.auth.app_grants import PRESETS, app_grant, effective, preset_of, renamed, with_app_grant
from engine.auth.journal import Journal
from engine.auth.policy import Access, may_create_apps, may_manage
from engine.auth.roles import RoleDefinition, parse_role
from engine.auth.service import grant_role
from engine.auth.tables import roles, team_roles, teams, user_roles
from engine.core.changes import changes
from engine.core.clock import Clock
from engine.core.errors import ErrorDetail, Forbidden, NotFound, ValidationFailed
from engine.schema.service import SchemaService

Doc = dict[str, Any]


def require_app_manager(actor: Access, app: str) -> None:
    if not may_manage(actor, app, "*"):
        raise Forbidden(f"you do not manage the app {app!r}")


@dataclass(frozen=True)
class AppAdmin:
    schema: SchemaService
    journal: Journal
    clock: Clock

    async def create(self, conn: AsyncConnection, actor: Access, body: Doc) -> Doc:
        """`body`: a checked AppIn (key, label, description, icon, color)."""
        if not may_create_apps(actor):
            raise Forbidden("only administrators and app builders may create apps")
        app = await self.schema.create_app(
            conn, body["key"], body["label"], body.get("description"), body.get("icon"), body.get("color")
        )
        await self.journal.note(conn, "app.created", actor, subject=app["key"], changes=changes({}, _style(app)))
        if not actor.is_admin and not actor.unrestricted:
            app["managers_role"] = await self._managers_role(conn, actor, app)
        return app

    async def _managers_role(self, conn: AsyncConnection, actor: Access, app: Doc) -> str:
        """A role that manages the app, held by its creator: other builders can be given it later."""
        base = f"{app['key'][:54]}_managers"
        taken = set((await conn.execute(select(roles.c.key).where(roles.c.key.startswith(base)))).scalars())
        key = next(k for k in (base, *(f"{base}_{n}" for n in range(2, 1000))) if k not in taken)
        label = app["label"] if isinstance(app["label"], dict) else {"en": str(app["label"])}
        names = {"en": "{} managers", "zh-CN": "{}管理员"}
        doc = {
            "key": key,
            "label": {loc: names.get(loc, "{} managers").format(text)[:200] for loc, text in label.items()},
            "grants": [app_grant(app["key"], "manage")],
        }
        definition = parse_role(doc).model_dump(mode="json")
        now = self.clock.now()
        values = {"key": key, "definition": definition, "builtin": False, "created_at": now, "updated_at": now}
        await conn.execute(insert(roles).values(**values))
        await self.journal.note(conn, "role.created", actor, subject=key, changes=changes({}, definition))
        assert actor.user_id is not None
        await grant_role(conn, actor.user_id, key)
        return key

    async def update(self, conn: AsyncConnection, actor: Access, key: str, patch: Doc) -> Doc:
        """`patch`: the fields of a checked AppPatch that were sent."""
        require_app_manager(actor, key)
        before = await self.schema.get_app(conn, key)
        app = await self.schema.update_app(conn, key, patch)
        if app["key"] != key:
            for row in (await conn.execute(select(roles.c.key, roles.c.definition))).all():
                moved = renamed(row.definition, key, app["key"])
                if moved != row.definition:
                    await conn.execute(update(roles).where(roles.c.key == row.key).values(definition=moved))
                    await self.journal.note(conn, "role.updated", actor, subject=row.key, changes=changes(row.definition, moved))
        await self.journal.note(conn, "app.updated", actor, subject=app["key"], changes=changes(_style(before), _style(app)))
        return app

    async def bin(self, conn: AsyncConnection, actor: Access, key: str, confirm: str | None) -> Doc:
        require_app_manager(actor, key)
        app = await self.schema.delete_app(conn, key, confirm)
        await self.journal.note(conn, "app.deleted", actor, subject=key)
        return app

    async def binned(self, conn: AsyncConnection, actor: Access) -> list[Doc]:
        return [a for a in await self.schema.list_apps(conn, binned=True) if may_manage(actor, a["key"], "*")]

    async def restore(self, conn: AsyncConnection, actor: Access, key: str) -> Doc:
        require_app_manager(actor, key)
        app = await self.schema.restore_app(conn, key)
        await self.journal.note(conn, "app.restored", actor, subject=key)
        return app

    async def purge(self, conn: AsyncConnection, actor: Access, key: str, confirm: str | None) -> None:
        require_admin(actor, write=True, what="apps in the recycle bin")
        await self.schema.purge_app(conn, key, confirm)
        await self.journal.note(conn, "app.purged", actor, subject=key)

    # -- who may use the app ------------------------------------------------------------------------
    async def access(self, conn: AsyncConnection, actor: Access, key: str) -> list[Doc]:
        """Every role with what it may do in the app: a preset (or "custom"), whether that comes from a
        grant on this app or from the role's grant on every app ("*"), and its grants on single entities."""
        require_app_manager(actor, key)
        await self.schema.get_app(conn, key)
        holders = {r.role_id: r.n for r in await conn.execute(_holders())}
        out = []
        by_teams = select(team_roles.c.role_id)  # a team's access to one app: listed with the teams
        for row in (await conn.execute(select(roles).where(roles.c.id.not_in(by_teams)).order_by(roles.c.id))).all():
            grants = list(RoleDefinition.model_validate(row.definition).grants)
            decisive = effective(grants, key)
            single = sorted(g.entity[len(key) + 1 :] for g in grants if g.entity.startswith(f"{key}.") and g.entity != f"{key}.*")
            out.append({
                "role": row.key, "label": row.definition.get("label"), "description": row.definition.get("description"),
                "builtin": row.builtin, "users": holders.get(row.id, 0), "preset": preset_of(decisive),
                "source": None if decisive is None else "app" if decisive.entity == f"{key}.*" else "all_apps",
                "entities": single,
            })  # fmt: skip
        return out

    async def set_access(self, conn: AsyncConnection, actor: Access, key: str, role: str, preset: str) -> Doc:
        """Set what one role may do in the app (the role's "app.*" grant); other grants stay as they are."""
        require_app_manager(actor, key)
        await self.schema.get_app(conn, key)
        if preset not in PRESETS:
            error = ErrorDetail("/preset", "enum", f"{preset!r} is not one of {', '.join(PRESETS)}")
            raise ValidationFailed("Invalid access", errors=[error])
        row = (await conn.execute(select(roles.c.key, roles.c.definition).where(roles.c.key == role))).first()
        if row is None:
            raise NotFound(f"role {role!r} not found")
        definition = parse_role(with_app_grant(row.definition, key, preset)).model_dump(mode="json")
        changed = changes(row.definition, definition)
        if changed:
            stored = {"definition": definition, "updated_at": self.clock.now()}
            await conn.execute(update(roles).where(roles.c.key == role).values(**stored))
            await self.journal.note(conn, "role.updated", actor, subject=role, changes=changed)
        return next(r for r in await self.access(conn, actor, key) if r["role"] == role)

    # -- teams ------------------------------------------------------------------------------------------
    async def team_access(self, conn: AsyncConnection, actor: Access, key: str) -> list[Doc]:
        """The teams given access to the app here, each with its preset: one role per (app, team), held by
        the team (tg_team_roles), whose only grant is on "app.*"."""
        require_app_manager(actor, key)
        await self.schema.get_app(conn, key)
        query = (
            select(teams.c.key, teams.c.label, teams.c.id, roles.c.key.label("role"), roles.c.definition)
            .join(team_roles, team_roles.c.team_id == teams.c.id)
            .join(roles, roles.c.id == team_roles.c.role_id)
            .order_by(teams.c.path)
        )
        out = []
        for row in (await conn.execute(query)).all():
            if row.role != _team_role(key, row.id):
                continue
            grants = list(RoleDefinition.model_validate(row.definition).grants)
            out.append({"team": row.key, "label": row.label, "role": row.role, "preset": preset_of(effective(grants, key))})
        return out

    async def team_choices(self, conn: AsyncConnection, actor: Access, key: str) -> list[Doc]:
        """Every team (key, label, depth in the tree), in tree order: what a manager may give access to."""
        require_app_manager(actor, key)
        rows = (await conn.execute(select(teams.c.key, teams.c.label, teams.c.path).order_by(teams.c.path))).all()
        return [{"team": r.key, "label": r.label, "depth": r.path.count("/") - 2} for r in rows]

    async def set_team_access(self, conn: AsyncConnection, actor: Access, key: str, team: str, preset: str) -> Doc:
        """Give a team (and its sub-teams) a preset in the app, through a role the team holds; "none" removes it."""
        require_app_manager(actor, key)
        app = await self.schema.get_app(conn, key)
        if preset not in PRESETS:
            error = ErrorDetail("/preset", "enum", f"{preset!r} is not one of {', '.join(PRESETS)}")
            raise ValidationFailed("Invalid access", errors=[error])
        found = (await conn.execute(select(teams.c.id, teams.c.label).where(teams.c.key == team))).first()
        if found is None:
            raise NotFound(f"team {team!r} not found", errors=[ErrorDetail("/team", "not_found", f"no team {team!r}")])
        role_key = _team_role(key, found.id)
        before = (await conn.execute(select(roles.c.id, roles.c.definition).where(roles.c.key == role_key))).first()
        if preset == "none":
            if before is not None:
                await conn.execute(delete(roles).where(roles.c.id == before.id))
                await self.journal.note(conn, "role.deleted", actor, subject=role_key, changes=changes(before.definition, {}))
            return {"team": team, "label": found.label, "role": None, "preset": "none"}
        names = _texts(app["label"])
        teams_names = _texts(found.label)
        label = {
            loc: f"{names.get(loc, key)} · {teams_names.get(loc, team)}"[:200] for loc in sorted(set(names) | set(teams_names))
        }
        definition = parse_role({"key": role_key, "label": label, "grants": [app_grant(key, preset)]}).model_dump(mode="json")
        now = self.clock.now()
        if before is None:
            values = {"key": role_key, "definition": definition, "builtin": False, "created_at": now, "updated_at": now}
            role_id = (await conn.execute(insert(roles).values(**values).returning(roles.c.id))).scalar_one()
            await conn.execute(insert(team_roles).values(team_id=found.id, role_id=role_id))
            await self.journal.note(conn, "role.created", actor, subject=role_key, changes=changes({}, definition))
        elif changes(before.definition, definition):
            await conn.execute(update(roles).where(roles.c.id == before.id).values(definition=definition, updated_at=now))
            await self.journal.note(conn, "role.updated", actor, subject=role_key, changes=changes(before.definition, definition))
        return {"team": team, "label": found.label, "role": role_key, "preset": preset}


def _team_role(app: str, team_id: int) -> str:
    return f"{app[:40]}_team_{team_id}"


def _texts(value: Any) -> dict[str, str]:
    return {k: str(v) for k, v in value.items()} if isinstance(value, dict) else {"en": str(value)}


def _style(app: Doc) -> Doc:
    return {k: app.get(k) for k in ("key", "label", "description", "icon", "color")}


def _holders() -> Any:
    return select(user_roles.c.role_id, func.count().label("n")).group_by(user_roles.c.role_id)
