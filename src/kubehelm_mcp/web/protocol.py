"""uvicorn's h11 protocol with a request read timeout, which uvicorn lacks: without it a client
that sends its headers or body a byte at a time (slowloris) holds a connection for ever.

The h11 implementation is chosen explicitly (not httptools) because it also enforces the
header size limit (uvicorn's h11_max_incomplete_event_size)."""

from __future__ import annotations

import asyncio
import logging

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("kubehelm_mcp.http")

# h11 states in which the server waits on the client for (more of) a request.
_READING = (h11.IDLE, h11.SEND_BODY)


class TimedH11Protocol(H11Protocol):
    """Closes a connection that has not delivered a whole request (head and body) within
    read_timeout seconds of opening or of its previous response."""

    read_timeout = 30.0
    _read_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch_read()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch_read()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch_read()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_read_timer()
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
            peer = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
            log.info("closing the connection of %s: no whole request within %g s", peer, self.read_timeout)
            self.transport.close()


def timed_h11(read_timeout: float) -> type[TimedH11Protocol]:
    """The protocol class for uvicorn's `http=` with this read timeout."""

    class Configured(TimedH11Protocol):
        pass

    Configured.read_timeout = read_timeout
    return Configured
