"""Graceful shutdown of a real `serve` process: a tool call in flight when SIGTERM arrives still
completes (over Streamable HTTP and over legacy SSE), new work is refused meanwhile, the
process exits 0; past --shutdown-grace the call is cancelled and the process still exits 0.

The call in flight is helm_search_hub, a real helm subprocess, held at a local search endpoint
until the test opens its gate, so "in flight" is a fact, not a timing guess."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.sse import sse_client

from kubehelm_mcp.settings import Settings
from tests.conftest import HttpServer, start_http_server
from tests.support.gated_hub import GatedHub
from tests.support.mcp import call_error, call_ok

pytestmark = pytest.mark.anyio

SEARCH = {"keyword": "webapp"}
WAIT = 30.0  # upper bound for things that happen at once; never a measured duration
HOLD = 2.0  # how long the call stays in flight after SIGTERM: a condition held, not a duration measured


def start_gated(settings: Settings, tmp_path: Path, hub: GatedHub, *flags: str) -> HttpServer:
    return start_http_server(
        settings,
        tmp_path,
        "--keep-alive-timeout",
        "60",  # the kept-alive probe connection below must outlive the drain's first seconds
        *flags,
        env={"KUBEHELM_MCP_HELM_HUB_URL": hub.url, "KUBEHELM_MCP_ALLOWED_HOSTS": "127.0.0.1"},
    )


def streamable(server: HttpServer) -> AbstractAsyncContextManager[Client]:
    return Client(server.mcp_url)


def legacy_sse(server: HttpServer) -> AbstractAsyncContextManager[Client]:
    return Client(sse_client(f"{server.base}/sse"))


def refuses_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"not {what} within {WAIT} s"
        await anyio.sleep(0.05)


@asynccontextmanager
async def call_in_flight(client: Client, hub: GatedHub, expect_error: bool = False) -> AsyncIterator[list[Any]]:
    """Start helm_search_hub and return once it waits at the hub; its result (or, with
    expect_error, its error sentence) lands in the list."""
    outcome: list[Any] = []
    # The client validates a result against the tool's output schema, fetching tools/list first
    # if it has none: a request the draining server would refuse. Fetch it while it still serves.
    await client.list_tools()

    async def search() -> None:
        call = call_error if expect_error else call_ok
        outcome.append(await call(client, "helm_search_hub", SEARCH))

    async with anyio.create_task_group() as tg:
        tg.start_soon(search)
        assert await anyio.to_thread.run_sync(hub.arrived.wait, WAIT), "the search never reached the hub"
        yield outcome


def exit_code(server: HttpServer) -> int:
    return server.process.wait(timeout=WAIT)


@pytest.mark.parametrize("connect", [streamable, legacy_sse], ids=["streamable-http", "sse"])
async def test_sigterm_lets_the_running_call_finish(
    server_settings: Settings,
    tmp_path: Path,
    helm_home: Path,
    connect: Callable[[HttpServer], AbstractAsyncContextManager[Client]],
) -> None:
    with GatedHub() as hub:
        server = start_gated(server_settings, tmp_path, hub)
        try:
            async with httpx2.AsyncClient(timeout=10) as kept, connect(server) as client:
                assert (await kept.get(f"{server.base}/health")).status_code == 200  # a kept-alive connection
                async with call_in_flight(client, hub) as outcome:
                    metrics = (await kept.get(f"{server.base}/metrics")).text
                    assert "\nkubehelm_mcp_tool_calls_in_flight 1.0\n" in metrics
                    server.process.send_signal(signal.SIGTERM)
                    await until(lambda: refuses_connections(server.port), "refusing new connections")
                    late = await kept.get(f"{server.base}/health")  # on the connection opened before
                    assert late.status_code == 503 and late.json()["error"] == "shutting_down"
                    # Hold the call past sse-starlette's shutdown poll (every 0.5 s), which ends every
                    # SSE stream on SIGTERM unless the drain holds it off: a stream cut now loses the result.
                    await anyio.sleep(HOLD)
                    assert server.process.poll() is None, "the server exited with a call still running"
                    hub.gate.set()
            [result] = outcome
            assert [item["version"] for item in result["items"]] == ["1.2.3"]
            assert exit_code(server) == 0
        finally:
            if server.process.poll() is None:
                server.process.kill()
    log = server.log.read_text()
    assert "draining 1 running tool call(s)" in log and "cancelling" not in log, log
    assert "Application shutdown complete" in log and "Traceback" not in log, log


async def test_calls_past_the_grace_are_cancelled(server_settings: Settings, tmp_path: Path, helm_home: Path) -> None:
    """The cancelled call still gets an answer: a tool error saying why, not a broken stream."""
    with GatedHub() as hub:
        server = start_gated(server_settings, tmp_path, hub, "--shutdown-grace", "1")
        try:
            async with streamable(server) as client, call_in_flight(client, hub, expect_error=True) as outcome:
                server.process.send_signal(signal.SIGTERM)
                code = await anyio.to_thread.run_sync(exit_code, server)  # the gate stays shut
            assert outcome == ["The server shut down before this call finished; run it again."]
            assert code == 0
        finally:
            if server.process.poll() is None:
                server.process.kill()
    log = server.log.read_text()
    assert "cancelling 1 tool call(s) still running after the 1 s shutdown grace" in log, log
    assert "Exception in ASGI application" not in log, log
