"""The pure parts of HTTP authentication: token cache, policy, JWKS cache, JWT checks, bind guard."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from kubehelm_mcp.settings import Settings
from kubehelm_mcp.web.auth import Authenticator, Policy, StaticTokenValidator, TokenCache
from kubehelm_mcp.web.oidc import JWKS_MIN_REFRESH_INTERVAL, JWKS_TTL, JwksCache, OidcValidator
from kubehelm_mcp.web.principal import AuthFailure, Principal
from tests.support.oidc import ec_key, forged, public_jwk, public_pem, rsa_key

pytestmark = pytest.mark.anyio
ISSUER = "https://issuer.test"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_token_cache_slides_but_never_outlives_exp() -> None:
    clock = Clock()
    cache = TokenCache(ttl=100, clock=clock)
    cache.put("a", Principal("s", "c", expires_at=clock.now + 250))
    clock.now += 90
    assert cache.get("a") is not None  # slides to now + 100, capped at exp
    clock.now += 90
    assert cache.get("a") is not None
    clock.now += 90  # past exp (1250)
    assert cache.get("a") is None and len(cache) == 0
    cache.put("b", Principal("s", "c"))
    clock.now += 101
    assert cache.get("b") is None


def test_the_token_cache_is_bounded_and_keyed_by_digest() -> None:
    cache = TokenCache(ttl=100, size=3)
    for token in "abcd":
        cache.put(token, Principal(token, "c"))
    assert len(cache) == 3 and cache.get("a") is None and cache.get("d") is not None
    assert TokenCache.key("a") == "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"


def test_the_policy_tells_missing_scope_role_and_client_apart() -> None:
    policy = Policy(scopes=("mcp",), roles=("reader",), clients=("app",))
    policy.check(Principal("s", "app", scopes=("mcp", "x"), roles=("reader",)))
    for principal, word in (
        (Principal("s", "app", roles=("reader",)), "scope"),
        (Principal("s", "app", scopes=("mcp",)), "role"),
        (Principal("s", "other", scopes=("mcp",), roles=("reader",)), "client"),
    ):
        with pytest.raises(AuthFailure, match=word) as refused:
            policy.check(principal)
        assert refused.value.status == 403


async def test_static_tokens_and_authorization_headers() -> None:
    auth = Authenticator(StaticTokenValidator("s3cret"), Policy(), TokenCache(ttl=10))
    assert (await auth.authenticate("Bearer s3cret")).subject == "static-token"
    assert (await auth.authenticate("bearer  s3cret ")).client == "static-token"
    for header, outcome in (
        (None, "missing"),
        ("Basic s3cret", "missing"),
        ("Bearer", "missing"),
        ("Bearer x", "invalid"),
    ):
        with pytest.raises(AuthFailure) as refused:
            await auth.authenticate(header)
        assert refused.value.status == 401 and refused.value.outcome == outcome
        assert "s3cret" not in refused.value.description


def auth_config_problem(settings: Settings) -> str | None:
    """The auth group's own check, given the transport and host as check_settings gives them."""
    return next(iter(settings.auth.problems(settings.server.transport, settings.http.host)), None)


def test_the_bind_guard() -> None:
    remote = Settings(transport="http", host="0.0.0.0")  # noqa: S104 (only a settings value)
    assert "--allow-unauthenticated" in (auth_config_problem(remote) or "")
    assert auth_config_problem(remote.replace(allow_unauthenticated=True)) is None
    assert auth_config_problem(remote.replace(auth_token="t")) is None
    assert "--oidc-audience" in (auth_config_problem(remote.replace(oidc_issuer=ISSUER)) or "")
    assert auth_config_problem(remote.replace(oidc_issuer=ISSUER, oidc_audience="a")) is None
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        assert auth_config_problem(Settings(transport="http", host=host)) is None
    assert auth_config_problem(Settings(transport="stdio", host="0.0.0.0")) is None  # noqa: S104


class Keys:
    """An in-memory issuer: JWKS documents served through the cache's fetch hook."""

    def __init__(self) -> None:
        self.keys: dict[str, Any] = {"r": rsa_key(), "e": ec_key()}
        self.fetches = 0
        self.clock = Clock()

    async def fetch(self, url: str) -> dict[str, Any]:
        if url.endswith("/.well-known/openid-configuration"):
            return {"jwks_uri": "https://issuer.test/jwks"}
        self.fetches += 1
        return {"keys": [public_jwk(kid, key) for kid, key in self.keys.items()]}

    def validator(self) -> OidcValidator:
        return OidcValidator(ISSUER, "aud", JwksCache(ISSUER, None, fetch=self.fetch, clock=self.clock))

    def token(self, kid: str, alg: str, **claims: Any) -> str:
        body = {"iss": ISSUER, "aud": "aud", "sub": "u", "exp": int(time.time()) + 60, **claims}
        return jwt.encode(body, self.keys[kid], algorithm=alg, headers={"kid": kid})


async def test_oidc_claims_become_the_principal() -> None:
    keys = Keys()
    principal = await keys.validator().validate(keys.token("e", "ES256", appid="app", scope="a b", roles=["r"]))
    assert (principal.subject, principal.client, principal.scopes, principal.roles) == ("u", "app", ("a", "b"), ("r",))
    principal = await keys.validator().validate(keys.token("r", "RS384", azp="cli", scp=["x"]))
    assert (principal.client, principal.scopes) == ("cli", ("x",))


async def test_oidc_refuses_confused_algorithms() -> None:
    keys = Keys()
    validator = keys.validator()
    claims = {"iss": ISSUER, "aud": "aud", "exp": int(time.time()) + 60}
    for token in (
        forged({"alg": "none", "kid": "r"}, claims),
        forged({"alg": "HS256", "kid": "r"}, claims, public_pem(keys.keys["r"])),
        keys.token("r", "PS256"),
    ):
        with pytest.raises(AuthFailure, match="algorithm is not accepted"):
            await validator.validate(token)
    with pytest.raises(AuthFailure, match="algorithm does not match"):  # the EC key "e" behind an RS256 header
        await validator.validate(forged({"alg": "RS256", "kid": "e"}, claims, b"x"))


async def test_the_jwks_is_cached_and_refetched_rate_limited() -> None:
    keys = Keys()
    jwks = JwksCache(ISSUER, None, fetch=keys.fetch, clock=keys.clock)
    assert await jwks.key("r") is not None and keys.fetches == 1
    assert await jwks.key("unknown") is None and keys.fetches == 1  # within the rate limit
    keys.clock.now += JWKS_MIN_REFRESH_INTERVAL + 1
    keys.keys["new"] = rsa_key()
    assert await jwks.key("new") is not None and keys.fetches == 2
    assert await jwks.key("r") is not None and keys.fetches == 2
    keys.clock.now += JWKS_TTL + 1
    assert await jwks.key("r") is not None and keys.fetches == 3
