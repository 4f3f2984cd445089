"""Apps in the builder: the choices of the app form (icons, colours), and an app's settings page
(`/build/apps/{app}/settings`): its name and look, who may use it, its package (export, upgrade from the
catalog) and deleting it to the recycle bin. Reads through the engine's services; the page's module
(static/js/builder-app-settings.js) saves through the meta API, so every refusal is the engine's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from builder_ui.builder.access import CurrentBuilder, manages_app, nav_of
from builder_ui.i18n import text_in
from builder_ui.render import page
from builder_ui.session import Viewer
from engine.api.context import Context
from engine.api.deps import Ctx
from engine.apps.install import installed
from engine.apps.manifest import Version
from engine.core.errors import Forbidden
from engine.schema.app_style import COLORS, DEFAULT_COLOR, DEFAULT_ICON, ICONS

router = APIRouter(include_in_schema=False)


def color_choices(_: Callable[..., str]) -> list[tuple[str, str]]:
    """(value, name in the viewer's language) for each preset colour."""
    names = {
        "blue": _("Blue"), "cyan": _("Cyan"), "green": _("Green"), "gold": _("Gold"), "orange": _("Orange"),
        "red": _("Red"), "magenta": _("Magenta"), "purple": _("Purple"), "geekblue": _("Indigo"), "gray": _("Gray"),
    }  # fmt: skip
    return [(value, names[name]) for name, value in COLORS]


def preset_words(_: Callable[..., str]) -> dict[str, tuple[str, str]]:
    """What each access choice is called, and what it means, in words (engine/auth/app_grants.py PRESETS)."""
    return {
        "none": (_("No access"), _("Cannot open the app.")),
        "read": (_("View all"), _("Sees every record; adds and changes nothing.")),
        "own": (_("Use: own records"), _("Adds records, and sees, edits and deletes the ones they own.")),
        "team": (_("Use: team's records"), _("Adds records, and sees, edits and deletes those of their team and its sub-teams.")),
        "all": (_("Edit all"), _("Adds, sees, edits and deletes every record, and may hand records to others.")),
        "manage": (_("Manage"), _("All of that, and changes the app's forms, settings and who may use it.")),
        "custom": (_("Custom"), _("Set in Roles and permissions. Choose another option to replace it for this app.")),
    }


def form_choices(viewer: Viewer) -> dict[str, Any]:
    """What the app form (builder/app_form.html) offers."""
    return {"icons": ICONS, "colors": color_choices(viewer._), "default_icon": DEFAULT_ICON, "default_color": DEFAULT_COLOR}


def card_of(app: dict[str, Any], viewer: Viewer) -> dict[str, Any]:
    return {
        "key": app["key"],
        "label": text_in(app.get("label"), viewer.locale, app["key"]),
        "description": text_in(app.get("description"), viewer.locale),
        "icon": app.get("icon") or DEFAULT_ICON,
        "color": app.get("color") or DEFAULT_COLOR,
    }


async def _upgrade(c: Context, conn: AsyncConnection, app: str) -> dict[str, Any] | None:
    """The installed package and, when the catalog has a newer version of it, that version."""
    record = await installed(conn, app)
    if record is None:
        return None
    newer = None
    for item in c.packages.catalog():
        m = item.get("manifest")
        if m and m["key"] == app and Version(m["version"]) > Version(record.version):
            newer = {"catalog_key": item["key"], "version": m["version"]}
    return {"package": record.package, "version": record.version, "newer": newer}


@router.get("/build/apps/{app}/settings")
async def app_settings(app: str, request: Request, c: Ctx, viewer: CurrentBuilder) -> Response:
    if not manages_app(viewer, app):
        raise Forbidden(viewer._("You do not manage this app"))
    async with c.db.read() as conn:
        found = await c.schema.get_app(conn, app)
        entities = await c.store.list(conn, app)
        binned = await c.schema.binned_entities(conn, app)
        access = await c.app_admin.access(conn, viewer.access, app)
        team_rows = await c.app_admin.team_access(conn, viewer.access, app)
        choices = await c.app_admin.team_choices(conn, viewer.access, app)
        package = await _upgrade(c, conn, app)
    words = preset_words(viewer._)
    labels = {e.key: text_in(e.label, viewer.locale, e.key) for e in entities}
    roles = [
        r | {"name": text_in(r["label"], viewer.locale, r["role"]), "entities": [labels.get(k, k) for k in r["entities"]]}
        for r in access
    ]
    given = {t["team"] for t in team_rows}
    teams = [t | {"name": text_in(t["label"], viewer.locale, t["team"])} for t in team_rows]
    team_choices = [t | {"name": text_in(t["label"], viewer.locale, t["team"])} for t in choices if t["team"] not in given]
    build_app = nav_of(found, entities, viewer)
    return page(
        request, "builder/app_settings.html", viewer=viewer, app=found, card=card_of(found, viewer), roles=roles,
        teams=teams, team_choices=team_choices, presets=words, key_editable=not entities and not binned, package=package,
        build_section="settings", build_app=build_app, **form_choices(viewer),
    )  # fmt: skip
