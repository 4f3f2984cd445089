"""The server's form-rule evaluator without a database: which fields have rules, visibility combining a
section's and a field's conditions, relative dates and `user` read from the Env, and the two
before-save steps on pending changes (people's writes only)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from engine.apps.form_rules import FormRules, compile_rules, is_empty
from engine.apps.forms import FormDefinition
from engine.core.actor import Actor
from engine.core.clock import FrozenClock
from engine.core.errors import ErrorCollector
from engine.formula.env import Env
from engine.records.events import PendingChange
from tests.unit.expr.support import NOW, THING_E

NOT_MINE = {"field": "who", "op": "ne", "value": {"var": "user"}}
SOON = {"field": "day", "op": "within_next", "value": {"amount": 7, "unit": "days"}}
FORM = FormDefinition.model_validate({
    "key": "thing", "entity": "thing",
    "sections": [
        {"fields": ["name", {"field": "amount", "required_when": {"field": "kind", "op": "eq", "value": "a"}}]},
        {"visible_when": {"field": "flag", "op": "eq", "value": True},
         "fields": [{"field": "n", "visible_when": SOON, "read_only_when": NOT_MINE},
                    "email", {"field": "gone", "required_when": SOON}]},
    ],
})  # fmt: skip
ENV = Env(now=NOW, user_id=7)


def _rules() -> dict[str, Any]:
    return {r.key: r for r in compile_rules(FORM, THING_E)}


def test_only_fields_with_rules_are_compiled_and_missing_fields_are_skipped() -> None:
    assert sorted(_rules()) == ["amount", "email", "n"]  # email: its section's visibility; "gone" is not a field


def test_a_field_is_visible_when_its_section_and_its_own_conditions_hold() -> None:
    n = _rules()["n"]
    today = NOW.date()
    assert n.shown({"flag": True, "day": today + timedelta(days=3)}, ENV)
    assert not n.shown({"flag": True, "day": today + timedelta(days=30)}, ENV)
    assert not n.shown({"flag": False, "day": today}, ENV)
    assert not n.shown({"flag": None, "day": today}, ENV)  # NULL is not true
    assert _rules()["email"].shown({"flag": True}, ENV)


def test_read_only_reads_the_user_from_the_env() -> None:
    ro = _rules()["n"].read_only
    assert ro is not None
    assert ro({"who": 8}, ENV) and ro({"who": None}, ENV) and not ro({"who": 7}, ENV)


def test_empty_means_no_value_empty_text_or_empty_list() -> None:
    assert all(is_empty(v) for v in (None, "", []))
    assert not any(is_empty(v) for v in (0, False, Decimal(0), "x", ["a"], date(2026, 1, 1)))


async def _run(step: str, changes: list[PendingChange], source: str = "api") -> ErrorCollector:
    rules = FormRules(forms=_Forms(), clock=FrozenClock(NOW))  # type: ignore[arg-type]
    await getattr(rules, step)(None, THING_E, Actor(user_id=7, source=source), changes)
    return changes[0].errors


class _Forms:
    async def record_row(self, conn: Any, app: str, entity: str) -> Any:
        from types import SimpleNamespace

        return SimpleNamespace(id=1, version=1, definition=FORM.to_json())


def _change(before: dict[str, Any] | None, values: dict[str, Any]) -> PendingChange:
    return PendingChange("update" if before else "create", 1 if before else None, before, values, "/items/0", ErrorCollector())


async def test_screen_drops_hidden_values_and_refuses_read_only_changes() -> None:
    hidden = _change({"flag": False, "n": 1, "who": 7}, {"n": 5, "email": "a@b.c"})
    assert not await _run("screen", [hidden]) and hidden.values == {}
    locked = _change({"flag": True, "day": NOW.date(), "n": 1, "who": 8}, {"n": 5})
    assert [(e.path, e.code) for e in (await _run("screen", [locked])).errors] == [("/items/0/n", "read_only")]
    same = _change({"flag": True, "day": NOW.date(), "n": 1, "who": 8}, {"n": 1})
    assert not await _run("screen", [same])
    by_rule = _change({"flag": False, "n": 1}, {"n": 5})
    assert not await _run("screen", [by_rule], source="rule") and by_rule.values == {"n": 5}


async def test_require_judges_the_record_as_it_will_be_saved() -> None:
    missing = _change({"kind": "b", "amount": None}, {"kind": "a"})
    assert [(e.path, e.code) for e in (await _run("require", [missing])).errors] == [("/items/0/amount", "required")]
    filled = _change({"kind": "b", "amount": Decimal(3)}, {"kind": "a"})
    assert not await _run("require", [filled])
    assert not await _run("require", [_change(None, {"kind": "a"})], source="import")
