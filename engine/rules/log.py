"""The execution log of rules: one row per run that matched (or was stopped), with what it did."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.rules.tables import rule_runs

MAX_DETAIL = 4000


async def log_run(
    conn: AsyncConnection,
    now: datetime,
    rule_id: int,
    record_id: int | None,
    trigger: str,
    done: list[dict[str, Any]],
    *,
    outcome: str = "done",
    detail: str | None = None,
) -> None:
    await log_runs(conn, [run_row(now, rule_id, record_id, trigger, done, outcome=outcome, detail=detail)])


def run_row(
    now: datetime, rule_id: int, record_id: int | None, trigger: str, done: list[dict[str, Any]],
    *, outcome: str = "done", detail: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """One log row, for `log_runs` to write with others (a before-save batch logs all its runs at once)."""
    text = detail if detail is not None else json.dumps(done, default=str)
    return {
        "rule_id": rule_id, "record_id": record_id, "at": now, "trigger": trigger, "matched": True,
        "actions_done": 0 if outcome == "error" else len(done), "outcome": outcome, "detail": text[:MAX_DETAIL],
    }  # fmt: skip


async def log_runs(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(rule_runs), rows)


async def rule_log(conn: AsyncConnection, rule_id: int, limit: int, before: int | None = None) -> dict[str, Any]:
    """Totals (runs, actions done, errors, stops) and the latest runs, newest first; `before` (a run's id)
    pages back: the runs older than it. `more` says whether older runs remain."""
    r = rule_runs.c
    totals = (
        await conn.execute(
            select(
                func.count(),
                func.coalesce(func.sum(r.actions_done), 0),
                func.coalesce(func.sum(case((r.outcome == "error", 1), else_=0)), 0),
                func.coalesce(func.sum(case((r.outcome == "stopped", 1), else_=0)), 0),
            ).where(r.rule_id == rule_id)
        )
    ).one()
    query = select(rule_runs).where(r.rule_id == rule_id)
    if before is not None:
        query = query.where(r.id < before)
    rows = (await conn.execute(query.order_by(r.id.desc()).limit(limit + 1))).all()
    return {
        "more": len(rows) > limit,
        "totals": {"runs": totals[0], "actions_done": int(totals[1]), "errors": int(totals[2]), "stopped": int(totals[3])},
        "items": [_entry(row) for row in rows[:limit]],
    }


def _entry(row: Any) -> dict[str, Any]:
    out = {k: row._mapping[k] for k in ("id", "record_id", "trigger", "outcome", "actions_done")}
    out["at"] = row.at.isoformat()
    detail = row.detail
    if row.outcome in ("done",) and detail:
        try:
            out["actions"] = json.loads(detail)
        except ValueError:  # truncated
            out["detail"] = detail
    else:
        out["detail"] = detail
    return out
