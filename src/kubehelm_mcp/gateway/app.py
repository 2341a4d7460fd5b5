"""The gateway's Starlette app, from the web app's own parts: bearer auth, Host/Origin checks,
request size limits, drain, capped Streamable HTTP sessions and idle-bounded SSE streams.

Routes (mcp-proxy's layout, plus the combined endpoint):
  /servers/{name}/mcp, /servers/{name}/sse   one server, under its own tool names
  /mcp, /sse                                 the `default` server, when configured
  /combined/mcp, /combined/sse               every server's tools, under combined names
  /health, /readyz, /status, /metrics        open for probes and scrapers
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from anyio.abc import TaskGroup, TaskStatus
from mcp.server import Server
from mcp.server.sse import SseServerTransport
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from kubehelm_mcp.audit import AuditLog
from kubehelm_mcp.caller import PRINCIPAL_SCOPE_KEY
from kubehelm_mcp.gateway.front import Relay, SessionRegistry, access_refusal, combined_endpoint, server_endpoint
from kubehelm_mcp.gateway.metrics import GatewayMetrics
from kubehelm_mcp.gateway.runtime import Gateway
from kubehelm_mcp.metrics import Metrics
from kubehelm_mcp.pipeline.inflight import InFlight
from kubehelm_mcp.settings import Settings
from kubehelm_mcp.telemetry.sessions import HttpSessionCounter
from kubehelm_mcp.web.auth import AuthMiddleware, authenticator_for
from kubehelm_mcp.web.drain import Drain
from kubehelm_mcp.web.limits import RequestSizeLimits
from kubehelm_mcp.web.origins import OriginGuard, OriginPolicy, cors_middleware
from kubehelm_mcp.web.refusal import refusal
from kubehelm_mcp.web.sessions import CappedSessionManager, SessionGate
from kubehelm_mcp.web.sse import SseEndpoint

COMBINED = "combined"


class Endpoint:
    """One MCP endpoint: Streamable HTTP at {prefix}/mcp, legacy SSE at {prefix}/sse."""

    def __init__(
        self, front: Server[Any], registry: SessionRegistry, prefix: str, settings: Settings, metrics: Metrics
    ):
        self.registry = registry
        self.manager = CappedSessionManager(front, settings.http, settings.http_limits)
        self.gate = SessionGate(self.manager)
        self.sse = SseServerTransport(f"{prefix}/messages/", max_request_body_size=settings.http_limits.max_body_bytes)
        self.sse_endpoint = SseEndpoint(front, self.sse, metrics, settings.http_limits)
        front.middleware.append(HttpSessionCounter(metrics))

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        async with self.manager.run():
            task_status.started()
            await anyio.sleep_forever()

    async def serve(self, rest: str, scope: Scope, receive: Receive, send: Send) -> None:
        if rest == "/mcp":
            await self.gate(scope, receive, send)
        elif rest == "/sse" and scope["method"] == "GET":
            await self.sse_endpoint(scope, receive, send)
        elif rest.startswith("/messages") and scope["method"] == "POST":
            await self.sse.handle_post_message(scope, receive, send)
        else:
            await _not_found(scope, receive, send)


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    await refusal(404, "not_found", "No MCP endpoint here; see /status for the servers.")(scope, receive, send)


class Endpoints:
    """The endpoints, made on first use: a server added by a reload gets one without a restart."""

    def __init__(self, gateway: Gateway, relay: Relay, settings: Settings, metrics: Metrics) -> None:
        self._gateway = gateway
        self._relay = relay
        self._settings = settings
        self._metrics = metrics
        self._made: dict[str, Endpoint] = {}
        self._lock = anyio.Lock()
        self.tg: TaskGroup | None = None
        gateway.listeners.append(self._changed)

    async def _changed(self, server: str, what: str) -> None:
        for name in (server, COMBINED):
            endpoint = self._made.get(name)
            if endpoint is not None:
                await endpoint.registry.changed(what)

    async def get(self, name: str) -> Endpoint | None:
        if name == COMBINED and not self._gateway.config.combined:
            return None
        if name != COMBINED and name not in self._gateway.pools:
            return None
        endpoint = self._made.get(name)
        if endpoint is not None:
            return endpoint
        async with self._lock:
            if name not in self._made:
                registry = SessionRegistry()
                pools = lambda: self._gateway.pools  # noqa: E731 (read at each request: reloads replace pools)
                if name == COMBINED:
                    front = combined_endpoint(self._relay, pools, registry)
                    registry.on_session_end.append(self._end_session_everywhere)
                else:
                    front = server_endpoint(name, self._relay, registry)
                    registry.on_session_end.append(self._session_ender(name))
                prefix = f"/{COMBINED}" if name == COMBINED else f"/servers/{name}"
                endpoint = Endpoint(front, registry, prefix, self._settings, self._metrics)
                assert self.tg is not None
                await self.tg.start(endpoint.run)
                self._made[name] = endpoint
        return self._made[name]

    def _session_ender(self, server: str) -> Callable[[str], None]:
        def end(key: str) -> None:
            pool = self._gateway.pools.get(server)
            if pool is not None:
                pool.discard(f"session:{key}")

        return end

    def _end_session_everywhere(self, key: str) -> None:
        for pool in self._gateway.pools.values():
            pool.discard(f"session:{key}")


class Router:
    """Finds the endpoint from the path, at request time (the servers change with reloads)."""

    def __init__(self, endpoints: Endpoints, gateway: Gateway) -> None:
        self._endpoints = endpoints
        self._gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        name: str | None
        if path.startswith("/servers/"):
            name, _, rest = path[len("/servers/") :].partition("/")
            rest = "/" + rest
        elif path.startswith(f"/{COMBINED}/"):
            name, rest = COMBINED, path[len(COMBINED) + 1 :]
        else:
            name, rest = self._gateway.config.default, path
        endpoint = await self._endpoints.get(name) if name else None
        if endpoint is None:
            await _not_found(scope, receive, send)
            return
        pool = self._gateway.pools.get(name or "")
        principal = scope.get(PRINCIPAL_SCOPE_KEY)
        refused = access_refusal(pool.config, principal) if pool is not None else None
        if refused is not None:  # a server's own scopes or roles: refused before its session opens
            await refusal(403, "insufficient_scope", refused)(scope, receive, send)
            return
        await endpoint.serve(rest, scope, receive, send)


def create_gateway_app(
    gateway: Gateway, settings: Settings, metrics: Metrics, drain: Drain, calls: InFlight
) -> Starlette:
    audit = AuditLog.open(settings)
    relay = Relay(lambda: gateway.pools, GatewayMetrics(metrics, lambda: gateway.pools), audit, calls)
    endpoints = Endpoints(gateway, relay, settings, metrics)
    authenticator = authenticator_for(settings.auth, settings.identity)
    mcp_app: ASGIApp = Router(endpoints, gateway)
    if authenticator is not None:  # refused before any child is spawned or touched
        mcp_app = AuthMiddleware(mcp_app, authenticator, metrics, audit)
    mcp_app = OriginGuard(mcp_app, OriginPolicy.from_settings(settings.http))

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        ready, waiting = gateway.ready()
        if ready:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "unavailable", "waiting_for": waiting}, status_code=503)

    async def status(_: Request) -> Response:
        return JSONResponse(gateway.status())

    async def scrape(_: Request) -> Response:
        return Response(metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with gateway.running(), anyio.create_task_group() as tg:
            endpoints.tg = tg
            try:
                yield
            finally:
                tg.cancel_scope.cancel()
                audit.close()

    routes: list[Route | Mount] = [
        Route("/health", health, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/status", status, methods=["GET"]),
        Route("/metrics", scrape, methods=["GET"]),
        Mount("/", app=mcp_app),
    ]
    middleware = [m for m in (cors_middleware(settings.http),) if m is not None]
    middleware += [
        Middleware(drain.guard),
        Middleware(
            RequestSizeLimits,
            max_head_bytes=settings.http_limits.max_header_bytes,
            max_body_bytes=settings.http_limits.max_body_bytes,
        ),
    ]
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
