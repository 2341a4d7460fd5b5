"""Request limits of a real `serve` process on loopback: body size (413 as soon as it is known,
also for a chunked body that never ends), header size, the read timeout against slow clients,
the keep-alive timeout and the connection limit."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import pytest
from mcp import Client

from kubehelm_mcp.settings import Settings
from tests.conftest import HttpServer, start_http_server, stop_http_server
from tests.support.mcp import call_ok
from tests.support.rawhttp import WAIT, closed_by_server, connect, head, read_response, read_until_closed

pytestmark = pytest.mark.anyio

BODY_LIMIT = 4096
HEADER_LIMIT = 4096
MAX_CONNECTIONS = 3
JSON = "application/json"


@pytest.fixture(scope="module")
def limited(server_settings: Settings, tmp_path_factory: Any) -> Iterator[HttpServer]:
    server = start_http_server(
        server_settings,
        tmp_path_factory.mktemp("limited"),
        "--max-body-bytes",
        str(BODY_LIMIT),
        "--max-header-bytes",
        str(HEADER_LIMIT),
        "--read-timeout",
        "2",
    )
    yield server
    stop_http_server(server)


@pytest.fixture(scope="module")
def few_connections(server_settings: Settings, tmp_path_factory: Any) -> Iterator[HttpServer]:
    # A long read timeout, so only the keep-alive timeout can close an idle connection here.
    server = start_http_server(
        server_settings,
        tmp_path_factory.mktemp("connections"),
        "--max-connections",
        str(MAX_CONNECTIONS),
        "--keep-alive-timeout",
        "1",
        "--read-timeout",
        "600",
    )
    yield server
    stop_http_server(server)


def assert_too_large(status: int, body: dict[str, Any]) -> None:
    assert status == 413, body
    assert body == {
        "error": "request_too_large",
        "error_description": f"The request body is larger than {BODY_LIMIT} bytes.",
    }


@pytest.mark.parametrize("path", ["/mcp", "/messages/?session_id=0123"])
async def test_a_declared_oversized_body_is_refused_unread(limited: HttpServer, path: str) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.post(limited.base + path, content=b"x" * (BODY_LIMIT + 1), headers={"Content-Type": JSON})
    assert_too_large(response.status_code, response.json())
    assert response.headers["connection"] == "close"


def test_a_client_that_keeps_sending_an_oversized_body_reads_the_413(limited: HttpServer) -> None:
    """The server answers at once, then drops what still comes (within bounds) before it closes:
    closing on unread data would send a reset, which can destroy the 413 before it is read."""
    body = b"x" * (8 * 1024 * 1024)  # far more than the socket buffers hold
    for _ in range(5):
        with connect(limited.port) as sock:
            sock.sendall(head("POST", "/mcp", limited.port, Content_Type=JSON, Content_Length=str(len(body))))
            sock.sendall(body)
            response = read_response(sock)
            assert_too_large(response.status, response.json())
            assert response.headers["connection"] == "close"
            assert closed_by_server(sock)


async def test_a_streamed_body_is_refused_once_it_passes_the_limit(limited: HttpServer) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"y" * 2000

    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.post(limited.mcp_url, content=chunks(), headers={"Content-Type": JSON})
    assert "content-length" not in response.request.headers  # really sent chunked
    assert_too_large(response.status_code, response.json())


def test_the_refusal_does_not_wait_for_the_end_of_the_body(limited: HttpServer) -> None:
    """A chunked body past the limit whose end never comes: answered anyway."""
    with connect(limited.port) as sock:
        sock.sendall(head("POST", "/mcp", limited.port, Content_Type=JSON, Transfer_Encoding="chunked"))
        chunk = b"z" * (BODY_LIMIT + 100)
        sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")  # and no terminating chunk
        response = read_response(sock)
    assert_too_large(response.status, response.json())


async def test_bodies_within_the_limit_are_served(limited: HttpServer, sample_objects: str) -> None:
    async with Client(limited.mcp_url) as client:
        listed = await call_ok(client, "k8s_list_resources", {"kind": "configmaps", "namespace": sample_objects})
    assert listed["items"]


def test_oversized_headers_are_refused(limited: HttpServer) -> None:
    with connect(limited.port) as sock:
        sock.sendall(head("GET", "/health", limited.port, X_Padding="p" * (HEADER_LIMIT // 2)))
        assert read_response(sock).status == 200
    with connect(limited.port) as sock:  # a whole head, in one piece, just over the limit
        sock.sendall(head("GET", "/health", limited.port, X_Padding="p" * HEADER_LIMIT))
        response = read_response(sock)
        assert response.status == 431, response
        assert response.json()["error_description"] == f"The request headers are larger than {HEADER_LIMIT} bytes."
    with connect(limited.port) as sock:  # a head still arriving past the limit: refused before it ends
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"p" * (HEADER_LIMIT + 1))
        assert read_until_closed(sock).startswith(b"HTTP/1.1 400 ")  # uvicorn's, framed by the close


@pytest.mark.parametrize(
    "partial",
    [
        b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ",  # headers that never end
        b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    ],
    ids=["slow-headers", "slow-body"],
)
def test_slow_clients_are_cut_off(limited: HttpServer, partial: bytes) -> None:
    with connect(limited.port) as sock:
        sock.sendall(partial)
        assert closed_by_server(sock)
    assert "no whole request within 2 s" in limited.log.read_text()


def test_idle_keep_alive_connections_are_closed(few_connections: HttpServer) -> None:
    with connect(few_connections.port) as sock:
        sock.sendall(head("GET", "/health", few_connections.port))
        response = read_response(sock)
        assert response.status == 200 and response.headers.get("connection") != "close"
        assert closed_by_server(sock)


def test_connections_beyond_the_limit_get_503(few_connections: HttpServer) -> None:
    idle: list[socket.socket] = [connect(few_connections.port) for _ in range(MAX_CONNECTIONS)]
    try:
        with connect(few_connections.port) as sock:
            sock.sendall(head("GET", "/health", few_connections.port))
            assert read_response(sock).status == 503
    finally:
        for sock in idle:
            sock.close()
    assert served_again(few_connections.port), "still 503 after the idle connections closed"


def served_again(port: int) -> bool:
    """Whether /health answers 200 within WAIT, once the server has seen the closes."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        with connect(port) as sock:
            sock.sendall(head("GET", "/health", port))
            if read_response(sock).status == 200:
                return True
        time.sleep(0.1)
    return False
