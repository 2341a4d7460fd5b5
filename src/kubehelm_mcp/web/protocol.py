"""uvicorn's h11 protocol with what uvicorn lacks: a request read timeout (without it a client
that sends its headers or body a byte at a time, slowloris, holds a connection for ever), and a
lingering close (without it a client still sending a body the server refused gets a TCP reset,
which can destroy the refusal before the client reads it).

The h11 implementation is chosen explicitly (not httptools) because it also enforces the
header size limit (uvicorn's h11_max_incomplete_event_size)."""

from __future__ import annotations

import asyncio
import logging
from typing import cast

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from kubehelm_mcp.logthrottle import LogThrottle

log = logging.getLogger("kubehelm_mcp.http")
SLOW_CLIENTS = LogThrottle(60.0)  # the read timeout's log line, shared by every connection

# h11 states in which the server waits on the client for (more of) a request.
_READING = (h11.IDLE, h11.SEND_BODY)
# After answering a request whose body is still coming (a 413), the connection is half-closed and
# what arrives is read and dropped, for at most this long and this much, before it is closed.
LINGER_SECONDS = 5.0
LINGER_BYTES = 64 * 1024 * 1024


class _LingeringClose:
    """The transport as a request cycle sees it (uvicorn's cycle only writes, asks is_closing and
    closes): close() lingers while the client is still sending."""

    def __init__(self, protocol: TimedH11Protocol) -> None:
        self._protocol = protocol

    def write(self, data: bytes) -> None:
        self._protocol.transport.write(data)

    def is_closing(self) -> bool:
        return self._protocol.transport.is_closing()

    def close(self) -> None:
        self._protocol.close_lingering()


class TimedH11Protocol(H11Protocol):
    """Closes a connection that has not delivered a whole request (head and body) within
    read_timeout seconds of opening or of its previous response."""

    read_timeout = 30.0
    _read_timer: asyncio.TimerHandle | None = None
    _lingering: asyncio.TimerHandle | None = None
    _dropped = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch_read()

    def data_received(self, data: bytes) -> None:
        if self._lingering is not None:
            self._dropped += len(data)
            if self._dropped > LINGER_BYTES:
                self.transport.close()
            return
        super().data_received(data)
        self._watch_read()

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not None and self.cycle is not cycle:  # a new request: its cycle closes through us
            self.cycle.transport = cast(asyncio.Transport, _LingeringClose(self))

    def close_lingering(self) -> None:
        """Close, but first, if the client is still sending its request's body, half-close (the
        client reads the answer, then the end) and drop what it still sends, within bounds."""
        if self.conn.their_state is not h11.SEND_BODY or self.transport.is_closing() or self._lingering is not None:
            self.transport.close()
            return
        self._cancel_read_timer()
        if self.transport.can_write_eof():  # not over TLS: there the answer is framed by its length
            try:
                self.transport.write_eof()
            except OSError:  # the client has gone already (ENOTCONN): nothing left to linger for
                self.transport.close()
                return
        self.transport.resume_reading()
        self._lingering = self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._lingering is not None:  # only the linger's own bounds end it, not keep-alive's
            self._unset_keepalive_if_required()
            return
        self._watch_read()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_read_timer()
        if self._lingering is not None:
            self._lingering.cancel()
        super().connection_lost(exc)

    def _watch_read(self) -> None:
        """Arm the timer when the server starts waiting for a request; it keeps running while the
        request trickles in (each byte does not reset it) and stops once the request is whole."""
        if self.conn.their_state in _READING and not self.transport.is_closing():
            if self._read_timer is None:
                self._read_timer = self.loop.call_later(self.read_timeout, self._read_timed_out)
        else:
            self._cancel_read_timer()

    def _cancel_read_timer(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _read_timed_out(self) -> None:
        self._read_timer = None
        if not self.transport.is_closing():
            quiet = SLOW_CLIENTS.take()
            if quiet is not None:  # one line a minute at most: slow clients must not flood the log
                peer = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
                more = f" ({quiet} more slow client(s) cut since the last such line)" if quiet else ""
                log.info("closing the connection of %s: no whole request within %g s%s", peer, self.read_timeout, more)
            self.transport.close()


def timed_h11(read_timeout: float) -> type[TimedH11Protocol]:
    """The protocol class for uvicorn's `http=` with this read timeout."""

    class Configured(TimedH11Protocol):
        pass

    Configured.read_timeout = read_timeout
    return Configured
