"""The process designer (`/build/apps/{app}/processes`): the app's processes, and a designer page per process
whose island (static/js/builder-process.js) loads the definition from the processes API, edits the graph and
saves, validates and publishes through the same API (/api/v1/meta/apps/{app}/processes). This router only
renders: what the island needs to offer choices (fields, roles, teams, people) and its words."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from builder_ui.builder.access import CurrentBuilder, app_nav
from builder_ui.fields import SYSTEM, field_views, filter_fields, operator_labels
from builder_ui.i18n import text_in
from builder_ui.render import page
from builder_ui.session import Viewer
from engine.api.deps import Ctx
from engine.auth.policy import may_manage, scope
from engine.auth.tables import roles, teams, users
from engine.core.errors import NotFound
from engine.process.nodes import node_types
from engine.process.timeline import user_names

router = APIRouter(include_in_schema=False)
MAX_PEOPLE = 1000  # people offered by name in the users picker (more: type the e-mail)

# The designer's words for its browser module (no JS catalog).
WORDS = {
    "start": "Submitter", "end": "End", "approval": "Approver", "fill": "Fill-in task", "cc": "Copy to",
    "exclusive": "Condition branch", "parallel": "Parallel branch", "inclusive": "Inclusive branch", "timer": "Delay",
    "service": "Automatic action", "join": "Branches meet", "add_node": "Add a step here", "branch": "Condition {n}",
    "branch_n": "Branch {n}", "otherwise": "Otherwise", "add_branch": "Add branch", "no_assignee": "Choose who approves",
    "manager_n": "Manager {n} levels up", "manager_1": "Direct manager", "role_x": "Role: {name}", "team_x": "Team: {name}",
    "field_x": "Person in “{name}”", "submitter": "The submitter", "mode_single": "Any one approves",
    "mode_sequential": "One after another", "mode_all": "All must approve", "mode_percent": "{n}% must approve",
    "wait_for": "Wait {n} {unit}", "wait_until": "Until “{field}”", "actions_n": "Runs {n} action(s)",
    "outcome_approved": "Approved", "outcome_rejected": "Rejected", "outcome_done": "Done", "if_rejected": "If rejected",
    "default_branch": "Default branch (otherwise)", "condition": "Condition", "set_condition": "Set the condition",
    "apply": "Apply", "clear": "Clear", "remove": "Remove", "delete_node": "Delete this step",
    "delete_branch": "Delete this branch", "delete_gateway": "Delete the whole branch block",
    "confirm_branch": "Delete this branch and the {n} steps in it?",
    "confirm_gateway": "Delete the branches and the {n} steps in them?", "deleted": "Deleted. Press Undo to bring it back.",
    "title": "Title (中文)", "title_en": "Title (English)", "assignees": "Who approves", "assignees_fill": "Who fills in",
    "cc_list": "Copy to (read only)", "add_assignee": "Add", "a_users": "Named people", "a_role": "A role",
    "a_team": "A team", "a_manager": "The submitter's manager", "a_field": "A person field of the record",
    "a_submitter": "The submitter", "levels": "Levels up", "of_submitter": "of the submitter",
    "of_owner": "of the record owner", "subteams": "With sub-teams", "people_hint": "Type a name or e-mail",
    "mode": "How they decide", "percent": "Percent who must approve", "m_single": "Any one of them (或签)",
    "m_sequential": "One after another, in order", "m_all": "Everyone must approve (会签)",
    "m_percent": "A share of them must approve", "m_fill_single": "Any one of them", "m_fill_all": "Everyone",
    "actions": "What they may do", "act_approve": "Approve", "act_reject": "Reject", "act_return": "Send back",
    "act_transfer": "Transfer", "act_add_signer": "Add an approver", "act_comment": "Comment", "act_complete": "Complete",
    "comment_required": "A comment is required to", "deadline": "Deadline", "remind": "Remind after",
    "escalate": "Escalate to their manager after", "escalate_mode": "On escalation",
    "esc_reassign": "Hand the task to the manager", "esc_add": "Add the manager beside them",
    "auto": "Decide automatically after", "auto_action": "Automatic decision", "working_hours": "Count working time only",
    "minutes": "minutes", "hours": "hours", "days": "days", "weeks": "weeks", "months": "months",
    "field_access": "Field permissions", "f_field": "Field", "f_visible": "Visible", "f_editable": "Editable",
    "f_required": "Required", "f_all_visible": "Every field their role lets them read", "if_nobody": "When nobody is found",
    "nobody_admins": "Give it to the administrators", "nobody_skip": "Pass the step", "nobody_error": "Stop with an error",
    "outcome": "Outcome", "duration": "Wait for", "until_field": "Until the date in", "wait_mode": "How to wait",
    "wait_duration": "A fixed time", "wait_date": "Until a date of the record", "offset": "Shifted by", "before": "before",
    "after": "after", "recipients": "Notify", "r_owner": "The record owner", "r_manager": "The owner's manager",
    "notice_title": "Notice title", "notice_body": "Message", "by_email": "Also by e-mail",
    "invalid_json": "This is not valid JSON.", "process_settings": "Process settings", "entity": "Form",
    "manual": "People submit it by hand", "on_create": "Starts when a record is created", "lock": "While it runs",
    "lock_none": "The record stays editable", "lock_record": "Lock the whole record", "lock_fields": "Lock these fields",
    "withdraw": "The submitter may withdraw it", "saved": "Draft saved.", "saved_created": "Created and saved.",
    "published": "Published: version {version}.",
    "confirm_publish": "Publish this draft as the next version? New requests use it; running ones keep theirs.",
    "conflict": "Someone else saved this process meanwhile. Reload to see their change.", "problems": "{n} problems to fix",
    "valid": "No problems found.", "not_saved": "Not saved: see the marked steps.",
    "not_published": "Not published: see the marked steps.", "unsaved": "Unsaved changes", "draft": "Draft",
    "published_v": "Published: version {version}", "versions": "Versions", "no_versions": "Not published yet.",
    "imported": "Imported: check the marked steps, then save.", "edge": "Branch",
    "select_hint": "Select a step to edit it.", "rejected_edge": "Rejected", "list_sep": ", ", "more": "More settings",
    "p_return_to": "May send back to", "p_set": "Set fields when it ends (JSON)", "p_actions": "Actions (JSON)",
    "set_fields": "When it ends here, set", "add_set": "Set a field",
}  # fmt: skip


def _strings(_: Any) -> dict[str, str]:
    return {k: _(v) for k, v in WORDS.items()}


async def _directory(conn: AsyncConnection, locale: str) -> dict[str, Any]:
    """The roles, teams and active people an assignee may name (by key / e-mail, as definitions do)."""
    role_rows = (await conn.execute(select(roles.c.key, roles.c.definition).order_by(roles.c.key))).all()
    team_rows = (await conn.execute(select(teams.c.key, teams.c.label).order_by(teams.c.key))).all()
    people = (
        await conn.execute(
            select(users.c.email, users.c.name).where(users.c.active.is_(True)).order_by(users.c.name).limit(MAX_PEOPLE)
        )
    ).all()
    return {
        "roles": [{"key": r.key, "label": text_in((r.definition or {}).get("label"), locale, r.key)} for r in role_rows],
        "teams": [{"key": t.key, "label": text_in(t.label, locale, t.key)} for t in team_rows],
        "users": [{"email": u.email, "name": u.name or u.email} for u in people],
    }


def _entity_json(e: Any, viewer: Viewer) -> dict[str, Any]:
    """An entity as the designer needs it: its fields for conditions (filter builder) and for the field matrix."""
    fvs = field_views(e, scope(viewer.access, e, "read"), viewer.locale, viewer._)
    record_fields = [
        {
            "key": k,
            "label": f.label,
            "type": f.type,
            "writable": not (f.cfg is not None and _generated(e, k)),
            "settable": _settable(e, k),
        }
        for k, f in fvs.items()
        if k not in SYSTEM or k == "owner"
    ]
    return {
        "key": e.key,
        "label": text_in(e.label, viewer.locale, e.key),
        "conditions": filter_fields(fvs, viewer._),
        "fields": record_fields,
    }


def _settable(e: Any, key: str) -> bool:
    """May an end step's `set` write it: a stored field the server does not compute (read-only ones too: a
    process writes them, as the approval writes a status people may not edit)."""
    bound = e.fields.get(key)
    return bound is not None and not (bound.type.generated or bound.type.computed)


def _generated(e: Any, key: str) -> bool:
    bound = e.fields.get(key)
    return bound is not None and bool(bound.type.generated or bound.type.computed or getattr(bound.cfg, "read_only", False))


@router.get("/build/apps/{app}/processes")
async def processes_page(request: Request, app: str, c: Ctx, viewer: CurrentBuilder) -> Response:
    _ = viewer._
    async with c.db.read() as conn:
        nav, entities = await app_nav(c, conn, viewer, app)
        managed = [e for e in entities if may_manage(viewer.access, app, e.key)]
        items = [p for p in await c.process_service.list(conn, app) if may_manage(viewer.access, app, p["entity"])]
    labels = {e.key: text_in(e.label, viewer.locale, e.key) for e in entities}
    rows = [
        {
            "key": p["key"],
            "label": text_in(p.get("label"), viewer.locale, p["key"]),
            "entity": labels.get(p["entity"], p["entity"]),
            "published": p["published_version"],
            "changed": p["updated_at"],
            "enabled": p.get("enabled", True),
        }
        for p in items
    ]
    return page(request, "builder/processes.html", viewer=viewer, build_app=nav, build_section="processes", app_key=app,
                items=rows, entities=[(e.key, labels[e.key]) for e in managed], keys=[p["key"] for p in items])  # fmt: skip


@router.get("/build/apps/{app}/processes/{key}")
async def designer_page(request: Request, app: str, key: str, c: Ctx, viewer: CurrentBuilder) -> Response:
    """The designer; `new` opens an unsaved definition handed over in sessionStorage (an imported BPMN file)."""
    _ = viewer._
    async with c.db.read() as conn:
        nav, entities = await app_nav(c, conn, viewer, app)
        title, publishers = _("New process"), []
        if key != "new":
            row = await c.process_service.row(conn, app, key)
            if not may_manage(viewer.access, app, row.entity):
                raise NotFound(_("This app has no such process"))
            title = text_in(row.definition.get("label"), viewer.locale, key)
            publishers = [v["published_by"] for v in await c.process_service.versions(conn, app, key)]
        directory = await _directory(conn, viewer.locale)
        names = await user_names(conn, [*publishers, viewer.profile.id])  # and whoever publishes next
    ops, units = operator_labels(_)
    data = {
        "app": app,
        "key": None if key == "new" else key,
        "api": f"/api/v1/meta/apps/{app}/processes",
        "entities": [_entity_json(e, viewer) for e in entities if may_manage(viewer.access, app, e.key)],
        "strings": _strings(_),
        "conditions": {"ops": ops, "units": units},
        "locale": viewer.locale,
        "names": names,
        "node_schemas": {nt.key: nt.config.model_json_schema() for nt in node_types()},
        **directory,
    }
    return page(request, "builder/process.html", viewer=viewer, build_app=nav, build_section="processes", app_key=app,
                process_key=key, data=data, title=title)  # fmt: skip
