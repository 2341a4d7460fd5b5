"""On-behalf-of: the caller's access token exchanged for one the Kubernetes API accepts
(RFC 8693 token exchange), cached by the SHA-256 of the incoming token until shortly before
the exchanged token expires.

Neither token nor the client secret ever appears in an error, a log line or a repr.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

import httpx2
import jwt

from kubehelm_mcp.errors import TokenExchangeFailed
from kubehelm_mcp.expiring import ExpiringLru
from kubehelm_mcp.settings import IdentitySettings

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105 (a type URI, not a secret)
EXCHANGE_TIMEOUT = 10.0
CACHE_SIZE = 10_000
EXPIRY_MARGIN = 60.0  # an exchanged token is not handed out in its last minute (or last half of its life)
DEFAULT_LIFETIME = 300.0  # for a token that states no expiry at all
_OAUTH_ERROR = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")  # shown as is; an error_description could echo anything


@dataclass(frozen=True)
class ExchangedToken:
    token: str = field(repr=False)
    expires_at: float  # epoch seconds


def _basic_auth(client_id: str, client_secret: str) -> str:
    """client_secret_basic as RFC 6749 section 2.3.1 spells it: each part form-encoded first."""
    pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def _jwt_expiry(token: str) -> float | None:
    """A JWT's exp, read only to time the cache (the apiserver verifies the token, not this server)."""
    try:
        exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    except jwt.PyJWTError:
        return None
    return float(exp) if isinstance(exp, int | float) else None


class TokenExchanger:
    def __init__(
        self,
        url: str,
        client_id: str,
        client_secret: str,
        audience: str | None = None,
        scope: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._url = url
        self._authorization = _basic_auth(client_id, client_secret)
        self._audience = audience
        self._scope = scope
        self._cache: ExpiringLru[ExchangedToken] = ExpiringLru(CACHE_SIZE, clock)  # digest -> token, until its use-by

    @classmethod
    def from_settings(cls, settings: IdentitySettings) -> TokenExchanger:
        return cls(
            settings.obo_token_url or "",
            settings.obo_client_id or "",
            settings.obo_client_secret or "",
            settings.obo_audience,
            settings.obo_scope,
        )

    async def exchange(
        self, subject_token: str, subject_expires_at: float | None = None, audience: str | None = None
    ) -> ExchangedToken:
        """`audience`: a workload cluster's own (its Cluster's token-audience setting); else --obo-audience."""
        audience = audience or self._audience
        key = hashlib.sha256(f"{audience}\0{subject_token}".encode()).hexdigest()
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        now = self._cache.clock()
        exchanged = await self._request(subject_token, subject_expires_at, now, audience)
        lifetime = exchanged.expires_at - now
        self._cache.put(key, exchanged, exchanged.expires_at - min(EXPIRY_MARGIN, lifetime / 2))
        return exchanged

    async def _request(
        self, subject_token: str, subject_expires_at: float | None, now: float, audience: str | None
    ) -> ExchangedToken:
        form = {
            "grant_type": GRANT_TYPE,
            "subject_token": subject_token,
            "subject_token_type": ACCESS_TOKEN_TYPE,
            "requested_token_type": ACCESS_TOKEN_TYPE,
        }
        if audience:
            form["audience"] = audience
        if self._scope:
            form["scope"] = self._scope
        headers = {"Authorization": self._authorization, "Accept": "application/json"}
        try:
            async with httpx2.AsyncClient(timeout=EXCHANGE_TIMEOUT) as http:
                response = await http.post(self._url, data=form, headers=headers)
        except httpx2.HTTPError as exc:
            raise TokenExchangeFailed(
                f"The token exchange with the identity provider failed ({type(exc).__name__})."
            ) from None
        document = _json(response)
        if response.status_code != 200:
            error = document.get("error")
            code = f": {error}" if isinstance(error, str) and _OAUTH_ERROR.match(error) else ""
            raise TokenExchangeFailed(
                f"The identity provider refused the token exchange (HTTP {response.status_code}{code}).",
                hint="Check --obo-client-id, --obo-client-secret and that this client may exchange tokens.",
            )
        token = document.get("access_token")
        if not isinstance(token, str) or not token:
            raise TokenExchangeFailed("The identity provider's token exchange answer holds no access_token.")
        expires_in = document.get("expires_in")
        if isinstance(expires_in, int | float) and expires_in > 0:
            expires_at = now + float(expires_in)
        else:
            expires_at = _jwt_expiry(token) or subject_expires_at or now + DEFAULT_LIFETIME
        return ExchangedToken(token, expires_at)


def _json(response: httpx2.Response) -> dict[str, Any]:
    try:
        document = response.json()
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}
