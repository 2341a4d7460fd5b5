"""Telling an idle MCP connection from a quiet one: idle means no message either way and no
client request still being answered, for the whole timeout."""

from __future__ import annotations

import contextvars
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar

import anyio
from mcp.shared._stream_protocols import ReadStream, WriteStream
from mcp.shared.message import SessionMessage
from mcp_types import JSONRPCError, JSONRPCRequest, JSONRPCResponse

T = TypeVar("T")


class IdleTimer:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._last = anyio.current_time()
        self._answering = 0  # client requests read and not yet answered

    def seen(self, item: object, *, inbound: bool) -> None:
        self._last = anyio.current_time()
        message = item.message if isinstance(item, SessionMessage) else None
        if inbound and isinstance(message, JSONRPCRequest):
            self._answering += 1
        elif not inbound and isinstance(message, JSONRPCResponse | JSONRPCError):
            self._answering = max(self._answering - 1, 0)

    async def wait(self) -> None:
        """Return once the connection has been idle for the timeout."""
        while True:
            left = self._last + self.timeout - anyio.current_time()
            if left <= 0 and not self._answering:
                return
            await anyio.sleep(left if left > 0 else self.timeout)

    def reading(self, stream: ReadStream[T]) -> ReadStream[T]:
        return _WatchedRead(stream, self)

    def writing(self, stream: WriteStream[T]) -> WriteStream[T]:
        return _WatchedWrite(stream, self)


class _Closable(Protocol):
    async def aclose(self) -> None: ...


class _Watched:
    """What both watched ends share: closing the stream they wrap, also as a context manager."""

    _inner: _Closable

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        await self.aclose()
        return None


class _WatchedRead(_Watched, Generic[T]):
    """A ReadStream that tells the timer of every message (and keeps the sender's context)."""

    _inner: ReadStream[T]

    def __init__(self, inner: ReadStream[T], timer: IdleTimer) -> None:
        self._inner = inner
        self._timer = timer

    @property
    def last_context(self) -> contextvars.Context | None:
        context: contextvars.Context | None = getattr(self._inner, "last_context", None)
        return context

    async def receive(self) -> T:
        item = await self._inner.receive()
        self._timer.seen(item, inbound=True)
        return item

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None


class _WatchedWrite(_Watched, Generic[T]):
    """A WriteStream that tells the timer of every message it sends."""

    _inner: WriteStream[T]

    def __init__(self, inner: WriteStream[T], timer: IdleTimer) -> None:
        self._inner = inner
        self._timer = timer

    async def send(self, item: T, /) -> None:
        await self._inner.send(item)
        self._timer.seen(item, inbound=False)
