"""The entity and form designer (`/build/apps/{app}/entities/{entity}`): three panes edited in the browser
(static/js/builder-form.js) and published through the definition API. This router renders the page, the
canvas of a draft with the end user's field macros, and creates a new entity; it validates nothing itself."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from markupsafe import Markup
from pydantic import ValidationError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from builder_ui.builder.access import CurrentBuilder, app_nav
from builder_ui.fields import FieldView, Option, operator_labels
from builder_ui.i18n import text_in
from builder_ui.layout import SectionView, TabView
from builder_ui.render import env, page
from engine.api.deps import Ctx
from engine.api.jsonio import read_json
from engine.apps.forms import FormService, form_json
from engine.core.errors import NotFound, TangramError
from engine.expr.operators import ANNIVERSARY, CHANGES, OPS_BY_TYPE
from engine.schema.field_types import field_types
from engine.schema.keys import key_from_label

router = APIRouter(include_in_schema=False)

# The palette's words for the registered field types (a type registered later shows its key until named here).
TYPE_LABELS = {
    "text": "Short text", "long_text": "Long text", "integer": "Integer", "decimal": "Decimal",
    "currency": "Amount", "percent": "Percent", "boolean": "Yes / no", "date": "Date", "datetime": "Date & time",
    "select": "Choice", "multi_select": "Multi-choice", "email": "Email", "phone": "Phone", "url": "URL",
    "relation": "Relation", "user": "Member", "auto_number": "Serial no.", "json": "JSON", "formula": "Formula",
    "attachment": "Attachment",
}  # fmt: skip
TYPE_GROUPS = {
    "Basic": ("text", "long_text", "integer", "decimal", "currency", "percent", "date", "datetime", "boolean"),
    "Choice and people": ("select", "multi_select", "user", "relation"),
    "Contact": ("email", "phone", "url"),
    "Advanced": ("formula", "auto_number", "attachment", "json"),
}
TYPE_ICONS = {
    "text": "pencil", "long_text": "bars-3-bottom-left", "integer": "hashtag", "decimal": "calculator",
    "currency": "banknotes", "percent": "receipt-percent", "boolean": "check-circle", "date": "calendar",
    "datetime": "clock", "select": "chevron-up-down", "multi_select": "queue-list", "email": "envelope",
    "phone": "phone", "url": "link", "relation": "arrows-right-left", "user": "user", "auto_number": "numbered-list",
    "json": "code-bracket", "formula": "variable", "attachment": "paper-clip",
}  # fmt: skip
# Each property's words in the panel (the config JSON Schema gives the rest: kind, limits, choices).
PROPERTY_LABELS = {
    "required": "Required", "unique": "Unique values", "read_only": "Read-only", "indexed": "Indexed for fast search",
    "default": "Default value", "min_length": "Minimum length", "max_length": "Maximum length",
    "pattern": "Pattern (regular expression)",
    "min": "Minimum", "max": "Maximum", "precision": "Digits", "scale": "Decimal places", "currency": "Currency",
    "max_items": "At most this many choices", "on_delete": "When the target record is deleted", "prefix": "Prefix",
    "digits": "Digits", "start": "Starts at", "returns": "Result type", "max_files": "At most this many files",
    "max_size_mb": "Largest file (MB)", "accept": "Accepted kinds of file", "label": "Label", "help_text": "Help text",
    "options": "Options", "expression": "Formula", "target": "Links to", "type": "Type",
}  # fmt: skip
PROPERTY_HELP = {
    "restrict": "Refuse the deletion",
    "set_null": "Clear this field",
    "cascade": "Delete this record too",
    "number": "Number",
    "text": "Text",
    "boolean": "Yes / no",
    "date": "Date",
    "datetime": "Date and time",
}


def _field_types(_: Any) -> list[dict[str, Any]]:
    """Every registered field type with its config JSON Schema, palette group and words."""
    return [
        {
            "key": ft.key,
            "label": _(TYPE_LABELS[ft.key]) if ft.key in TYPE_LABELS else ft.key,
            "icon": TYPE_ICONS.get(ft.key, "squares-plus"),
            "schema": ft.config.model_json_schema(),
            "computed": ft.computed or ft.generated,
        }
        for ft in field_types()
    ]


def _palette(types: list[dict[str, Any]], _: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    """The palette's groups in order, each with its registered types (a type no group names: "Other")."""
    by_key = {t["key"]: t for t in types}
    named = [(_(g), [by_key[k] for k in keys if k in by_key]) for g, keys in TYPE_GROUPS.items()]
    grouped = {k for keys in TYPE_GROUPS.values() for k in keys}
    groups = [*named, (_("Other"), [t for t in types if t["key"] not in grouped])]
    return [(label, items) for label, items in groups if items]


def _strings(_: Any) -> dict[str, str]:
    """The designer's words for its browser module (no JS catalog)."""
    words = {
        "untitled": "New field", "section": "Section", "tab": "Tab", "details": "Details", "publish": "Publish",
        "published": "Published: version {version}.", "publish_failed": "Not published: see the marked fields.",
        "form_failed": "The fields were published, but the form layout was refused:", "nothing": "Nothing to publish.",
        "conflict": "Someone else published this entity meanwhile (version {version}). Reload to see their change.",
        "confirm_section": "This section holds {n} fields. Remove it and take them off the form?",
        "confirm_field": "Remove the field “{label}” from the entity? Its data is kept and comes back if you add it again.",
        "restore": "You have an unpublished draft from {time}. Restore it?", "draft_saved": "Draft saved",
        "saved_draft": "Draft kept in this browser", "formula_ok": "The formula is valid.",
        "no_fields": "No fields match.", "added": "Added “{label}”.", "removed": "Removed “{label}”.",
        "props_form": "Form settings", "props_field": "Field properties", "options": "Options", "add_option": "Add option",
        "option_label": "Option label", "option_key": "Key", "colour": "Colour", "remove": "Remove", "move_up": "Move up",
        "move_down": "Move down", "label_zh": "Label (中文)", "label_en": "Label (English)", "key": "Key",
        "key_locked": "The key cannot change once published.", "help_text": "Help text", "target": "Links to",
        "expression": "Formula", "insert_field": "Insert a field…", "check": "Check", "rules": "Form rules",
        "visible_when": "Visible when", "required_when": "Required when", "read_only_when": "Read-only when",
        "always": "Always", "add_rule": "Set a condition", "clear_rule": "Remove the condition",
        "title_field": "Title field", "two_columns": "Two columns", "collapsible": "Can be folded", "collapsed": "Starts folded",
        "section_label": "Section title", "tab_label": "Tab", "add_section": "Add section", "add_tab": "Add tab",
        "entity_label": "Form name", "type": "Type", "none": "— None —", "yes": "Yes", "no": "No",
        "lines": "Line items: {entity}", "undo": "Undo", "redo": "Redo", "selected": "Selected: {label}",
        "all": "All of these", "any": "Any of these", "add": "Add condition", "group": "Add group", "field": "Field",
        "op": "Operator", "value": "Value", "me": "Me", "match": "When the record matches", "changed": "changed",
        "fields_added": "Added", "fields_removed": "Removed", "fields_changed": "Changed", "created": "Created",
        "version": "Version {version}", "no_change": "No field changed (layout or settings only).",
        "off_form": "Not on the form", "empty_section": "Drag fields here", "delete_section": "Delete section",
        "section_settings": "Section", "one_value_per_line": "One per line", "apply": "Apply", "reload": "Reload",
    }  # fmt: skip
    return (
        {k: _(v) for k, v in words.items()}
        | {f"prop_{k}": _(v) for k, v in PROPERTY_LABELS.items()}
        | {f"enum_{k}": _(v) for k, v in PROPERTY_HELP.items()}
    )


def _ops(_: Any) -> dict[str, Any]:
    ops, units = operator_labels(_)
    by_type = {t: sorted(o - CHANGES - {ANNIVERSARY}) for t, o in OPS_BY_TYPE.items()}
    return {"ops": ops, "units": units, "by_type": by_type}


@router.get("/build/apps/{app}/entities/new")
async def new_entity_page(request: Request, app: str, c: Ctx, viewer: CurrentBuilder) -> Response:
    async with c.db.read() as conn:
        nav, _entities = await app_nav(c, conn, viewer, app)
    return page(request, "builder/entity_new.html", viewer=viewer, build_section="apps", build_app=nav, errors={}, values={})


@router.post("/build/apps/{app}/entities/new")
async def create_entity(
    request: Request,
    app: str,
    c: Ctx,
    viewer: CurrentBuilder,
    label_zh: Annotated[str, Form(max_length=200)] = "",
    label_en: Annotated[str, Form(max_length=200)] = "",
    key: Annotated[str, Form(max_length=63)] = "",
) -> Response:
    """A new entity with one text field (its title) and a record form: the designer opens on it."""
    _ = viewer._
    label = {k: v.strip() for k, v in (("zh-CN", label_zh), ("en", label_en)) if v.strip()}
    values = {"label_zh": label_zh, "label_en": label_en, "key": key}
    async with c.db.read() as conn:
        nav, entities = await app_nav(c, conn, viewer, app)
    key = key.strip() or key_from_label(label_zh or label_en, [e.key for e in entities], "entity")
    errors: dict[str, str] = {}
    if not label:
        errors["label_zh"] = _("Give the form a name")
    else:
        name = {"key": "name", "type": "text", "label": {"zh-CN": "名称", "en": "Name"}, "required": True}
        doc = {"key": key, "label": label, "display_field": "name", "fields": [name]}
        layout = {"key": key, "entity": key, "sections": [{"columns": 2, "fields": ["name"]}]}
        try:
            async with c.db.write() as conn:
                await c.schema.create_entity(conn, app, doc, viewer.access)
                await FormService(c.store, c.clock).create(conn, app, layout)
        except TangramError as exc:
            found = getattr(exc, "errors", None) or []
            for e in found:
                errors["key" if e.path.startswith("/key") else "label_zh"] = e.message
            if not found:
                errors["key"] = exc.detail
    if errors:
        return page(request, "builder/entity_new.html", status=422, viewer=viewer, build_section="apps",
                    build_app=nav, errors=errors, values=values)  # fmt: skip
    return RedirectResponse(f"/build/apps/{app}/entities/{key}", status_code=303)


@router.get("/build/apps/{app}/entities/{entity}")
async def designer_page(request: Request, app: str, entity: str, c: Ctx, viewer: CurrentBuilder) -> Response:
    _ = viewer._
    async with c.db.read() as conn:
        nav, entities = await app_nav(c, conn, viewer, app)
        e = next((x for x in entities if x.key == entity), None)
        if e is None:
            raise NotFound(_("This app has no such entity"))
        forms = FormService(c.store, c.clock)
        row = await forms.record_row(conn, app, entity)
        form = form_json(await forms.row(conn, app, row.key)) if row is not None else None
        others = [(a["key"], x) for a in await c.schema.list_apps(conn) for x in await c.store.list(conn, a["key"])]
    data = {
        "app": app,
        "entity": e.definition.to_json() | {"version": e.version},
        "removed": [f.key for f in e.removed],
        "form": form,
        "types": _field_types(_),
        "targets": [_target(a, x, app, viewer.locale) for a, x in others],
        "strings": _strings(_),
        "conditions": _ops(_),
        "locale": viewer.locale,
    }
    title = text_in(e.label, viewer.locale, e.key)
    canvas_html = Markup(_canvas_html(viewer, data["entity"], form))  # noqa: S704 (rendered by the autoescaping templates)
    return page(request, "builder/entity.html", viewer=viewer, build_section="apps", build_app=nav, build_entity=entity,
                data=data, title=title, app_key=app, entity_key=entity, palette=_palette(data["types"], _),
                canvas=canvas_html)  # fmt: skip


def _target(app: str, e: Any, here: str, locale: str) -> dict[str, str]:
    """A relation target the panel offers: entities of this app by key, of other apps as app.entity."""
    label = text_in(e.label, locale, e.key)
    return {"ref": e.key, "label": label} if app == here else {"ref": f"{app}.{e.key}", "label": f"{label} ({app})"}


class _Cfg(dict[str, Any]):
    """A draft field's config as the field macros read it (`f.cfg.max_length`): missing keys are None."""

    def __getattr__(self, name: str) -> Any:
        return self.get(name)


def _draft_view(raw: dict[str, Any], locale: str) -> FieldView:
    """A FieldView from a draft field that may not be valid yet (the canvas shows it as it would look)."""
    ftype = field_types().get(raw.get("type")) if isinstance(raw.get("type"), str) else None
    cfg: Any = _Cfg(raw)
    if ftype is not None:
        try:
            cfg = ftype.config.model_validate(raw)
        except ValidationError:
            defaults = {name: f.default for name, f in ftype.config.model_fields.items() if not f.is_required()}
            cfg = _Cfg(defaults | raw)
    key = str(raw.get("key") or "")
    options = tuple(
        Option(str(o.get("key", "")), text_in(o.get("label"), locale, str(o.get("key", ""))), o.get("color"))
        for o in (raw.get("options") or []) if isinstance(o, dict)
    )  # fmt: skip
    writable = ftype is not None and not (ftype.computed or ftype.generated)
    return FieldView(key, str(raw.get("type")), text_in(raw.get("label"), locale, key), bool(raw.get("required")),
                     writable, text_in(raw.get("help_text"), locale), options, cfg)  # fmt: skip


def _draft_layout(doc: dict[str, Any], form: dict[str, Any] | None, locale: str) -> list[TabView]:
    raw_fields = [f for f in doc.get("fields") or [] if isinstance(f, dict)]
    fvs = {str(f.get("key")): _draft_view(f, locale) for f in raw_fields}
    sections = (form or {}).get("sections") or [{"columns": 2, "fields": list(fvs)}]
    tabs: list[TabView] = []
    for i, s in enumerate(sections):
        tab = text_in(s.get("tab"), locale)
        if not tabs or tabs[-1].label != tab:
            tabs.append(TabView(tab))
        view = SectionView(text_in(s.get("label"), locale), 1, collapsible=bool(s.get("collapsible")))
        view.index = i  # type: ignore[attr-defined]
        view.tab = tab  # type: ignore[attr-defined]
        if s.get("kind") == "lines":
            view.lines = s  # type: ignore[assignment]
        else:
            view.columns = 2 if s.get("columns") == 2 else 1
            keys = [item if isinstance(item, str) else item.get("field") for item in s.get("fields") or []]
            view.fields = [fvs[k] for k in keys if k in fvs]
            view.ruled = {item["field"] for item in s.get("fields") or [] if isinstance(item, dict) and len(item) > 1}  # type: ignore[attr-defined]
        tabs[-1].sections.append(view)
    return tabs


def _canvas_html(viewer: Any, doc: dict[str, Any], form: dict[str, Any] | None) -> str:
    """The canvas of a draft: its tabs and sections with every field drawn by the end user's macro."""
    return env.get_template("builder/entity_canvas.html").render(
        tabs=_draft_layout(doc, form, viewer.locale), locale=viewer.locale, _=viewer._, viewer=viewer,
        t=lambda v, fallback="": text_in(v, viewer.locale, fallback),
        ctx={"tz": viewer.tz, "targets": {}, "names": {}, "display_of": lambda *a: "", "upload": ""},
    )  # fmt: skip


@router.post("/build/apps/{app}/entities/{entity}/canvas")
async def canvas(request: Request, app: str, entity: str, c: Ctx, viewer: CurrentBuilder) -> Response:
    """The middle pane for a draft {entity, form}: the end user's form drawn with the same field macros."""
    body = await read_json(request)
    doc = body.get("entity") if isinstance(body, dict) else None
    form = body.get("form") if isinstance(body, dict) else None
    if not isinstance(doc, dict) or not (form is None or isinstance(form, dict)):
        return HTMLResponse(viewer._("The draft is not readable"), status_code=400)
    async with c.db.read() as conn:
        await app_nav(c, conn, viewer, app)
    return HTMLResponse(_canvas_html(viewer, doc, form))
