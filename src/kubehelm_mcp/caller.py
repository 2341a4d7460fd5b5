"""Who is calling: the authenticated principal (HTTP/SSE with auth), where the call came from, and
how to put a question to the user behind the client."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

# The ASGI scope key under which the HTTP auth middleware leaves the Principal for the server to read.
PRINCIPAL_SCOPE_KEY = "kubehelm_mcp.principal"


class Answer(StrEnum):
    """The user's answer to a yes/no question put through the client (MCP elicitation)."""

    ACCEPT = "accept"
    DECLINE = "decline"
    CANCEL = "cancel"
    UNSUPPORTED = "unsupported"  # the client cannot ask its user
    PENDING = "pending"  # the question goes back to the client; its answer comes with the retried call


Ask = Callable[[str], Awaitable[Answer]]


async def cannot_ask(question: str) -> Answer:
    return Answer.UNSUPPORTED


@dataclass(frozen=True)
class Principal:
    subject: str
    client: str
    scopes: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    issuer: str | None = None
    expires_at: float | None = None  # epoch seconds; None for a static token
    groups: tuple[str, ...] = ()
    # The user name for the cluster (--impersonation-user-claim); None when the token lacks it.
    username: str | None = None
    # The bearer token itself, for --cluster-identity obo/passthrough only: never in a repr or a comparison.
    token: str | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Caller:
    """The principal is None on stdio and on HTTP without auth; remote is None on stdio."""

    principal: Principal | None = None
    remote: str | None = None
    ask: Ask = field(default=cannot_ask, repr=False, compare=False)

    @property
    def owner(self) -> str | None:
        """Who owns what this caller leaves running (port-forwards): the principal, if any."""
        return None if self.principal is None else f"{self.principal.issuer or ''}|{self.principal.subject}"

    @property
    def key(self) -> str:
        """A stable name for per-caller limits and logs: the subject, else the remote address."""
        return self.owner or self.remote or "local"

    @property
    def limit_key(self) -> str:
        """key, but an unauthenticated remote by its host alone: its port changes with every
        connection, which would give each connection a limit of its own."""
        if self.principal is None and self.remote:
            return self.remote.rsplit(":", 1)[0]
        return self.key


ANONYMOUS = Caller()


def remote_address(client: object) -> str | None:
    """'host:port' from an ASGI scope's client entry (None when the server does not know the peer)."""
    if isinstance(client, tuple | list) and len(client) == 2:
        return f"{client[0]}:{client[1]}"
    return None
