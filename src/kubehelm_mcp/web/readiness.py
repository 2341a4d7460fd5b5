"""GET /readyz: what a caller of the default cluster would get now.

Not only whether the API server answers /version (it does while etcd is down, and while this
server's circuit breaker refuses every call): 503 with the reason while the breaker is open, or
while the API server's own /readyz fails; else 200 with the Kubernetes version."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from kubehelm_mcp.errors import ToolError
from kubehelm_mcp.kube.health import check_ready
from kubehelm_mcp.kube.target import ClusterTarget
from kubehelm_mcp.pipeline.scrub import scrub
from kubehelm_mcp.resilience.admission import admit
from kubehelm_mcp.server import ServerParts

READINESS_TIMEOUT = 5.0


def _unavailable(reason: str) -> Response:
    return JSONResponse({"status": "unavailable", "reason": scrub(reason)}, status_code=503)


def readiness_endpoint(parts: ServerParts) -> Callable[[Request], Awaitable[Response]]:
    settings = parts.settings
    target = ClusterTarget(
        kubeconfig=settings.kube.kubeconfig, context=settings.kube.context, in_cluster=settings.kube.in_cluster
    )

    async def readyz(_: Request) -> Response:
        try:
            with anyio.fail_after(READINESS_TIMEOUT):
                cluster = await parts.clients.get(target)
                # While the breaker is open this is its refusal; when a probe is due, this probes:
                # a replica out of its Service's endpoints gets no calls that could probe.
                await admit(cluster, parts.pipeline.resilience.breakers.get(cluster.api.server))
                await check_ready(cluster.api)
                version = await cluster.api.request("GET", "/version", what="The API server version")
        except ToolError as exc:
            return _unavailable(str(exc))
        except TimeoutError:
            return _unavailable("The API server did not answer in time.")
        return JSONResponse({"status": "ready", "kubernetes": version.get("gitVersion")})

    return readyz
