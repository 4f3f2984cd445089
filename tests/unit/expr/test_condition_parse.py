"""Parsing conditions: every problem is found at definition time, with its JSON path and a message
a builder can act on."""

import pytest

from engine.expr.condition import Compare, Group, Not, to_doc
from engine.expr.dates import Span
from engine.expr.fields import Readable
from engine.expr.operands import Var
from tests.unit.expr.support import ACCOUNT_E, THING_E, UNIT_E, messages, parse, problems


def test_r1_condition_parses_into_the_typed_ast():
    """R1: industry = manufacturing and budget > 500,000, here on `kind` and `amount`."""
    node = parse({"all": [{"field": "kind", "op": "eq", "value": "a"}, {"field": "amount", "op": "gt", "value": 500000}]})
    assert isinstance(node, Group) and node.kind == "all"
    first, second = node.items
    assert isinstance(first, Compare) and (first.ref.path, first.op, first.value) == ("kind", "eq", "a")
    assert isinstance(second, Compare) and str(second.value) == "500000.00"  # parsed by the decimal field


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"field": "nope", "op": "eq", "value": 1}, [("/c/field", "unknown_field")]),
        ({"field": "n", "op": "contains", "value": 1}, [("/c/op", "unknown_op")]),
        ({"field": "day", "op": "gt", "value": "yesterday"}, [("/c/value", "format")]),
        ({"field": "kind", "op": "eq", "value": "zzz"}, [("/c/value", "unknown_option")]),
        ({"field": "n", "op": "eq", "value": None}, [("/c/value", "null")]),
        ({"field": "n", "op": "is_empty", "value": 1}, [("/c/value", "not_allowed")]),
        ({"field": "n", "op": "in", "value": []}, [("/c/value", "type")]),
        ({"field": "n", "op": "in", "value": [1, "x"]}, [("/c/value/1", "type")]),
        ({"field": "n", "op": "between", "value": [1]}, [("/c/value", "type")]),
        ({"field": "tags", "op": "has_any", "value": []}, [("/c/value", "type")]),
        ({"field": "tags", "op": "has_all", "value": ["a", "zzz"]}, [("/c/value", "unknown_option")]),
        ({"field": "n", "op": "eq", "value": 1, "extra": 1}, [("/c", "shape")]),
        ({"all": []}, [("/c/all", "type")]),
        ({"all": [{"field": "n", "op": "eq", "value": 1}], "any": []}, [("/c", "shape")]),
        ({"not": {"all": [{"field": "x", "op": "eq", "value": 1}]}}, [("/c/not/all/0/field", "unknown_field")]),
        ("n = 1", [("/c", "type")]),
        # operands
        ({"field": "n", "op": "eq", "value": {"field": "name"}}, [("/c/value", "type_mismatch")]),
        ({"field": "n", "op": "eq", "value": {"field": "nope"}}, [("/c/value/field", "unknown_field")]),
        ({"field": "acct", "op": "eq", "value": {"field": "who"}}, [("/c/value", "type_mismatch")]),
        ({"field": "day", "op": "eq", "value": {"var": "now"}}, [("/c/value", "type_mismatch")]),
        ({"field": "n", "op": "eq", "value": {"var": "yesterday"}}, [("/c/value/var", "unknown_var")]),
        ({"field": "n", "op": "eq", "value": {"field": "amount", "var": "now"}}, [("/c/value", "type")]),
        ({"field": "n", "op": "eq", "value": {"amount": 1}}, [("/c/value", "type")]),
        ({"field": "n", "op": "in", "value": [{"field": "amount"}]}, [("/c/value/0", "type")]),
        # relative dates
        ({"field": "day", "op": "within_last", "value": {"amount": 3, "unit": "hours"}}, [("/c/value/unit", "unknown_unit")]),
        ({"field": "at", "op": "older_than", "value": {"amount": -1, "unit": "days"}}, [("/c/value/amount", "type")]),
        ({"field": "at", "op": "older_than", "value": {"amount": True, "unit": "days"}}, [("/c/value/amount", "type")]),
        ({"field": "at", "op": "older_than", "value": 3}, [("/c/value", "type")]),
        ({"field": "at", "op": "anniversary_today"}, [("/c/op", "unknown_op")]),
        ({"field": "day", "op": "this_week", "value": 1}, [("/c/value", "not_allowed")]),
        ({"field": "n", "op": "this_week"}, [("/c/op", "unknown_op")]),
    ],
)
def test_errors_carry_json_paths(doc, expected):
    assert problems(doc) == expected


def test_messages_say_what_to_do():
    assert messages({"field": "day", "op": "eq", "value": {"var": "now"}}) == [
        "now compares with datetime fields, not a date field"
    ]
    assert messages({"field": "day", "op": "within_last", "value": {"amount": 1, "unit": "hours"}}) == [
        "unit of a date field is one of days, weeks, months"
    ]
    [text] = messages({"field": "n", "op": "contains", "value": "1"})
    assert text.startswith("operator 'contains' does not apply to an integer field; use one of ['between', 'eq', 'gt'")


def test_every_error_is_reported_at_once():
    doc = {"any": [{"field": "nope", "op": "eq", "value": 1}, {"field": "n", "op": "eq", "value": "x"}]}
    assert problems(doc) == [("/c/any/0/field", "unknown_field"), ("/c/any/1/value", "type")]


def test_changes_are_only_known_in_rule_conditions_on_updates():
    doc = {"field": "kind", "op": "changed_to", "value": "b"}
    assert problems(doc) == [("/c/op", "not_allowed")]
    assert messages(doc) == ["changed_to is only known in rule conditions on updates"]
    node = parse(doc, allow_changes=True)
    assert isinstance(node, Compare) and node.value == "b"
    assert problems({"field": "acct.name", "op": "changed"}, allow_changes=True) == [("/c/op", "not_allowed")]
    assert problems({"field": "kind", "op": "changed", "value": "a"}, allow_changes=True) == [("/c/value", "not_allowed")]


def test_paths_follow_relations_and_users():
    node = parse({"field": "acct.parent.tier", "op": "gt", "value": 1})
    assert isinstance(node, Compare)
    assert [h.via for h in node.ref.hops] == ["acct", "parent"]
    assert all(h.target is not None and h.target.entity is ACCOUNT_E for h in node.ref.hops)
    team = parse({"field": "acct.owner.team", "op": "eq", "value": {"var": "user.team"}})
    assert isinstance(team, Compare) and team.ref.hops[-1].target is None and team.value == Var("user.team")
    other_app = parse({"field": "acct.elsewhere.code", "op": "eq", "value": "X"})
    assert isinstance(other_app, Compare) and other_app.ref.hops[-1].target.entity is UNIT_E


@pytest.mark.parametrize(
    "path",
    [
        "acct.nope",  # no such field on the target
        "name.first",  # not a relation
        "acct.owner.team.x",  # nothing leads on from a team
        "owner.phone",  # users expose team, email and name
        "acct.parent.parent.parent.name",  # four hops: three at most
        "acct.",
        "acct.secret",  # hidden from the caller (below)
    ],
)
def test_unknown_paths(path):
    targets = {"account": Readable(ACCOUNT_E, hidden=frozenset({"secret"})), "hr.unit": UNIT_E}
    assert problems({"field": path, "op": "is_empty"}, targets=targets) == [("/c/field", "unknown_field")]


def test_a_target_the_caller_cannot_read_is_an_unknown_field():
    assert problems({"field": "acct.name", "op": "is_empty"}, targets={}) == [("/c/field", "unknown_field")]
    assert problems({"field": "acct.elsewhere.code", "op": "is_empty"}, targets={"account": ACCOUNT_E}) == [
        ("/c/field", "unknown_field")
    ]


def test_a_hidden_field_answers_like_a_missing_one():
    hidden = frozenset({"amount", "acct"})
    assert problems({"field": "amount", "op": "is_empty"}, hidden=hidden) == [("/c/field", "unknown_field")]
    assert problems({"field": "acct.name", "op": "is_empty"}, hidden=hidden) == [("/c/field", "unknown_field")]
    assert problems({"field": "n", "op": "eq", "value": {"field": "amount"}}, hidden=hidden) == [
        ("/c/value/field", "unknown_field")
    ]


def test_field_operands_compare_within_a_family():
    assert problems({"field": "n", "op": "lt", "value": {"field": "amount"}}) == []  # integer with decimal
    assert problems({"field": "email", "op": "eq", "value": {"field": "name"}}) == []  # email with text
    assert problems({"field": "acct", "op": "eq", "value": {"field": "acct2"}}) == []  # same target
    assert problems({"field": "who", "op": "eq", "value": {"field": "owner"}}) == []
    assert problems({"field": "day", "op": "lt", "value": {"field": "at"}}) == [("/c/value", "type_mismatch")]


def test_nesting_and_size_are_bounded():
    deep: dict = {"field": "n", "op": "is_empty"}
    for _ in range(20):
        deep = {"not": deep}
    assert ("/c" + "/not" * 17, "too_complex") in problems(deep)
    wide = {"any": [{"field": "n", "op": "is_empty"}] * 600}
    assert any(code == "too_complex" for _, code in problems(wide))


def test_to_doc_round_trips_what_was_parsed():
    doc = {
        "all": [
            {"field": "amount", "op": "between", "value": [1.5, 20]},
            {"not": {"field": "day", "op": "within_next", "value": {"amount": 2, "unit": "weeks"}}},
            {"field": "at", "op": "lt", "value": {"var": "now"}},
            {"field": "n", "op": "gte", "value": {"field": "acct.tier"}},
            {"field": "tags", "op": "has_all", "value": ["a", "c"]},
            {"field": "day", "op": "last_quarter"},
        ]
    }
    node = parse(doc)
    assert to_doc(node) == doc
    assert isinstance(node, Group) and isinstance(node.items[1], Not)
    assert node.items[1].item.value == Span(2, "weeks")


def test_text_entities_can_be_compiled_with_system_fields():
    assert problems({"field": "created_at", "op": "within_last", "value": {"amount": 5, "unit": "minutes"}}) == []
    assert problems({"field": "owner.email", "op": "ends_with", "value": "@x.io"}) == []
    assert THING_E.fields["acct"].cfg.target == "account"
