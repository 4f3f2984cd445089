"""The definition kinds a package holds, each parsed offline into its canonical JSON.

Canonical means "as the engine stores it", normalised the same way whether it comes from a package file
or from the database: that is what makes exports deterministic and lets an upgrade tell whether the
customer changed a definition (current != as installed) or the package did (new != as installed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.apps.forms import parse_form
from engine.auth.roles import RoleDefinition, parse_role
from engine.core.errors import ErrorCollector, ErrorDetail, TangramError
from engine.process.definition import parse_process
from engine.reports.definition import parse_chart, parse_dashboard
from engine.rules.definition import parse_rule
from engine.schema.definition import parse_entity
from engine.schema.field_types import field_types


@dataclass(frozen=True)
class Kind:
    name: str  # entity, form, ...
    folder: str  # entities, forms, ...
    parse: Callable[[Any, ErrorCollector], dict[str, Any] | None]  # the canonical JSON, or None with errors


def _raising(parse: Callable[[Any], Any]) -> Callable[[Any, ErrorCollector], dict[str, Any] | None]:
    def run(doc: Any, errors: ErrorCollector) -> dict[str, Any] | None:
        try:
            return parse(doc)  # type: ignore[no-any-return]
        except TangramError as exc:
            errors.extend(exc.errors)
            return None

    return run


def _collecting(parse: Callable[[Any, ErrorCollector], Any]) -> Callable[[Any, ErrorCollector], dict[str, Any] | None]:
    def run(doc: Any, errors: ErrorCollector) -> dict[str, Any] | None:
        before = len(errors.errors)
        parsed = parse(doc, errors)
        return None if parsed is None or len(errors.errors) > before else without_secrets(parsed.to_json())

    return run


def role_json(role: RoleDefinition) -> dict[str, Any]:
    return role.model_dump(mode="json", exclude_defaults=True)


def without_secrets(doc: dict[str, Any]) -> dict[str, Any]:
    """Webhook secrets never leave the instance in a package (and so never count as a change)."""
    if not isinstance(doc.get("actions"), list):
        return doc
    return {**doc, "actions": [{k: v for k, v in a.items() if k != "secret"} for a in doc["actions"]]}


ENTITY = Kind("entity", "entities", _raising(lambda doc: parse_entity(doc, field_types()).to_json()))
FORM = Kind("form", "forms", lambda doc, errors: None if (f := parse_form(doc, errors)) is None else f.to_json())
ROLE = Kind("role", "roles", _raising(lambda doc: role_json(parse_role(doc))))
RULE = Kind("rule", "rules", _collecting(parse_rule))
PROCESS = Kind("process", "processes", _collecting(parse_process))
CHART = Kind("chart", "charts", _collecting(parse_chart))
DASHBOARD = Kind("dashboard", "dashboards", _collecting(parse_dashboard))
# The install order: a definition comes after everything it may refer to.
KINDS: tuple[Kind, ...] = (ROLE, ENTITY, FORM, RULE, PROCESS, CHART, DASHBOARD)
BY_FOLDER = {k.folder: k for k in KINDS}
BY_NAME = {k.name: k for k in KINDS}


def canonical(kind: Kind, doc: Any) -> dict[str, Any]:
    """A stored definition in canonical form (it was checked when saved, so it parses)."""
    errors = ErrorCollector()
    parsed = kind.parse(doc, errors)
    if parsed is None:
        raise ValueError(f"stored {kind.name} no longer parses: {[e.as_dict() for e in errors.errors]}")
    return parsed


def app_grant_problems(role: dict[str, Any], app: str) -> list[ErrorDetail]:
    """A package's role may grant rights on its own app only ("crm.*", "crm.lead")."""
    message = "a package role may grant rights on its own app's entities only ({}.*), not {!r}"
    return [
        ErrorDetail(f"/grants/{i}/entity", "foreign_grant", message.format(app, g["entity"]))
        for i, g in enumerate(role.get("grants", []))
        if not g["entity"].startswith(f"{app}.")
    ]


def owned_by(role: dict[str, Any], app: str) -> bool:
    """Is this role part of the app (every grant names the app)? Those are exported with it."""
    grants = role.get("grants", [])
    return bool(grants) and all(str(g.get("entity", "")).startswith(f"{app}.") for g in grants)
