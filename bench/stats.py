"""Percentiles and the ratio table the benchmarks print."""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from time import perf_counter


@dataclass(frozen=True)
class Sample:
    name: str
    seconds: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.seconds)

    @property
    def p95(self) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def measure(name: str, action: Callable[[], Awaitable[object]], runs: int, warmup: int = 5) -> Sample:
    for _ in range(warmup):
        await action()
    times = []
    for _ in range(runs):
        started = perf_counter()
        await action()
        times.append(perf_counter() - started)
    return Sample(name, times)


def table(rows: list[tuple[Sample, Sample | None]]) -> str:
    """Each sample beside its baseline: p50, p95 in milliseconds and the p50 ratio."""
    lines = [f"{'measurement':44} {'p50 ms':>8} {'p95 ms':>8}  {'baseline':30} {'base p50':>8} {'ratio':>6}"]
    for sample, base in rows:
        ratio = f"{sample.p50 / base.p50:6.2f}" if base else "     -"
        base_name = base.name if base else "-"
        base_p50 = f"{base.p50 * 1000:8.2f}" if base else "       -"
        lines.append(
            f"{sample.name:44} {sample.p50 * 1000:8.2f} {sample.p95 * 1000:8.2f}  {base_name:30} {base_p50} {ratio}"
        )
    return "\n".join(lines)
