"""Graceful shutdown of the HTTP server: refuse new requests, let running tool calls finish
(up to a grace period), and only then close the open SSE streams, since a legacy SSE client's
result travels on its stream."""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from kubehelm_mcp.web.refusal import refusal

POLL_SECONDS = 0.05


class Drain:
    """The shutdown state shared by the app (which refuses requests) and the server (which waits)."""

    def __init__(self) -> None:
        self.draining = False

    def guard(self, app: ASGIApp) -> ASGIApp:
        return _DrainGuard(app, self)


class _DrainGuard:
    """503 for every request that arrives once draining began, on connections kept alive from before."""

    def __init__(self, app: ASGIApp, drain: Drain) -> None:
        self._app = app
        self._drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._drain.draining:
            response = refusal(
                503, "shutting_down", "The server is shutting down; retry on another replica.", close=True
            )
            await response(scope, receive, send)
            return
        await self._app(scope, receive, send)


async def wait_for_calls(running: Callable[[], int], grace: float, abort: Callable[[], bool]) -> int:
    """Wait until no call runs, grace seconds pass or abort() (a second Ctrl-C) says stop;
    returns how many calls still run."""
    deadline = time.monotonic() + grace
    # Polled: the call count and uvicorn's force_exit are plain values, set with no event to wait on.
    while running() and time.monotonic() < deadline and not abort():  # noqa: ASYNC110
        await anyio.sleep(POLL_SECONDS)
    return running()
