"""Errors a user can act on. Their message is one clear sentence that reaches the client as is."""

from __future__ import annotations


class ToolError(Exception):
    """A failure the caller can fix or understand; its text is safe to show."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class InvalidInput(ToolError):
    """The arguments are malformed or contradict each other."""


class NotFound(ToolError):
    """The named object, kind, context or release does not exist."""


class PolicyDenied(ToolError):
    """The server's safety policy refuses this call."""


class ConfirmationPending(PolicyDenied):
    """The stateless protocol's first round of a confirmation: the client retries with the answer."""


class ClusterUnavailable(ToolError):
    """The cluster could not be reached or refused the credentials."""


class ClusterUnreachable(ClusterUnavailable):
    """The API server did not answer at all (refused, reset, timed out): worth retrying."""


class ClusterBusy(ToolError):
    """The API server answered 429 or a 5xx: overloaded or restarting, worth retrying."""

    def __init__(self, message: str, *, status: int, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after  # seconds, from the server's Retry-After header


class CircuitOpen(ClusterUnavailable):
    """Calls to this cluster fail fast: it failed repeatedly and is only probed now and then."""


class ServerBusy(ToolError):
    """Every call slot stayed taken for as long as this call may wait."""


class RateLimited(ToolError):
    """This caller sent more calls than the server's rate limit allows."""


class Forbidden(ToolError):
    """The cluster's RBAC refused the call."""


class Conflict(ToolError):
    """The change conflicts with the object's current state."""


class UnsupportedMediaType(InvalidInput):
    """The API server does not take this body format for this resource (e.g. a strategic merge
    patch on a custom resource)."""


class ToolTimeout(ToolError):
    """The call ran past its time limit."""


class DependencyMissing(ToolError):
    """A program or library the tool needs is not installed."""


class TokenExchangeFailed(ToolError):
    """The caller's token could not be exchanged for a cluster token (--cluster-identity obo)."""
