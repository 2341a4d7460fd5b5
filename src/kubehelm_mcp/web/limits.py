"""Request size limits of the HTTP app: headers (431) and body (413, as soon as it is known).

uvicorn's h11 limit (h11_max_incomplete_event_size, set from the same setting) only bounds a
head still arriving; a whole head that comes in one read is measured here."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kubehelm_mcp.web.refusal import refusal


class _BodyTooLarge(Exception):
    pass


def head_bytes(scope: Scope) -> int:
    """The request line and headers as they were on the wire (give or take the spaces)."""
    line = len(scope["method"]) + len(scope.get("raw_path") or b"") + len(scope["query_string"]) + 12
    return line + sum(len(name) + len(value) + 4 for name, value in scope["headers"])


class RequestSizeLimits:
    """Refuses a head over max_head_bytes, and a body over max_body_bytes: at once when
    Content-Length says so, else as soon as the streamed (chunked) bytes pass the limit, so an
    oversized body is never read to its end."""

    def __init__(self, app: ASGIApp, max_head_bytes: int, max_body_bytes: int) -> None:
        self._app = app
        self._max_head = max_head_bytes
        self._max_body = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        if head_bytes(scope) > self._max_head:
            description = f"The request headers are larger than {self._max_head} bytes."
            await _refuse(431, "request_header_fields_too_large", description, scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_body:
            await self._refuse_body(scope, receive, send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self._max_body:
                    raise _BodyTooLarge
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, counting_receive, watching_send)
        except _BodyTooLarge:
            if started:  # an app that answers before reading its body: nothing left to tell the client
                return
            await self._refuse_body(scope, receive, send)

    async def _refuse_body(self, scope: Scope, receive: Receive, send: Send) -> None:
        description = f"The request body is larger than {self._max_body} bytes."
        await _refuse(413, "request_too_large", description, scope, receive, send)


async def _refuse(status: int, error: str, description: str, scope: Scope, receive: Receive, send: Send) -> None:
    # Whatever of the body is left stays unread, so the connection cannot carry another request.
    await refusal(status, error, description, close=True)(scope, receive, send)
