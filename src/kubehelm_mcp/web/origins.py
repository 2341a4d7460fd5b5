"""Which hosts and browser origins may reach the MCP routes: DNS-rebinding protection (Host and
Origin checks, always on) and CORS (off unless origins are configured)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fnmatch import fnmatchcase

from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from kubehelm_mcp.settings import HttpSettings, is_loopback
from kubehelm_mcp.web.refusal import refusal

log = logging.getLogger("kubehelm_mcp.http")

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
WILDCARD_BINDS = ("0.0.0.0", "::", "")  # noqa: S104 (names to recognise, not to bind)
# What a browser client needs to read from a response: its session, the negotiated protocol and,
# on 401, where to find the authorization server.
EXPOSED_HEADERS = ("Mcp-Session-Id", "Mcp-Protocol-Version", "WWW-Authenticate")


def _without_port(value: str) -> str:
    """'host:8080' -> 'host', '[::1]:8080' -> '[::1]', 'http://host:3000' -> 'http://host'."""
    head, sep, tail = value.rpartition(":")
    return head if sep and tail.isdigit() else value


def _as_host(bind: str) -> str:
    return f"[{bind}]" if ":" in bind else bind


def _glob(pattern: str) -> str:
    """Only * and ? are wildcards: '[' is literal, for IPv6 hosts such as [::1]."""
    return pattern.lower().replace("[", "[[]")


@dataclass(frozen=True)
class OriginPolicy:
    """Globs (* and ?, case-insensitive) for the Host and Origin headers. A glob without a port
    matches any port, so '127.0.0.1' admits 'Host: 127.0.0.1:8080'."""

    hosts: tuple[str, ...]
    origins: tuple[str, ...]

    @classmethod
    def from_settings(cls, http: HttpSettings) -> OriginPolicy:
        # Loopback names always: a server bound to a wildcard or loopback address is reachable by them.
        names = list(LOOPBACK_NAMES)
        if http.host not in WILDCARD_BINDS and not is_loopback(http.host):
            names.append(_as_host(http.host))
        origins = [f"{scheme}://{name}" for name in names for scheme in ("http", "https")]
        return cls(
            hosts=tuple(_glob(p) for p in (*names, *http.http_allowed_hosts)),
            origins=tuple(_glob(p) for p in (*origins, *http.http_allowed_origins, *http.cors_origins)),
        )

    @staticmethod
    def _matches(value: str, patterns: tuple[str, ...]) -> bool:
        value = value.lower()
        bare = _without_port(value)
        return any(fnmatchcase(value, p) or fnmatchcase(bare, p) for p in patterns)

    def host_allowed(self, host: str | None) -> bool:
        return bool(host) and self._matches(host or "", self.hosts)

    def origin_allowed(self, origin: str | None) -> bool:
        """No Origin header means no browser (or a same-origin GET), which rebinding cannot abuse."""
        return not origin or self._matches(origin, self.origins)


class OriginGuard:
    """421 for a foreign Host (a rebound DNS name), 403 for a foreign Origin (a hostile page)."""

    def __init__(self, app: ASGIApp, policy: OriginPolicy) -> None:
        self._app = app
        self._policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            host, origin = headers.get("host"), headers.get("origin")
            if not self._policy.host_allowed(host):
                log.warning("refused a request for foreign Host %.100r", host)
                response = refusal(
                    421, "misdirected_request", "This server does not serve that Host; see --http-allowed-hosts."
                )
                await response(scope, receive, send)
                return
            if not self._policy.origin_allowed(origin):
                log.warning("refused a request from foreign Origin %.100r", origin)
                response = refusal(
                    403, "forbidden_origin", "Requests from that Origin are not allowed; see --http-allowed-origins."
                )
                await response(scope, receive, send)
                return
        await self._app(scope, receive, send)


def cors_middleware(http: HttpSettings) -> Middleware | None:
    """CORS for exactly the configured origins; None (no CORS headers at all) when there are none."""
    if not http.cors_origins:
        return None
    return Middleware(
        CORSMiddleware,
        allow_origins=list(http.cors_origins),
        allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
        allow_headers=["*"],  # the MCP headers grow with the protocol (Mcp-Method, Mcp-Name, ...)
        expose_headers=list(EXPOSED_HEADERS),
        max_age=600,
    )
