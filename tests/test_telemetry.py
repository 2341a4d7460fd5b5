"""Telemetry of real servers against the real cluster: Kubernetes and Helm operation counts,
session and port-forward gauges on /metrics, spans exported over OTLP and to the console, JSON
logs, and `serve --tracing` refusing to start without the otel extra."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from prometheus_client.parser import text_string_to_metric_families

from kubehelm_mcp import create_client, create_server
from kubehelm_mcp.api import server_parts
from kubehelm_mcp.settings import Settings
from tests.conftest import (
    HELM_NAMESPACE,
    WEB_PAGE,
    HttpServer,
    free_port,
    server_env,
    start_http_server,
    stop_http_server,
)
from tests.support.http import get
from tests.support.mcp import call_error, call_ok
from tests.support.otlp import OtlpReceiver, ReceivedSpan

pytestmark = pytest.mark.anyio

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

SECRET_VALUE = "hunter2-sample-secret"  # tests/conftest.py sample_objects
TRACED_ACCOUNT = """apiVersion: v1
kind: ServiceAccount
metadata: {name: khm-traced, namespace: default}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: khm-traced}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: ServiceAccount, name: khm-traced, namespace: default}]
"""


def scrape(server: HttpServer) -> Samples:
    status, text = get(f"{server.base}/metrics")
    assert status == 200, text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def grew(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def settled(server: HttpServer, name: str, expected: float, **labels: str) -> Samples:
    """Scrapes until the sample reads `expected`: a session ends a moment after its client leaves."""
    with anyio.fail_after(20):  # a hang guard, not a timing assertion
        while True:
            samples = scrape(server)
            if value(samples, name, **labels) == expected:
                return samples
            await anyio.sleep(0.05)


async def test_operations_sessions_and_json_logs_over_http(
    server_settings: Settings, sample_objects: str, helm_releases: Any, tmp_path: Path
) -> None:
    server = start_http_server(server_settings, tmp_path, "--helm-read-engine", "cli", "--log-format", "json")
    try:
        before = scrape(server)
        async with Client(sse_client(f"{server.base}/sse")) as client:
            during = scrape(server)
            cm = {"kind": "configmap", "namespace": sample_objects}
            await call_ok(client, "k8s_get_resource", {**cm, "name": "cm-01"})
            await call_error(client, "k8s_get_resource", {**cm, "name": "no-such-configmap"})
            await call_ok(client, "helm_list", {"namespace": HELM_NAMESPACE})
            await call_error(client, "helm_history", {"release_name": "no-such-release", "namespace": HELM_NAMESPACE})
        after = await settled(server, "kubehelm_mcp_sessions_active", 0, transport="sse")

        assert value(during, "kubehelm_mcp_sessions_active", transport="sse") == 1
        assert grew(before, after, "kubehelm_mcp_sessions_opened_total", transport="sse") == 1
        kube, kube_seconds = "kubehelm_mcp_kube_requests_total", "kubehelm_mcp_kube_request_duration_seconds_count"
        assert grew(before, after, kube, verb="get", status="2xx") >= 1
        assert grew(before, after, kube, verb="get", status="4xx") == 1  # the missing ConfigMap's 404
        assert grew(before, after, kube_seconds, verb="get") >= 2
        helm, helm_seconds = "kubehelm_mcp_helm_operations_total", "kubehelm_mcp_helm_operation_duration_seconds_count"
        assert grew(before, after, helm, command="list", engine="cli", outcome="ok") == 1
        assert grew(before, after, helm, command="history", engine="cli", outcome="error") == 1
        assert grew(before, after, helm_seconds, command="list", engine="cli") == 1

        # A Streamable HTTP session lives from its initialize handshake until the client's DELETE.
        async with Client(server.mcp_url, mode="legacy") as legacy:
            await call_ok(legacy, "k8s_list_contexts")
            open_session = scrape(server)
        assert value(open_session, "kubehelm_mcp_sessions_active", transport="http") == 1
        assert value(open_session, "kubehelm_mcp_sessions_opened_total", transport="http") == 1
        await settled(server, "kubehelm_mcp_sessions_active", 0, transport="http")
        # The 2026-07-28 protocol is stateless: no session to count.
        async with Client(server.mcp_url) as modern:
            assert modern.protocol_version in MODERN_PROTOCOL_VERSIONS
            await call_ok(modern, "k8s_list_contexts")
            stateless = scrape(server)
        assert value(stateless, "kubehelm_mcp_sessions_active", transport="http") == 0
        assert value(stateless, "kubehelm_mcp_sessions_opened_total", transport="http") == 1
    finally:
        stop_http_server(server)

    entries = [json.loads(line) for line in server.log.read_text().splitlines() if line.strip()]  # every line
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= set(entry), entry
        assert datetime.fromisoformat(entry["time"]).tzinfo is not None
    assert any(e["logger"] == "uvicorn.error" and e["message"] == "Application startup complete." for e in entries)
    assert any(e["logger"] == "uvicorn.access" and "POST /mcp" in e["message"] for e in entries)


async def test_helm_sdk_calls_are_counted(server_settings: Settings, helm_releases: Any) -> None:
    server = create_server(server_settings.replace(helm_read_engine="sdk"))
    try:
        async with create_client(server) as client:
            await call_ok(client, "helm_status", {"release_name": "alpha", "namespace": HELM_NAMESPACE})
            missing = {"release_name": "no-such-release", "namespace": HELM_NAMESPACE}
            await call_error(client, "helm_get_values", missing)
    finally:
        await server_parts(server).close()
    registry = server_parts(server).metrics.registry
    helm = "kubehelm_mcp_helm_operations_total"
    assert registry.get_sample_value(helm, {"command": "get all", "engine": "sdk", "outcome": "ok"}) == 1
    assert registry.get_sample_value(helm, {"command": "get values", "engine": "sdk", "outcome": "error"}) == 1


def http_get(address: str) -> str:
    with urllib.request.urlopen(f"http://{address}/index.html", timeout=10) as response:
        return str(response.read().decode())


async def test_port_forward_gauge(server_settings: Settings, web_pod: str, tmp_path: Path) -> None:
    server = start_http_server(server_settings, tmp_path)
    gauge = "kubehelm_mcp_port_forwards_active"
    try:
        assert value(scrape(server), gauge) == 0
        async with Client(server.mcp_url) as client:
            started = await call_ok(client, "k8s_port_forward_pod", {"name": "web", "namespace": web_pod, "port": 8080})
            forward = started["forward"]
            assert value(scrape(server), gauge) == 1
            assert (await anyio.to_thread.run_sync(http_get, forward["address"])).strip() == WEB_PAGE
            # each forwarded connection opens its own apiserver stream: a websocket upgrade
            assert value(scrape(server), "kubehelm_mcp_kube_requests_total", verb="connect", status="1xx") == 1
            await call_ok(client, "k8s_stop_port_forward", {"id": forward["id"]})
            assert value(scrape(server), gauge) == 0
    finally:
        stop_http_server(server)


def children(spans: list[ReceivedSpan], parent: ReceivedSpan) -> list[ReceivedSpan]:
    return [s for s in spans if s.parent_id == parent.span_id and s.trace_id == parent.trace_id]


def tool_span(spans: list[ReceivedSpan], tool: str, outcome: str) -> ReceivedSpan:
    [span] = [s for s in spans if s.name == f"tool {tool}" and s.attributes.get("kubehelm_mcp.outcome") == outcome]
    return span


async def test_spans_exported_over_otlp(
    server_settings: Settings,
    kube_cluster: Any,
    kubectl: Any,
    sample_objects: str,
    helm_releases: Any,
    tmp_path: Path,
) -> None:
    kubectl("apply", "-f", "-", stdin=TRACED_ACCOUNT)
    token = kube_cluster.service_account_token("default", "khm-traced")
    per_call = {"kube_apiserver": kube_cluster.server, "kube_token": token, "kube_insecure_tls": True}
    with OtlpReceiver() as receiver:
        server = start_http_server(
            server_settings,
            tmp_path,
            "--tracing",
            "--per-call-credentials",
            "--helm-read-engine",
            "cli",
            env={
                "OTEL_TRACES_EXPORTER": "otlp",
                "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
                "OTEL_BSP_SCHEDULE_DELAY": "600000",  # nothing leaves before shutdown: its flush sends everything
            },
        )
        try:
            async with Client(server.mcp_url) as client:
                secret = {"kind": "secret", "name": "db-credentials", "namespace": sample_objects}
                await call_ok(client, "k8s_get_resource", secret)
                await call_ok(client, "helm_list", {"namespace": HELM_NAMESPACE})
                await call_ok(
                    client, "k8s_list_resources", {"kind": "configmaps", "namespace": sample_objects, **per_call}
                )
                missing = {"kind": "configmap", "name": "no-such-configmap", "namespace": sample_objects}
                await call_error(client, "k8s_get_resource", missing)
        finally:
            stop_http_server(server)
        spans = receiver.spans

    got = tool_span(spans, "k8s_get_resource", "ok")
    assert got.attributes["kubehelm_mcp.tool"] == "k8s_get_resource"
    assert got.attributes["kubehelm_mcp.namespace"] == sample_objects
    assert got.resource["service.name"] == "kubehelm-mcp"
    # the tool span nests in the MCP SDK's span for the request, in the same trace
    [request] = [s for s in spans if s.span_id == got.parent_id]
    assert request.name == "tools/call k8s_get_resource" and request.trace_id == got.trace_id
    reads = [s for s in children(spans, got) if s.name == "kube get"]
    secret_path = f"/api/v1/namespaces/{sample_objects}/secrets/db-credentials"
    [read] = [s for s in reads if s.attributes["url.path"] == secret_path]
    assert read.attributes["kubernetes.verb"] == "get" and read.attributes["http.response.status_code"] == 200

    listed = tool_span(spans, "helm_list", "ok")
    [helm] = children(spans, listed)
    assert (helm.name, helm.attributes["helm.engine"], helm.attributes["helm.exit_code"]) == ("helm list", "cli", 0)

    with_token = tool_span(spans, "k8s_list_resources", "ok")
    assert any(s.name == "kube list" for s in children(spans, with_token))

    not_found = tool_span(spans, "k8s_get_resource", "not_found")
    assert not_found.status_code == 2  # error
    [refused] = [s for s in children(spans, not_found) if s.attributes.get("http.response.status_code") == 404]
    assert refused.status_code == 2

    for body in receiver.bodies:  # what left the process: no credential, no secret value
        for leak in (token, SECRET_VALUE, "aHVudGVyMi1zYW1wbGUtc2VjcmV0", "Bearer"):
            assert leak.encode() not in body, leak


async def test_console_spans_and_json_logs_on_stdio(
    server_settings: Settings, sample_objects: str, tmp_path: Path
) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "kubehelm_mcp", "serve", "--tracing", "--log-format", "json", "--log-level", "debug"],
        env=server_env(server_settings, OTEL_TRACES_EXPORTER="console"),
    )
    stderr = tmp_path / "stderr.jsonl"
    with stderr.open("w") as sink:
        async with Client(stdio_client(params, errlog=sink)) as client:  # stdout stays the protocol's
            await call_ok(
                client, "k8s_get_resource", {"kind": "configmap", "name": "cm-01", "namespace": sample_objects}
            )
    records = [json.loads(line) for line in stderr.read_text().splitlines() if line.strip()]  # every line
    logs = [r for r in records if "level" in r]
    spans = [r for r in records if "context" in r]
    assert logs and len(logs) + len(spans) == len(records)
    for entry in logs:
        assert {"time", "level", "logger", "message"} <= set(entry), entry
    assert any(entry["logger"].startswith("kubehelm_mcp") for entry in logs)
    [tool] = [s for s in spans if s["name"] == "tool k8s_get_resource"]
    reads = [s for s in spans if s["name"] == "kube get" and s["parent_id"] == tool["context"]["span_id"]]
    assert any(r["attributes"]["url.path"].endswith("/configmaps/cm-01") for r in reads)
    assert all(r["context"]["trace_id"] == tool["context"]["trace_id"] for r in reads)
    # log lines written inside the call (here the client's kubeconfig loading) carry its trace
    assert any(entry.get("trace_id") == tool["context"]["trace_id"].removeprefix("0x") for entry in logs)


HIDE_OTEL_SDK = """
import sys

class HideOtelSdk:  # as if the otel extra were not installed
    def find_spec(self, name, path=None, target=None):
        if name == "opentelemetry.sdk" or name.startswith("opentelemetry.sdk."):
            raise ModuleNotFoundError(name)
        return None

sys.meta_path.insert(0, HideOtelSdk())
from kubehelm_mcp.cli import main
sys.exit(main(sys.argv[1:]))
"""


def serve_refusal(**env: str) -> subprocess.CompletedProcess[str]:
    """`serve --tracing` where the OpenTelemetry SDK cannot be imported; no cluster needed."""
    argv = [
        sys.executable,
        "-c",
        HIDE_OTEL_SDK,
        "serve",
        "--tracing",
        "--transport",
        "http",
        "--port",
        str(free_port()),
    ]
    return subprocess.run(argv, env=server_env(Settings(), **env), capture_output=True, text=True, timeout=60)


def test_serve_refuses_tracing_it_cannot_do() -> None:
    missing = serve_refusal()
    assert missing.returncode == 2, missing.stderr
    assert missing.stderr.strip() == (
        "kubehelm-mcp: Tracing needs the OpenTelemetry packages (opentelemetry.sdk is missing): "
        "pip install 'kubehelm-mcp[otel]'."
    )
    unknown = serve_refusal(OTEL_TRACES_EXPORTER="zipkin")
    assert unknown.returncode == 2
    assert (
        unknown.stderr.strip()
        == "kubehelm-mcp: OTEL_TRACES_EXPORTER names zipkin; tracing supports otlp, console, none."
    )
