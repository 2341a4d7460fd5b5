"""The tool calls running now, so a graceful shutdown can wait for them and then cancel the rest."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import anyio

T = TypeVar("T")


class InFlight:
    def __init__(self) -> None:
        self._scopes: set[anyio.CancelScope] = set()

    @property
    def count(self) -> int:
        return len(self._scopes)

    async def run(self, call: Awaitable[T], otherwise: T) -> T:
        """The call's result, or `otherwise` when cancel_all cut it off."""
        with anyio.CancelScope() as scope:
            self._scopes.add(scope)
            try:
                return await call
            finally:
                self._scopes.discard(scope)
        return otherwise  # reached only when this scope was cancelled (and swallowed its cancellation)

    def cancel_all(self) -> int:
        """Cancel every running call; each then answers its `otherwise`. Returns how many."""
        scopes = list(self._scopes)
        for scope in scopes:
            scope.cancel()
        return len(scopes)
