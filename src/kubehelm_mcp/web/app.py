"""One Starlette app: Streamable HTTP at --path, legacy SSE at /sse, /health, /readyz, /metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from mcp.server import Server
from mcp.server.sse import SseServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from kubehelm_mcp.errors import ToolError
from kubehelm_mcp.kube.target import ClusterTarget
from kubehelm_mcp.metrics import Metrics
from kubehelm_mcp.pipeline.scrub import scrub
from kubehelm_mcp.server import ServerParts
from kubehelm_mcp.telemetry.sessions import HttpSessionCounter, open_session
from kubehelm_mcp.web.auth import METADATA_PATH, AuthMiddleware, authenticator_for, protected_resource_metadata
from kubehelm_mcp.web.drain import Drain
from kubehelm_mcp.web.limits import RequestSizeLimits
from kubehelm_mcp.web.origins import OriginGuard, OriginPolicy, cors_middleware

READINESS_TIMEOUT = 5.0
SSE_PATH = "/sse"
SSE_MESSAGES_PATH = "/messages/"


class _SseEndpoint:
    """GET /sse opens a legacy SSE session and serves the MCP server over it."""

    def __init__(self, server: Server[Any], transport: SseServerTransport, metrics: Metrics) -> None:
        self._server = server
        self._transport = transport
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with self._transport.connect_sse(scope, receive, send) as (read, write):
            with open_session(self._metrics, "sse"):
                await self._server.run(read, write, self._server.create_initialization_options())


def create_app(server: Server[Any], parts: ServerParts, drain: Drain | None = None) -> Starlette:
    """drain: the shutdown state the serving uvicorn sets (a fresh, never-draining one without)."""
    settings = parts.settings
    # Host/Origin checks are OriginGuard's (globs, JSON refusals), so the SDK's own stay off.
    sessions = StreamableHTTPSessionManager(
        app=server, stateless=settings.stateless, max_request_body_size=settings.max_body_bytes
    )
    sse = SseServerTransport(SSE_MESSAGES_PATH, max_request_body_size=settings.max_body_bytes)
    server.middleware.append(HttpSessionCounter(parts.metrics))  # Streamable HTTP sessions for /metrics

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        target = ClusterTarget(kubeconfig=settings.kubeconfig, context=settings.context, in_cluster=settings.in_cluster)
        try:
            with anyio.fail_after(READINESS_TIMEOUT):
                cluster = await parts.clients.get(target)
                version = await cluster.api.request("GET", "/version", what="The API server version")
        except (ToolError, TimeoutError) as exc:
            reason = str(exc) if isinstance(exc, ToolError) else "the API server did not answer in time"
            return JSONResponse({"status": "unavailable", "reason": scrub(reason)}, status_code=503)
        return JSONResponse({"status": "ready", "kubernetes": version.get("gitVersion")})

    async def metrics(_: Request) -> Response:
        return Response(parts.metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with sessions.run():
            try:
                yield
            finally:
                await parts.close()

    authenticator = authenticator_for(settings)
    origins = OriginPolicy.from_settings(settings)

    def protect(app: ASGIApp) -> ASGIApp:
        """Only the MCP routes check Host/Origin and need a token; health, readiness and metrics stay
        open for probes (which send the pod IP as Host)."""
        audit = parts.pipeline.audit
        authenticated = app if authenticator is None else AuthMiddleware(app, authenticator, parts.metrics, audit)
        return OriginGuard(authenticated, origins)

    routes: list[Route | Mount] = [
        Route(settings.path, endpoint=protect(StreamableHTTPASGIApp(sessions))),
        Route(SSE_PATH, endpoint=protect(_SseEndpoint(server, sse, parts.metrics)), methods=["GET"]),
        Mount(SSE_MESSAGES_PATH, app=protect(sse.handle_post_message)),
        Route("/health", health, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    if authenticator is not None:
        routes.append(Route(METADATA_PATH, protected_resource_metadata(settings), methods=["GET"]))
    # Outermost first: CORS headers go on every answer, refusals included; a draining server
    # refuses before reading any body.
    middleware = [m for m in (cors_middleware(settings),) if m is not None]
    middleware += [
        Middleware((drain or Drain()).guard),
        Middleware(RequestSizeLimits, max_head_bytes=settings.max_header_bytes, max_body_bytes=settings.max_body_bytes),
    ]
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
