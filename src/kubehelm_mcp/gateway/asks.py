"""A child's own requests (sampling, elicitation), relayed to the client whose call caused them.

Over stdio a child's request names no call, so the gateway keeps the calls in flight on each
child: when they all come from one client session, that session is asked (on the call's own
stream); when calls of several sessions are in flight on a shared child, nobody is asked, so
one client's question can never reach another client."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mcp.client.session import ClientRequestContext
from mcp.server import ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp.shared.message import ServerMessageMetadata
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_REQUEST,
    ClientCapabilities,
    CreateMessageRequest,
    CreateMessageRequestParams,
    CreateMessageResult,
    ElicitationCapability,
    ElicitRequest,
    ElicitRequestParams,
    ElicitResult,
    ErrorData,
    SamplingCapability,
)

log = logging.getLogger("kubehelm_mcp.gateway")


def connection_of(ctx: ServerRequestContext[Any, Any]) -> Any:
    """The client connection (one MCP session) a request came on: ctx.session is per request.
    The SDK offers no public accessor; web/ and telemetry/ key session state on the same object."""
    return getattr(ctx.session, "_connection", ctx.session)


class Asks:
    def __init__(self, server: str) -> None:
        self._server = server
        self._calls: list[ServerRequestContext[Any, Any]] = []

    @contextmanager
    def during(self, ctx: ServerRequestContext[Any, Any]) -> Iterator[None]:
        self._calls.append(ctx)
        try:
            yield
        finally:
            self._calls.remove(ctx)

    def sole_caller(self) -> ServerRequestContext[Any, Any] | None:
        """The newest call in flight when every call in flight comes from one client session, else None."""
        if not self._calls:
            return None
        last = connection_of(self._calls[-1])
        if any(connection_of(c) is not last for c in self._calls):
            return None
        return self._calls[-1]

    async def sampling(self, context: ClientRequestContext, params: CreateMessageRequestParams) -> Any:
        request = CreateMessageRequest(params=params)
        return await self._relay(request, CreateMessageResult, ClientCapabilities(sampling=SamplingCapability()))

    async def elicitation(self, context: ClientRequestContext, params: ElicitRequestParams) -> Any:
        request = ElicitRequest(params=params)
        return await self._relay(request, ElicitResult, ClientCapabilities(elicitation=ElicitationCapability()))

    async def _relay(self, request: Any, result_type: Any, needs: ClientCapabilities) -> Any:
        what = request.method
        ctx = self.sole_caller()
        if ctx is None:
            return ErrorData(
                code=INVALID_REQUEST,
                message=f"The gateway cannot tell which client {self._server!r} asks ({what}): "
                "no call, or calls of several clients, are running on it.",
            )
        if not ctx.session.check_client_capability(needs):
            return ErrorData(code=INVALID_REQUEST, message=f"The client does not support {what}.")
        metadata = ServerMessageMetadata(related_request_id=ctx.request_id)
        try:
            return await ctx.session.send_request(request, result_type, metadata=metadata)
        except MCPError as exc:
            return exc.error
        except Exception as exc:  # the client went away, or its era has no back channel
            log.info("relaying %s from %s: %s", what, self._server, exc)
            return ErrorData(code=INTERNAL_ERROR, message=f"The client could not be asked ({what}).")
