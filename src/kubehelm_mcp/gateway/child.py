"""One supervised backend connection (a child process or a remote session).

The supervisor loop connects, initializes, and counts the child ready only once it answers a
real MCP ping; it then pings every `ping_interval`, and a ping unanswered within `ping_timeout`
(a dead or hung child) ends the connection. It reconnects with exponential backoff, lists the
tools again, and tells its listeners, which send `tools/list_changed` to their clients. A call
to a child that is not ready fails at once with one clear sentence; other children never notice.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

import anyio
from mcp import Client
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp_types import (
    CONNECTION_CLOSED,
    CallToolResult,
    ListToolsResult,
    LoggingLevel,
    LoggingMessageNotification,
    PaginatedRequestParams,
    PromptListChangedNotification,
    ResourceListChangedNotification,
    ServerCapabilities,
    TextContent,
    Tool,
    ToolListChangedNotification,
)

from kubehelm_mcp.gateway.asks import Asks
from kubehelm_mcp.gateway.backends import backend_client
from kubehelm_mcp.gateway.config import ServerConfig, Supervision
from kubehelm_mcp.gateway.logs import ChildLogs

log = logging.getLogger("kubehelm_mcp.gateway")
# Children are spoken to in the handshake era on purpose (backends.py), where ping is the health check.
warnings.filterwarnings("ignore", message="ping is removed", category=MCPDeprecationWarning)

State = Literal["starting", "ready", "restarting", "stopped"]
Listener = Callable[[str], Awaitable[None]]  # called with "tools", "prompts" or "resources"
MAX_ERROR_LENGTH = 300


class ChildUnavailable(Exception):
    """The child cannot take a call now; the message is the sentence the client sees."""


def describe(exc: BaseException) -> str:
    """One line about a failure, never a traceback: the innermost cause of an exception group."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, MCPError):
        text = exc.error.message
    elif isinstance(exc, TimeoutError):
        text = str(exc) or "no answer in time"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())[:MAX_ERROR_LENGTH]


def error_result(message: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)


class Child:
    def __init__(
        self,
        config: ServerConfig,
        supervision: Supervision,
        extra_env: Mapping[str, str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self._supervision = supervision
        self._extra_env = dict(extra_env or {})
        self._extra_headers = dict(extra_headers or {})
        self.state: State = "starting"
        self.restarts = 0  # connections lost and made again
        self.last_error: str | None = None
        self.tools: list[Tool] = []
        self.capabilities: ServerCapabilities | None = None
        self.last_used = time.monotonic()
        self.listeners: list[Listener] = []
        self.asks = Asks(config.name)  # the child's sampling and elicitation, to the client of its call
        self.logs = ChildLogs(config.name, self.asks)  # its log lines, to its clients
        self._client: Client | None = None  # set while ready
        self._connected: Client | None = None  # set from the handshake on
        self._ready = anyio.Event()
        self._check_now = anyio.Event()
        self._stopped = False
        self._scope: anyio.CancelScope | None = None
        self._connections = 0

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    # -- supervision -------------------------------------------------------------------------

    async def run(self) -> None:
        """Supervise until stop(): connect, watch, reconnect with backoff."""
        backoff = self._supervision.backoff_initial
        with anyio.CancelScope() as scope:
            self._scope = scope
            while not self._stopped:
                connections = self._connections
                try:
                    await self._connect_and_watch()
                except Exception as exc:  # the child's failure, recorded and retried; never the gateway's
                    reason = describe(exc)
                    # A child that keeps failing the same way is said once, not at every retry.
                    level = logging.DEBUG if reason == self.last_error and self.state != "ready" else logging.WARNING
                    self.last_error = reason
                    log.log(level, "server %s: %s; reconnecting in %.1f s", self.name, reason, backoff)
                if self._stopped:
                    break
                if self._connections > connections:  # it was up: a new failure, not the same one again
                    backoff = self._supervision.backoff_initial
                self.state = "restarting"
                self.restarts += 1
                await anyio.sleep(backoff)
                backoff = min(backoff * 2, self._supervision.backoff_max)
        self.state = "stopped"

    async def _connect_and_watch(self) -> None:
        self.state = "starting" if self._connections == 0 else "restarting"
        started = anyio.Event()
        timed_out = False
        async with anyio.create_task_group() as tg:

            async def watchdog() -> None:
                # Spawn, initialize and the first ping within start_timeout, or the attempt fails.
                nonlocal timed_out
                with anyio.move_on_after(self._supervision.start_timeout):
                    await started.wait()
                    return
                timed_out = True
                tg.cancel_scope.cancel()

            tg.start_soon(watchdog)
            try:
                client = backend_client(
                    self.config,
                    self._on_message,
                    self._extra_env,
                    self._extra_headers,
                    sampling_callback=self.asks.sampling,
                    elicitation_callback=self.asks.elicitation,
                )
                async with client:
                    self._connected = client  # a list_changed may come before the first ping is answered
                    await client.send_ping()
                    self.capabilities = client.server_capabilities
                    self.tools = await self._list_tools(client)
                    await self._apply_log_level(client)  # a restarted child logs as its clients asked
                    started.set()
                    self._client = client
                    self._connections += 1
                    self.state = "ready"
                    self._ready.set()
                    if self._connections > 1:
                        log.info("server %s is back (restart %d)", self.name, self.restarts)
                        await self._notify("tools")
                    await self._watch(client)
            finally:
                self._client = self._connected = None
                self._ready.set()  # waiters wake and see the child gone
                self._ready = anyio.Event()
                started.set()
        if timed_out:
            raise TimeoutError(f"did not start and answer a ping within {self._supervision.start_timeout:g} s")

    async def _watch(self, client: Client) -> None:
        """Return (to reconnect) when a ping goes unanswered; raise with the reason."""
        while not self._stopped:
            with anyio.move_on_after(self._supervision.ping_interval):
                await self._check_now.wait()
            self._check_now = anyio.Event()
            try:
                with anyio.fail_after(self._supervision.ping_timeout):
                    await client.send_ping()
            except TimeoutError:
                raise TimeoutError(f"did not answer a ping within {self._supervision.ping_timeout:g} s") from None

    async def _list_tools(self, client: Client) -> list[Tool]:
        if self.capabilities is not None and self.capabilities.tools is None:
            return []
        tools: list[Tool] = []
        cursor: str | None = None
        while True:
            params = PaginatedRequestParams(cursor=cursor) if cursor else None
            page: ListToolsResult = await client.session.list_tools(params=params)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                return tools

    async def _apply_log_level(self, client: Client) -> None:
        level = self.logs.wanted
        if level is not None and self.capabilities is not None and self.capabilities.logging is not None:
            await client.session.set_logging_level(level)

    async def set_log_level(self, ctx: Any, level: LoggingLevel) -> None:
        """A client session's logging/setLevel: recorded for it, and the child set to the level its
        sessions want (a child that is down gets it when it is back)."""
        before = self.logs.wanted
        self.logs.set_level(ctx, level)
        client = self._client
        if client is not None and self.logs.wanted != before:
            await self.request(self._apply_log_level)

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, LoggingMessageNotification):
            await self.logs.relay(message.params)
        elif isinstance(message, ToolListChangedNotification):
            client = self._connected
            if client is not None:
                try:
                    self.tools = await self._list_tools(client)
                except Exception as exc:
                    log.warning("server %s: listing tools after list_changed: %s", self.name, describe(exc))
            await self._notify("tools")
        elif isinstance(message, PromptListChangedNotification):
            await self._notify("prompts")
        elif isinstance(message, ResourceListChangedNotification):
            await self._notify("resources")

    async def _notify(self, what: str) -> None:
        for listener in list(self.listeners):
            try:
                await listener(what)
            except Exception as exc:  # one gone client session must not stop the others' notices
                log.debug("server %s: list_changed listener: %s", self.name, describe(exc))

    def check_soon(self) -> None:
        """A call failed oddly: ping now rather than at the next interval."""
        self._check_now.set()

    def stop(self) -> None:
        self._stopped = True
        if self._scope is not None:
            self._scope.cancel()

    # -- calls -------------------------------------------------------------------------------

    async def client(self) -> Client:
        """The connected client, waiting for the first start; ChildUnavailable when it is down."""
        self.last_used = time.monotonic()
        if self._client is None and self.state == "starting":
            with anyio.move_on_after(self._supervision.start_timeout):
                await self._ready.wait()
        client = self._client
        if client is None:
            reason = f": {self.last_error}" if self.last_error else ""
            raise ChildUnavailable(
                f"The MCP server {self.name!r} is not available ({self.state}{reason}); it is being restarted, "
                "retry shortly."
            )
        return client

    async def request(self, operation: Callable[[Client], Awaitable[Any]]) -> Any:
        """Run one operation on the child within the server's timeout. ChildUnavailable for a child
        that is down, hung or died during the call; MCPError (the child's own error) passes through."""
        client = await self.client()
        try:
            with anyio.fail_after(self.config.timeout):
                return await operation(client)
        except MCPError as exc:
            if exc.code != CONNECTION_CLOSED:
                raise  # the child's own answer
            self.check_soon()
            raise ChildUnavailable(
                f"The MCP server {self.name!r} went away during the call; it is being restarted, retry shortly."
            ) from None
        except TimeoutError:
            self.check_soon()
            raise ChildUnavailable(
                f"The MCP server {self.name!r} did not answer within {self.config.timeout:g} s."
            ) from None
        except Exception as exc:
            self.check_soon()
            raise ChildUnavailable(f"The MCP server {self.name!r} failed during the call: {describe(exc)}.") from None
