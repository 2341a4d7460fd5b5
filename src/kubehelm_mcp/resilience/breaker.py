"""A circuit breaker per cluster: after repeated transient failures, calls fail fast for a while,
then one probe call finds out whether the cluster is back."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

Clock = Callable[[], float]

MAX_BREAKERS = 1024  # per-call API server URLs could otherwise grow the table without bound


class BreakerState(IntEnum):
    """The values are the metric's: 0 closed, 1 half-open, 2 open."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


@dataclass(frozen=True)
class Permit:
    """Leave to make one call; the probe's outcome decides whether the breaker closes."""

    probe: bool


class BreakerOpen(Exception):
    """Raised by admit(): the caller turns it into a ToolError that names the cluster."""

    def __init__(self, retry_in: float, probing: bool) -> None:
        super().__init__(f"open; retry in {retry_in:.1f} s")
        self.retry_in = retry_in
        self.probing = probing  # half-open, with the one probe call still running


class CircuitBreaker:
    """closed -> open after `failures` consecutive transient failures -> half-open after
    `reset_seconds` -> one probe call: success closes, failure opens again."""

    def __init__(self, failures: int, reset_seconds: float, clock: Clock = time.monotonic) -> None:
        self._threshold = failures
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False
        self.last_error: str | None = None

    @property
    def state(self) -> BreakerState:
        # Open turns half-open by the clock alone, so the metric shows it before any call probes.
        if self._state is BreakerState.OPEN and self._clock() >= self._opened_at + self.reset_seconds:
            return BreakerState.HALF_OPEN
        return self._state

    @property
    def idle(self) -> bool:
        return self._state is BreakerState.CLOSED and self._failures == 0

    def admit(self) -> Permit:
        state = self.state
        if state is BreakerState.CLOSED:
            return Permit(probe=False)
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._state, self._probing = BreakerState.HALF_OPEN, True
            return Permit(probe=True)
        retry_in = max(self._opened_at + self.reset_seconds - self._clock(), 0.0)
        raise BreakerOpen(retry_in, probing=self._probing)

    def succeeded(self, permit: Permit) -> None:
        """The cluster answered (a 404 or 403 counts: the server is up)."""
        # A call admitted before the breaker opened says nothing about now; only the probe does.
        if permit.probe or self._state is BreakerState.CLOSED:
            self._state, self._failures, self._probing = BreakerState.CLOSED, 0, False

    def failed(self, permit: Permit, error: str) -> None:
        """A transient failure: unreachable, HTTP 429/5xx, or the call ran out of time."""
        self.last_error = error
        if permit.probe:
            self._open()
        elif self._state is BreakerState.CLOSED:
            self._failures += 1
            if self._failures >= self._threshold:
                self._open()

    def abandoned(self, permit: Permit) -> None:
        """The call ended without a verdict (cancelled by the client, a bug): let another probe."""
        if permit.probe:
            self._probing = False

    def _open(self) -> None:
        self._state, self._opened_at, self._failures, self._probing = BreakerState.OPEN, self._clock(), 0, False


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
