"""The observer server.py wires into kube/, helm/ and the pipeline: each Kubernetes request,
Helm command and tool call becomes Prometheus samples and, with tracing on, an OpenTelemetry
span, a child of the span current when it starts (so requests nest under their tool call).

Span attributes name what ran (tool, verb, path, Helm command) and how it ended, never argument
values, flags, headers or bodies, which may carry secrets.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio.to_thread

# opentelemetry-api is loaded with the MCP SDK anyway (its own spans); the SDK is not loaded here.
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import Counter, Histogram

from kubehelm_mcp.metrics import Metrics
from kubehelm_mcp.telemetry.hooks import Observation
from kubehelm_mcp.validators import is_namespace_name

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

    from kubehelm_mcp.settings import TelemetrySettings

_SUCCESSES = frozenset({"ok", "1xx", "2xx", "3xx"})


@dataclass
class ToolCallObservation:
    outcome: str = "cancelled"  # the pipeline sets the real one; only a cancellation leaves this


def status_class(status: int | None) -> str:
    """2xx, 4xx, ... for an HTTP status; 'error' when there was no answer."""
    return f"{status // 100}xx" if status else "error"


def helm_outcome(status: int | None) -> str:
    return "ok" if status == 0 else "error"


class Telemetry:
    """Implements telemetry.hooks.Observer; `tracer` is None when tracing is off (no spans at all)."""

    def __init__(self, metrics: Metrics, tracer: Tracer | None = None) -> None:
        self._metrics = metrics
        self._tracer = tracer

    @property
    def tracing(self) -> bool:
        return self._tracer is not None

    @contextmanager
    def _span(self, name: str, kind: SpanKind, attributes: dict[str, Any]) -> Iterator[Span | None]:
        if self._tracer is None:
            yield None
            return
        # Exceptions are not recorded: their messages may quote what the cluster or helm said.
        with self._tracer.start_as_current_span(
            name, kind=kind, attributes=attributes, record_exception=False, set_status_on_exception=False
        ) as span:
            yield span

    @staticmethod
    def _end(span: Span | None, outcome: str, key: str, status: int | None) -> None:
        if span is None:
            return
        if status is not None:
            span.set_attribute(key, status)
        if outcome not in _SUCCESSES:
            span.set_status(StatusCode.ERROR, outcome)

    @contextmanager
    def _operation(
        self,
        name: str,
        attributes: dict[str, Any],
        status_key: str,
        outcome_of: Callable[[int | None], str],
        count: Callable[[str], Counter],
        duration: Histogram,
    ) -> Iterator[Observation]:
        seen = Observation()
        cancelled = False
        started = time.perf_counter()
        with self._span(name, SpanKind.CLIENT, attributes) as span:
            try:
                yield seen
            except asyncio.CancelledError:
                cancelled = True
                raise
            finally:
                outcome = "cancelled" if cancelled else outcome_of(seen.status)
                count(outcome).inc()
                duration.observe(time.perf_counter() - started)
                self._end(span, outcome, status_key, seen.status)

    def kube_request(self, verb: str, path: str) -> AbstractContextManager[Observation]:
        m = self._metrics
        return self._operation(
            f"kube {verb}",
            {"kubernetes.verb": verb, "url.path": path},
            "http.response.status_code",
            status_class,
            lambda status: m.kube_requests.labels(verb, status),
            m.kube_duration.labels(verb),
        )

    def helm_command(self, command: str, engine: str) -> AbstractContextManager[Observation]:
        m = self._metrics
        return self._operation(
            f"helm {command}",
            {"helm.command": command, "helm.engine": engine},
            "helm.exit_code" if engine == "cli" else "helm.status",
            helm_outcome,
            lambda outcome: m.helm_operations.labels(command, engine, outcome),
            m.helm_duration.labels(command, engine),
        )

    @contextmanager
    def tool_call(self, tool: str, arguments: Mapping[str, Any] | None) -> Iterator[ToolCallObservation]:
        """The span of one tool call (the pipeline records its metrics itself)."""
        seen = ToolCallObservation()
        attributes = {"kubehelm_mcp.tool": tool}
        namespace = (arguments or {}).get("namespace")
        if isinstance(namespace, str) and is_namespace_name(namespace):  # a name, never free text
            attributes["kubehelm_mcp.namespace"] = namespace
        with self._span(f"tool {tool}", SpanKind.INTERNAL, attributes) as span:
            try:
                yield seen
            finally:
                if span is not None:
                    span.set_attribute("kubehelm_mcp.outcome", seen.outcome)
                    if seen.outcome != "ok":
                        span.set_status(StatusCode.ERROR, seen.outcome)

    async def flush(self) -> None:
        """Export the spans still buffered (the HTTP server's shutdown ends the process by its signal,
        before any exit handler could)."""
        force_flush = getattr(trace.get_tracer_provider(), "force_flush", None) if self.tracing else None
        if force_flush is not None:
            await anyio.to_thread.run_sync(force_flush)


def telemetry_for(settings: TelemetrySettings, metrics: Metrics) -> Telemetry:
    if not settings.tracing:
        return Telemetry(metrics)
    from kubehelm_mcp.telemetry.tracing import install_tracing  # the OpenTelemetry SDK loads only now

    return Telemetry(metrics, install_tracing())
