"""Condition benchmark (no database): evaluations per second of `compile_python` over native records,
beside a hand-written lambda of the same logic (target: within 3x) and beside the PyPI
`rule-engine` package evaluating the same rule (target: at least 10x faster)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import rule_engine

from engine.core.errors import ErrorCollector
from engine.expr.condition import parse_condition
from engine.expr.to_python import compile_python
from engine.formula.env import Env
from engine.schema.model import CompiledEntity, compile_entity
from tests.benchmarks.measure import Section, rate
from tests.benchmarks.report import progress
from tests.factories import LEAD

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
ROUNDS = 5  # interleaved; the best round of each variant counts (the least disturbed by neighbours)
MAX_RATIO_TO_LAMBDA = 3.0
MAX_RATIO_TO_RULE_ENGINE = 0.1  # product cost / rule-engine cost: at least 10x faster

R1 = {"all": [{"field": "industry", "op": "eq", "value": "manufacturing"}, {"field": "budget", "op": "gt", "value": 500000}]}
MIXED = {
    "all": [
        {"field": "industry", "op": "in", "value": ["manufacturing", "retail"]},
        {"any": [{"field": "budget", "op": "gte", "value": 250000}, {"field": "tags", "op": "has_any", "value": ["vip"]}]},
        {"field": "name", "op": "not_contains", "value": "test"},
        {"field": "last_activity_at", "op": "within_last", "value": {"amount": 30, "unit": "days"}},
        {"field": "employees", "op": "between", "value": [10, 500]},
    ]
}
SINCE = NOW - timedelta(days=30)


def r1_by_hand(r: Any, env: Env) -> bool:
    return r["industry"] == "manufacturing" and r["budget"] is not None and r["budget"] > 500000


def mixed_by_hand(r: Any, env: Env) -> bool:
    return (
        r["industry"] in ("manufacturing", "retail")
        and (((b := r["budget"]) is not None and b >= 250000) or ((t := r["tags"]) is not None and "vip" in t))
        and ((n := r["name"]) is None or "test" not in n.lower())
        and (a := r["last_activity_at"]) is not None
        and SINCE <= a <= NOW
        and (e := r["employees"]) is not None
        and 10 <= e <= 500
    )


R1_RULE = 'industry == "manufacturing" and budget != null and budget > 500000'
MIXED_RULE = (
    'industry in ["manufacturing", "retail"] and ((budget != null and budget >= 250000) or (tags != null and "vip" in tags))'
    ' and (name == null or not "test" in name.as_lower)'
    f' and last_activity_at != null and last_activity_at >= d"{SINCE.isoformat()}" and last_activity_at <= d"{NOW.isoformat()}"'
    " and employees != null and employees >= 10 and employees <= 500"
)
# R1: industry = manufacturing and budget > 500,000; mixed: in, gte or has_any, not_contains, within_last, between.
CASES = (("R1 condition", R1, r1_by_hand, R1_RULE), ("mixed, 6 comparisons", MIXED, mixed_by_hand, MIXED_RULE))


def lead_entity() -> CompiledEntity:
    row = SimpleNamespace(id=1, key="lead", version=1, table_name="bench_lead", definition=LEAD, removed_fields=[])
    return compile_entity(row, "crm")


def records(n: int, seed: int = 4) -> list[dict[str, Any]]:
    """Native lead records, NULLs included, spread so that every branch of the conditions is taken."""
    rnd = random.Random(seed)

    def maybe(value: Any) -> Any:
        return None if rnd.random() < 0.1 else value

    return [
        {
            "id": i,
            "name": maybe(rnd.choice(["Acme", "Test lead", "Globex", "Initech"])),
            "industry": maybe(rnd.choice(["manufacturing", "retail", "finance"])),
            "budget": maybe(Decimal(rnd.randrange(0, 100_000_000)) / 100),
            "employees": maybe(rnd.randrange(0, 1000)),
            "tags": maybe(rnd.choice([[], ["vip"], ["event"], ["vip", "event"]])),
            "last_activity_at": maybe(NOW - timedelta(minutes=rnd.randrange(0, 90 * 24 * 60))),
        }
        for i in range(n)
    ]


def _count(predicate: Callable[[Any, Env], bool], rows: list[dict[str, Any]], env: Env) -> tuple[int, float]:
    start = time.perf_counter()
    hits = 0
    for r in rows:
        if predicate(r, env):
            hits += 1
    return hits, time.perf_counter() - start


def measure(rows: list[dict[str, Any]]) -> Section:
    entity, env, report = lead_entity(), Env(NOW), Section()
    for title, doc, by_hand, rule_text in CASES:
        errors = ErrorCollector()
        node = parse_condition(doc, entity, errors)
        assert node is not None and not errors, errors.errors
        rule = rule_engine.Rule(rule_text)
        variants: dict[str, Callable[[Any, Env], bool]] = {
            "product": compile_python(node),
            "lambda": by_hand,
            "rule-engine": lambda r, env, rule=rule: bool(rule.matches(r)),
        }
        best = {name: float("inf") for name in variants}
        hits: dict[str, int] = {}
        for _ in range(ROUNDS):
            for name, predicate in variants.items():
                hits[name], seconds = _count(predicate, rows, env)
                best[name] = min(best[name], seconds)
        assert len(set(hits.values())) == 1, f"the variants disagree on {title}: {hits}"
        progress(f"{title}: {hits['product']:,} of {len(rows):,} records match")
        report.metrics += [
            rate(f"{title} vs lambda", "evals/s", len(rows), best["product"], best["lambda"], MAX_RATIO_TO_LAMBDA),
            rate(f"{title} vs rule-engine", "evals/s", len(rows), best["product"], best["rule-engine"], MAX_RATIO_TO_RULE_ENGINE),
        ]
    report.notes.append(f"rule-engine {rule_engine.__version__}; best of {ROUNDS} interleaved rounds per variant")
    return report
