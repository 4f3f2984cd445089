"""Timing and results: interleaved runs (so drift and noisy neighbours hit product and baseline
alike), percentiles, and the Metric rows of the report with their targets."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Step = Callable[[int], Awaitable[object]]


async def interleave(variants: dict[str, Step], steps: int, warmup: int = 0) -> dict[str, list[float]]:
    """Run step i of every variant in turn for i in range(steps); seconds taken by each step.

    `warmup` extra untimed steps per variant come first (negative step numbers) to fill statement
    caches and connection pools."""
    for i in range(-warmup, 0):
        for run in variants.values():
            await run(i)
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for i in range(steps):
        for name, run in variants.items():
            start = time.perf_counter()
            await run(i)
            samples[name].append(time.perf_counter() - start)
    return samples


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Metric:
    """One report row. `ratio` is always product cost / baseline cost (2.0x = twice as expensive)."""

    name: str
    product: float
    baseline: float
    unit: str
    ratio: float
    target: str = "-"
    meets: bool | None = None  # None: reported for information, no target

    @property
    def verdict(self) -> str:
        return "info" if self.meets is None else "meets" if self.meets else "MISSES"


def rate(name: str, unit: str, ops: int, product_s: float, baseline_s: float, max_ratio: float | None = None) -> Metric:
    """A throughput row (ops per second); the ratio compares cost per op."""
    ratio = product_s / baseline_s
    return Metric(
        name, ops / product_s, ops / baseline_s, unit, ratio,
        target=f"<= {max_ratio:g}x" if max_ratio else "-",
        meets=None if max_ratio is None else ratio <= max_ratio,
    )  # fmt: skip


def latency(name: str, product_ms: float, baseline_ms: float, max_ms: float | None = None) -> Metric:
    return Metric(
        name, product_ms, baseline_ms, "ms", product_ms / baseline_ms,
        target=f"< {max_ms:g} ms" if max_ms else "-",
        meets=None if max_ms is None else product_ms < max_ms,
    )  # fmt: skip


@dataclass
class Section:
    """What one benchmark reports: its table rows and any notes (query plans, findings)."""

    metrics: list[Metric] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def extend(self, other: Section) -> None:
        self.metrics += other.metrics
        self.notes += other.notes
