"""GET /sse: a legacy SSE session, within its caller's share of streams, ended once idle.

A legacy SSE stream stays open as long as its client keeps the connection, and holds a
connection all the while: without a limit and an idle timeout a few clients could hold every
connection the server has for ever."""

from __future__ import annotations

import logging
from typing import Any

import anyio
from mcp.server import Server
from mcp.server.sse import SseServerTransport
from starlette.types import Receive, Scope, Send

from kubehelm_mcp.metrics import Metrics
from kubehelm_mcp.settings import HttpLimitSettings
from kubehelm_mcp.telemetry.sessions import open_session
from kubehelm_mcp.web.idle import IdleTimer
from kubehelm_mcp.web.refusal import refusal
from kubehelm_mcp.web.slots import CallerSlots, holder_of

log = logging.getLogger("kubehelm_mcp.http")


def sse_slots(limits: HttpLimitSettings) -> CallerSlots:
    """At most half the connections, so SSE streams alone can never lock other clients out."""
    total = max(min(limits.max_sse_streams, limits.max_connections // 2), 1)
    return CallerSlots("streams", total, limits.max_sse_streams_per_caller, limits.session_idle_timeout)


class SseEndpoint:
    def __init__(
        self, server: Server[Any], transport: SseServerTransport, metrics: Metrics, limits: HttpLimitSettings
    ) -> None:
        self._server = server
        self._transport = transport
        self._metrics = metrics
        self._idle_timeout = limits.session_idle_timeout
        self.slots = sse_slots(limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        holder = holder_of(scope)
        refused = self.slots.refusal(holder)
        if refused is not None:
            await refusal(refused.status, refused.error, refused.description)(scope, receive, send)
            return
        stream = object()
        self.slots.take(holder, stream)
        try:
            async with self._transport.connect_sse(scope, receive, send) as (read, write):
                with open_session(self._metrics, "sse"):
                    await self._serve_until_idle(read, write)
        finally:
            self.slots.give_back(stream)

    async def _serve_until_idle(self, read: Any, write: Any) -> None:
        idle = IdleTimer(self._idle_timeout)
        options = self._server.create_initialization_options()
        async with anyio.create_task_group() as tg:

            async def serve() -> None:
                await self._server.run(idle.reading(read), idle.writing(write), options)
                tg.cancel_scope.cancel()

            tg.start_soon(serve)
            await idle.wait()
            log.info("closing an SSE stream idle for %g s", self._idle_timeout)
            tg.cancel_scope.cancel()
        # Ends the event stream (its writer sees the end of the messages): the client sees it close.
        await write.aclose()
