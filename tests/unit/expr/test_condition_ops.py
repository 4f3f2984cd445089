"""Each operator on the Python back end, edges included: NULL, "", [], a missing key, operands.
(test_backends_agree proves the SQL back end selects the same records.)"""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from engine.expr.to_python import compile_python, explain
from engine.expr.to_sql import to_sql
from engine.formula.env import Env
from tests.unit.expr.support import NOW, THING_E, parse

ENV = Env(NOW, user_id=7, user_team_id=3)


def matches(doc: dict[str, Any], record: dict[str, Any], env: Env = ENV, **kw: Any) -> bool:
    return compile_python(parse(doc, **kw))(record, env)


def which(doc: dict[str, Any], values: list[Any], key: str | None = None, env: Env = ENV) -> list[Any]:
    """The values among `values` of field `doc["field"]` that the condition accepts."""
    predicate = compile_python(parse(doc))
    key = key or doc.get("field") or doc["not"]["field"]
    return [v for v in values if predicate({key: v}, env)]


@pytest.mark.parametrize(
    ("doc", "accepted"),
    [
        ({"field": "n", "op": "eq", "value": 2}, [2]),
        ({"field": "n", "op": "ne", "value": 2}, [None, 1, 3]),
        ({"field": "n", "op": "gt", "value": 2}, [3]),
        ({"field": "n", "op": "gte", "value": 2}, [2, 3]),
        ({"field": "n", "op": "lt", "value": 2}, [1]),
        ({"field": "n", "op": "lte", "value": 2}, [1, 2]),
        ({"field": "n", "op": "between", "value": [1, 2]}, [1, 2]),
        ({"field": "n", "op": "in", "value": [1, 3]}, [1, 3]),
        ({"field": "n", "op": "not_in", "value": [1, 3]}, [None, 2]),
        ({"field": "n", "op": "is_empty"}, [None]),
        ({"field": "n", "op": "is_not_empty"}, [1, 2, 3]),
        ({"not": {"field": "n", "op": "gt", "value": 2}}, [None, 1, 2]),
    ],
)
def test_comparisons_are_two_valued(doc, accepted):
    """An empty field matches no comparison; ne / not_in / not are exact complements, so they do."""
    assert which(doc, [None, 1, 2, 3]) == accepted


def test_decimals_compare_exactly_with_integers():
    assert which({"field": "amount", "op": "gt", "value": "0.1"}, [Decimal("0.10"), Decimal("0.11"), None]) == [Decimal("0.11")]
    assert which({"field": "amount", "op": "eq", "value": 5}, [Decimal("5.00"), Decimal("5.01")]) == [Decimal("5.00")]


@pytest.mark.parametrize(
    ("doc", "accepted"),
    [
        ({"field": "name", "op": "contains", "value": "AB"}, ["xab", "AB", "aBc"]),
        ({"field": "name", "op": "not_contains", "value": "ab"}, [None, "", "b a", "50%"]),
        ({"field": "name", "op": "starts_with", "value": "a"}, ["AB", "aBc"]),
        ({"field": "name", "op": "ends_with", "value": "B"}, ["xab", "AB"]),
        ({"field": "name", "op": "contains", "value": "%"}, ["50%"]),  # wildcards are plain characters
        ({"field": "name", "op": "eq", "value": "ab"}, []),  # equality is exact
        ({"field": "name", "op": "is_empty"}, [None, ""]),
        ({"field": "name", "op": "is_not_empty"}, ["xab", "AB", "aBc", "b a", "50%"]),
    ],
)
def test_text(doc, accepted):
    assert which(doc, [None, "", "xab", "AB", "aBc", "b a", "50%"]) == accepted


def test_email_literals_are_normalised_like_stored_values():
    assert matches({"field": "email", "op": "eq", "value": " Ann@X.io"}, {"email": "ann@x.io"})


@pytest.mark.parametrize(
    ("doc", "accepted"),
    [
        ({"field": "tags", "op": "has_any", "value": ["a", "c"]}, [["a"], ["a", "b"], ["a", "b", "c"], ["c"]]),
        ({"field": "tags", "op": "has_all", "value": ["a", "b"]}, [["a", "b"], ["a", "b", "c"]]),
        ({"not": {"field": "tags", "op": "has_any", "value": ["a"]}}, [None, [], ["c"]]),
        ({"field": "tags", "op": "is_empty"}, [None, []]),
    ],
)
def test_multi_select(doc, accepted):
    assert which(doc, [None, [], ["a"], ["a", "b"], ["a", "b", "c"], ["c"]]) == accepted


def test_select_boolean_relation_user_and_json():
    assert which({"field": "flag", "op": "eq", "value": False}, [None, True, False]) == [False]
    assert which({"field": "flag", "op": "ne", "value": True}, [None, True, False]) == [None, False]
    assert which({"field": "kind", "op": "in", "value": ["a", "b"]}, [None, "a", "c"]) == ["a"]
    assert which({"field": "acct", "op": "eq", "value": 4}, [None, 4, 5]) == [4]
    assert which({"field": "data", "op": "is_empty"}, [None, {}, [], {"x": 1}]) == [None]


def test_field_operands():
    older = {"field": "day", "op": "lt", "value": {"field": "day2"}}
    rows = [
        {"day": date(2026, 1, 1), "day2": date(2026, 1, 2)},
        {"day": date(2026, 1, 2), "day2": date(2026, 1, 2)},
        {"day": None, "day2": date(2026, 1, 2)},
        {"day": date(2026, 1, 1), "day2": None},
    ]
    assert [compile_python(parse(older))(r, ENV) for r in rows] == [True, False, False, False]
    same = compile_python(parse({"field": "acct", "op": "eq", "value": {"field": "acct2"}}))
    assert [same(r, ENV) for r in ({"acct": 1, "acct2": 1}, {"acct": None, "acct2": None})] == [True, False]
    other = compile_python(parse({"field": "acct", "op": "ne", "value": {"field": "acct2"}}))
    assert other({"acct": None, "acct2": None}, ENV)  # ne is not eq, also between two empty fields


def test_variables():
    mine = compile_python(parse({"field": "owner", "op": "eq", "value": {"var": "user"}}))
    assert [mine({"owner": o}, ENV) for o in (7, 8, None)] == [True, False, False]
    assert not mine({"owner": None}, Env(NOW))  # no user: nothing is "mine"
    team = compile_python(parse({"field": "owner.team", "op": "eq", "value": {"var": "user.team"}}))
    assert team({"owner.team": 3}, ENV) and not team({"owner.team": 3}, Env(NOW))
    past = compile_python(parse({"field": "at", "op": "lt", "value": {"var": "now"}}))
    assert past({"at": datetime(2026, 11, 23, 9, 29, tzinfo=UTC)}, ENV) and not past({"at": NOW}, ENV)
    due = compile_python(parse({"field": "day", "op": "lte", "value": {"var": "today"}}))
    shanghai = Env(datetime(2026, 11, 23, 17, 0, tzinfo=UTC), tz=ZoneInfo("Asia/Shanghai"))  # already Nov 24 there
    assert due({"day": date(2026, 11, 24)}, shanghai) and not due({"day": date(2026, 11, 24)}, ENV)


def test_a_path_value_is_read_from_its_dotted_key():
    assert matches({"field": "acct.name", "op": "contains", "value": "corp"}, {"acct": 1, "acct.name": "ACME Corp"})
    assert not matches({"field": "acct.name", "op": "contains", "value": "corp"}, {"acct": 1})  # not loaded: empty


def test_changes_read_the_state_before_the_update():
    before = {"kind": "a", "tags": ["a"], "amount": Decimal("5.00")}
    after = {"kind": "b", "tags": ["a"], "amount": Decimal("5")}
    update = Env(NOW, before=before)
    assert matches({"field": "kind", "op": "changed"}, after, update, allow_changes=True)
    assert not matches({"field": "tags", "op": "changed"}, after, update, allow_changes=True)
    assert not matches({"field": "amount", "op": "changed"}, after, update, allow_changes=True)  # 5.00 == 5
    assert matches({"field": "kind", "op": "changed_from", "value": "a"}, after, update, allow_changes=True)
    assert not matches({"field": "kind", "op": "changed_from", "value": "b"}, after, update, allow_changes=True)
    assert matches({"field": "kind", "op": "changed_to", "value": "b"}, after, update, allow_changes=True)
    assert not matches({"field": "kind", "op": "changed_to", "value": "b"}, after, Env(NOW, before=after), allow_changes=True)
    assert not matches({"field": "kind", "op": "changed"}, after, Env(NOW), allow_changes=True)  # a create: no before
    assert matches(
        {"field": "kind", "op": "changed_to", "value": "a"}, before, Env(NOW, before={"kind": None}), allow_changes=True
    )


def test_changes_have_no_sql_form():
    node = parse({"field": "kind", "op": "changed"}, allow_changes=True)
    with pytest.raises(ValueError, match="before an update"):
        to_sql(node, THING_E.table, ENV)


def test_groups():
    doc = {
        "any": [
            {"field": "n", "op": "eq", "value": 1},
            {"all": [{"field": "n", "op": "gt", "value": 2}, {"field": "kind", "op": "eq", "value": "a"}]},
        ]
    }
    p = compile_python(parse(doc))
    assert [p(r, ENV) for r in ({"n": 1}, {"n": 3, "kind": "a"}, {"n": 3, "kind": "b"}, {})] == [True, True, False, False]
    three = compile_python(parse({"all": [{"field": "n", "op": "gt", "value": i} for i in range(3)]}))
    assert three({"n": 3}, ENV) and not three({"n": 2}, ENV)
    some = compile_python(parse({"any": [{"field": "n", "op": "eq", "value": i} for i in range(3)]}))
    assert some({"n": 2}, ENV) and not some({"n": 5}, ENV)


def test_explain_marks_every_node_and_shows_actual_values():
    """What a rule dry run shows: matched or not per node, with the value it compared."""
    doc = {
        "all": [
            {"field": "kind", "op": "eq", "value": "a"},
            {"not": {"field": "amount", "op": "gt", "value": 500000}},
            {"field": "day", "op": "lt", "value": {"field": "day2"}},
        ]
    }
    record = {"kind": "a", "amount": Decimal("600000.00"), "day": date(2026, 1, 1), "day2": date(2026, 2, 1)}
    assert explain(parse(doc), record, ENV) == {
        "all": [
            {"field": "kind", "op": "eq", "value": "a", "actual": "a", "matched": True},
            {
                "not": {"field": "amount", "op": "gt", "value": 500000.0, "actual": 600000.0, "matched": True},
                "matched": False,
            },
            {
                "field": "day", "op": "lt", "value": {"field": "day2"},
                "actual": "2026-01-01", "operand": "2026-02-01", "matched": True,
            },
        ],
        "matched": False,
    }  # fmt: skip


def test_sql_binds_every_value_and_keeps_relative_dates_index_friendly():
    node = parse({"all": [{"field": "name", "op": "contains", "value": "x'; drop"}, {"field": "day", "op": "this_month"}]})
    sql = str(select(THING_E.table.c.id).where(to_sql(node, THING_E.table, ENV)).compile(dialect=sqlite.dialect()))
    assert "drop" not in sql
    assert "t_crm_thing.day >= ? AND t_crm_thing.day < ?" in sql  # plain range on the column: an index serves it


def test_anniversaries_read_month_and_day_in_each_dialect():
    node = parse({"field": "day", "op": "anniversary_today"})
    where = to_sql(node, THING_E.table, ENV)
    assert "strftime('%m-%d', t_crm_thing.day)" in str(where.compile(dialect=sqlite.dialect()))
    assert "to_char(t_crm_thing.day, 'MM-DD')" in str(where.compile(dialect=postgresql.dialect()))
