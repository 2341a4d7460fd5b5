"""The resilience step of the call pipeline: rate limit, read cache, bulkhead, circuit breaker
and retries, around one tool handler."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import anyio

from kubehelm_mcp.caller import Caller
from kubehelm_mcp.context import CallContext
from kubehelm_mcp.errors import CircuitOpen, ServerBusy, ToolError
from kubehelm_mcp.metrics import Metrics
from kubehelm_mcp.resilience.admission import admit
from kubehelm_mcp.resilience.breaker import Breakers, Clock
from kubehelm_mcp.resilience.cache import ReadCache, cache_key
from kubehelm_mcp.resilience.limits import Bulkhead, RateLimiter
from kubehelm_mcp.resilience.retry import is_transient, retry_call
from kubehelm_mcp.settings import ResilienceSettings
from kubehelm_mcp.tooling import AnyTool, ToolInput, ToolResult, touches_cluster

log = logging.getLogger("kubehelm_mcp.resilience")

BUSY_MARGIN = 0.05  # seconds: a call that found no slot says "busy" just before its own timeout


def retryable(tool: AnyTool) -> bool:
    """Idempotent reads of a cluster: the failures retry knows as transient are the API server's."""
    return tool.annotations.read_only and tool.annotations.idempotent and touches_cluster(tool)


def cacheable(tool: AnyTool) -> bool:
    """The same reads: local ones (a chart directory, the kubeconfig) can change behind our back."""
    return retryable(tool)


def rate_key(caller: Caller) -> str:
    """Each caller's bucket: the principal, else the client's host (not its port)."""
    return caller.limit_key


class Resilience:
    def __init__(
        self,
        settings: ResilienceSettings,
        metrics: Metrics,
        clock: Clock = time.monotonic,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.breakers = Breakers(settings.breaker_failures, settings.breaker_reset_seconds, clock)
        self.rate = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst, clock)
        self.bulkhead = Bulkhead(settings.max_concurrent_calls)
        self.cache: ReadCache[ToolResult] = ReadCache(settings.read_cache_ttl, clock=clock)
        self._on_change = on_change  # other kept reads to drop with the cache (kube/watched.py)
        metrics.breaker_states.source = self.breakers.states

    async def run(self, tool: AnyTool, args: ToolInput, ctx: CallContext) -> ToolResult:
        """The handler's result, through every limit; to be called inside the call's deadline."""
        try:
            self.rate.check(rate_key(ctx.caller))
        except ToolError:
            self.metrics.refused.labels("rate_limit").inc()
            raise
        if not tool.read_only:
            self._changing()
        try:
            return await self._cached(tool, args, ctx)
        finally:
            if not tool.read_only:  # again: reads that overlapped the change must not keep what they saw
                self._changing()

    def _changing(self) -> None:
        self.cache.clear()
        if self._on_change is not None:
            self._on_change()

    async def _cached(self, tool: AnyTool, args: ToolInput, ctx: CallContext) -> ToolResult:
        key = None
        if self.cache.enabled and cacheable(tool):
            key = cache_key(tool.name, args.model_dump(mode="json"), ctx.target.pool_key, ctx.caller.key)
            hit = self.cache.get(key)
            self.metrics.read_cache.labels("hit" if hit is not None else "miss").inc()
            if hit is not None:
                return hit.model_copy(deep=True)  # shaping may trim what it is given
        generation = self.cache.generation
        try:
            async with self.bulkhead.slot(anyio.current_effective_deadline() - BUSY_MARGIN):
                result: ToolResult = await self._guarded(tool, args, ctx)
        except ServerBusy:
            self.metrics.refused.labels("bulkhead").inc()
            raise
        if key is not None:
            self.cache.put(key, result.model_copy(deep=True), generation)
        return result

    async def _guarded(self, tool: AnyTool, args: ToolInput, ctx: CallContext) -> Any:
        call: Callable[[], Awaitable[Any]] = partial(tool.handler, args, ctx)
        if retryable(tool) and self.settings.retry_attempts > 1:
            call = partial(
                retry_call,
                call,
                attempts=self.settings.retry_attempts,
                budget=anyio.current_effective_deadline() - anyio.current_time(),
                on_retry=partial(self._retrying, tool.name),
            )
        if not touches_cluster(tool):
            return await call()
        cluster = await ctx.cluster()
        breaker = self.breakers.get(cluster.api.server)
        try:
            permit = await admit(cluster, breaker)
        except CircuitOpen:
            self.metrics.refused.labels("circuit_open").inc()
            raise
        deadline = anyio.current_effective_deadline()  # read now: in a cancelled scope it reads -inf
        try:
            result = await call()
        except ToolError as exc:
            if is_transient(exc):
                breaker.failed(permit, exc.message)
            else:  # the server answered: it is up, whatever it said
                breaker.succeeded(permit)
            raise
        except BaseException:
            if anyio.current_time() >= deadline:  # the call's timeout, not the client, cancelled it
                breaker.failed(permit, "the call timed out")
            else:
                breaker.abandoned(permit)
            raise
        breaker.succeeded(permit)
        return result

    def _retrying(self, tool: str, error: BaseException) -> None:
        self.metrics.retries.labels(tool).inc()
        log.info("retrying %s after a transient failure: %s", tool, getattr(error, "message", error))
