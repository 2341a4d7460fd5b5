"""The first cluster call of a session pays for nothing a later one does not: once a client has
listed the tools, the server imports its Kubernetes client, connects as its own identity and
runs API discovery in the background."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from kubehelm_mcp import create_client, create_server
from kubehelm_mcp.api import server_parts
from kubehelm_mcp.settings import Settings
from tests.support.mcp import call_ok, text_of

pytestmark = pytest.mark.anyio


def _requests(registry: CollectorRegistry) -> float:
    """Kubernetes API requests made so far, whatever their verb and outcome."""
    return sum(
        sample.value
        for metric in registry.collect()
        if metric.name == "kubehelm_mcp_kube_requests"
        for sample in metric.samples
        if sample.name.endswith("_total")
    )


async def test_listing_the_tools_warms_the_first_call(server_settings: Settings) -> None:
    server = create_server(server_settings)
    parts = server_parts(server)
    async with create_client(server) as client:
        assert parts.warming is None  # nothing before the client asks
        await client.list_tools()
        assert parts.warming is not None
        await parts.warming
        warmed = _requests(parts.metrics.registry)
        assert warmed > 1  # discovery: the group list and each group version
        await call_ok(client, "k8s_get_resource", {"kind": "Namespace", "name": "default"})
        assert _requests(parts.metrics.registry) == warmed + 1  # the GET alone
    await parts.close()


async def test_warm_up_failing_leaves_the_error_to_the_first_call(server_settings: Settings) -> None:
    broken = server_settings.replace(kubeconfig="/nonexistent/kubeconfig")
    server = create_server(broken)
    parts = server_parts(server)
    async with create_client(server) as client:
        await client.list_tools()
        assert parts.warming is not None
        await parts.warming  # finishes quietly
        result = await client.call_tool("k8s_get_resource", {"kind": "Namespace", "name": "default"})
        assert result.is_error and "kubeconfig" in text_of(result).lower()
    await parts.close()
