"""Rule definitions: what a builder stores, checked whole before it is saved.

    {"key": "route_big_leads", "entity": "lead", "when": "before_save",
     "trigger": {"type": "created"},
     "condition": {"all": [{"field": "industry", "op": "eq", "value": "manufacturing"},
                           {"field": "budget", "op": "gt", "value": 500000}]},
     "actions": [{"type": "assign_owner", "strategy": "round_robin", "team": "key_accounts_a"}]}

The shape is checked by pydantic models (one per trigger type, one per action type, registered in
`engine.rules.actions`); the meaning (fields exist, types fit, the phase allows the action, the
setup cannot loop) by `check_rule` against the entity, every problem at its JSON path.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.core.errors import ErrorCollector, pydantic_errors
from engine.schema.definition import Help, Key, Label

MAX_ACTIONS = 20
UNITS = ("minutes", "hours", "days", "weeks", "months")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Offset(Strict):
    amount: int = Field(ge=1, le=100_000)
    unit: Literal["minutes", "hours", "days", "weeks", "months"]


class OnRecord(Strict):
    """created / updated / saved (created or updated) / deleted."""

    type: Literal["created", "updated", "saved", "deleted"]


class OnFieldChange(Strict):
    """An update that changes at least one of `fields`."""

    type: Literal["field_changed"]
    fields: list[Key] = Field(min_length=1, max_length=50)


class OnSchedule(Strict):
    """Every cron tick (read in the business time zone), for each record matching the condition."""

    type: Literal["schedule"]
    cron: str = Field(max_length=100)


class OnDate(Strict):
    """`offset` before or after the date in `field`, once per record and date value, if the condition
    still holds then ("3 days after last_activity_at if still open"). Checked every `check_every`."""

    type: Literal["date"]
    field: Key
    offset: Offset
    direction: Literal["after", "before"] = "after"
    check_every: Offset = Offset(amount=15, unit="minutes")


Trigger = Annotated[OnRecord | OnFieldChange | OnSchedule | OnDate, Field(discriminator="type")]
RECORD_TRIGGERS = ("created", "updated", "saved", "field_changed")
TIMED_TRIGGERS = ("schedule", "date")


class RuleDefinition(Strict):
    key: Key
    entity: Key
    label: Label = None
    description: Help | None = None
    enabled: bool = True
    order: int = Field(default=0, ge=-1_000_000, le=1_000_000)
    # before_save: inside the saving transaction, may set fields or refuse the change;
    # after_save: once the change is committed, actions run as durable jobs.
    when: Literal["before_save", "after_save"] = "after_save"
    trigger: Trigger
    condition: dict[str, Any] | None = None
    actions: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_ACTIONS)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def parse_rule(doc: Any, errors: ErrorCollector) -> RuleDefinition | None:
    """The shape of a rule; None (with errors) when it does not fit."""
    try:
        rule = RuleDefinition.model_validate(doc)
    except ValidationError as exc:
        errors.extend(pydantic_errors(exc))
        return None
    if rule.when == "before_save" and rule.trigger.type not in RECORD_TRIGGERS:
        errors.add("/when", "phase", "only rules triggered by a create or an update can run before the save")
    if isinstance(rule.trigger, OnSchedule) and not croniter.is_valid(rule.trigger.cron):
        errors.add("/trigger/cron", "cron", f"{rule.trigger.cron[:100]!r} is not a cron expression (e.g. '0 8 * * *')")
    return rule
