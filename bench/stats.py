"""Percentiles and the ratio table the benchmarks print."""

from __future__ import annotations

import asyncio
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


async def measure(
    name: str, action: Callable[[], Awaitable[object]], runs: int, warmup: int = 5, pause: float = 0.0
) -> Sample:
    """Time runs calls after warmup ones; pause seconds (untimed) between calls, to stay under
    a client-side rate limit that back-to-back calls would run into."""
    for _ in range(warmup):
        await action()
    times = []
    for _ in range(runs):
        await asyncio.sleep(pause)
        started = perf_counter()
        await action()
        times.append(perf_counter() - started)
    return Sample(name, times)


async def measure_steps(
    names: list[str], steps: list[Callable[[int], Awaitable[object]]], runs: int, warmup: int = 2
) -> list[Sample]:
    """Steps that must run in order (install, then uninstall), each timed on its own; run i passes i."""
    times: list[list[float]] = [[] for _ in steps]
    for i in range(warmup + runs):
        for step, kept in zip(steps, times, strict=True):
            started = perf_counter()
            await step(i)
            if i >= warmup:
                kept.append(perf_counter() - started)
    return [Sample(name, kept) for name, kept in zip(names, times, strict=True)]


def size_table(rows: list[tuple[str, int, int]]) -> str:
    """(measurement, our bytes, their bytes) rows with the ratio ours / theirs."""
    width = max(len("measurement"), *(len(name) for name, _, _ in rows))
    lines = [f"{'measurement':{width}} {'ours B':>9} {'theirs B':>9} {'ratio':>6}"]
    for name, mine, other in rows:
        ratio = f"{mine / other:6.2f}" if other else "     -"
        lines.append(f"{name:{width}} {mine:9d} {other:9d} {ratio}")
    return "\n".join(lines)


def table(rows: list[tuple[Sample, Sample | None]]) -> str:
    """Each sample beside its baseline: p50, p95 in milliseconds and the p50 ratio."""
    width = max(len("measurement"), *(len(sample.name) for sample, _ in rows))
    base_width = max(len("baseline"), *(len(base.name) for _, base in rows if base))
    head = f"{'measurement':{width}} {'p50 ms':>8} {'p95 ms':>8}  {'baseline':{base_width}}"
    lines = [f"{head} {'base p50':>8} {'ratio':>6}"]
    for sample, base in rows:
        ratio = f"{sample.p50 / base.p50:6.2f}" if base else "     -"
        base_name = base.name if base else "-"
        base_p50 = f"{base.p50 * 1000:8.2f}" if base else "       -"
        lines.append(
            f"{sample.name:{width}} {sample.p50 * 1000:8.2f} {sample.p95 * 1000:8.2f}  "
            f"{base_name:{base_width}} {base_p50} {ratio}"
        )
    return "\n".join(lines)
