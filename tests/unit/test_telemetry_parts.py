"""The pure parts of telemetry: request verbs, Helm command labels, the observer's metrics and
spans (on a private in-memory tracer), JSON log lines and the tracing configuration checks."""

from __future__ import annotations

import asyncio
import json
import logging
import sys

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from kubehelm_mcp.helm.commands import helm_command
from kubehelm_mcp.kube.verbs import request_verb
from kubehelm_mcp.metrics import Metrics
from kubehelm_mcp.telemetry.jsonlogs import JsonFormatter
from kubehelm_mcp.telemetry.observer import Telemetry
from kubehelm_mcp.telemetry.tracing import tracing_problem


@pytest.mark.parametrize(
    ("method", "path", "query", "verb"),
    [
        ("GET", "/api/v1/namespaces/ns/pods", (), "list"),
        ("GET", "/api/v1/namespaces/ns/pods/web", (), "get"),
        ("GET", "/api/v1/namespaces/ns/pods/web/log", (), "get"),
        ("GET", "/api/v1/namespaces", (), "list"),
        ("GET", "/api/v1/namespaces/ns", (), "get"),
        ("GET", "/apis/apps/v1/deployments", (("watch", "true"),), "watch"),
        ("GET", "/apis/apps/v1/namespaces/ns/deployments/web", (), "get"),
        ("GET", "/version", (), "get"),
        ("GET", "/apis/apps/v1", (), "get"),
        ("POST", "/api/v1/namespaces/ns/configmaps", (), "create"),
        ("PUT", "/api/v1/namespaces/ns/namespaces/ns/finalize", (), "update"),
        ("PATCH", "/apis/apps/v1/namespaces/ns/deployments/web/scale", (), "patch"),
        ("DELETE", "/api/v1/namespaces/ns/pods/web", (), "delete"),
        ("DELETE", "/api/v1/namespaces/ns/pods", (), "deletecollection"),
        ("DELETE", "/api/v1/namespaces/ns", (), "delete"),
        ("HEAD", "/version", (), "head"),
    ],
)
def test_request_verb(method: str, path: str, query: tuple[tuple[str, str], ...], verb: str) -> None:
    assert request_verb(method, path, query) == verb


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["list", "--max", "10"], "list"),
        (["get", "values", "alpha", "--revision", "2"], "get values"),
        (["repo", "add", "stable", "http://x"], "repo add"),
        (["--kube-as-user", "alice", "status", "alpha"], "status"),
        (["install", "get", "./chart"], "install"),  # a release named like a command is no command
        (["search", "hub", "nginx"], "search hub"),
        (["completion", "bash"], "other"),
        ([], "other"),
    ],
)
def test_helm_command(args: list[str], command: str) -> None:
    assert helm_command(args) == command


def _sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_operations_become_metrics_and_nested_spans() -> None:
    exported = InMemorySpanExporter()
    provider = TracerProvider()  # private: the process's global provider is left alone
    provider.add_span_processor(SimpleSpanProcessor(exported))
    metrics = Metrics()
    telemetry = Telemetry(metrics, provider.get_tracer("test"))

    with telemetry.tool_call("k8s_get_resource", {"namespace": "prod", "name": "web"}) as call:
        with telemetry.kube_request("get", "/api/v1/namespaces/prod/pods/web") as seen:
            seen.status = 404
        with telemetry.helm_command("list", "cli") as seen:
            seen.status = 1
        call.outcome = "not_found"
    with pytest.raises(asyncio.CancelledError), telemetry.kube_request("list", "/api/v1/pods"):
        raise asyncio.CancelledError

    assert _sample(metrics, "kubehelm_mcp_kube_requests_total", verb="get", status="4xx") == 1
    assert _sample(metrics, "kubehelm_mcp_kube_requests_total", verb="list", status="cancelled") == 1
    assert _sample(metrics, "kubehelm_mcp_helm_operations_total", command="list", engine="cli", outcome="error") == 1
    assert _sample(metrics, "kubehelm_mcp_kube_request_duration_seconds_count", verb="get") == 1
    spans = {span.name: span for span in exported.get_finished_spans()}
    tool, kube, helm = spans["tool k8s_get_resource"], spans["kube get"], spans["helm list"]
    assert kube.parent is not None and kube.parent.span_id == tool.context.span_id
    assert helm.parent is not None and helm.parent.span_id == tool.context.span_id
    assert dict(tool.attributes or {}) == {
        "kubehelm_mcp.tool": "k8s_get_resource",
        "kubehelm_mcp.namespace": "prod",  # the namespace, never other argument values
        "kubehelm_mcp.outcome": "not_found",
    }
    assert dict(kube.attributes or {})["http.response.status_code"] == 404
    assert dict(helm.attributes or {})["helm.exit_code"] == 1
    assert {tool.status.status_code, kube.status.status_code, helm.status.status_code} == {StatusCode.ERROR}
    assert spans["kube list"].status.status_code == StatusCode.ERROR


def test_no_tracer_means_no_spans_but_metrics() -> None:
    metrics = Metrics()
    telemetry = Telemetry(metrics)
    with telemetry.tool_call("helm_list", {"namespace": "x"}) as call, telemetry.helm_command("list", "sdk") as seen:
        seen.status = 0
        call.outcome = "ok"
    assert not telemetry.tracing
    assert _sample(metrics, "kubehelm_mcp_helm_operations_total", command="list", engine="sdk", outcome="ok") == 1


def test_free_text_namespace_is_not_an_attribute() -> None:
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    telemetry = Telemetry(Metrics(), provider.get_tracer("test"))
    with telemetry.tool_call("k8s_list_resources", {"namespace": "password=hunter2"}):
        pass
    [span] = exported.get_finished_spans()
    assert "kubehelm_mcp.namespace" not in dict(span.attributes or {})


def _record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("kubehelm_mcp.calls", logging.ERROR, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def test_json_log_line() -> None:
    line = JsonFormatter().format(_record("internal error %s in %s", "abc123", "k8s_get_resource", error_id="abc123"))
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["level"] == "ERROR" and entry["logger"] == "kubehelm_mcp.calls"
    assert entry["message"] == "internal error abc123 in k8s_get_resource"
    assert entry["error_id"] == "abc123"
    assert entry["time"].endswith("+00:00")
    assert "exception" not in entry and "trace_id" not in entry


def test_json_log_line_with_exception_and_trace() -> None:
    provider = TracerProvider()
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record("failed")
        record.exc_info = sys.exc_info()
    with provider.get_tracer("test").start_as_current_span("call") as span:
        entry = json.loads(JsonFormatter().format(record))
    assert entry["exception"].startswith("Traceback") and "ValueError: boom" in entry["exception"]
    assert entry["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert entry["span_id"] == format(span.get_span_context().span_id, "016x")


def test_json_lines_keep_what_filters_did() -> None:
    class Redact(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            record.msg, record.args = record.getMessage().replace("s3cret", "***"), None
            record.exc_text = "Traceback: token ***"
            return True

    handler = logging.Handler()
    handler.addFilter(Redact())
    handler.setFormatter(JsonFormatter())
    written: list[str] = []
    handler.emit = lambda record: written.append(handler.format(record))  # type: ignore[method-assign]
    try:
        raise RuntimeError("s3cret")
    except RuntimeError:
        record = _record("token %s", "s3cret")
        record.exc_info = sys.exc_info()
    handler.handle(record)
    [line] = written
    assert "s3cret" not in line
    assert json.loads(line)["exception"] == "Traceback: token ***"


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({"OTEL_TRACES_EXPORTER": "console"}, None),
        ({"OTEL_TRACES_EXPORTER": "otlp,console"}, None),
        ({}, None),  # otlp by default, and the exporter is installed
        ({"OTEL_TRACES_EXPORTER": "none"}, None),
        (
            {"OTEL_TRACES_EXPORTER": "jaeger"},
            "OTEL_TRACES_EXPORTER names jaeger; tracing supports otlp, console, none.",
        ),
        (
            {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            "OTLP protocol 'grpc' is not supported; tracing exports OTLP over http/protobuf.",
        ),
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_TRACES_EXPORTER": "console"}, None),
    ],
)
def test_tracing_problem(environ: dict[str, str], problem: str | None) -> None:
    assert tracing_problem(environ) == problem
