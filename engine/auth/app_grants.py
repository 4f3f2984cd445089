"""What a role may do in one app, in a few words instead of a grant in JSON: the presets the app settings
page offers ("who may use the app"). Each is one grant on "app.*" in the role's definition; the roles
service and the one scoping function (engine/auth/policy.py) treat it like any other grant.
"""

from __future__ import annotations

from typing import Any, Literal

from engine.auth.roles import Grant

Preset = Literal["none", "read", "own", "team", "all", "manage"]
_ROW = ("read", "update", "delete", "export")


def _grant(read: str, write: str, *, create: bool, assign: bool = False, manage: bool = False) -> dict[str, Any]:
    return {"read": read, "create": create, "update": write, "delete": write, "export": read, "assign": assign,
            "manage": manage}  # fmt: skip


# In order of reach; "own", "team" and "read" are what the built-in member, manager and read-only roles grant.
PRESETS: dict[str, dict[str, Any]] = {
    "none": _grant("none", "none", create=False),
    "read": _grant("all", "none", create=False),
    "own": _grant("own", "own", create=True),
    "team": _grant("team", "team", create=True, assign=True),
    "all": _grant("all", "all", create=True, assign=True),
    "manage": _grant("all", "all", create=True, assign=True, manage=True),
}


def preset_of(grant: Grant | None) -> str:
    """The preset a grant is, "none" when there is none, "custom" when it is none of them."""
    if grant is None:
        return "none"
    actions = {k: getattr(grant, k) for k in (*_ROW, "create", "assign", "manage")}
    return next((name for name, preset in PRESETS.items() if preset == actions), "custom")


def app_grant(app: str, preset: str) -> dict[str, Any]:
    return {"entity": f"{app}.*", **PRESETS[preset]}


def effective(grants: list[Grant], app: str) -> Grant | None:
    """The grant that decides the app as a whole for one role: "app.*", else "*" (entity grants aside)."""
    exact = [g for g in grants if g.entity == f"{app}.*"]
    return exact[0] if exact else next((g for g in grants if g.entity == "*"), None)


def with_app_grant(definition: dict[str, Any], app: str, preset: str) -> dict[str, Any]:
    """The role's definition with its "app.*" grant set to the preset (other grants as they were)."""
    grants = [g for g in definition.get("grants", []) if g.get("entity") != f"{app}.*"]
    if preset == "none" and not any(g.get("entity") == "*" for g in grants):
        return definition | {"grants": grants}  # nothing to override: no grant is no access
    return definition | {"grants": [*grants, app_grant(app, preset)]}


def renamed(definition: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """The role's grants on app `old` now naming app `new` (an app's key changed before its first entity)."""
    grants = [
        g | {"entity": f"{new}.{g['entity'].partition('.')[2]}"} if g.get("entity", "").startswith(f"{old}.") else g
        for g in definition.get("grants", [])
    ]
    return definition | {"grants": grants}
