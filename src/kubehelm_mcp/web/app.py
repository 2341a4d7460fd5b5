"""One Starlette app: Streamable HTTP at --path, legacy SSE at /sse, /health, /readyz, /metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server import Server
from mcp.server.sse import SseServerTransport
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from kubehelm_mcp.server import ServerParts
from kubehelm_mcp.telemetry.sessions import HttpSessionCounter
from kubehelm_mcp.web.auth import METADATA_PATH, AuthMiddleware, authenticator_for, protected_resource_metadata
from kubehelm_mcp.web.drain import Drain
from kubehelm_mcp.web.limits import RequestSizeLimits
from kubehelm_mcp.web.origins import OriginGuard, OriginPolicy, cors_middleware
from kubehelm_mcp.web.readiness import readiness_endpoint
from kubehelm_mcp.web.sessions import CappedSessionManager, SessionGate
from kubehelm_mcp.web.sse import SseEndpoint

SSE_PATH = "/sse"
SSE_MESSAGES_PATH = "/messages/"


def create_app(server: Server[Any], parts: ServerParts, drain: Drain | None = None) -> Starlette:
    """drain: the shutdown state the serving uvicorn sets (a fresh, never-draining one without)."""
    settings = parts.settings
    # Host/Origin checks are OriginGuard's (globs, JSON refusals), so the SDK's own stay off.
    sessions = CappedSessionManager(server, settings.http, settings.http_limits)
    sse = SseServerTransport(SSE_MESSAGES_PATH, max_request_body_size=settings.http_limits.max_body_bytes)
    server.middleware.append(HttpSessionCounter(parts.metrics))  # Streamable HTTP sessions for /metrics

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def metrics(_: Request) -> Response:
        return Response(parts.metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with sessions.run():
            try:
                yield
            finally:
                await parts.close()

    capi = settings.clusters.cluster_provider == "capi"  # a Cluster may ask for sso-passthrough or token-exchange
    authenticator = authenticator_for(settings.auth, settings.identity, per_cluster_identity=capi)
    origins = OriginPolicy.from_settings(settings.http)

    def protect(app: ASGIApp) -> ASGIApp:
        """Only the MCP routes check Host/Origin and need a token; health, readiness and metrics stay
        open for probes (which send the pod IP as Host)."""
        audit = parts.pipeline.audit
        authenticated = app if authenticator is None else AuthMiddleware(app, authenticator, parts.metrics, audit)
        return OriginGuard(authenticated, origins)

    sse_endpoint = SseEndpoint(server, sse, parts.metrics, settings.http_limits)
    routes: list[Route | Mount] = [
        Route(settings.http.path, endpoint=protect(SessionGate(sessions))),
        Route(SSE_PATH, endpoint=protect(sse_endpoint), methods=["GET"]),
        Mount(SSE_MESSAGES_PATH, app=protect(sse.handle_post_message)),
        Route("/health", health, methods=["GET"]),
        Route("/readyz", readiness_endpoint(parts), methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    if authenticator is not None:
        routes.append(Route(METADATA_PATH, protected_resource_metadata(settings.http, settings.auth), methods=["GET"]))
    # Outermost first: CORS headers go on every answer, refusals included; a draining server
    # refuses before reading any body.
    middleware = [m for m in (cors_middleware(settings.http),) if m is not None]
    middleware += [
        Middleware((drain or Drain()).guard),
        Middleware(
            RequestSizeLimits,
            max_head_bytes=settings.http_limits.max_header_bytes,
            max_body_bytes=settings.http_limits.max_body_bytes,
        ),
    ]
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
