"""The rule designer (`/build/apps/{app}/rules`): the app's rules in words, and one rule edited as a sentence,
当 (trigger) → 如果 (condition) → 就 (actions), in the browser (static/js/builder-rule.js), saved, tested (dry
run) and followed (execution log) through the rules API. This router renders pages and words, and answers the
cron helper's "next runs"; it validates nothing itself."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime, format_timedelta
from croniter import croniter
from fastapi import APIRouter, Query, Request
from jinja2.utils import htmlsafe_json_dumps
from starlette.responses import JSONResponse, Response

from builder_ui.builder.access import CurrentBuilder, app_nav
from builder_ui.builder.entities import PROPERTY_LABELS
from builder_ui.fields import field_views, operator_labels
from builder_ui.i18n import text_in
from builder_ui.render import page
from engine.api.deps import Ctx
from engine.auth.policy import may_manage, scope
from engine.auth.profile import user_names
from engine.core.errors import Forbidden, NotFound
from engine.expr.fields import value_type
from engine.expr.operators import ANNIVERSARY, CHANGES, OPS_BY_TYPE
from engine.rules.actions import actions
from engine.rules.compile import CHANGE_AWARE
from engine.rules.log import rule_log
from engine.rules.service import rule_json

router = APIRouter(include_in_schema=False)

# The words for each registered action type (one registered later shows its key until named here).
ACTION_LABELS = {
    "set_fields": "Set fields", "reject": "Refuse the save", "assign_owner": "Assign an owner",
    "create_record": "Create a record", "notify": "Send a notification", "send_email": "Send an email",
    "add_tag": "Add a tag", "remove_tag": "Remove a tag", "add_points": "Add points", "webhook": "Call a webhook",
    "start_process": "Start a process", "wait": "Wait", "flag_duplicates": "Flag duplicates",
}  # fmt: skip
# The words for action config properties the field designer's PROPERTY_LABELS does not name.
ACTION_PROPERTY_LABELS = {
    "values": "Values", "message": "Message", "field": "Field", "strategy": "How", "user": "Member", "team": "Team",
    "table": "Assignment table", "pick": "Pick a member by", "open_condition": "Open records are those where",
    "entity": "Record of", "link": "Link it through", "to": "To", "title": "Title", "body": "Message",
    "email": "Also send an email", "subject": "Subject", "tag": "Tag", "points": "Points", "url": "Address (URL)",
    "secret": "Signing secret", "timeout": "Timeout (seconds)", "max_attempts": "Attempts at most",
    "process": "Process", "amount": "How long", "unit": "Unit", "recheck": "Only if the condition still holds then",
    "match_on": "Same value in",
}  # fmt: skip
ENUM_LABELS = {
    "fixed": "A fixed member",
    "round_robin": "Take turns in a team",
    "least_open": "Fewest open records in a team",
    "table": "By a table of conditions",
    "minutes": "minutes",
    "hours": "hours",
    "days": "days",
    "weeks": "weeks",
    "months": "months",
}
CONDITION_LABELS = {
    "changed": "changed",
    "changed_from": "changed from",
    "changed_to": "changed to",
    ANNIVERSARY: "anniversary is today",
}
WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


def _strings(_: Any) -> dict[str, str]:
    """The designer's words for its browser module (no JS catalog)."""
    words = {
        "when": "When", "if": "If", "then": "Then", "always": "Always (no condition)",
        "set_condition": "Set a condition", "clear_condition": "Remove the condition", "add_action": "Add an action",
        "created": "a record is created", "updated": "a record is updated", "saved": "a record is created or updated",
        "deleted": "a record is deleted", "field_changed": "one of these fields changes", "schedule": "on a schedule",
        "date": "at a time before or after a date field", "before_save": "While saving: can set fields or refuse the save",
        "after_save": "After the save: notifications, emails, new records, webhooks",
        "daily": "Every day at", "weekly": "Every week on", "monthly": "Every month on day", "raw": "Cron expression",
        "at": "at", "next_runs": "Next runs ({tz})", "bad_cron": "Not a valid schedule", "before": "before", "after": "after",
        "of": "of", "check_every": "Checked every", "move_up": "Move up", "move_down": "Move down", "remove": "Remove",
        "saved_ok": "Saved.", "save_failed": "Not saved: see the marked places.",
        "conflict": "Someone else changed this rule meanwhile. Reload to see their change.",
        "confirm_delete": "Delete the rule “{label}”? Its log is deleted too.", "deleted_ok": "Rule deleted.",
        "all": "All of these", "any": "Any of these", "add": "Add condition", "group": "Add group", "field": "Field",
        "op": "Operator", "value": "Value", "me": "Me", "match": "When the record matches", "yes": "Yes", "no": "No",
        "value_mode": "Value", "formula_mode": "Formula", "add_value": "Set another field", "insert_field": "Insert a field…",
        "owner": "Owner of the record", "manager": "Owner's manager", "a_member": "A member…", "a_team": "A team…",
        "a_field": "The member in field…", "add_recipient": "Add", "pick_field": "Choose a field", "none": "— None —",
        "json_hint": "Advanced: edit as JSON", "bad_json": "Not valid JSON", "matched": "Matched", "not_matched": "Not matched",
        "actual": "actual value: {value}", "would": "Would do", "error": "Error", "no_records": "No record to test on.",
        "record": "Record #{id}", "dry_run_failed": "The test could not run:", "empty": "(empty)",
        "no_runs": "No runs yet.", "more": "Older runs",
        "runs_total": "{runs} runs · {actions} actions done · {errors} errors · {stopped} stopped",
        "outcome_done": "Done", "outcome_error": "Error", "outcome_stopped": "Stopped (a chain of rules)",
        "unsaved": "Unsaved changes", "label_zh": "Name (中文)", "label_en": "Name (English)", "key": "Key",
        "entity": "Records of", "enabled": "On", "disabled": "Off", "type_phase": "This action runs only after the save.",
        "recipient_user": "Member #{id}", "recipient_team": "Team: {team}", "recipient_field": "Field: {field}",
        "insert": "Insert", "email_to": "Addresses in", "no_actions": "Add at least one action.",
        "did_created": "New record: {entity} #{id}", "did_notified": "{n} people notified", "did_emailed": "Email to {to}",
        "did_unchanged": "Nothing to change", "did_owner": "Owner: member #{id}", "did_rejected": "Refused: {message}",
    }  # fmt: skip
    return (
        {k: _(v) for k, v in words.items()}
        | {f"prop_{k}": _(v) for k, v in (PROPERTY_LABELS | ACTION_PROPERTY_LABELS).items()}
        | {f"enum_{k}": _(v) for k, v in ENUM_LABELS.items()}
        | {f"day_{i}": _(d) for i, d in enumerate(WEEKDAYS)}
    )


def _action_types(_: Any) -> list[dict[str, Any]]:
    """Every registered action with its config JSON Schema, the phases it runs in and its words."""
    return [
        {"type": a.key, "label": _(ACTION_LABELS[a.key]) if a.key in ACTION_LABELS else a.key,
         "schema": a.config.model_json_schema(), "phases": sorted(a.phases)}
        for a in actions()
    ]  # fmt: skip


def _conditions(_: Any) -> dict[str, Any]:
    ops, units = operator_labels(_)
    return {
        "ops": ops | {k: _(v) for k, v in CONDITION_LABELS.items()},
        "units": units,
        "by_type": {t: sorted(o) for t, o in OPS_BY_TYPE.items()},
        "changes": sorted(CHANGES),
        "change_aware": list(CHANGE_AWARE),
    }


def _entity_json(e: Any, viewer: Any) -> dict[str, Any]:
    fields = field_views(e, scope(viewer.access, e, "read"), viewer.locale, viewer._)
    return {
        "key": e.key,
        "label": text_in(e.label, viewer.locale, e.key),
        "display": e.definition.display_field,
        "fields": [
            {"key": f.key, "label": f.label, "type": f.type, "kind": value_type(f.cfg) if f.cfg is not None else f.type,
             "target": f.target[1] if f.target else None,
             "options": [{"key": o.key, "label": o.label} for o in f.options]}
            for f in fields.values()
        ],
    }  # fmt: skip


def _trigger_words(rule: dict[str, Any], labels: dict[str, str], _: Any) -> str:
    t = rule.get("trigger") or {}
    kind = t.get("type")
    if kind == "field_changed":
        return _("When {fields} changes").format(fields=", ".join(labels.get(k, k) for k in t.get("fields", [])))
    if kind == "schedule":
        return _cron_words(t.get("cron", ""), _)
    if kind == "date":
        off = t.get("offset") or {}
        after = t.get("direction", "after") == "after"
        words = _("{amount} {unit} after {field}") if after else _("{amount} {unit} before {field}")
        field = labels.get(t.get("field", ""), t.get("field", ""))
        return words.format(amount=off.get("amount"), unit=_(ENUM_LABELS.get(off.get("unit", ""), "")), field=field)
    plain = {"created": "When a record is created", "updated": "When a record is updated",
             "saved": "When a record is created or updated", "deleted": "When a record is deleted"}  # fmt: skip
    return _(plain[kind]) if kind in plain else str(kind)


def _cron_words(cron: str, _: Any) -> str:
    """The designer's presets in words (every day / week / month at a time); any other cron as it is."""
    m = re.fullmatch(r"(\d{1,2}) (\d{1,2}) (\*|\d{1,2}) \* (\*|[0-6])", cron)
    if m is None or (m[3] != "*" and m[4] != "*"):
        return _("On a schedule ({cron})").format(cron=cron)
    at = f"{int(m[2]):02d}:{int(m[1]):02d}"
    if m[3] == "*" and m[4] == "*":
        return _("Every day at {time}").format(time=at)
    if m[3] == "*":
        return _("Every {weekday} at {time}").format(weekday=_(WEEKDAYS[int(m[4])]), time=at)
    return _("Every month on day {day} at {time}").format(day=int(m[3]), time=at)


@router.get("/build/apps/{app}/rules")
async def rules_page(request: Request, app: str, c: Ctx, viewer: CurrentBuilder, entity: str | None = None) -> Response:
    _ = viewer._
    async with c.db.read() as conn:
        nav, entities = await app_nav(c, conn, viewer, app)
        found = [r for r in await c.rule_service.list(conn, app, entity) if may_manage(viewer.access, app, r["entity"])]
        logs = {r["key"]: await rule_log(conn, r["id"], 1) for r in found}
    by_key = {e.key: e for e in entities}
    items = []
    for r in found:
        e = by_key.get(r["entity"])
        labels = {k: text_in(f.cfg.label, viewer.locale, k) for k, f in e.fields.items()} if e else {}
        log = logs[r["key"]]
        items.append({
            "key": r["key"], "label": text_in(r.get("label"), viewer.locale, r["key"]), "enabled": r.get("enabled", True),
            "entity": text_in(e.label, viewer.locale, e.key) if e else r["entity"], "trigger": _trigger_words(r, labels, _),
            "phase": r.get("when", "after_save"), "totals": log["totals"], "last": log["items"][0] if log["items"] else None,
            "actions": [_(ACTION_LABELS.get(a.get("type"), a.get("type"))) for a in r["actions"]],
        })  # fmt: skip
    choices = [(e.key, text_in(e.label, viewer.locale, e.key)) for e in entities if may_manage(viewer.access, app, e.key)]
    return page(request, "builder/rules.html", viewer=viewer, build_section="rules", build_app=nav, app_key=app,
                items=items, entity=entity, entity_choices=choices)  # fmt: skip


async def _designer(request: Request, app: str, key: str | None, c: Any, viewer: Any, entity: str | None) -> Response:
    _ = viewer._
    async with c.db.read() as conn:
        nav, entities = await app_nav(c, conn, viewer, app)
        rule = None
        if key is not None:
            row = await c.rule_service.row(conn, app, key)
            if not may_manage(viewer.access, app, row.entity):
                raise Forbidden(_("You do not build this entity"))
            rule = rule_json(row)
        people = await user_names(conn, _users_in(rule)) if rule else {}
        taken = [r["key"] for r in await c.rule_service.list(conn, app)]
        try:
            teams = await c.app_admin.team_choices(conn, viewer.access, app)
        except Forbidden:
            teams = []
    mine = [e for e in entities if may_manage(viewer.access, app, e.key)]
    if not mine:
        raise NotFound(_("This app has no entity you build"))
    start = rule["entity"] if rule else (entity if entity in {e.key for e in mine} else mine[0].key)
    tz = c.settings.tangram_timezone
    data = {
        "app": app, "rule": rule, "entity": start, "locale": viewer.locale, "business_tz": tz,
        "entities": [_entity_json(e, viewer) for e in mine], "actions": _action_types(_), "conditions": _conditions(_),
        "teams": [{"key": t["team"], "label": text_in(t["label"], viewer.locale, t["team"])} for t in teams],
        "strings": _strings(_), "users": {str(k): v for k, v in people.items()},
        "taken": taken,
    }  # fmt: skip
    title = text_in(rule.get("label"), viewer.locale, rule["key"]) if rule else _("New rule")
    # Not the template's tojson: it sorts keys, and a rule saved unchanged must keep its actions' key order.
    data_json = htmlsafe_json_dumps(data, dumps=json.dumps)
    return page(request, "builder/rule.html", viewer=viewer, build_section="rules", build_app=nav, app_key=app,
                data=data_json, title=title, rule_key=key, record_entity=start)  # fmt: skip


def _users_in(rule: dict[str, Any]) -> set[int]:
    """The members a rule names (notify recipients, a fixed owner): their names are shown, not their ids."""
    ids = set()
    for a in rule.get("actions", []):
        for r in [*(a.get("to") or []), a]:
            if isinstance(r, dict) and isinstance(r.get("user"), int):
                ids.add(r["user"])
    return ids


@router.get("/build/apps/{app}/rules/new")
async def new_rule_page(request: Request, app: str, c: Ctx, viewer: CurrentBuilder, entity: str | None = None) -> Response:
    return await _designer(request, app, None, c, viewer, entity)


@router.get("/build/apps/{app}/rules/{key}")
async def rule_page(request: Request, app: str, key: str, c: Ctx, viewer: CurrentBuilder) -> Response:
    return await _designer(request, app, key, c, viewer, None)


@router.get("/build/cron")
async def next_runs(
    c: Ctx, viewer: CurrentBuilder, cron: Annotated[str, Query(max_length=100)] = "", n: Annotated[int, Query(ge=1, le=10)] = 3
) -> Response:
    """The cron helper's next runs: computed by croniter in the business time zone (where rules read their
    cron), said in the viewer's language and time zone, with how far away each is."""
    if not croniter.is_valid(cron):
        return JSONResponse({"ok": False, "runs": []})
    business = ZoneInfo(c.settings.tangram_timezone)
    now = c.clock.now().astimezone(business)
    it = croniter(cron, now)
    locale = Locale.parse(viewer.locale, sep="-")
    runs = []
    for _i in range(n):
        at: datetime = it.get_next(datetime)
        runs.append({
            "at": at.isoformat(),
            "text": format_datetime(at, "EEEE yyyy-MM-dd HH:mm", tzinfo=viewer.tz, locale=locale),
            "in": format_timedelta(at - now, add_direction=True, locale=locale),
        })  # fmt: skip
    return JSONResponse({"ok": True, "runs": runs, "tz": str(viewer.tz)})
