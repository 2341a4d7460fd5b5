"""Sessions and streams of a real `serve` process under a flood: each caller holds at most its
share, idle ones end, and legacy SSE streams cannot take every connection. Callers are told
apart by address: the flood comes from 127.0.0.1, the client that must still get in from another
loopback address. New settings are given through the environment, as a user would."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from kubehelm_mcp.settings import Settings
from tests.conftest import HttpServer, start_http_server, stop_http_server
from tests.support.http import INITIALIZE, MCP_HEADERS
from tests.support.mcp import call_ok
from tests.support.rawhttp import WAIT

pytestmark = pytest.mark.anyio

PER_CALLER = 5
IDLE = "2"  # seconds: --session-idle-timeout where a test waits for expiry
OTHER = "127.0.0.2"


def http_from(address: str | None = None) -> httpx2.AsyncClient:
    transport = httpx2.AsyncHTTPTransport(local_address=address) if address else None
    return httpx2.AsyncClient(transport=transport, timeout=httpx2.Timeout(WAIT, read=300))


@asynccontextmanager
async def mcp_client_from(address: str, url: str) -> AsyncIterator[Client]:
    """The SDK's own client, connecting from `address`."""
    async with http_from(address) as http, Client(streamable_http_client(url, http_client=http)) as client:
        yield client


async def initialize(http: httpx2.AsyncClient, url: str) -> httpx2.Response:
    return await http.post(url, json=INITIALIZE, headers=MCP_HEADERS)


@pytest.fixture
def capped(server_settings: Settings, tmp_path: Path) -> Iterator[HttpServer]:
    env = {"KUBEHELM_MCP_MAX_SESSIONS_PER_CALLER": str(PER_CALLER), "KUBEHELM_MCP_SESSION_IDLE_TIMEOUT": "600"}
    server = start_http_server(server_settings, tmp_path, env=env)
    yield server
    stop_http_server(server)


async def test_a_flood_of_handshakes_holds_only_its_callers_share(capped: HttpServer, sample_objects: str) -> None:
    async with http_from() as http:
        answers = [await initialize(http, capped.mcp_url) for _ in range(PER_CALLER * 4)]
        statuses = [answer.status_code for answer in answers]
        assert statuses.count(200) == PER_CALLER, statuses
        refused = answers[-1]
        assert refused.status_code == 429
        assert refused.json()["error"] == "too_many_sessions"
        assert f"already holds {PER_CALLER} open sessions" in refused.json()["error_description"]

        # Another caller is served as usual, through a real client, against the cluster.
        async with mcp_client_from(OTHER, capped.mcp_url) as client:
            listed = await call_ok(client, "k8s_list_resources", {"kind": "configmaps", "namespace": sample_objects})
            assert listed["items"]

        # A session the flooding caller ends gives its slot back.
        opened = next(answer for answer in answers if answer.status_code == 200)
        session = {"Mcp-Session-Id": opened.headers["mcp-session-id"], "Mcp-Protocol-Version": "2025-06-18"}
        assert (await http.delete(capped.mcp_url, headers=session)).status_code == 200
        assert (await initialize(http, capped.mcp_url)).status_code == 200


async def test_idle_sessions_end_and_give_their_slot_back(server_settings: Settings, tmp_path: Path) -> None:
    env = {"KUBEHELM_MCP_MAX_SESSIONS_PER_CALLER": "1", "KUBEHELM_MCP_SESSION_IDLE_TIMEOUT": IDLE}
    server = start_http_server(server_settings, tmp_path, env=env)
    try:
        async with http_from() as http:
            first = await initialize(http, server.mcp_url)
            assert first.status_code == 200
            ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
            session = {**MCP_HEADERS, "Mcp-Session-Id": first.headers["mcp-session-id"]}
            session["Mcp-Protocol-Version"] = "2025-06-18"
            assert (await http.post(server.mcp_url, json=ping, headers=session)).status_code == 200
            with anyio.fail_after(WAIT):  # a hang guard, not a timing: the session ends after IDLE s
                await anyio.sleep(2 * float(IDLE))  # each request restarts the idle countdown: ask seldom
                while (await http.post(server.mcp_url, json=ping, headers=session)).status_code != 404:  # noqa: ASYNC110
                    await anyio.sleep(2 * float(IDLE))
            assert (await initialize(http, server.mcp_url)).status_code == 200
    finally:
        stop_http_server(server)


@asynccontextmanager
async def sse_streams(base: str, count: int) -> AsyncIterator[tuple[list[httpx2.Response], list[httpx2.Response]]]:
    """count GET /sse requests from 127.0.0.1: the opened streams, held until the block ends, and
    the refusals, read and closed at once (their connection goes back to the client's pool)."""
    opened: list[httpx2.Response] = []
    refused: list[httpx2.Response] = []
    async with http_from() as http, AsyncExitStack() as stack:
        for _ in range(count):
            response = await http.send(http.build_request("GET", f"{base}/sse"), stream=True)
            if response.status_code == 200:
                stack.push_async_callback(response.aclose)
                opened.append(response)
            else:
                await response.aread()
                await response.aclose()
                refused.append(response)
        yield opened, refused


async def test_sse_streams_per_caller_are_capped_and_idle_ones_close(server_settings: Settings, tmp_path: Path) -> None:
    env = {"KUBEHELM_MCP_MAX_SSE_STREAMS_PER_CALLER": "2", "KUBEHELM_MCP_SESSION_IDLE_TIMEOUT": IDLE}
    server = start_http_server(server_settings, tmp_path, env=env)
    try:
        async with sse_streams(server.base, 3) as (opened, refused):
            assert len(opened) == 2 and [r.status_code for r in refused] == [429]
            assert refused[0].json()["error"] == "too_many_streams"
            with anyio.fail_after(WAIT):  # idle: the server ends them (the read returns at their end)
                for stream in opened:
                    assert b"event: endpoint" in await stream.aread()
        async with sse_streams(server.base, 1) as (again, _):
            assert len(again) == 1
    finally:
        stop_http_server(server)


async def test_sse_streams_cannot_take_every_connection(
    server_settings: Settings, tmp_path: Path, sample_objects: str
) -> None:
    connections = 10
    env = {"KUBEHELM_MCP_MAX_CONNECTIONS": str(connections), "KUBEHELM_MCP_SESSION_IDLE_TIMEOUT": "600"}
    server = start_http_server(server_settings, tmp_path, env=env)
    try:
        async with sse_streams(server.base, connections) as (_, refused):
            assert refused, "SSE streams took every connection"
            assert {r.json()["error"] for r in refused} == {"too_many_streams"}
            async with mcp_client_from(OTHER, server.mcp_url) as client:
                listed = await call_ok(
                    client, "k8s_list_resources", {"kind": "configmaps", "namespace": sample_objects}
                )
                assert listed["items"]
    finally:
        stop_http_server(server)
