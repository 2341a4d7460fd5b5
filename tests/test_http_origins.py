"""DNS-rebinding protection (Host and Origin checks, on by default) and CORS (off unless
configured) of real `serve` processes on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from kubehelm_mcp.settings import Settings
from tests.conftest import HttpServer, start_http_server, stop_http_server
from tests.support.http import INITIALIZE, MCP_HEADERS

pytestmark = pytest.mark.anyio

CORS_ORIGIN = "https://app.example.org"


@pytest.fixture(scope="module")
def default_server(server_settings: Settings, tmp_path_factory: Any) -> Iterator[HttpServer]:
    server = start_http_server(server_settings, tmp_path_factory.mktemp("default"))
    yield server
    stop_http_server(server)


@pytest.fixture(scope="module")
def configured(server_settings: Settings, tmp_path_factory: Any) -> Iterator[HttpServer]:
    server = start_http_server(
        server_settings,
        tmp_path_factory.mktemp("configured"),
        "--http-allowed-hosts",
        "mcp.example.com,*.corp.test",
        "--http-allowed-origins",
        "https://*.example.com",
        "--cors-origins",
        CORS_ORIGIN,
    )
    yield server
    stop_http_server(server)


async def initialize(server: HttpServer, **headers: str) -> httpx2.Response:
    async with httpx2.AsyncClient(timeout=10) as http:
        return await http.post(server.mcp_url, json=INITIALIZE, headers={**MCP_HEADERS, **headers})


async def preflight(server: HttpServer, origin: str) -> httpx2.Response:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, mcp-protocol-version, authorization",
    }
    async with httpx2.AsyncClient(timeout=10) as http:
        return await http.options(server.mcp_url, headers=headers)


def served(response: httpx2.Response) -> bool:
    """The request reached MCP: the handshake was answered with a session."""
    return response.status_code == 200 and "mcp-session-id" in response.headers


async def test_loopback_names_and_origins_are_accepted_by_default(default_server: HttpServer) -> None:
    port = default_server.port
    assert served(await initialize(default_server))
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", "localhost"):
        assert served(await initialize(default_server, Host=host)), host
    for origin in ("http://localhost:5173", f"http://127.0.0.1:{port}", "https://localhost"):
        assert served(await initialize(default_server, Origin=origin)), origin


@pytest.mark.parametrize("path", ["/mcp", "/sse"])
async def test_a_foreign_host_gets_421(default_server: HttpServer, path: str) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.get(default_server.base + path, headers={"Host": "rebound.attacker.test"})
    assert response.status_code == 421
    assert response.json()["error"] == "misdirected_request"


async def test_a_foreign_origin_gets_403(default_server: HttpServer) -> None:
    response = await initialize(default_server, Origin="http://attacker.test")
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden_origin"


async def test_probes_are_not_host_checked(default_server: HttpServer) -> None:
    """The kubelet probes with the pod IP as Host."""
    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.get(f"{default_server.base}/health", headers={"Host": "10.1.2.3:8080"})
    assert response.status_code == 200


async def test_cors_is_off_by_default(default_server: HttpServer) -> None:
    response = await preflight(default_server, "http://localhost:5173")
    assert "access-control-allow-origin" not in response.headers
    served_response = await initialize(default_server, Origin="http://localhost:5173")
    assert "access-control-allow-origin" not in served_response.headers


async def test_configured_hosts_and_origins(configured: HttpServer) -> None:
    for host in ("mcp.example.com", "MCP.example.com:443", "a.corp.test:8443", f"127.0.0.1:{configured.port}"):
        assert served(await initialize(configured, Host=host)), host
    assert (await initialize(configured, Host="example.com")).status_code == 421
    assert (await initialize(configured, Host="corp.test.attacker.test")).status_code == 421
    for origin in ("https://tools.example.com", CORS_ORIGIN):
        assert served(await initialize(configured, Origin=origin)), origin
    for origin in ("http://tools.example.com", "https://tools.example.com.attacker.test", "https://app.example.net"):
        assert (await initialize(configured, Origin=origin)).status_code == 403, origin


async def test_cors_for_exactly_the_configured_origins(configured: HttpServer) -> None:
    allowed = await preflight(configured, CORS_ORIGIN)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == CORS_ORIGIN
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()

    response = await initialize(configured, Origin=CORS_ORIGIN)
    assert served(response)
    assert response.headers["access-control-allow-origin"] == CORS_ORIGIN
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert "mcp-session-id" in exposed

    # An origin that passes the rebinding check but is not a CORS origin gets no CORS grant.
    other = await preflight(configured, "https://tools.example.com")
    assert "access-control-allow-origin" not in other.headers
