"""Prometheus metrics. Each server owns a registry, so several servers can live in one process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

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
        self.in_flight = Gauge("kubehelm_mcp_tool_calls_in_flight", "Tool calls running now.", registry=self.registry)
        self.auth = Counter(
            "kubehelm_mcp_auth",
            "HTTP/SSE authentication outcomes: ok, missing, invalid, forbidden, unavailable.",
            ["outcome"],
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
