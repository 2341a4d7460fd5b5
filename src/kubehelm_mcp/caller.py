"""Who is calling: the authenticated principal (HTTP/SSE with auth) and where the call came from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    subject: str
    client: str
    scopes: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    issuer: str | None = None
    expires_at: float | None = None  # epoch seconds; None for a static token
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Caller:
    """The principal is None on stdio and on HTTP without auth; remote is None on stdio."""

    principal: Principal | None = None
    remote: str | None = None

    @property
    def key(self) -> str:
        """A stable name for per-caller limits and logs: the subject, else the remote address."""
        if self.principal is not None:
            return f"{self.principal.issuer or ''}|{self.principal.subject}"
        return self.remote or "local"


ANONYMOUS = Caller()
