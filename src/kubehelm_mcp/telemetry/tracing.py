"""OpenTelemetry tracing (extra `kubehelm-mcp[otel]`), configured by the standard OTEL_* variables:
OTEL_TRACES_EXPORTER (otlp, console or none; comma-separated), OTEL_EXPORTER_OTLP_ENDPOINT and the
other OTLP/HTTP variables, OTEL_SERVICE_NAME (default kubehelm-mcp), OTEL_TRACES_SAMPLER, OTEL_BSP_*.

Imported only when the `tracing` setting is on: a server without it never loads the SDK.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from opentelemetry import trace

from kubehelm_mcp import __version__

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExporter

EXPORTERS = ("otlp", "console", "none")
DEFAULT_SERVICE_NAME = "kubehelm-mcp"
INSTALL_HINT = "pip install 'kubehelm-mcp[otel]'"
_OTLP_PACKAGE = "opentelemetry.exporter.otlp.proto.http"


def _exporter_names(environ: Mapping[str, str]) -> list[str]:
    raw = environ.get("OTEL_TRACES_EXPORTER") or "otlp"
    return [name.strip().lower() for name in raw.split(",") if name.strip()]


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def tracing_problem(environ: Mapping[str, str] | None = None) -> str | None:
    """Why tracing cannot start here (a package missing, an unknown exporter), or None. Checked
    before the server starts, so `serve --tracing` refuses in one sentence instead of half-starting."""
    environ = os.environ if environ is None else environ
    names = _exporter_names(environ)
    unknown = sorted(set(names) - set(EXPORTERS))
    if unknown:
        return f"OTEL_TRACES_EXPORTER names {', '.join(unknown)}; tracing supports {', '.join(EXPORTERS)}."
    protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    if "otlp" in names and protocol not in (None, "", "http/protobuf"):
        return f"OTLP protocol {protocol!r} is not supported; tracing exports OTLP over http/protobuf."
    needed = ["opentelemetry.sdk", *([_OTLP_PACKAGE] if "otlp" in names else [])]
    missing = [module for module in needed if not _installed(module)]
    if missing:
        return f"Tracing needs the OpenTelemetry packages ({', '.join(missing)} is missing): {INSTALL_HINT}."
    return None


def _one_line(span: ReadableSpan) -> str:
    return str(span.to_json(indent=None)) + "\n"


def _exporter(name: str) -> SpanExporter:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        # stderr: on stdio, stdout carries the MCP protocol. One JSON object per line.
        return ConsoleSpanExporter(out=sys.stderr, formatter=_one_line)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()  # endpoint, headers, timeout and compression from OTEL_EXPORTER_OTLP_*


def install_tracing(environ: Mapping[str, str] | None = None) -> trace.Tracer:
    """Install an SDK TracerProvider as the process's global one (once), so the MCP SDK's own
    request spans and ours share traces; an application that installed its own provider keeps it."""
    environ = os.environ if environ is None else environ
    problem = tracing_problem(environ)
    if problem:
        from kubehelm_mcp.settings import SettingsError

        raise SettingsError(problem)
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):  # nothing installed yet
        from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        resource = Resource.create({SERVICE_VERSION: __version__})  # + OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
        if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
            resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
        provider = TracerProvider(resource=resource)  # sampler from OTEL_TRACES_SAMPLER
        for name in dict.fromkeys(_exporter_names(environ)):
            if name != "none":
                provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
        trace.set_tracer_provider(provider)
    return trace.get_tracer("kubehelm_mcp", __version__)
