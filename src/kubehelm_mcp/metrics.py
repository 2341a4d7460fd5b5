"""Prometheus metrics. Each server owns a registry, so several servers can live in one process."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.tool_calls = Counter(
            "kubehelm_mcp_tool_calls",
            "Tool calls by tool and outcome.",
            ["tool", "outcome"],
            registry=self.registry,
        )
        self.tool_duration = Histogram(
            "kubehelm_mcp_tool_call_duration_seconds",
            "Tool call latency.",
            ["tool"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.cluster_calls = Counter(
            "kubehelm_mcp_cluster_calls",
            "Tool calls by the cluster they named (`cluster`, or each of a fleet-wide call's) and outcome.",
            ["cluster", "outcome"],
            registry=self.registry,
        )
        self.in_flight = Gauge("kubehelm_mcp_tool_calls_in_flight", "Tool calls running now.", registry=self.registry)
        self.auth = Counter(
            "kubehelm_mcp_auth",
            "HTTP/SSE authentication outcomes: ok, missing, invalid, forbidden, unavailable.",
            ["outcome"],
            registry=self.registry,
        )
        # Telemetry: sessions, port-forwards, Kubernetes and Helm operations (telemetry/observer.py).
        self.sessions_opened = Counter(
            "kubehelm_mcp_sessions_opened",
            "MCP sessions opened: Streamable HTTP handshake sessions (http) and SSE connections (sse).",
            ["transport"],
            registry=self.registry,
        )
        self.sessions_active = Gauge(
            "kubehelm_mcp_sessions_active", "MCP sessions open now.", ["transport"], registry=self.registry
        )
        self.port_forwards = Gauge(
            "kubehelm_mcp_port_forwards_active", "Port-forwards open now.", registry=self.registry
        )
        self.kube_requests = Counter(
            "kubehelm_mcp_kube_requests",
            "Kubernetes API requests by verb and status class (2xx, 4xx, 5xx, error: no answer, cancelled).",
            ["verb", "status"],
            registry=self.registry,
        )
        self.kube_duration = Histogram(
            "kubehelm_mcp_kube_request_duration_seconds",
            "Kubernetes API request latency.",
            ["verb"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.helm_operations = Counter(
            "kubehelm_mcp_helm_operations",
            "Helm commands (CLI subprocesses and SDK calls) by command, engine and outcome (ok, error, cancelled).",
            ["command", "engine", "outcome"],
            registry=self.registry,
        )
        self.helm_duration = Histogram(
            "kubehelm_mcp_helm_operation_duration_seconds",
            "Helm command latency.",
            ["command", "engine"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        # Resilience (resilience/): retries, refused calls, the read cache, each cluster's breaker.
        self.retries = Counter(
            "kubehelm_mcp_retries",
            "Retries of read-only calls after a transient failure, by tool.",
            ["tool"],
            registry=self.registry,
        )
        self.refused = Counter(
            "kubehelm_mcp_calls_refused",
            "Calls refused before they ran, by reason: rate_limit, bulkhead, circuit_open.",
            ["reason"],
            registry=self.registry,
        )
        self.read_cache = Counter(
            "kubehelm_mcp_read_cache_lookups", "Read cache lookups: hit or miss.", ["result"], registry=self.registry
        )
        self.watched_reads = Counter(
            "kubehelm_mcp_watched_reads",
            "Object reads a watch could answer: hit (answered from it) or miss (a GET).",
            ["result"],
            registry=self.registry,
        )
        self.read_watches = Gauge(
            "kubehelm_mcp_read_watches", "Watches kept on objects read again.", registry=self.registry
        )
        self.breaker_states = BreakerStates()
        self.registry.register(self.breaker_states)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class BreakerStates(Collector):
    """kubehelm_mcp_circuit_breaker_state{cluster}: 0 closed, 1 half-open, 2 open. Read from the
    breakers at scrape time, so an open breaker whose wait is over shows half-open before any
    call probes it."""

    def __init__(self) -> None:
        self.source: Callable[[], Mapping[str, int]] = dict

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "kubehelm_mcp_circuit_breaker_state",
            "Circuit breaker state per cluster (API server): 0 closed, 1 half-open, 2 open.",
            labels=["cluster"],
        )
        for cluster, state in sorted(self.source().items()):
            family.add_metric([cluster], state)
        yield family
