"""Property test: the browser's condition evaluator (builder_ui/static/js/condition.js) gives the Python
back end's answer for random form-rule conditions on random records, NULLs, relative dates and time zones
included, run in Chromium. Conditions go to the browser as the server hands them out (`to_doc`), records
as the JSON API writes them; each example is one `page.evaluate` over every (condition, record) pair."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.apps.form_rules import field_kinds
from engine.core.errors import ErrorCollector
from engine.expr.condition import parse_condition, to_doc
from engine.expr.to_python import compile_python
from engine.formula.env import Env
from tests.unit.expr.support import THING_E
from tests.unit.expr.test_backends_agree import NOWS, PATHS, ZONES, comparisons, thing_rows

STATIC = Path(__file__).resolve().parents[2] / "builder_ui" / "static"
OWN = sorted(p for p in PATHS if "." not in p)  # form rules read the record's own fields
KINDS = field_kinds(THING_E)
EVALUATE = """async ([batch, kinds]) => {
  const { evaluate } = await import("/js/condition.js");
  return batch.map(([c, records, env]) => records.map((r) => evaluate(c, r, kinds ? { ...env, kinds } : env)));
}"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def page(browser: Any) -> Iterator[Any]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(STATIC)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    p = browser.new_page()
    p.goto(f"http://127.0.0.1:{server.server_address[1]}/")
    yield p
    p.close()
    server.shutdown()
    server.server_close()


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _own_only(doc: Any) -> bool:
    return "." not in repr(doc)


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    now = draw(st.sampled_from(NOWS))
    leaf = st.sampled_from(OWN).flatmap(lambda p: comparisons(p, now)).filter(_own_only)
    tree = st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.builds(lambda k, items: {k: items}, st.sampled_from(["all", "any"]), st.lists(inner, min_size=1, max_size=3)),
            inner.map(lambda c: {"not": c}),
        ),
        max_leaves=4,
    )
    rows = [r | {"id": i + 1} for i, r in enumerate(draw(thing_rows(now)))]
    user = draw(st.sampled_from([1, 2, None]))
    return {
        "env": Env.at(now, draw(st.sampled_from(ZONES)), user_id=user),
        "conditions": draw(st.lists(tree, min_size=8, max_size=8)),
        "rows": rows,
    }


def _batch(case: dict[str, Any]) -> tuple[list[Any], list[list[bool]]]:
    env: Env = case["env"]
    js_env = {"now": _json(env.now), "timeZone": env.tz.key, "user": env.user_id}
    records = [{k: _json(v) for k, v in row.items()} for row in case["rows"]]
    batch, expected = [], []
    for doc in case["conditions"]:
        errors = ErrorCollector()
        node = parse_condition(doc, THING_E, errors)
        if node is None or errors:
            continue
        check = compile_python(node)
        batch.append([to_doc(node), records, js_env])
        expected.append([check(row, env) for row in case["rows"]])
    return batch, expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=cases())
def test_the_browser_evaluator_agrees_with_the_python_back_end(page: Any, case: dict[str, Any]) -> None:
    batch, expected = _batch(case)
    assert page.evaluate(EVALUATE, [batch, KINDS]) == expected, batch
    # Without kinds, the evaluator reads them from the values: the same answers, JSON fields aside.
    plain = [(b, e) for b, e in zip(batch, expected, strict=True) if '"data"' not in str(b[0]).replace("'", '"')]
    assert page.evaluate(EVALUATE, [[b for b, _ in plain], None]) == [e for _, e in plain]


def test_relative_dates_follow_the_time_zone_across_a_daylight_saving_change(page: Any) -> None:
    now = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)  # the Monday after New York moved its clocks
    env = Env.at(now, "America/New_York", user_id=1)
    rows = [{"at": datetime(2026, 3, 9, 4, 30, tzinfo=UTC)}, {"at": datetime(2026, 3, 9, 3, 59, tzinfo=UTC)},
            {"at": datetime(2026, 3, 8, 12, 0, tzinfo=UTC)}, {"at": None}]  # fmt: skip
    docs = [{"field": "at", "op": "within_last", "value": {"amount": 1, "unit": "days"}},
            {"field": "at", "op": "last_week"}, {"field": "at", "op": "this_week"},
            {"field": "at", "op": "older_than", "value": {"amount": 1, "unit": "months"}}]  # fmt: skip
    batch, expected = _batch({"env": env, "conditions": docs, "rows": rows})
    assert len(batch) == len(docs)
    assert page.evaluate(EVALUATE, [batch, KINDS]) == expected
    # This week starts at Monday 00:00 in New York, which is 04:00 UTC now that daylight-saving time began.
    assert (expected[1], expected[2]) == ([False, True, True, False], [True, False, False, False])
