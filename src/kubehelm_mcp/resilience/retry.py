"""Retrying an idempotent read after a transient failure, with exponential backoff and jitter,
within the call's remaining time."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
    wait_random,
)
from tenacity.wait import wait_base

from kubehelm_mcp.errors import ClusterBusy, ClusterUnreachable

T = TypeVar("T")

FIRST_DELAY = 0.2
MAX_DELAY = 2.0
JITTER = 0.2


def is_transient(exc: BaseException) -> bool:
    """Worth another try: the API server did not answer (refused, reset, one request timed
    out) or answered 429/500/502/503/504. A 403, 404 or invalid input will not change."""
    return isinstance(exc, ClusterUnreachable | ClusterBusy)


class _Backoff(wait_base):
    """Exponential with jitter, but never sooner than the server's Retry-After."""

    def __init__(self) -> None:
        self._exponential = wait_exponential(multiplier=FIRST_DELAY, max=MAX_DELAY) + wait_random(0, JITTER)

    def __call__(self, retry_state: RetryCallState) -> float:
        delay = float(self._exponential(retry_state))
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, ClusterBusy) and error.retry_after:
            delay = max(delay, error.retry_after)
        return delay


def _no_report(error: BaseException) -> None:
    return None


async def retry_call(
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int,
    budget: float = math.inf,
    on_retry: Callable[[BaseException], None] = _no_report,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> T:
    """call() up to `attempts` times while it fails transiently; no sleep may end past `budget`
    seconds from now (the call's deadline). The last error is raised as it was."""

    def report(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        if error is not None:
            on_retry(error)

    retrying = AsyncRetrying(
        stop=stop_after_attempt(attempts) | stop_before_delay(budget),
        wait=_Backoff(),
        retry=retry_if_exception(is_transient),
        sleep=sleep,
        before_sleep=report,
        reraise=True,
    )
    return await retrying(call)
