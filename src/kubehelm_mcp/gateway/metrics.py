"""Prometheus metrics per backend server, in the registry of the web app's Metrics (so /metrics
shows the HTTP side, auth and sessions, and the gateway's servers together)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from kubehelm_mcp.gateway.pool import ServerPool
from kubehelm_mcp.metrics import LATENCY_BUCKETS, Metrics


class _PoolStates(Collector):
    """Restarts, children alive and readiness, read from the pools at scrape time."""

    def __init__(self, pools: Callable[[], dict[str, ServerPool]]) -> None:
        self._pools = pools

    def collect(self) -> Iterator[Metric]:
        restarts = GaugeMetricFamily(
            "kubehelm_mcp_gateway_server_restarts", "Reconnections of each server's children.", labels=["server"]
        )
        alive = GaugeMetricFamily(
            "kubehelm_mcp_gateway_children_ready", "Children of each server that are ready now.", labels=["server"]
        )
        up = GaugeMetricFamily("kubehelm_mcp_gateway_server_up", "1 when the server can take calls.", labels=["server"])
        for name, pool in sorted(self._pools().items()):
            status = pool.status()
            restarts.add_metric([name], status["restarts"])
            alive.add_metric([name], status["children_ready"])
            up.add_metric([name], 1 if pool.ready else 0)
        yield from (restarts, alive, up)


class GatewayMetrics:
    def __init__(self, metrics: Metrics, pools: Callable[[], dict[str, ServerPool]]) -> None:
        self.calls = Counter(
            "kubehelm_mcp_gateway_calls",
            "Tool calls relayed, by server and outcome (ok, error, unavailable, denied).",
            ["server", "outcome"],
            registry=metrics.registry,
        )
        self.duration = Histogram(
            "kubehelm_mcp_gateway_call_duration_seconds",
            "Relayed tool call latency, by server.",
            ["server"],
            buckets=LATENCY_BUCKETS,
            registry=metrics.registry,
        )
        metrics.registry.register(_PoolStates(pools))
        # labels() validates and locks at every lookup; a relayed call looks its series up here instead
        self._counted: dict[tuple[str, str], Any] = {}
        self._timed: dict[str, Any] = {}

    def observe(self, server: str, outcome: str, duration: float) -> None:
        counter = self._counted.get((server, outcome))
        if counter is None:
            counter = self._counted[(server, outcome)] = self.calls.labels(server, outcome)
        timer = self._timed.get(server)
        if timer is None:
            timer = self._timed[server] = self.duration.labels(server)
        counter.inc()
        timer.observe(duration)
