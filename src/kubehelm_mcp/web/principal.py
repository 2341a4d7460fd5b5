"""Who an authenticated HTTP request is, and why a request was refused."""

from __future__ import annotations

from kubehelm_mcp.caller import PRINCIPAL_SCOPE_KEY, Principal

__all__ = ["PRINCIPAL_SCOPE_KEY", "AuthFailure", "Principal"]


class AuthFailure(Exception):
    """A refused request: HTTP status, OAuth error code and a description that never holds the token."""

    def __init__(self, status: int, error: str, outcome: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.outcome = outcome
        self.description = description

    @classmethod
    def missing(cls) -> AuthFailure:
        return cls(401, "", "missing", "A bearer token is required.")

    @classmethod
    def invalid(cls, description: str) -> AuthFailure:
        return cls(401, "invalid_token", "invalid", description)

    @classmethod
    def forbidden(cls, description: str) -> AuthFailure:
        return cls(403, "insufficient_scope", "forbidden", description)

    @classmethod
    def unavailable(cls, description: str) -> AuthFailure:
        return cls(503, "", "unavailable", description)
