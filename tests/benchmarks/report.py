"""Printing: one aligned table per backend, then the notes (query plans, checks) under it."""

from __future__ import annotations

from tests.benchmarks.measure import Metric

COLUMNS = ("metric", "product", "baseline", "ratio", "target", "verdict")


def _value(v: float, unit: str) -> str:
    if unit == "ms":
        return f"{v:.2f} ms"
    return f"{v:,.0f} {unit}"


def table(metrics: list[Metric]) -> str:
    rows = [COLUMNS] + [
        (m.name, _value(m.product, m.unit), _value(m.baseline, m.unit), f"{m.ratio:.2f}x", m.target, m.verdict) for m in metrics
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    right = {1, 2, 3}
    lines = []
    for n, row in enumerate(rows):
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def section(title: str) -> None:
    print(f"\n{title}\n{'=' * len(title)}", flush=True)


def progress(message: str) -> None:
    print(f"  .. {message}", flush=True)
