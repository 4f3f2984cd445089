"""What a role lets its holders do, in words, beside the role editor's matrix.

The rights come from the engine's own `rights()` (the combination every request uses), applied to an
access holding this one role; nothing about scopes is re-decided here. Entities with the same rights are
told together (a whole app in one sentence when every form agrees), so a role over fifty forms reads
in a few lines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from builder_ui.i18n import text_in
from engine.auth.policy import Access, Rights, rights
from engine.auth.roles import RoleDefinition
from engine.schema.model import CompiledEntity

Gettext = Callable[..., str]


@dataclass(frozen=True)
class AppEntities:
    key: str
    label: Any
    entities: list[CompiledEntity]


def _scoped(_: Gettext, level: str, action: str) -> str | None:
    """One action at one row scope, as a clause (None: nothing worth saying)."""
    words = {
        ("read", "all"): _("sees every record"),
        ("read", "team"): _("sees the records they own and those of their team"),
        ("read", "own"): _("sees only the records they own"),
        ("read", "none"): _("cannot see any record"),
        ("update", "all"): _("edits every record"),
        ("update", "team"): _("edits their own and their team's records"),
        ("update", "own"): _("edits only their own records"),
        ("update", "none"): _("cannot edit"),
        ("delete", "all"): _("deletes any record"),
        ("delete", "team"): _("deletes their own and their team's records"),
        ("delete", "own"): _("deletes only their own records"),
        ("delete", "none"): _("cannot delete"),
        ("export", "all"): _("may export every record"),
        ("export", "team"): _("may export their own and their team's records"),
        ("export", "own"): _("may export only their own records"),
        ("export", "none"): _("may export nothing"),
    }
    return words.get((action, level))


def clauses(r: Rights, entity: CompiledEntity, locale: str, _: Gettext) -> list[str]:
    """The clauses for one entity's rights; [] when the role gives nothing on it."""
    if all(level == "none" for level in r.levels.values()) and not (r.create or r.manage):
        return []
    names = {k: text_in(f.cfg.label, locale, k) for k, f in entity.fields.items()}
    sep = _(", ")
    out = [_scoped(_, r.levels["read"], "read")]
    if r.levels["read"] != "none" and r.hidden:
        out.append(_("cannot see {fields}", fields=sep.join(names.get(k, k) for k in sorted(r.hidden))))
    out.append(_("may create records") if r.create else _("cannot create records"))
    out.append(_scoped(_, r.levels["update"], "update"))
    locked = r.read_only - r.hidden
    if locked and (r.create or r.levels["update"] != "none"):
        out.append(_("cannot change {fields}", fields=sep.join(names.get(k, k) for k in sorted(locked))))
    out.append(_scoped(_, r.levels["delete"], "delete"))
    out.append(_scoped(_, r.levels["export"], "export"))
    if r.assign:
        out.append(_("may hand records over to another owner"))
    if r.manage:
        out.append(_("may change the form's design"))
    return [c for c in out if c]


def explain(role: RoleDefinition, apps: list[AppEntities], locale: str, _: Gettext) -> list[dict[str, str]]:
    """[{"title", "text"}], one per group of entities that share their rights, in app order."""
    access = Access(user_id=0, roles=(tuple(role.grants),))
    sep, end, semi = _(", "), _("."), _("; ")
    lines: list[dict[str, str]] = []
    for app in apps:
        app_label = text_in(app.label, locale, app.key)
        groups: dict[tuple[str, ...], list[str]] = {}
        nothing: list[str] = []
        for entity in app.entities:
            said = tuple(clauses(rights(access, entity), entity, locale, _))
            label = text_in(entity.label, locale, entity.key)
            (groups.setdefault(said, []) if said else nothing).append(label)
        if not groups:
            if app.entities:
                lines.append({"title": app_label, "text": _("No access to this app.")})
            continue
        for said, labels in groups.items():
            whole = len(groups) == 1 and not nothing and len(labels) > 1
            title = _("{app}: every form", app=app_label) if whole else f"{app_label} · {sep.join(labels)}"
            text = semi.join(said)
            lines.append({"title": title, "text": text[:1].upper() + text[1:] + end})
        if nothing:
            lines.append({"title": f"{app_label} · {sep.join(nothing)}", "text": _("No access.")})
    if not lines:
        lines.append({"title": _("Nothing"), "text": _("This role gives no access to any app yet.")})
    return lines
