"""Admission limits: a token bucket per caller, and a bulkhead on concurrent calls."""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio

from kubehelm_mcp.errors import RateLimited, ServerBusy

Clock = Callable[[], float]

MAX_CALLERS = 10_000  # buckets kept; full ones (idle callers) are dropped first


class TokenBucket:
    """`rate` tokens a second, up to `burst`; a call takes one."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._updated = now

    def _refill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def take(self, now: float) -> float:
        """0 when a token was taken, else the seconds until one will be there."""
        self._refill(now)
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate

    def full(self, now: float) -> bool:
        self._refill(now)
        return self._tokens >= self.burst


class RateLimiter:
    """A token bucket per caller key; off when rate is 0."""

    def __init__(self, rate: float, burst: int, clock: Clock = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def check(self, caller: str) -> None:
        """Take a token for this caller or raise RateLimited saying when to retry."""
        if not self.enabled:
            return
        now = self._clock()
        bucket = self._buckets.get(caller)
        if bucket is None:
            if len(self._buckets) >= MAX_CALLERS:
                self._buckets = {k: b for k, b in self._buckets.items() if not b.full(now)}
            bucket = self._buckets[caller] = TokenBucket(self.rate, self.burst, now)
        wait = bucket.take(now)
        if wait > 0:
            raise RateLimited(
                f"Rate limit reached: each caller may make {self.rate:g} calls a second (bursts of {self.burst}); "
                f"retry in {math.ceil(wait * 10) / 10:g} seconds."
            )


class Bulkhead:
    """At most `slots` calls run at once; the others wait for a slot until their deadline."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._free: anyio.Semaphore | None = None  # made in the event loop that uses it

    @asynccontextmanager
    async def slot(self, deadline: float) -> AsyncIterator[None]:
        """Hold a slot for the block; ServerBusy if none frees up before `deadline` (anyio time)."""
        if self._free is None:
            self._free = anyio.Semaphore(self.slots)
        free = self._free
        started = anyio.current_time()
        try:
            free.acquire_nowait()  # a free slot is taken even when no time is left to wait
        except anyio.WouldBlock:
            with anyio.CancelScope(deadline=deadline) as waiting:
                await free.acquire()
            if waiting.cancelled_caught:
                raise ServerBusy(
                    f"The server is busy: all {self.slots} call slots stayed taken for "
                    f"{max(deadline - started, 0):.0f} seconds; retry in a moment."
                ) from None
        try:
            yield
        finally:
            free.release()
