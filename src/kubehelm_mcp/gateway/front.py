"""The MCP server a gateway client talks to: one per endpoint (one server's, or the combined one).

Built on the SDK's low-level Server; every request is relayed to the child that serves the
caller (see pool.py). The combined endpoint merges every server's tools and prompts under names
from names.py and routes each call back to its server. Calls are timed, counted and audited here.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server import Server, ServerRequestContext
from mcp.server.context import CallNext, HandlerResult
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.models import InitializationOptions
from mcp.server.subscriptions import (
    InMemorySubscriptionBus,
    ListenHandler,
    PromptsListChanged,
    ResourcesListChanged,
    ServerEvent,
    ToolsListChanged,
)
from mcp.shared.exceptions import MCPError
from mcp_types import (
    CallToolRequest,
    CallToolRequestParams,
    CallToolResult,
    EmptyResult,
    GetPromptRequestParams,
    GetPromptResult,
    ListPromptsResult,
    ListResourcesResult,
    ListResourceTemplatesResult,
    ListToolsResult,
    PaginatedRequestParams,
    Prompt,
    ReadResourceRequestParams,
    ReadResourceResult,
    SetLevelRequestParams,
    Tool,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from kubehelm_mcp import __version__
from kubehelm_mcp.audit import AuditLog
from kubehelm_mcp.caller import PRINCIPAL_SCOPE_KEY, Caller, Principal, remote_address
from kubehelm_mcp.gateway.asks import connection_of
from kubehelm_mcp.gateway.child import Child, ChildUnavailable, describe, error_result
from kubehelm_mcp.gateway.config import ServerConfig
from kubehelm_mcp.gateway.metrics import GatewayMetrics
from kubehelm_mcp.gateway.names import NameMap
from kubehelm_mcp.gateway.pool import ServerPool
from kubehelm_mcp.pipeline.inflight import InFlight
from kubehelm_mcp.web.auth import Policy
from kubehelm_mcp.web.principal import AuthFailure

log = logging.getLogger("kubehelm_mcp.gateway")

Pools = Callable[[], dict[str, ServerPool]]
# What a relayed call answers when a draining gateway cut it off (made once: it is the same for every call).
SHUTTING_DOWN = error_result("The gateway is shutting down and cancelled the call; retry on another replica.")


class GatewayServer(Server[Any]):
    """Announces list_changed for tools, prompts and resources: children come back and change."""

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        changed = notification_options or NotificationOptions(True, True, True)
        return super().create_initialization_options(changed, experimental_capabilities, extensions)


def _caller(ctx: ServerRequestContext[Any, Any]) -> Caller:
    """Who sent the request: the principal web/auth.py left in the HTTP scope, and the peer."""
    scope = getattr(ctx.request, "scope", None)
    if not isinstance(scope, dict):
        return Caller()
    principal = scope.get(PRINCIPAL_SCOPE_KEY)
    return Caller(
        principal=principal if isinstance(principal, Principal) else None, remote=remote_address(scope.get("client"))
    )


def session_key(connection: Any) -> str:
    return str(id(connection))


def session_of(ctx: ServerRequestContext[Any, Any]) -> str | None:
    """The client session a request belongs to; None for a 2026-07-28 request, which has none."""
    connection = connection_of(ctx)
    return None if connection.protocol_version in MODERN_PROTOCOL_VERSIONS else session_key(connection)


def access_refusal(config: ServerConfig, principal: Principal | None) -> str | None:
    """Why this caller may not use this server (its required scopes or roles), else None.
    Without auth (a loopback gateway) there is no principal and nothing to require."""
    if principal is None or not (config.required_scopes or config.required_roles):
        return None
    try:
        Policy(config.required_scopes, config.required_roles).check(principal)
    except AuthFailure as failure:
        return f"The MCP server {config.name!r} is not open to you: {failure.description}"
    return None


class SessionRegistry:
    """The client connections of one endpoint (server middleware sees each), for list_changed
    notices; and, for per-session children, the end of each connection."""

    def __init__(self) -> None:
        self.connections: weakref.WeakSet[Any] = weakref.WeakSet()
        self.on_session_end: list[Callable[[str], None]] = []
        # 2026-07-28 clients have no session stream: they hear of changes on subscriptions/listen
        self.bus = InMemorySubscriptionBus()
        self.listen = ListenHandler(self.bus)

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        connection = connection_of(ctx)
        # A 2026-07-28 request is a connection of its own: it hears of changes on subscriptions/listen.
        if connection not in self.connections and connection.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            self.connections.add(connection)
            exit_stack = getattr(connection, "exit_stack", None)
            if exit_stack is not None:
                for callback in self.on_session_end:
                    exit_stack.callback(callback, session_key(connection))
        return await call_next(ctx)

    async def changed(self, what: str) -> None:
        event: ServerEvent = (
            ToolsListChanged()
            if what == "tools"
            else PromptsListChanged()
            if what == "prompts"
            else ResourcesListChanged()
        )
        await self.bus.publish(event)
        for connection in list(self.connections):
            try:
                if what == "tools":
                    await connection.send_tool_list_changed()
                elif what == "prompts":
                    await connection.send_prompt_list_changed()
                else:
                    await connection.send_resource_list_changed()
            except Exception as exc:  # a connection that has gone; it leaves the weak set by itself
                log.debug("list_changed to a client session: %s", describe(exc))


class Relay:
    """Choosing the child for a request, and relaying a call to it with metrics and audit."""

    def __init__(self, pools: Pools, metrics: GatewayMetrics, audit: AuditLog, calls: InFlight) -> None:
        self._pools = pools
        self._metrics = metrics
        self._audit = audit
        self._calls = calls  # a draining gateway waits for these, then cancels the rest

    def pool(self, server: str, principal: Principal | None) -> ServerPool:
        """The server's pool, if the caller may use that server."""
        pool = self._pools().get(server)
        if pool is None:
            raise ChildUnavailable(f"The MCP server {server!r} is not configured on this gateway.")
        refused = access_refusal(pool.config, principal)
        if refused is not None:
            raise ChildUnavailable(refused)
        return pool

    def child(
        self,
        server: str,
        ctx: ServerRequestContext[Any, Any],
        pool: ServerPool | None = None,
        caller: Caller | None = None,
    ) -> Child:
        """The child that serves this caller on this server; its log lines reach the caller from now on."""
        principal = (caller or _caller(ctx)).principal
        child = (pool or self.pool(server, principal)).child_for(session_of(ctx), principal)
        child.logs.serving(ctx)
        return child

    async def call_tool(
        self, server: str, tool: str, ctx: ServerRequestContext[Any, Any], params: CallToolRequestParams
    ) -> CallToolResult:
        started = time.monotonic()
        outcome = "error"
        caller = _caller(ctx)
        try:
            pool = self.pool(server, caller.principal)
            if not pool.config.tools.admits(tool):
                result = error_result(f"The tool {tool!r} of {server!r} is not offered by this gateway.")
                outcome = "denied"
                return result
            child = self.child(server, ctx, pool, caller)
            # Sent as the child's own request, not through ClientSession.call_tool, which would
            # check the result against the child's output schema: the gateway relays the result
            # as the child sent it, and the client that asked does its own checking.
            request = CallToolRequest(params=CallToolRequestParams(name=tool, arguments=params.arguments))
            progress = _progress_relay(ctx)
            call = child.request(
                lambda client: client.session.send_request(request, CallToolResult, progress_callback=progress)
            )
            with child.asks.during(ctx):
                result = await self._calls.run(call, SHUTTING_DOWN)
            outcome = "error" if result.is_error else "ok"
            return result
        except ChildUnavailable as exc:
            outcome = "unavailable"
            return error_result(str(exc))
        except MCPError as exc:
            return error_result(f"The MCP server {server!r} refused the call: {describe(exc)}")
        finally:
            duration = time.monotonic() - started
            self._metrics.observe(server, outcome, duration)
            self._audit.relayed_call(caller, server, tool, outcome, duration)

    async def set_log_level(self, server: str, ctx: ServerRequestContext[Any, Any], level: Any) -> None:
        """A client's logging/setLevel for one server's child. A child that is down gets it when it is back."""
        try:
            await self.child(server, ctx).set_log_level(ctx, level)
        except ChildUnavailable as exc:
            log.info("logging/setLevel for %s: %s", server, exc)

    async def ask(self, server: str, ctx: ServerRequestContext[Any, Any], operation: Any) -> Any:
        """A non-tool request (prompts, resources) relayed as it is; failures become MCP errors."""
        try:
            return await self.child(server, ctx).request(operation)
        except ChildUnavailable as exc:
            raise MCPError(-32603, str(exc)) from None


def _progress_relay(ctx: ServerRequestContext[Any, Any]) -> Any:
    """The child's progress for this call, passed on to the client that asked for it."""
    token = (ctx.meta or {}).get("progress_token")
    if token is None:
        return None

    related = None if ctx.request_id is None else str(ctx.request_id)

    async def relay(progress: float, total: float | None, message: str | None) -> None:
        await ctx.session.send_progress_notification(token, progress, total, message, related_request_id=related)

    return relay


def _paged(params: PaginatedRequestParams | None) -> PaginatedRequestParams | None:
    return params if params is not None and params.cursor else None


def server_endpoint(server: str, relay: Relay, sessions: SessionRegistry) -> Server[Any]:
    """The MCP server for /servers/{server}/...: the child's own names, filtered."""

    async def list_tools(ctx: ServerRequestContext[Any, Any], _: PaginatedRequestParams | None) -> ListToolsResult:
        try:
            child = relay.child(server, ctx)
            await child.client()  # waits for a first start; a child that is down lists nothing
        except ChildUnavailable as exc:
            log.info("%s", exc)
            return ListToolsResult(tools=[])
        admits = child.config.tools.admits
        return ListToolsResult(tools=[t for t in child.tools if admits(t.name)])

    async def call_tool(ctx: ServerRequestContext[Any, Any], params: CallToolRequestParams) -> CallToolResult:
        return await relay.call_tool(server, params.name, ctx, params)

    async def list_prompts(ctx: ServerRequestContext[Any, Any], params: PaginatedRequestParams | None) -> Any:
        return await relay.ask(server, ctx, lambda c: c.session.list_prompts(params=_paged(params)))

    async def get_prompt(ctx: ServerRequestContext[Any, Any], params: GetPromptRequestParams) -> Any:
        return await relay.ask(server, ctx, lambda c: c.session.get_prompt(params.name, params.arguments))

    async def list_resources(ctx: ServerRequestContext[Any, Any], params: PaginatedRequestParams | None) -> Any:
        return await relay.ask(server, ctx, lambda c: c.session.list_resources(params=_paged(params)))

    async def list_templates(ctx: ServerRequestContext[Any, Any], params: PaginatedRequestParams | None) -> Any:
        return await relay.ask(server, ctx, lambda c: c.session.list_resource_templates(params=_paged(params)))

    async def read_resource(ctx: ServerRequestContext[Any, Any], params: ReadResourceRequestParams) -> Any:
        return await relay.ask(server, ctx, lambda c: c.session.read_resource(params.uri))

    async def set_level(ctx: ServerRequestContext[Any, Any], params: SetLevelRequestParams) -> EmptyResult:
        await relay.set_log_level(server, ctx, params.level)
        return EmptyResult()

    return _front(
        server,
        sessions,
        set_level,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
    )


def _front(
    name: str,
    sessions: SessionRegistry,
    set_level: Callable[[ServerRequestContext[Any, Any], SetLevelRequestParams], Awaitable[EmptyResult]],
    **handlers: Any,
) -> GatewayServer:
    """An MCP server front with the handlers every endpoint has: subscriptions, logging/setLevel
    and the session registry."""
    front = GatewayServer(name, version=__version__, on_subscriptions_listen=sessions.listen, **handlers)
    # Registered here rather than passed to the constructor, which warns that 2026-07-28 deprecates logging.
    front.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)
    front.middleware.append(sessions)
    return front


async def _gather(
    relay: Relay, ctx: ServerRequestContext[Any, Any], servers: list[str], fetch: Callable[[Child], Awaitable[Any]]
) -> list[tuple[str, Any]]:
    """One listing from every server that can answer; a server that is down is left out."""
    found: list[tuple[str, Any]] = []
    for server in servers:
        try:
            child = relay.child(server, ctx)
            found.append((server, await fetch(child)))
        except (ChildUnavailable, MCPError) as exc:
            log.info("combined listing without %s: %s", server, describe(exc))
    return found


def combined_endpoint(relay: Relay, pools: Pools, sessions: SessionRegistry) -> Server[Any]:
    """The MCP server for /combined/...: every server's tools and prompts under combined names."""

    async def catalogue(ctx: ServerRequestContext[Any, Any]) -> tuple[list[tuple[str, list[Tool]]], NameMap]:
        """This caller's tools on every server that answers, and their combined names. Built the
        same way for tools/list and tools/call, so a listed name always routes back."""

        async def tools_of(child: Child) -> list[Tool]:
            await child.client()
            return [t for t in child.tools if child.config.tools.admits(t.name)]

        listed = await _gather(relay, ctx, sorted(pools()), tools_of)
        return listed, NameMap((server, t.name) for server, tools in listed for t in tools)

    async def list_tools(ctx: ServerRequestContext[Any, Any], _: PaginatedRequestParams | None) -> ListToolsResult:
        listed, mapping = await catalogue(ctx)
        merged = [
            t.model_copy(update={"name": mapping.name(server, t.name), "title": t.title or t.name})
            for server, tools in listed
            for t in tools
        ]
        return ListToolsResult(tools=merged)

    async def call_tool(ctx: ServerRequestContext[Any, Any], params: CallToolRequestParams) -> CallToolResult:
        _, mapping = await catalogue(ctx)
        pair = mapping.pair(params.name)
        if pair is None:
            return error_result(f"No tool is named {params.name!r} here now; list the tools again.")
        return await relay.call_tool(pair[0], pair[1], ctx, params)

    prompt_names: dict[str, tuple[str, str]] = {}

    async def list_prompts(ctx: ServerRequestContext[Any, Any], _: PaginatedRequestParams | None) -> ListPromptsResult:
        async def prompts_of(child: Child) -> list[Prompt]:
            if child.capabilities is not None and child.capabilities.prompts is None:
                return []
            result = await child.request(lambda c: c.session.list_prompts())
            return list(result.prompts)

        listed = await _gather(relay, ctx, sorted(pools()), prompts_of)
        mapping = NameMap((server, p.name) for server, prompts in listed for p in prompts)
        prompt_names.update(mapping.to_pair)
        return ListPromptsResult(
            prompts=[p.model_copy(update={"name": mapping.name(s, p.name)}) for s, prompts in listed for p in prompts]
        )

    async def get_prompt(ctx: ServerRequestContext[Any, Any], params: GetPromptRequestParams) -> GetPromptResult:
        server, prompt = prompt_names.get(params.name) or params.name.partition("__")[::2]
        result: GetPromptResult = await relay.ask(server, ctx, lambda c: c.session.get_prompt(prompt, params.arguments))
        return result

    async def every_server(ctx: ServerRequestContext[Any, Any], method: str, field: str) -> list[Any]:
        """One resources list (`list_resources`, `list_resource_templates`) of every server that has resources."""

        async def of(child: Child) -> list[Any]:
            if child.capabilities is not None and child.capabilities.resources is None:
                return []
            result = await child.request(lambda c: getattr(c.session, method)())
            return list(getattr(result, field))

        listed = await _gather(relay, ctx, sorted(pools()), of)
        return [item for _, items in listed for item in items]

    async def list_resources(
        ctx: ServerRequestContext[Any, Any], _: PaginatedRequestParams | None
    ) -> ListResourcesResult:
        return ListResourcesResult(resources=await every_server(ctx, "list_resources", "resources"))

    async def list_templates(
        ctx: ServerRequestContext[Any, Any], _: PaginatedRequestParams | None
    ) -> ListResourceTemplatesResult:
        resource_templates = await every_server(ctx, "list_resource_templates", "resource_templates")
        return ListResourceTemplatesResult(resource_templates=resource_templates)

    async def read_resource(
        ctx: ServerRequestContext[Any, Any], params: ReadResourceRequestParams
    ) -> ReadResourceResult:
        # A URI names no server: the first server that has it answers.
        for server in sorted(pools()):
            try:
                result: ReadResourceResult = await relay.ask(server, ctx, lambda c: c.session.read_resource(params.uri))
                return result
            except MCPError:
                continue
        raise MCPError(-32002, f"No server behind this gateway has the resource {params.uri}.")

    async def ping(ctx: ServerRequestContext[Any, Any], _: Any) -> EmptyResult:
        return EmptyResult()

    async def set_level(ctx: ServerRequestContext[Any, Any], params: SetLevelRequestParams) -> EmptyResult:
        for server in sorted(pools()):
            try:
                await relay.set_log_level(server, ctx, params.level)
            except MCPError as exc:  # one child refusing does not stop the others
                log.info("logging/setLevel for %s: %s", server, describe(exc))
        return EmptyResult()

    return _front(
        "combined",
        sessions,
        set_level,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
        on_ping=ping,
    )
