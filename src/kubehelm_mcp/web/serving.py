"""Serving the HTTP app with uvicorn: connection limits, TLS, and a shutdown that drains."""

from __future__ import annotations

import logging
import signal
from types import FrameType
from typing import TYPE_CHECKING, Any

import anyio
import uvicorn
from sse_starlette.sse import AppStatus

from kubehelm_mcp.pipeline.inflight import InFlight
from kubehelm_mcp.settings import Settings
from kubehelm_mcp.web.drain import Drain, wait_for_calls
from kubehelm_mcp.web.origins import WILDCARD_BINDS
from kubehelm_mcp.web.protocol import timed_h11

if TYPE_CHECKING:  # the gateway serves through this module too: it needs none of the tool server's code
    from kubehelm_mcp.server import ServerParts

log = logging.getLogger("kubehelm_mcp")

# Between the last call's end and closing the SSE streams: its result still has to pass from
# the MCP server through the transport's queues to the socket.
RESULT_FLUSH_SECONDS = 0.2
# Cancelled calls unwind (a helm child is killed and reaped) before their error results go out.
UNWIND_SECONDS = 2.0
# What uvicorn then gives streams and connections to close before it cancels their tasks; with
# the default grace the whole shutdown stays under Kubernetes' default 30 s termination grace.
CLOSE_SECONDS = 2


class DrainingServer(uvicorn.Server):
    """On SIGTERM: stop accepting connections, answer 503 to requests on kept-alive ones, wait up
    to the grace for running tool calls, cancel those still running (each then answers an error
    result, delivered like any other), and only then close the SSE streams and stop."""

    def __init__(self, config: uvicorn.Config, drain: Drain, calls: InFlight, grace: float) -> None:
        super().__init__(config)
        self._drain = drain
        self._calls = calls
        self._grace = grace

    async def shutdown(self, sockets: Any = None) -> None:
        self._drain.draining = True
        for listener in self.servers:
            listener.close()
        if self._calls.count:
            log.info("draining %d running tool call(s), for up to %g s", self._calls.count, self._grace)
        running, abort = (lambda: self._calls.count), (lambda: self.force_exit)
        left = await wait_for_calls(running, self._grace, abort)
        if left:
            log.warning("cancelling %d tool call(s) still running after the %g s shutdown grace", left, self._grace)
            self._calls.cancel_all()
            await wait_for_calls(running, UNWIND_SECONDS, abort)
        await anyio.sleep(RESULT_FLUSH_SECONDS)
        AppStatus.should_exit = True  # sse-starlette now ends every open SSE stream
        await super().shutdown(sockets)


def uvicorn_config(app: Any, settings: Settings, **options: Any) -> uvicorn.Config:
    """The limits, timeouts and TLS from the settings; options add to (or override) them."""
    limits: dict[str, Any] = {
        "host": settings.http.host,
        "port": settings.http.port,
        "log_level": settings.telemetry.log_level,
        "lifespan": "on",
        "http": timed_h11(settings.http_limits.read_timeout),
        "h11_max_incomplete_event_size": settings.http_limits.max_header_bytes,
        "timeout_keep_alive": settings.http_limits.keep_alive_timeout,
        "limit_concurrency": settings.http_limits.max_connections,
        "timeout_graceful_shutdown": CLOSE_SECONDS,  # after the drain: see DrainingServer
        "ssl_certfile": settings.http.tls_cert,
        "ssl_keyfile": settings.http.tls_key,
    }
    return uvicorn.Config(app, **{**limits, **options})


def http_server(server: Any, parts: ServerParts, **options: Any) -> DrainingServer:
    """The uvicorn server for the HTTP app; options go to uvicorn.Config (e.g. log_config)."""
    from kubehelm_mcp.web.app import create_app  # here: the gateway imports this module without the tool server

    settings = parts.settings
    drain = Drain()
    config = uvicorn_config(create_app(server, parts, drain), settings, **options)
    if settings.http.host in WILDCARD_BINDS and not settings.http.http_allowed_hosts:
        log.warning(
            "bound to %r: only loopback Host names are accepted; set --http-allowed-hosts to the names clients use",
            settings.http.host,
        )
    return DrainingServer(config, drain, parts.pipeline.calls, settings.http_limits.shutdown_grace)


def _after_uvicorn(signum: int, frame: FrameType | None) -> None:
    """uvicorn re-raises the signal that stopped it once it is done; a drained shutdown is a clean exit."""


async def serve_drained(uvicorn_server: DrainingServer) -> None:
    """Serve until SIGTERM or SIGINT, drain, and return (exit code 0) instead of dying of the signal."""
    # The drain decides when SSE streams close, not sse-starlette's own SIGTERM hook.
    AppStatus.disable_automatic_graceful_drain()  # type: ignore[no-untyped-call]
    previous = signal.signal(signal.SIGTERM, _after_uvicorn)
    try:
        await uvicorn_server.serve()  # installs its own SIGTERM and SIGINT handlers while it runs
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
