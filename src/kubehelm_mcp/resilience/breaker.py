"""A circuit breaker per cluster: after repeated transient failures, calls fail fast for a while,
then one probe finds out whether the cluster is back.

Outcomes only count while they are news: a failure of a call admitted before the last success
or the last change of state (a call that hung through an outage and timed out after the cluster
came back) trips nothing. The breaker is probed soon after it opens (FIRST_INTERVAL), then ever
less often up to reset_seconds while probes keep failing, so it closes within seconds of the
cluster's return instead of one whole reset period later."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

Clock = Callable[[], float]

MAX_BREAKERS = 1024  # per-call API server URLs could otherwise grow the table without bound
FIRST_INTERVAL = 1.0  # seconds an opened breaker waits before its first probe; doubled per failed probe


class BreakerState(IntEnum):
    """The values are the metric's: 0 closed, 1 half-open, 2 open."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


@dataclass(frozen=True)
class Permit:
    """Leave to make one call; the probe's outcome decides whether the breaker closes."""

    probe: bool
    admitted: float  # clock time: tells news from outcomes the breaker has already outlived


class BreakerOpen(Exception):
    """Raised by admit(): the caller turns it into a ToolError that names the cluster."""

    def __init__(self, retry_in: float, probing: bool) -> None:
        super().__init__(f"open; retry in {retry_in:.1f} s")
        self.retry_in = retry_in
        self.probing = probing  # half-open, with the one probe still running


class CircuitBreaker:
    """closed -> open after `failures` consecutive transient failures -> half-open after the
    open interval (FIRST_INTERVAL, doubling per failed probe up to `reset_seconds`) -> one probe:
    success closes, failure opens again. Any success closes: the cluster answered."""

    def __init__(self, failures: int, reset_seconds: float, clock: Clock = time.monotonic) -> None:
        self._threshold = failures
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self.interval = min(FIRST_INTERVAL, reset_seconds)  # of the current (or next) open period
        self._probing = False
        self._news_after = -math.inf  # outcomes of calls admitted before this are stale
        self.last_error: str | None = None

    @property
    def state(self) -> BreakerState:
        # Open turns half-open by the clock alone, so the metric shows it before any call probes.
        if self._state is BreakerState.OPEN and self._clock() >= self._opened_at + self.interval:
            return BreakerState.HALF_OPEN
        return self._state

    @property
    def idle(self) -> bool:
        return self._state is BreakerState.CLOSED and self._failures == 0

    def admit(self) -> Permit:
        state, now = self.state, self._clock()
        if state is BreakerState.CLOSED:
            return Permit(probe=False, admitted=now)
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._state, self._probing = BreakerState.HALF_OPEN, True
            return Permit(probe=True, admitted=now)
        retry_in = max(self._opened_at + self.interval - now, 0.0)
        raise BreakerOpen(retry_in, probing=self._probing)

    def succeeded(self, permit: Permit) -> None:
        """The cluster answered (a 404 or 403 counts: the server is up)."""
        if self._state is not BreakerState.CLOSED:
            self.interval = min(FIRST_INTERVAL, self.reset_seconds)
        self._state, self._failures, self._probing = BreakerState.CLOSED, 0, False
        self._news_after = self._clock()

    def failed(self, permit: Permit, error: str) -> None:
        """A transient failure: unreachable, HTTP 429/5xx, or the call ran out of time."""
        self.last_error = error
        if permit.probe:
            self.interval = min(self.interval * 2, self.reset_seconds)
            self._open()
        elif self._state is BreakerState.CLOSED and permit.admitted >= self._news_after:
            self._failures += 1
            if self._failures >= self._threshold:
                self.interval = min(FIRST_INTERVAL, self.reset_seconds)
                self._open()

    def abandoned(self, permit: Permit) -> None:
        """The call ended without a verdict (cancelled by the client, a bug): let another probe."""
        if permit.probe:
            self._probing = False

    def _open(self) -> None:
        self._state, self._opened_at, self._failures, self._probing = BreakerState.OPEN, self._clock(), 0, False
        self._news_after = self._opened_at


class Breakers:
    """One breaker per cluster key (the API server URL)."""

    def __init__(self, failures: int, reset_seconds: float, clock: Clock = time.monotonic) -> None:
        self._failures = failures
        self._reset_seconds = reset_seconds
        self._clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}

    def get(self, key: str) -> CircuitBreaker:
        breaker = self._breakers.get(key)
        if breaker is None:
            if len(self._breakers) >= MAX_BREAKERS:  # forget clusters with nothing to remember
                self._breakers = {k: b for k, b in self._breakers.items() if not b.idle}
            breaker = self._breakers[key] = CircuitBreaker(self._failures, self._reset_seconds, self._clock)
        return breaker

    def states(self) -> dict[str, int]:
        return {key: int(breaker.state) for key, breaker in self._breakers.items()}
