"""The server as a user runs it: a process on stdio, Streamable HTTP and SSE, with health,
readiness, metrics, read-only mode and graceful shutdown."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client

from kubehelm_mcp.settings import Settings
from tests.conftest import HttpServer, server_env, start_http_server, stop_http_server
from tests.support.http import get
from tests.support.mcp import call_error, call_ok

pytestmark = pytest.mark.anyio

ALL_TOOLS = {
    "k8s_list_contexts",
    "k8s_get_current_context",
    "k8s_list_resources",
    "k8s_get_resource",
    "k8s_get_api_resources",
    "helm_version",
    "helm_list",
    "helm_status",
}


async def exercise_every_tool(client: Client, namespace: str) -> None:
    """One real call of each of the eight tools."""
    tools = {t.name for t in (await client.list_tools()).tools}
    assert tools >= ALL_TOOLS
    assert (await call_ok(client, "k8s_list_contexts"))["items"]
    assert (await call_ok(client, "k8s_get_current_context"))["name"] == "kubehelm-test"
    listed = await call_ok(client, "k8s_list_resources", {"kind": "configmaps", "namespace": namespace})
    assert any(item["name"] == "cm-00" for item in listed["items"])
    got = await call_ok(client, "k8s_get_resource", {"kind": "cm", "name": "cm-01", "namespace": namespace})
    assert got["object"]["metadata"]["name"] == "cm-01"
    assert any(r["kind"] == "Deployment" for r in (await call_ok(client, "k8s_get_api_resources"))["items"])
    assert (await call_ok(client, "helm_version"))["version"].startswith("v4.")
    releases = await call_ok(client, "helm_list", {"namespace": "khm-helm"})
    assert any(r["name"] == "alpha" for r in releases["items"])
    assert (await call_ok(client, "helm_status", {"release_name": "alpha", "namespace": "khm-helm"}))["revision"]
    assert "not found" in await call_error(client, "helm_status", {"release_name": "nope", "namespace": "khm-helm"})


async def test_stdio(server_settings: Settings, sample_objects: str, helm_releases: Any) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "kubehelm_mcp", "serve"],
        env=server_env(server_settings, KUBEHELM_MCP_LOG_LEVEL="debug"),
    )
    async with Client(params) as client:  # any stray stdout line would break this protocol stream
        await exercise_every_tool(client, sample_objects)


async def test_streamable_http_health_and_metrics(
    http_server: HttpServer, sample_objects: str, helm_releases: Any
) -> None:
    assert get(f"{http_server.base}/health") == (200, '{"status":"ok"}')
    status, body = get(f"{http_server.base}/readyz")
    assert status == 200 and '"ready"' in body and "v1.20" in body
    async with Client(http_server.mcp_url) as client:
        await exercise_every_tool(client, sample_objects)
    status, metrics = get(f"{http_server.base}/metrics")
    assert status == 200
    calls = re.search(r'kubehelm_mcp_tool_calls_total\{outcome="ok",tool="k8s_get_resource"\} (\d+)', metrics)
    assert calls and float(calls.group(1)) >= 1
    assert re.search(r'kubehelm_mcp_tool_calls_total\{outcome="not_found",tool="helm_status"\} 1', metrics)
    assert 'kubehelm_mcp_tool_call_duration_seconds_bucket{le="0.1",tool="helm_list"}' in metrics


async def test_sse(http_server: HttpServer, sample_objects: str, helm_releases: Any) -> None:
    async with Client(sse_client(f"{http_server.base}/sse")) as client:
        await exercise_every_tool(client, sample_objects)


async def test_sse_transport_flag_serves_the_same_app(
    server_settings: Settings, tmp_path: Path, sample_objects: str
) -> None:
    server = start_http_server(server_settings, tmp_path, transport="sse")
    try:
        async with Client(sse_client(f"{server.base}/sse")) as client:
            assert (await call_ok(client, "k8s_get_current_context"))["name"] == "kubehelm-test"
        async with Client(server.mcp_url) as client:
            assert (await call_ok(client, "k8s_list_contexts"))["items"]
    finally:
        stop_http_server(server)


async def test_readyz_reports_an_unreachable_cluster(server_settings: Settings, tmp_path: Path) -> None:
    broken = server_settings.replace(kubeconfig=str(tmp_path / "absent.yaml"))
    server = start_http_server(broken, tmp_path)
    try:
        status, body = get(f"{server.base}/readyz")
        assert status == 503 and "does not exist" in body
        assert get(f"{server.base}/health")[0] == 200
    finally:
        stop_http_server(server)


async def test_read_only_mode_over_http(server_settings: Settings, tmp_path: Path) -> None:
    server = start_http_server(server_settings, tmp_path, "--read-only")
    try:
        async with Client(server.mcp_url) as client:
            listed = (await client.list_tools()).tools
            assert listed and all(t.annotations and t.annotations.read_only_hint for t in listed)
    finally:
        stop_http_server(server)


async def test_sigterm_shuts_down_gracefully_with_a_client_connected(server_settings: Settings, tmp_path: Path) -> None:
    server = start_http_server(server_settings, tmp_path)
    async with Client(sse_client(f"{server.base}/sse")) as client:
        await call_ok(client, "k8s_get_current_context")
        stop_http_server(server)  # with the SSE stream still open


async def test_flags_win_over_environment(server_settings: Settings, tmp_path: Path) -> None:
    server = start_http_server(
        server_settings, tmp_path, "--toolsets", "helm", env={"KUBEHELM_MCP_TOOLSETS": "kubernetes"}
    )
    try:
        async with Client(server.mcp_url) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert {"helm_version", "helm_list", "helm_status"} <= names
            assert all(name.startswith("helm_") for name in names)
            assert "not enabled" in await call_error(client, "k8s_list_contexts")
    finally:
        stop_http_server(server)
