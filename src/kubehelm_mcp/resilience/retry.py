"""Retrying an idempotent read after a transient failure, with exponential backoff and jitter,
within the call's remaining time."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from kubehelm_mcp.errors import ClusterBusy, ClusterUnreachable

T = TypeVar("T")

FIRST_DELAY = 0.2
MAX_DELAY = 2.0
JITTER = 0.2


def is_transient(exc: BaseException) -> bool:
    """Worth another try: the API server did not answer (refused, reset, one request timed
    out) or answered 429/500/502/503/504. A 403, 404 or invalid input will not change."""
    return isinstance(exc, ClusterUnreachable | ClusterBusy)


def backoff(attempt: int, error: BaseException) -> float:
    """The wait after failed attempt `attempt` (1, 2, ...): exponential with jitter, but never sooner
    than the server's Retry-After."""
    delay = min(FIRST_DELAY * 2.0 ** (attempt - 1), MAX_DELAY) + random.uniform(0, JITTER)  # noqa: S311  (jitter)
    if isinstance(error, ClusterBusy) and error.retry_after:
        delay = max(delay, float(error.retry_after))
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
    seconds from now (the call's deadline). The last error is raised as it was.

    A plain loop: it runs on every cluster read, and a retry library's per-call set-up cost more
    (~0.1 ms) than the rest of the step; the first attempt here costs nothing extra."""
    started = time.monotonic()
    attempt = 1
    while True:
        try:
            return await call()
        except Exception as exc:
            if not is_transient(exc) or attempt >= attempts:
                raise
            delay = backoff(attempt, exc)
            if time.monotonic() - started + delay >= budget:
                raise
            on_retry(exc)
            await sleep(delay)
            attempt += 1
