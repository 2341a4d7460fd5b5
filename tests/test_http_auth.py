"""Bearer authentication of the HTTP and SSE transports, against real server processes and a
throwaway OIDC issuer, all on 127.0.0.1."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import jwt
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from kubehelm_mcp.settings import Settings
from kubehelm_mcp.web.oidc import JWKS_MIN_REFRESH_INTERVAL
from tests.conftest import HttpServer, free_port, server_env, start_http_server, stop_http_server
from tests.support.http import get
from tests.support.mcp import call_error, call_ok
from tests.support.oidc import AUDIENCE, CLIENT, ROLE, SCOPE, Issuer, forged, public_pem, rsa_key

pytestmark = pytest.mark.anyio

STATIC_TOKEN = "static-test-token-0123456789"
TOOL_CALL = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "tools/call",
    "params": {"name": "k8s_get_current_context", "arguments": {}},
}


def oidc_env(issuer: Issuer) -> dict[str, str]:
    return {
        "KUBEHELM_MCP_OIDC_ISSUER": issuer.url,
        "KUBEHELM_MCP_OIDC_AUDIENCE": AUDIENCE,
        "KUBEHELM_MCP_REQUIRED_SCOPES": SCOPE,
        "KUBEHELM_MCP_REQUIRED_ROLES": ROLE,
        "KUBEHELM_MCP_ALLOWED_CLIENTS": f"{CLIENT},other-client",
    }


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with Issuer() as running:
        yield running


@pytest.fixture(scope="module")
def oidc_server(server_settings: Settings, issuer: Issuer, tmp_path_factory: Any) -> Iterator[HttpServer]:
    server = start_http_server(server_settings, tmp_path_factory.mktemp("oidc"), env=oidc_env(issuer))
    yield server
    stop_http_server(server)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def post_tool_call(server: HttpServer, headers: dict[str, str]) -> httpx2.Response:
    async with httpx2.AsyncClient(timeout=10) as http:
        return await http.post(
            server.mcp_url, json=TOOL_CALL, headers={"Accept": "application/json, text/event-stream", **headers}
        )


async def past_auth(server: HttpServer, token: str) -> bool:
    """A sessionless tool call that got past auth is refused by the transport with 400, not 401/403."""
    status = (await post_tool_call(server, bearer(token))).status_code
    assert status in (400, 401), status
    return status == 400


def tool_calls_total(server: HttpServer) -> float:
    _, metrics = get(f"{server.base}/metrics")
    return sum(float(v) for v in re.findall(r"^kubehelm_mcp_tool_calls_total\{[^}]*\} (\S+)$", metrics, re.M))


def auth_count(server: HttpServer, outcome: str) -> float:
    _, metrics = get(f"{server.base}/metrics")
    found = re.search(rf'^kubehelm_mcp_auth_total\{{outcome="{outcome}"\}} (\S+)$', metrics, re.M)
    return float(found.group(1)) if found else 0.0


async def test_a_good_token_works_over_streamable_http_and_sse(oidc_server: HttpServer, issuer: Issuer) -> None:
    for kid in ("rsa-1", "ec-1"):
        http = create_mcp_http_client(headers=bearer(issuer.token(kid)))
        async with Client(streamable_http_client(oidc_server.mcp_url, http_client=http)) as client:
            assert "k8s_get_current_context" in {t.name for t in (await client.list_tools()).tools}
            assert (await call_ok(client, "k8s_get_current_context"))["name"] == "kubehelm-test"
    sse = sse_client(f"{oidc_server.base}/sse", headers=bearer(issuer.token(alg="RS512")))
    async with Client(sse) as client:
        assert (await call_ok(client, "k8s_get_current_context"))["name"] == "kubehelm-test"
    assert auth_count(oidc_server, "ok") >= 3


def bad_tokens(issuer: Issuer) -> dict[str, tuple[str, int]]:
    now = int(time.time())
    foreign_claims = issuer.claims()
    return {
        "expired": (issuer.token(exp=now - 120, iat=now - 900, nbf=now - 900), 401),
        "wrong aud": (issuer.token(aud="someone-else"), 401),
        "wrong iss": (issuer.token(iss="https://evil.example"), 401),
        "foreign key, unknown kid": (signed_by_a_foreign_key("foreign", foreign_claims), 401),
        "foreign key, known kid": (signed_by_a_foreign_key("rsa-1", foreign_claims), 401),
        "alg none": (forged({"alg": "none", "kid": "rsa-1", "typ": "JWT"}, foreign_claims), 401),
        "HS256 keyed with the public key": (
            forged({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}, foreign_claims, public_pem(issuer.keys["rsa-1"])),
            401,
        ),
        "no exp": (issuer.token(exp=None), 401),
        "not yet valid": (issuer.token(nbf=now + 600), 401),
        "garbage": ("not-a-jwt", 401),
        "missing scope": (issuer.token(scp="other"), 403),
        "missing role": (issuer.token(roles=["viewer"]), 403),
        "wrong client": (issuer.token(azp="intruder"), 403),
    }


def signed_by_a_foreign_key(kid: str, claims: dict[str, Any]) -> str:
    return jwt.encode(claims, rsa_key(), algorithm="RS256", headers={"kid": kid})


async def test_bad_tokens_are_refused_and_no_tool_runs(oidc_server: HttpServer, issuer: Issuer) -> None:
    calls_before = tool_calls_total(oidc_server)
    tokens = bad_tokens(issuer)
    for name, (token, status) in tokens.items():
        response = await post_tool_call(oidc_server, bearer(token))
        assert response.status_code == status, f"{name}: {response.status_code} {response.text}"
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith("Bearer ") and "resource_metadata=" in challenge, name
        if status == 401:
            assert 'error="invalid_token"' in challenge, name
        with pytest.raises(Exception):  # noqa: B017 (the SDK surfaces the HTTP error its own way)
            async with Client(sse_client(f"{oidc_server.base}/sse", headers=bearer(token))) as client:
                await client.list_tools()
    assert tool_calls_total(oidc_server) == calls_before
    assert auth_count(oidc_server, "invalid") >= 10 and auth_count(oidc_server, "forbidden") >= 3
    log = oidc_server.log.read_text()
    assert not any(token in log for token, _ in tokens.values() if len(token) > 20), "a token reached the log"


async def test_no_token_is_challenged_towards_the_metadata(oidc_server: HttpServer, issuer: Issuer) -> None:
    metadata_url = f"{oidc_server.base}/.well-known/oauth-protected-resource"
    for response in (
        await post_tool_call(oidc_server, {}),
        await post_tool_call(oidc_server, {"Authorization": "Basic dXNlcjpwYXNz"}),
    ):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == f'Bearer resource_metadata="{metadata_url}"'
    async with httpx2.AsyncClient(timeout=10) as http:
        assert (await http.post(f"{oidc_server.base}/messages/?session_id=00", json={})).status_code == 401
        document = (await http.get(metadata_url)).json()
    assert document["resource"] == oidc_server.mcp_url
    assert document["authorization_servers"] == [issuer.url]
    assert document["scopes_supported"] == [SCOPE]
    assert get(f"{oidc_server.base}/health")[0] == 200 and get(f"{oidc_server.base}/metrics")[0] == 200


async def test_a_rotated_signing_key_is_fetched_once(server_settings: Settings, tmp_path: Path) -> None:
    with Issuer() as rotating:
        server = start_http_server(server_settings, tmp_path, env=oidc_env(rotating))
        try:
            assert await past_auth(server, rotating.token())
            first_fetch = time.monotonic()
            assert rotating.jwks_fetches == 1
            rotating.publish("rsa-2", rsa_key())
            # within the rate limit the unknown kid does not hammer the issuer
            assert not await past_auth(server, rotating.token("rsa-2"))
            assert rotating.jwks_fetches == 1
            await anyio.sleep(max(0.0, JWKS_MIN_REFRESH_INTERVAL - (time.monotonic() - first_fetch)) + 0.5)
            assert await past_auth(server, rotating.token("rsa-2"))
            assert rotating.jwks_fetches == 2
        finally:
            stop_http_server(server)


async def test_a_static_token(server_settings: Settings, tmp_path: Path) -> None:
    server = start_http_server(server_settings, tmp_path, env={"KUBEHELM_MCP_AUTH_TOKEN": STATIC_TOKEN})
    try:
        http = create_mcp_http_client(headers=bearer(STATIC_TOKEN))
        async with Client(streamable_http_client(server.mcp_url, http_client=http)) as client:
            assert (await call_ok(client, "k8s_get_current_context"))["name"] == "kubehelm-test"
        calls = tool_calls_total(server)
        for headers in (bearer(STATIC_TOKEN + "x"), bearer("nope"), {}):
            assert (await post_tool_call(server, headers)).status_code == 401
        assert tool_calls_total(server) == calls
        assert STATIC_TOKEN not in server.log.read_text()
    finally:
        stop_http_server(server)


def test_a_non_loopback_bind_without_auth_is_refused(server_settings: Settings) -> None:
    command = [sys.executable, "-m", "kubehelm_mcp", "serve", "--transport", "http", "--host", "0.0.0.0"]  # noqa: S104 (refused before binding)
    done = subprocess.run(
        [*command, "--port", str(free_port())],
        env=server_env(server_settings),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2, done.stderr
    assert "--allow-unauthenticated" in done.stderr and "Uvicorn running" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def as_user(server: HttpServer, token: str) -> Client:
    return Client(streamable_http_client(server.mcp_url, http_client=create_mcp_http_client(headers=bearer(token))))


async def test_a_port_forward_belongs_to_the_principal_that_opened_it(
    oidc_server: HttpServer, issuer: Issuer, web_pod: str
) -> None:
    alice, bob = issuer.token(sub="alice"), issuer.token(sub="bob")
    async with as_user(oidc_server, alice) as client:
        opened = await call_ok(client, "k8s_port_forward_pod", {"name": "web", "namespace": web_pod, "port": 8080})
        forward_id = opened["forward"]["id"]
    try:
        async with as_user(oidc_server, bob) as client:
            assert (await call_ok(client, "k8s_list_port_forwards"))["items"] == []
            refused = await call_error(client, "k8s_stop_port_forward", {"id": forward_id})
            assert f"No port-forward has id '{forward_id}' (none are open)" in refused
        async with as_user(oidc_server, alice) as client:  # a new connection: ownership is the principal's
            assert [f["id"] for f in (await call_ok(client, "k8s_list_port_forwards"))["items"]] == [forward_id]
    finally:
        async with as_user(oidc_server, alice) as client:
            await call_ok(client, "k8s_stop_port_forward", {"id": forward_id})
