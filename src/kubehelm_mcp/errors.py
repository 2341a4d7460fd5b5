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


class ClusterUnavailable(ToolError):
    """The cluster could not be reached or refused the credentials."""


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
