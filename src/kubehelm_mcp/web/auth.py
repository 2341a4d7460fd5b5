"""Bearer authentication for the MCP routes of the HTTP app (stdio is never authenticated).

OIDC JWTs (web/oidc.py) or one static token; /health, /readyz and /metrics stay open.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from starlette.authentication import AuthCredentials
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from kubehelm_mcp.audit import AuditLog
from kubehelm_mcp.caller import remote_address
from kubehelm_mcp.expiring import ExpiringLru
from kubehelm_mcp.metrics import Metrics
from kubehelm_mcp.settings import AuthSettings, HttpSettings, IdentitySettings, Settings
from kubehelm_mcp.web.oidc import JwksCache, OidcValidator
from kubehelm_mcp.web.principal import PRINCIPAL_SCOPE_KEY, AuthFailure, Principal

METADATA_PATH = "/.well-known/oauth-protected-resource"
TOKEN_CACHE_SIZE = 10_000


class TokenValidator(Protocol):
    async def validate(self, token: str) -> Principal: ...


@dataclass(frozen=True)
class StaticTokenValidator:
    token: str

    async def validate(self, token: str) -> Principal:
        if not hmac.compare_digest(token.encode(), self.token.encode()):
            raise AuthFailure.invalid("The bearer token is not valid.")
        return Principal(subject="static-token", client="static-token")


class TokenCache:
    """Validated principals keyed by the token's SHA-256, with a sliding TTL capped at the token's exp."""

    def __init__(self, ttl: float, size: int = TOKEN_CACHE_SIZE, clock: Callable[[], float] = time.time) -> None:
        self._ttl = ttl
        self._entries: ExpiringLru[Principal] = ExpiringLru(size, clock)

    @staticmethod
    def key(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def _deadline(self, principal: Principal, now: float) -> float:
        deadline = now + self._ttl
        return deadline if principal.expires_at is None else min(deadline, principal.expires_at)

    def get(self, token: str) -> Principal | None:
        principal = self._entries.get(self.key(token))
        if principal is not None:  # in use: its inactivity deadline slides
            self.put(token, principal)
        return principal

    def put(self, token: str, principal: Principal) -> None:
        self._entries.put(self.key(token), principal, self._deadline(principal, self._entries.clock()))

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(frozen=True)
class Policy:
    """What a valid token must also carry; a miss is a 403, not a 401."""

    scopes: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    clients: tuple[str, ...] = ()

    def check(self, principal: Principal) -> None:
        missing_scopes = sorted(set(self.scopes) - set(principal.scopes))
        if missing_scopes:
            raise AuthFailure.forbidden(f"The token lacks the scope(s) {', '.join(missing_scopes)}.")
        missing_roles = sorted(set(self.roles) - set(principal.roles))
        if missing_roles:
            raise AuthFailure.forbidden(f"The token lacks the role(s) {', '.join(missing_roles)}.")
        if self.clients and principal.client not in self.clients:
            raise AuthFailure.forbidden("The token's client is not allowed.")


class Authenticator:
    def __init__(self, validator: TokenValidator, policy: Policy, cache: TokenCache) -> None:
        self._validator = validator
        self._policy = policy
        self._cache = cache

    async def authenticate(self, authorization: str | None) -> Principal:
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthFailure.missing()
        principal = self._cache.get(token)
        if principal is None:
            principal = await self._validator.validate(token)
            self._cache.put(token, principal)
        self._policy.check(principal)
        return principal


def authenticator_for(
    auth: AuthSettings, identity: IdentitySettings, per_cluster_identity: bool = False
) -> Authenticator | None:
    """The configured authenticator: OIDC if an issuer is set, else a static token, else None.
    The identity settings name the token claims (and whether the token is kept) for the cluster identity;
    per_cluster_identity: clusters may ask for a mode of their own (Cluster API), so the token is kept."""
    validator: TokenValidator
    if auth.oidc_issuer:
        jwks = JwksCache(auth.oidc_issuer, auth.oidc_jwks_url)
        validator = OidcValidator(
            auth.oidc_issuer,
            auth.oidc_audience or "",
            jwks,
            user_claim=identity.impersonation_user_claim,
            groups_claim=identity.impersonation_groups_claim,
            keep_token=per_cluster_identity or identity.cluster_identity in ("obo", "passthrough"),
        )
    elif auth.auth_token:
        validator = StaticTokenValidator(auth.auth_token)
    else:
        return None
    policy = Policy(auth.required_scopes, auth.required_roles, auth.allowed_clients)
    return Authenticator(validator, policy, TokenCache(auth.session_ttl))


def metadata_url(request_base: str) -> str:
    return request_base.rstrip("/") + METADATA_PATH


def protected_resource_metadata(http: HttpSettings, auth: AuthSettings) -> Callable[[Request], Response]:
    """RFC 9728 metadata: which authorization server issues tokens for this MCP URL."""

    def endpoint(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        document: dict[str, object] = {
            "resource": base + http.path,
            "authorization_servers": [auth.oidc_issuer] if auth.oidc_issuer else [],
            "bearer_methods_supported": ["header"],
        }
        if auth.required_scopes:
            document["scopes_supported"] = list(auth.required_scopes)
        return JSONResponse(document)

    return endpoint


class AuthMiddleware:
    """Requires a bearer token on the wrapped routes and leaves the principal in the ASGI scope."""

    def __init__(
        self, app: ASGIApp, authenticator: Authenticator, metrics: Metrics, audit: AuditLog | None = None
    ) -> None:
        self._app = app
        self._authenticator = authenticator
        self._metrics = metrics
        self._audit = audit or AuditLog(Settings())  # one line per decision when the server has an audit log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        request = Request(scope)
        try:
            principal = await self._authenticator.authenticate(request.headers.get("authorization"))
        except AuthFailure as failure:
            self._metrics.auth.labels(outcome=failure.outcome).inc()
            self._audit.auth(None, failure.outcome, remote_address(scope.get("client")), failure.description)
            await _refusal(failure, metadata_url(str(request.base_url)))(scope, receive, send)
            return
        self._metrics.auth.labels(outcome="ok").inc()
        self._audit.auth(principal, "ok", remote_address(scope.get("client")))
        scope[PRINCIPAL_SCOPE_KEY] = principal
        # The SDK binds each session to the principal that opened it when scope["user"] is set.
        access = AccessToken(
            token=TokenCache.key(request.headers.get("authorization", "")),  # a digest: the token stays out
            client_id=principal.client,
            scopes=list(principal.scopes),
            expires_at=int(principal.expires_at) if principal.expires_at else None,
            subject=principal.subject or None,
            claims={"iss": principal.issuer} if principal.issuer else None,
        )
        scope["user"] = AuthenticatedUser(access)
        scope["auth"] = AuthCredentials(list(principal.scopes))
        await self._app(scope, receive, send)


def _refusal(failure: AuthFailure, resource_metadata: str) -> Response:
    parts = [f'resource_metadata="{resource_metadata}"']
    if failure.error:
        parts.append(f'error="{failure.error}"')
        parts.append(f'error_description="{failure.description}"')
    body = {"error": failure.error or "unauthorized", "error_description": failure.description}
    headers = {"WWW-Authenticate": "Bearer " + ", ".join(parts)} if failure.status in (401, 403) else {}
    return Response(json.dumps(body), status_code=failure.status, media_type="application/json", headers=headers)
