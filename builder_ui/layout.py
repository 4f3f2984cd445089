"""The record form as the page draws it: tabs > sections > fields, from the entity's record form layout
(engine/apps/forms.py), each field carrying the form's rules for the browser to evaluate live."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from builder_ui.fields import SYSTEM, FieldView
from builder_ui.i18n import text_in
from engine.api.context import Context
from engine.apps.forms import FormService, LinesSection, field_sections
from engine.schema.model import CompiledEntity


@dataclass
class SectionView:
    label: str
    columns: int = 2
    fields: list[FieldView] = field(default_factory=list)
    collapsible: bool = False
    collapsed: bool = False
    visible_when: dict[str, Any] | None = None
    lines: LinesSection | None = None


@dataclass
class TabView:
    label: str
    sections: list[SectionView] = field(default_factory=list)


def _rules(item: Any) -> dict[str, Any]:
    return {k: v for k in ("visible_when", "required_when", "read_only_when") if (v := getattr(item, k, None)) is not None}


async def field_rules(c: Context, conn: AsyncConnection, e: CompiledEntity) -> dict[str, dict[str, Any]]:
    """Field key -> its rules in the entity's record form: the rules the server judges every person's input by
    (engine/apps/form_rules.py), for pages that show the fields in another layout (public forms)."""
    form = await FormService(c.store, c.clock).record_form(conn, e.app, e.key)
    out: dict[str, dict[str, Any]] = {}
    for _, section in field_sections(form) if form is not None else ():
        for item in section.items():
            rules = _rules(item)
            shown = [w for w in (section.visible_when, rules.get("visible_when")) if w is not None]
            if shown:  # shown when its section is and it is itself, as the server reads it
                rules["visible_when"] = shown[0] if len(shown) == 1 else {"all": shown}
            if rules:
                out[item.field] = rules
    return out


async def record_layout(
    c: Context, conn: AsyncConnection, e: CompiledEntity, fvs: dict[str, FieldView], locale: str
) -> list[TabView]:
    """Tabs of sections; a single unnamed tab when the layout has none. Without a layout: every field, two columns."""
    form = await FormService(c.store, c.clock).record_form(conn, e.app, e.key)
    if form is None:
        return [TabView("", [SectionView("", 2, [f for k, f in fvs.items() if k not in SYSTEM])])]
    tabs: list[TabView] = []
    for s in form.sections:
        tab = text_in(s.tab, locale)
        if not tabs or tabs[-1].label != tab:
            tabs.append(TabView(tab))
        view = SectionView(text_in(s.label, locale), 1, collapsible=bool(s.collapsible), collapsed=bool(s.collapsed))
        if isinstance(s, LinesSection):
            view.lines = s
        else:
            view.columns, view.visible_when = s.columns, s.visible_when
            view.fields = [replace(fvs[i.field], rules=_rules(i)) for i in s.items() if i.field in fvs]
        tabs[-1].sections.append(view)
    return tabs
