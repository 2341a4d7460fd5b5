"""The observer hook kube/ and helm/ report their operations to. It knows nothing of MCP,
metrics or tracing: server.py passes in an implementation (telemetry.observer.Telemetry)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Protocol


@dataclass
class Observation:
    """Filled in by the observed code before the operation ends: the HTTP status of a Kubernetes
    request, the exit code of a Helm command (0 for a Helm SDK call that returned). None means the
    operation never got an answer (a connection failure, an exception, a cancellation)."""

    status: int | None = None


class Observer(Protocol):
    def kube_request(self, verb: str, path: str) -> AbstractContextManager[Observation]:
        """One Kubernetes API request: `verb` as the apiserver names it (get, list, create, ...),
        `path` without its query string."""
        ...

    def helm_command(self, command: str, engine: str) -> AbstractContextManager[Observation]:
        """One Helm operation: `command` like 'list' or 'repo add', `engine` 'cli' or 'sdk'."""
        ...


class NullObserver:
    """Observes nothing: the default where no telemetry is wired in."""

    @contextmanager
    def kube_request(self, verb: str, path: str) -> Iterator[Observation]:
        yield Observation()

    @contextmanager
    def helm_command(self, command: str, engine: str) -> Iterator[Observation]:
        yield Observation()


NULL_OBSERVER: Observer = NullObserver()
