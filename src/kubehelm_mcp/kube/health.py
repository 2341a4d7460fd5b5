"""Cluster health: the apiserver's verbose readyz/livez checks, node conditions, the version."""

from __future__ import annotations

from typing import Any

import anyio
from pydantic import BaseModel

from kubehelm_mcp.concurrency import gather
from kubehelm_mcp.errors import ClusterBusy, ClusterUnreachable, ToolError
from kubehelm_mcp.kube.api import KubeApi

# Conditions that are bad when True (Ready is bad when not True).
PRESSURE_CONDITIONS = ("MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable")


class Probe(BaseModel):
    endpoint: str
    ok: bool
    checks: int = 0
    failed: list[str] = []
    error: str | None = None


class NodeHealth(BaseModel):
    name: str
    ready: bool
    problems: list[str] = []
    kubelet_version: str | None = None


def parse_checks(text: str) -> tuple[int, list[str]]:
    """Count the `[+]name ok` / `[-]name failed: ...` lines; name the failed ones."""
    checks = [line for line in text.splitlines() if line.startswith(("[+]", "[-]"))]
    failed = [line[3:].split(" ", 1)[0] for line in checks if line.startswith("[-]")]
    return len(checks), failed


async def probe(api: KubeApi, endpoint: str) -> Probe:
    try:
        status, text = await api.request_raw(endpoint, query=[("verbose", "true")], what=f"The {endpoint} endpoint")
    except ToolError as exc:
        return Probe(endpoint=endpoint, ok=False, error=str(exc))
    checks, failed = parse_checks(text)
    return Probe(endpoint=endpoint, ok=status == 200 and not failed, checks=checks, failed=failed)


READY_TIMEOUT = 3.0  # seconds: a ready API server answers /readyz in milliseconds
# Answered, just not to this identity: the server is up, and the call will say what is wrong.
_ANSWERED = frozenset({200, 401, 403})


async def check_ready(api: KubeApi, timeout: float = READY_TIMEOUT) -> None:
    """Raise what a call would meet if the API server cannot serve now: unreachable, too slow, or
    not ready (/readyz fails while etcd is down, for one). Asked twice when the first attempt
    finds the connection gone: a pooled keep-alive connection outlives a restarted server."""
    for attempt in (1, 2):
        try:
            with anyio.fail_after(timeout):
                status, text = await api.request_raw("/readyz", what="The API server's /readyz")
            break
        except TimeoutError:
            raise ClusterUnreachable(f"The API server at {api.server} did not answer within {timeout:g} s.") from None
        except ClusterUnreachable:
            if attempt == 2:
                raise
    if status not in _ANSWERED:
        failed = parse_checks(text)[1]
        reason = f"failing checks: {', '.join(failed)}" if failed else f"HTTP {status}"
        raise ClusterBusy(f"The API server at {api.server} is not ready ({reason}).", status=status)


def node_health(node: dict[str, Any]) -> NodeHealth:
    conditions = {c.get("type"): c for c in node.get("status", {}).get("conditions") or []}
    ready = conditions.get("Ready", {}).get("status") == "True"
    problems = [] if ready else [f"NotReady: {conditions.get('Ready', {}).get('message') or 'no Ready condition'}"]
    problems += [name for name in PRESSURE_CONDITIONS if conditions.get(name, {}).get("status") == "True"]
    if node.get("spec", {}).get("unschedulable"):
        problems.append("SchedulingDisabled")
    return NodeHealth(
        name=node["metadata"]["name"],
        ready=ready,
        problems=problems,
        kubelet_version=node.get("status", {}).get("nodeInfo", {}).get("kubeletVersion"),
    )


async def _nodes(api: KubeApi) -> list[NodeHealth] | str:
    try:
        listing = await api.request("GET", "/api/v1/nodes", what="The node list")
    except ToolError as exc:
        return str(exc)
    return [node_health(n) for n in listing.get("items", [])]


async def _version(api: KubeApi) -> str | None:
    try:
        version = await api.request("GET", "/version", what="The API server version")
    except ToolError:
        return None
    return str(version.get("gitVersion")) if version.get("gitVersion") else None


async def cluster_health(api: KubeApi) -> tuple[str | None, list[Probe], list[NodeHealth] | str]:
    """Each part is gathered on its own: a refused node list must not hide the probes."""
    version, readyz, livez, nodes = await gather(
        _version(api), probe(api, "/readyz"), probe(api, "/livez"), _nodes(api)
    )
    return version, [readyz, livez], nodes
