"""The registry of rule actions: one class per action type, registered by key."""

from __future__ import annotations

from functools import cache

from engine.core.registry import Registry
from engine.rules.actions.assign import AssignOwner
from engine.rules.actions.base import Action, ActionFailed, Check, Run
from engine.rules.actions.duplicates import FlagDuplicates
from engine.rules.actions.effects import CreateRecord, Notify, SendEmail, StartProcess, Wait, Webhook
from engine.rules.actions.fields import AddPoints, AddTag, Reject, RemoveTag, SetFields

BUILTIN = (
    SetFields,
    Reject,
    AssignOwner,
    CreateRecord,
    Notify,
    SendEmail,
    AddTag,
    RemoveTag,
    AddPoints,
    Webhook,
    StartProcess,
    Wait,
    FlagDuplicates,
)


@cache
def actions() -> Registry[Action]:
    registry: Registry[Action] = Registry("rule action")
    for cls in BUILTIN:
        registry.register(cls())
    return registry


__all__ = ["Action", "ActionFailed", "Check", "Run", "actions"]
