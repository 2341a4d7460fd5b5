"""Leave for one call to a cluster behind its circuit breaker.

When an open breaker is due for a probe, the probe is the API server's /readyz with a short
timeout, not the call (which could wait its whole timeout on a hung server): ready closes the
breaker and the call goes ahead; not ready is the call's answer."""

from __future__ import annotations

import logging
import time

from kubehelm_mcp.errors import CircuitOpen, ToolError
from kubehelm_mcp.kube.clients import KubeCluster
from kubehelm_mcp.kube.health import check_ready
from kubehelm_mcp.resilience.breaker import BreakerOpen, CircuitBreaker, Permit

log = logging.getLogger("kubehelm_mcp.resilience")


async def admit(cluster: KubeCluster, breaker: CircuitBreaker) -> Permit:
    """A permit for one call; CircuitOpen while the breaker refuses, or the probe's error."""
    try:
        permit = breaker.admit()
    except BreakerOpen as refused:
        raise circuit_open(cluster, breaker, refused) from None
    if not permit.probe:
        return permit
    try:
        await check_ready(cluster.api)
    except ToolError as exc:
        breaker.failed(permit, exc.message)
        raise
    except BaseException:
        breaker.abandoned(permit)
        raise
    breaker.succeeded(permit)
    log.info("the Kubernetes API server at %s answers again: its circuit breaker is closed", cluster.api.server)
    return breaker.admit()


def circuit_open(cluster: KubeCluster, breaker: CircuitBreaker, refused: BreakerOpen) -> CircuitOpen:
    server = f"for context '{cluster.context}'" if cluster.context else f"at {cluster.api.server}"
    if refused.probing:
        when = "a probe is checking it now"
    else:
        until = time.strftime("%H:%M:%S UTC", time.gmtime(time.time() + refused.retry_in))
        when = f"calls fail fast until {until}, when it is checked again"
    last = f"Last error: {breaker.last_error[:200]}" if breaker.last_error else None
    return CircuitOpen(f"The Kubernetes API server {server} is unreachable; {when}.", hint=last)
