"""OIDC bearer tokens: a JWKS cache and a pyjwt validator that pins the asymmetric algorithms."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
import jwt

from kubehelm_mcp.web.principal import AuthFailure, Principal

# Asymmetric only: 'none' and HS* are refused so a public JWKS key can never act as an HMAC secret.
ALLOWED_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256")
JWKS_TTL = 3600.0
JWKS_MIN_REFRESH_INTERVAL = 10.0  # an unknown kid refetches the JWKS at most this often
FETCH_TIMEOUT = 10.0

Fetch = Callable[[str], Awaitable[dict[str, Any]]]


async def fetch_json(url: str) -> dict[str, Any]:
    async with httpx2.AsyncClient(timeout=FETCH_TIMEOUT) as http:
        response = await http.get(url)
        response.raise_for_status()
        document = response.json()
    if not isinstance(document, dict):
        raise ValueError(f"{url} did not return a JSON object")
    return document


class JwksCache:
    """Signing keys by kid, refreshed hourly and once more (rate-limited) when a new kid shows up."""

    def __init__(
        self, issuer: str, jwks_url: str | None, fetch: Fetch = fetch_json, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._issuer = issuer.rstrip("/")
        self._jwks_url = jwks_url
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = anyio.Lock()

    async def key(self, kid: str) -> jwt.PyJWK | None:
        now = self._clock()
        stale = self._fetched_at is None or now - self._fetched_at > JWKS_TTL
        may_refresh = self._fetched_at is None or now - self._fetched_at > JWKS_MIN_REFRESH_INTERVAL
        if stale or (kid not in self._keys and may_refresh):
            await self._refresh(self._fetched_at)
        return self._keys.get(kid)

    async def _refresh(self, seen: float | None) -> None:
        async with self._lock:
            if self._fetched_at != seen:  # another request refreshed while this one waited
                return
            url = self._jwks_url or await self._discover()
            document = await self._fetch(url)
            keys: dict[str, jwt.PyJWK] = {}
            for entry in document.get("keys", []):
                if entry.get("kid") and entry.get("use", "sig") == "sig":
                    try:
                        keys[entry["kid"]] = jwt.PyJWK(entry)
                    except jwt.PyJWTError:
                        continue  # a key type pyjwt cannot use is simply not a candidate
            self._keys = keys
            self._fetched_at = self._clock()

    async def _discover(self) -> str:
        config = await self._fetch(f"{self._issuer}/.well-known/openid-configuration")
        jwks_uri = config.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise ValueError("the issuer's openid-configuration has no jwks_uri")
        self._jwks_url = jwks_uri
        return jwks_uri


def _claim_list(claims: dict[str, Any], *names: str) -> tuple[str, ...]:
    """scp/scope may be a space-separated string or a list; roles is a list."""
    for name in names:
        value = claims.get(name)
        if isinstance(value, str):
            return tuple(value.split())
        if isinstance(value, list):
            return tuple(str(item) for item in value)
    return ()


def _user_name(claims: dict[str, Any], claim: str) -> str | None:
    """The cluster user name, from the claim the deployment chose. Like the apiserver, an email is only
    taken when email_verified is not false."""
    value = claims.get(claim)
    if claim == "email" and claims.get("email_verified") is False:
        return None
    return value if isinstance(value, str) and value else None


def _groups(claims: dict[str, Any], claim: str) -> tuple[str, ...]:
    """A string is one group (names may hold spaces), a list is several."""
    value = claims.get(claim)
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list):
        return tuple(str(item) for item in value if isinstance(item, str) and item)
    return ()


@dataclass(frozen=True)
class OidcValidator:
    issuer: str
    audience: str
    jwks: JwksCache
    user_claim: str = "sub"
    groups_claim: str = "groups"
    keep_token: bool = False  # only --cluster-identity obo/passthrough need the token after validation

    async def validate(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthFailure.invalid("The bearer token is not a JWT.") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALLOWED_ALGORITHMS:
            raise AuthFailure.invalid("The token's signing algorithm is not accepted.")
        if not isinstance(kid, str):
            raise AuthFailure.invalid("The token names no signing key (kid).")
        try:
            key = await self.jwks.key(kid)
        except (httpx2.HTTPError, ValueError) as exc:
            raise AuthFailure.unavailable(
                f"The issuer's signing keys could not be fetched: {type(exc).__name__}."
            ) from None
        if key is None:
            raise AuthFailure.invalid("The token is signed by an unknown key.")
        if key.algorithm_name != alg and not (key.key_type == "RSA" and alg.startswith("RS")):
            raise AuthFailure.invalid("The token's algorithm does not match its key.")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise AuthFailure.invalid(f"The token was refused: {type(exc).__name__}.") from None
        return Principal(
            subject=str(claims.get("sub") or ""),
            client=str(claims.get("azp") or claims.get("appid") or ""),
            scopes=_claim_list(claims, "scp", "scope"),
            roles=_claim_list(claims, "roles"),
            issuer=self.issuer,
            expires_at=float(claims["exp"]),
            groups=_groups(claims, self.groups_claim),
            username=_user_name(claims, self.user_claim),
            token=token if self.keep_token else None,  # never in a repr either
        )
