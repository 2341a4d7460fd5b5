"""One log line per interval for an event a client can repeat at will (a slow client cut by the
read timeout): the rest are counted and the count goes into the next line, so no client floods the log."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class LogThrottle:
    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        self._next = float("-inf")
        self._quiet = 0
        self._lock = threading.Lock()

    def take(self) -> int | None:
        """None: stay quiet (the event is counted). Otherwise log now; the number of events kept
        quiet since the last line."""
        with self._lock:
            now = self._clock()
            if now < self._next:
                self._quiet += 1
                return None
            quiet, self._quiet, self._next = self._quiet, 0, now + self._interval
            return quiet
