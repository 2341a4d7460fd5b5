"""Counting open MCP sessions for /metrics: an SSE connection from its stream's start to its end,
a Streamable HTTP session from its initialize handshake to the end of its connection (client
DELETE, idle timeout, shutdown). Stateless requests (the 2026-07-28 protocol) hold no session."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mcp.server import ServerRequestContext
from mcp.server.context import CallNext, HandlerResult
from prometheus_client import Gauge

from kubehelm_mcp.metrics import Metrics


def _opened(metrics: Metrics, transport: str) -> Gauge:
    """Count a session as opened and active; the caller decrements the returned gauge when it ends."""
    metrics.sessions_opened.labels(transport).inc()
    active = metrics.sessions_active.labels(transport)
    active.inc()
    return active


@contextmanager
def open_session(metrics: Metrics, transport: str) -> Iterator[None]:
    active = _opened(metrics, transport)
    try:
        yield
    finally:
        active.dec()


class HttpSessionCounter:
    """MCP server middleware (Server.middleware): counts each Streamable HTTP session once its
    initialize succeeds, and uncounts it when the SDK closes the session's connection."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._counted: weakref.WeakSet[Any] = weakref.WeakSet()

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.method == "initialize":
            # Same per-connection object server.py keys session state on. Only stateful Streamable
            # HTTP connections carry a session id (SSE is counted at its endpoint; stdio has none).
            connection: Any = getattr(ctx.session, "_connection", None)
            if connection is not None and connection.session_id is not None and connection not in self._counted:
                self._counted.add(connection)
                connection.exit_stack.callback(_opened(self._metrics, "http").dec)
        return result
