"""A child's log messages (`notifications/message`) relayed to its clients, and their
`logging/setLevel` passed on to the child.

A line the child logs while the calls in flight on it all come from one client session goes to
that session, on the call's own stream (so a 2026-07-28 client that opted in for that request
gets it too). Any other line goes to every handshake-era session the child serves: a pooled
child serves one session or one user; a shared child's log is the server's own, seen by all its
clients. Each session's level filters what it is sent; the child itself is set to the most
verbose level any of its sessions asked for, and again after each restart.
"""

from __future__ import annotations

import logging
import warnings
import weakref
from typing import Any, get_args

from mcp.server import ServerRequestContext
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import LoggingLevel, LoggingMessageNotificationParams
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from kubehelm_mcp.gateway.asks import Asks, connection_of

log = logging.getLogger("kubehelm_mcp.gateway")
# Logging is deprecated at 2026-07-28 but still the handshake era's; the gateway relays it on purpose.
warnings.filterwarnings("ignore", message="The logging capability is deprecated", category=MCPDeprecationWarning)

LEVELS: tuple[LoggingLevel, ...] = get_args(LoggingLevel)  # least to most severe
_RANK = {level: rank for rank, level in enumerate(LEVELS)}


class ChildLogs:
    def __init__(self, server: str, asks: Asks) -> None:
        self._server = server
        self._asks = asks  # the calls in flight on the child
        self._audience: weakref.WeakSet[Any] = weakref.WeakSet()  # handshake-era sessions it serves
        self._levels: weakref.WeakKeyDictionary[Any, LoggingLevel] = weakref.WeakKeyDictionary()

    def serving(self, ctx: ServerRequestContext[Any, Any]) -> None:
        """A request of this session was routed to the child: its later log lines reach the session.
        A 2026-07-28 request has no session to send them to outside its own call."""
        connection = connection_of(ctx)
        if connection.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            self._audience.add(connection)

    def set_level(self, ctx: ServerRequestContext[Any, Any], level: LoggingLevel) -> None:
        connection = connection_of(ctx)
        if connection not in self._levels and getattr(connection, "exit_stack", None) is not None:
            # a session that ends stops counting at once, not when it is collected
            connection.exit_stack.callback(self._levels.pop, connection, None)
        self._levels[connection] = level
        self.serving(ctx)

    @property
    def wanted(self) -> LoggingLevel | None:
        """The level the child should log at: the most verbose any of its sessions asked for."""
        levels = [_RANK[level] for level in self._levels.values()]
        return LEVELS[min(levels)] if levels else None

    def _admits(self, connection: Any, level: LoggingLevel) -> bool:
        floor = self._levels.get(connection)
        return floor is None or _RANK.get(level, len(LEVELS)) >= _RANK[floor]

    async def relay(self, params: LoggingMessageNotificationParams) -> None:
        ctx = self._asks.sole_caller()
        if ctx is not None:
            if self._admits(connection_of(ctx), params.level):
                await self._send(ctx.session, params, ctx.request_id)
            return
        for connection in list(self._audience):
            if self._admits(connection, params.level):
                await self._send(connection, params, None)

    async def _send(self, target: Any, params: LoggingMessageNotificationParams, related: Any) -> None:
        """target: a request's session (related names the call) or a connection (its standalone stream)."""
        try:
            if related is not None:
                await target.send_log_message(params.level, params.data, params.logger, related_request_id=related)
            else:
                await target.log(params.level, params.data, params.logger)
        except Exception as exc:  # a client that has gone; the others still get the line
            log.debug("server %s: relaying a log message: %s", self._server, exc)
