"""Streamable HTTP sessions within per-caller limits: the SDK's session manager counts only a
global total, so a caller flooding `initialize` could take every session for its whole idle
timeout. Here each caller (principal, else client host) holds at most its share, and idle
sessions end after --session-idle-timeout."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from mcp.server import Server
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER, StreamableHTTPServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from kubehelm_mcp.settings import HttpLimitSettings, HttpSettings
from kubehelm_mcp.web.refusal import refusal
from kubehelm_mcp.web.slots import CallerSlots, Holder, holder_of

# The request opening a session: its caller and the slot SessionGate took for it, set for the
# SDK's admission, which runs in the same task.
_OPENING: ContextVar[tuple[Holder, object] | None] = ContextVar("kubehelm_mcp_session_opening", default=None)


class CappedSessionManager(StreamableHTTPSessionManager):
    """The SDK's manager, admitting a new session only within its opener's slots and giving the
    slot back however the session ends (client DELETE, idle timeout, crash, failed handshake)."""

    def __init__(self, app: Server[Any], http: HttpSettings, limits: HttpLimitSettings) -> None:
        super().__init__(
            app=app,
            stateless=http.stateless,
            max_request_body_size=limits.max_body_bytes,
            session_idle_timeout=limits.session_idle_timeout,
            max_sessions=limits.max_sessions,
        )
        self.slots = CallerSlots(
            "sessions", limits.max_sessions, limits.max_sessions_per_caller, limits.session_idle_timeout
        )

    def _admit_session(self, requestor: Any) -> StreamableHTTPServerTransport | None:
        transport = super()._admit_session(requestor)
        opening = _OPENING.get()
        if transport is not None and opening is not None:  # the gate's slot passes to the session
            holder, placeholder = opening
            self.slots.give_back(placeholder)
            self.slots.take(holder, transport.mcp_session_id)
        return transport

    async def _discard_session(self, session_id: str, transport: StreamableHTTPServerTransport) -> None:
        self.slots.give_back(session_id)
        await super()._discard_session(session_id, transport)


def opens_session(scope: Scope) -> bool:
    """A handshake-era request without a session id: the one kind that opens a session."""
    headers = Headers(scope=scope)
    version = headers.get(MCP_PROTOCOL_VERSION_HEADER)
    handshake_era = version is None or version in HANDSHAKE_PROTOCOL_VERSIONS
    return scope["method"] == "POST" and MCP_SESSION_ID_HEADER not in headers and handshake_era


class SessionGate:
    """The Streamable HTTP endpoint: a request that would open a session past its caller's
    share is refused here, in one clear sentence, before the SDK sees it."""

    def __init__(self, manager: CappedSessionManager) -> None:
        self._manager = manager
        self._app = StreamableHTTPASGIApp(manager)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._manager.stateless or not opens_session(scope):
            await self._app(scope, receive, send)
            return
        opener = holder_of(scope)
        refused = self._manager.slots.refusal(opener)
        if refused is not None:
            await refusal(refused.status, refused.error, refused.description)(scope, receive, send)
            return
        # Taken now, before any await, so that concurrent handshakes of one caller cannot all pass.
        placeholder = object()
        self._manager.slots.take(opener, placeholder)
        token = _OPENING.set((opener, placeholder))
        try:
            await self._app(scope, receive, send)
        finally:
            _OPENING.reset(token)
            self._manager.slots.give_back(placeholder)
