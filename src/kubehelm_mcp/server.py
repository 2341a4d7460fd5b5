"""Assembling the MCP server: settings -> toolsets -> pipeline -> a low-level MCP Server."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import weakref
from dataclasses import dataclass
from typing import Any

import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server._otel import OpenTelemetryMiddleware  # the SDK ships it on; see build_server
from mcp.server.request_state import RequestStateBoundary, RequestStateSecurity
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, create_model

from kubehelm_mcp import __version__
from kubehelm_mcp.audit import AuditLog
from kubehelm_mcp.caller import PRINCIPAL_SCOPE_KEY, Ask, Caller, Principal, cannot_ask
from kubehelm_mcp.context import SessionState
from kubehelm_mcp.egress.proxy import EgressProxy
from kubehelm_mcp.elicitation import Elicitor
from kubehelm_mcp.helm.binaries import HelmBinaries
from kubehelm_mcp.helm.service import HelmService
from kubehelm_mcp.kube.api import KubeApi
from kubehelm_mcp.kube.clients import ClientPool
from kubehelm_mcp.kube.portforward import PortForwards
from kubehelm_mcp.kube.target import ClusterTarget
from kubehelm_mcp.kube.watched import WatchedReads
from kubehelm_mcp.metrics import Metrics
from kubehelm_mcp.pipeline.fleet import FleetResult
from kubehelm_mcp.pipeline.runner import CallPipeline
from kubehelm_mcp.schemas import either_output_schema, input_schema, output_schema
from kubehelm_mcp.settings import Settings
from kubehelm_mcp.telemetry.observer import Telemetry, telemetry_for
from kubehelm_mcp.tooling import Annotations, AnyTool, ClusterCredentials, FleetInput, KubeconfigCredential
from kubehelm_mcp.toolsets import all_tools

# The shared inputs, said once here instead of on each tool; the cluster part depends on the provider.
CLUSTER_INSTRUCTIONS = {
    "kubeconfig": ("Every tool takes `context` (kubeconfig context; default: the session's, see k8s_switch_context)"),
    "capi": (
        "Every tool takes `cluster` (a Cluster API cluster, namespace/name or a unique name; default: the "
        "management cluster; capi_list_clusters lists them)"
    ),
}
FLEET_INSTRUCTIONS = {
    "kubeconfig": "`clusters` (contexts; globs ok)",
    "capi": "`clusters` (names; globs ok) or `cluster_selector` (Cluster labels)",
}
INSTRUCTIONS = (
    "Kubernetes and Helm tools. {cluster} and `namespace` (default: the context's); Helm tools take "
    "`helm_version` (v3 or v4, default v4), and a `chart` is a path, repo/name or oci:// URL. "
    "k8s_list_resources, helm_list, k8s_get_cluster_health and k8s_diagnose ask many clusters at once "
    "with {fleet}. Lists default to a compact summary; ask for output=yaml or json only when you need whole "
    "objects. An answer too large for one response ends with a continue_token: pass it back to read on. For "
    "'why is X not working', start with k8s_diagnose. Secret values are redacted."
)


def instructions(provider: str) -> str:
    return INSTRUCTIONS.format(cluster=CLUSTER_INSTRUCTIONS[provider], fleet=FLEET_INSTRUCTIONS[provider])


@dataclass
class ServerParts:
    """The pieces behind one MCP server, kept together so transports and tests can reach them."""

    settings: Settings
    pipeline: CallPipeline
    clients: ClientPool
    metrics: Metrics
    forwards: PortForwards
    telemetry: Telemetry
    egress: EgressProxy

    warming: asyncio.Task[None] | None = None

    def warm_up(self) -> None:
        """Start the pipeline's warm-up once, in the background (the first tools/list asks for it)."""
        if self.warming is None:
            self.warming = asyncio.get_running_loop().create_task(self.pipeline.warm_up())

    async def close(self) -> None:
        """The warm-up, then forwards: they hold connections from the pool."""
        if self.warming is not None:
            self.warming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.warming
        await self.forwards.close()
        await self.clients.close()
        await self.telemetry.flush()  # spans still buffered go out before the process ends
        await self.egress.close()
        self.pipeline.audit.close()


def _with_credentials(tool: AnyTool, credentials: tuple[type[BaseModel], ...]) -> AnyTool:
    """The same tool whose input also accepts per-call cluster credentials."""
    model = create_model(tool.input_model.__name__, __base__=(tool.input_model, *credentials))
    return dataclasses.replace(tool, input_model=model)  # every other part of the declaration kept


# Shared inputs that say nothing new with a cluster provider: with kubeconfig a cluster is a context
# (`cluster` is `context` again, and no label picks contexts); with capi `cluster` names it.
PROVIDER_HIDDEN_INPUTS = {
    "kubeconfig": frozenset({"cluster", "cluster_selector"}),
    "capi": frozenset({"context"}),
}


def _mcp_tool(tool: AnyTool, structured: bool, provider: str = "kubeconfig") -> types.Tool:
    """structured: the `structured` result form, whose results carry structuredContent matching an
    output schema; the default `text` form declares none (a client would expect structuredContent)."""
    return types.Tool(
        name=tool.name,
        description=tool.description,
        input_schema=input_schema(tool.input_model, tool.hidden_inputs | PROVIDER_HIDDEN_INPUTS[provider]),
        output_schema=_output_schema(tool) if structured else None,
        annotations=_hints(tool.annotations),
    )


def _output_schema(tool: AnyTool) -> dict[str, Any]:
    if issubclass(tool.input_model, FleetInput):  # many clusters answer as one FleetResult
        return either_output_schema(tool.output_model, FleetResult)
    return output_schema(tool.output_model)


def _hints(a: Annotations) -> types.ToolAnnotations:
    """The hints a client can act on, each said once: destructive and idempotent only describe
    tools that change something (the spec ignores them on read-only ones), open world only when
    false (its default is true). Read-only and destructive are always explicit."""
    return types.ToolAnnotations(
        read_only_hint=a.read_only,
        destructive_hint=None if a.read_only else a.destructive,
        idempotent_hint=True if a.idempotent and not a.read_only else None,
        open_world_hint=None if a.open_world else False,
    )


def _caller(ctx: ServerRequestContext[Any, Any], ask: Ask = cannot_ask) -> Caller:
    """The principal the auth middleware left in the HTTP request's scope, the peer address, and
    how to ask the user behind the client."""
    request = ctx.request
    scope = getattr(request, "scope", None)
    if not isinstance(scope, dict):
        return Caller(ask=ask)  # stdio and in-memory clients
    principal = scope.get(PRINCIPAL_SCOPE_KEY)
    client = scope.get("client")
    return Caller(
        principal=principal if isinstance(principal, Principal) else None,
        remote=f"{client[0]}:{client[1]}" if client else None,
        ask=ask,
    )


class _Sessions:
    """Per-connection state, forgotten when the connection object goes away."""

    def __init__(self) -> None:
        self._states: weakref.WeakKeyDictionary[Any, SessionState] = weakref.WeakKeyDictionary()

    def for_request(self, ctx: ServerRequestContext[Any, Any]) -> SessionState:
        # ServerSession is a per-request proxy; its Connection lives as long as the client's session.
        connection = getattr(ctx.session, "_connection", None)
        # A stateless protocol, or a --stateless handshake-era request (no back-channel): a new
        # connection per request, so nothing set now would be there for the next one.
        if (
            connection is None
            or connection.protocol_version in MODERN_PROTOCOL_VERSIONS
            or not connection.has_standalone_channel
        ):
            return SessionState(persistent=False)
        return self._states.setdefault(connection, SessionState())


def build_parts(settings: Settings) -> ServerParts:
    metrics = Metrics()
    telemetry = telemetry_for(settings.telemetry, metrics)  # metrics and spans of every Kubernetes and Helm operation
    watched = WatchedReads(
        settings.resilience.watch_reads, on_lookup=lambda result: metrics.watched_reads.labels(result).inc()
    )
    metrics.read_watches.set_function(lambda: len(watched))
    clients = ClientPool(telemetry, settings.clusters.max_clients, watched)

    async def api_for(target: ClusterTarget) -> KubeApi:
        return (await clients.get(target)).api

    egress = EgressProxy(settings.files.allowed_hosts)  # what helm fetches meets the URL arguments' rule
    helm = HelmService(
        HelmBinaries(settings.helm.helm_v3_binary, settings.helm.helm_v4_binary),
        api_for,
        settings.helm.helm_read_engine,
        settings.helm.helm_write_engine,
        observer=telemetry,
        egress=egress,
    )
    tools = all_tools()
    wanted: list[tuple[type[BaseModel], bool]] = [
        (ClusterCredentials, settings.kube.per_call_credentials),
        (KubeconfigCredential, settings.kube.per_call_kubeconfig),
    ]
    credentials = tuple(model for model, on in wanted if on)
    if credentials:
        tools = [_with_credentials(t, credentials) for t in tools]
    forwards = PortForwards()
    metrics.port_forwards.set_function(lambda: len(forwards))
    audit = AuditLog.open(settings)  # the HTTP app's auth middleware writes to it too (pipeline.audit)
    pipeline = CallPipeline(settings, tools, clients, helm, metrics, forwards, telemetry=telemetry, audit=audit)
    return ServerParts(
        settings=settings,
        pipeline=pipeline,
        clients=clients,
        metrics=metrics,
        forwards=forwards,
        telemetry=telemetry,
        egress=egress,
    )


class KubehelmServer(Server[Any]):
    """The MCP server, carrying the parts behind it (settings, pipeline, client pool, metrics) so
    transports, the HTTP app and tests reach them through the server itself."""

    parts: ServerParts


def _tracer_installed() -> bool:
    """Whether the process has an OpenTelemetry tracer provider (an application embedding the server
    may have its own), so the SDK's spans would go somewhere."""
    from opentelemetry import trace

    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def build_server(parts: ServerParts) -> KubehelmServer:
    pipeline = parts.pipeline
    sessions = _Sessions()
    structured = parts.settings.output.result_format == "structured"
    provider = parts.settings.clusters.cluster_provider
    listed = [_mcp_tool(t, structured, provider) for t in pipeline.listed_tools()]
    schemas = {t.name: t.input_schema for t in listed}

    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        parts.warm_up()  # a client lists the tools right after the handshake: the first call comes next
        return types.ListToolsResult(tools=listed)

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult | types.InputRequiredResult:
        async def report(progress: float, total: float | None, message: str | None) -> None:
            # dispatcher-agnostic: a no-op without a progress token; in-process clients get their callback
            await ctx.session.report_progress(progress, total, message)

        elicitor = Elicitor(ctx, params)
        caller = _caller(ctx, elicitor.ask)
        outcome = await pipeline.call(params.name, params.arguments, sessions.for_request(ctx), report, caller)
        if params.name not in pipeline.tools:  # audited and counted above; the spec asks for a protocol error
            raise MCPError(types.INVALID_PARAMS, outcome.text)
        if elicitor.pending is not None:  # stateless protocol: the client retries with the user's answer
            return elicitor.input_required()
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=outcome.text)],
            structured_content=outcome.structured,
            is_error=outcome.is_error,
        )

    server = KubehelmServer(
        "kubehelm-mcp",
        version=__version__,
        instructions=instructions(provider),
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        get_tool_input_schema=schemas.get,
    )
    if not parts.settings.telemetry.tracing and not _tracer_installed():
        # The SDK's span per message would be a no-op span: about 40 µs of every call for nothing.
        server.middleware = [m for m in server.middleware if not isinstance(m, OpenTelemetryMiddleware)]
    # Confirmation answers come back in requestState on the stateless protocol: sealed and bound to the call.
    keys = parts.settings.policy.request_state_keys
    security = RequestStateSecurity(keys=list(keys)) if keys else RequestStateSecurity.ephemeral()
    server.middleware.append(RequestStateBoundary(security, default_audience=server.name))
    server.parts = parts
    return server
