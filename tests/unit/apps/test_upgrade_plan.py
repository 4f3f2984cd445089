"""The three-way upgrade plan (baseline = as installed, current = now, new = the package), without a database."""

from __future__ import annotations

import copy
from typing import Any

from engine.apps.upgrade import Plan, merge_entity, plan_kind

REGION = {"key": "region", "type": "select", "options": [{"key": "east"}, {"key": "west"}]}
BASE = {"key": "customer", "label": "Customer", "fields": [{"key": "name", "type": "text"}, REGION,
        {"key": "notes", "type": "long_text"}]}  # fmt: skip


def _with(entity: dict[str, Any], **fields: Any) -> dict[str, Any]:
    doc = copy.deepcopy(entity)
    by_key = {f["key"]: f for f in doc["fields"]}
    for key, value in fields.items():
        if value is None:
            doc["fields"] = [f for f in doc["fields"] if f["key"] != key]
        elif key in by_key:
            doc["fields"] = [value if f["key"] == key else f for f in doc["fields"]]
        else:
            doc["fields"].append(value)
    return doc


def test_untouched_definitions_are_replaced_changed_ones_kept_and_new_ones_added() -> None:
    rule = {"key": "r", "entity": "customer", "order": 1}
    plan = Plan()
    new = {"same": ("rules/same.json", rule), "untouched": ("rules/untouched.json", rule | {"order": 2}),
           "mine": ("rules/mine.json", rule), "both": ("rules/both.json", rule | {"order": 4}),
           "fresh": ("rules/fresh.json", rule)}  # fmt: skip
    baseline = {"same": rule, "untouched": rule, "mine": rule, "both": rule, "gone": rule}
    current = {"same": rule, "untouched": rule, "mine": rule | {"enabled": False}, "both": rule | {"order": 9}, "gone": rule}
    plan_kind(plan, "rule", new, baseline, current)
    assert {s.key: s.action for s in plan.steps} == {
        "both": "keep", "fresh": "add", "mine": "keep", "same": "unchanged", "untouched": "replace",
    }  # fmt: skip
    assert [(c["key"], c["reason"], c["differs"]) for c in plan.conflicts] == [("both", "changed_locally", ["order"])]
    assert [(k["key"], k["reason"]) for k in plan.kept] == [("gone", "removed_in_package")]
    assert plan.writes("rule")[1].doc == rule | {"order": 2}


def test_an_untouched_entity_takes_the_package_but_never_loses_a_field() -> None:
    new = _with(BASE, notes=None, score={"key": "score", "type": "integer"}) | {"label": "Client"}
    kept: list[dict[str, Any]] = []
    conflicts: list[dict[str, Any]] = []
    merged = merge_entity(BASE, BASE, new, conflicts, kept)
    assert [f["key"] for f in merged["fields"]] == ["name", "region", "notes", "score"]
    assert merged["label"] == "Client" and conflicts == []
    assert [(k["field"], k["reason"]) for k in kept] == [("notes", "removed_in_package")]


def test_a_customised_entity_still_gets_new_fields_and_options_and_its_changes_win() -> None:
    mine = _with(BASE, name={"key": "name", "type": "text", "required": True}, phone={"key": "phone", "type": "phone"})
    mine["fields"][1] = REGION | {"options": [*REGION["options"], {"key": "north"}]}
    new = _with(BASE, name={"key": "name", "type": "text", "max_length": 80}, email={"key": "email", "type": "email"})
    new["fields"][1] = REGION | {"options": [*REGION["options"], {"key": "south"}]}
    conflicts: list[dict[str, Any]] = []
    merged = merge_entity(BASE, mine, new, conflicts, [])
    fields = {f["key"]: f for f in merged["fields"]}
    assert list(fields) == ["name", "region", "notes", "phone", "email"]
    assert fields["name"] == {"key": "name", "type": "text", "required": True}  # theirs, and listed
    assert [o["key"] for o in fields["region"]["options"]] == ["east", "west", "north", "south"]  # both options
    assert [(c["field"], c["reason"]) for c in conflicts] == [("name", "changed_locally")]
    assert conflicts[0]["package"] == {"key": "name", "type": "text", "max_length": 80}


def test_a_field_the_customer_removed_is_not_re_added() -> None:
    mine = _with(BASE, notes=None)
    new = _with(BASE, notes={"key": "notes", "type": "long_text", "max_length": 5000})
    conflicts: list[dict[str, Any]] = []
    merged = merge_entity(BASE, mine, new, conflicts, [])
    assert [f["key"] for f in merged["fields"]] == ["name", "region"]
    assert [(c["field"], c["reason"]) for c in conflicts] == [("notes", "deleted_locally")]
