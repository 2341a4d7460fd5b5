"""Robustness figures: what a flood of handshakes holds, and how soon calls succeed after an outage.

  python -m bench.robustness flood [--initializes 2000] [--sse-streams 30]
  python -m bench.robustness outage [--freeze 30] [--etcd-stop 10]

flood: one `serve --transport http` process on 127.0.0.1 gets --initializes unauthenticated
`initialize` POSTs from 127.0.0.1 (50 at a time) and --sse-streams idle legacy SSE streams;
reported: the sessions it then holds, its RSS before and after, and what a new client gets,
from the flooding address and from another one (127.0.0.2).

outage: a dedicated control plane; eight callers keep calling k8s_list_resources (in-process
server, default settings) while the apiserver is frozen (SIGSTOP) for --freeze seconds, then
restarted, then etcd is stopped for --etcd-stop seconds; reported for each: seconds from the
moment the apiserver answers /readyz again to the first successful call, and the calls refused
as circuit open meanwhile. Loopback only; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client
from testcluster.controlplane import ControlPlane
from testcluster.install import ensure_all

from bench import cli
from kubehelm_mcp import create_client, create_server
from kubehelm_mcp.api import server_parts

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "flood", "version": "1"}},
}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
AT_ONCE = 50
OTHER_ADDRESS = "127.0.0.2"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _metric(base: str, name: str, labels: str) -> float | None:
    text = httpx2.get(f"{base}/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith(f"{name}{{{labels}}} "):
            return float(line.split()[-1])
    return None


@contextlib.contextmanager
def _server(workdir: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    kubeconfig = workdir / "kubeconfig"  # never reached: a handshake needs no cluster
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    port = _free_port()
    argv = [sys.executable, "-m", "kubehelm_mcp", "serve", "--transport", "http", "--port", str(port)]
    env = {"KUBEHELM_MCP_KUBECONFIG": str(kubeconfig), "KUBEHELM_MCP_LOG_LEVEL": "warning", "PATH": "/usr/bin:/bin"}
    with (workdir / "server.log").open("wb") as sink:
        process = subprocess.Popen(argv, env=env, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx2.HTTPError):
                if httpx2.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield process, base
    finally:
        process.terminate()
        process.wait(timeout=30)


async def _initialize(http: httpx2.AsyncClient, url: str) -> int:
    response = await http.post(url, json=INITIALIZE, headers=HEADERS)
    return response.status_code


async def _flood(base: str, count: int) -> dict[int, int]:
    statuses: dict[int, int] = {}
    limiter = anyio.Semaphore(AT_ONCE)

    async def one(http: httpx2.AsyncClient) -> None:
        async with limiter:
            status = await _initialize(http, f"{base}/mcp")
        statuses[status] = statuses.get(status, 0) + 1

    async with httpx2.AsyncClient(timeout=30) as http, anyio.create_task_group() as tg:
        for _ in range(count):
            tg.start_soon(one, http)
    return statuses


async def _new_client(base: str, address: str | None) -> str:
    transport = httpx2.AsyncHTTPTransport(local_address=address) if address else None
    async with httpx2.AsyncClient(timeout=30, transport=transport) as http:
        response = await http.post(f"{base}/mcp", json=INITIALIZE, headers=HEADERS)
    return f"HTTP {response.status_code}"


async def _open_sse(base: str, count: int, opened: list[httpx2.Response], stop: anyio.Event) -> None:
    async with httpx2.AsyncClient(timeout=httpx2.Timeout(30, read=None)) as http, contextlib.AsyncExitStack() as stack:
        for _ in range(count):
            response = await stack.enter_async_context(http.stream("GET", f"{base}/sse"))
            opened.append(response)
        await stop.wait()


async def flood(count: int, sse_streams: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, _server(Path(tmp)) as (process, base):
        rss_before = _rss_mb(process.pid)
        started = time.monotonic()
        statuses = await _flood(base, count)
        took = time.monotonic() - started
        held = _metric(base, "kubehelm_mcp_sessions_active", 'transport="http"')
        print(f"{count} initializes in {took:.1f} s: statuses {statuses}; sessions held {held}")
        print(f"RSS {rss_before:.0f} -> {_rss_mb(process.pid):.0f} MB")
        print(f"new client from 127.0.0.1: {await _new_client(base, None)}")
        print(f"new client from {OTHER_ADDRESS}: {await _new_client(base, OTHER_ADDRESS)}")
    with tempfile.TemporaryDirectory() as tmp, _server(Path(tmp)) as (process, base):
        opened: list[httpx2.Response] = []
        stop = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(_open_sse, base, sse_streams, opened, stop)
            with anyio.move_on_after(30):
                while len(opened) < sse_streams:  # noqa: ASYNC110
                    await anyio.sleep(0.05)
            statuses_sse = [r.status_code for r in opened]
            print(f"{sse_streams} SSE streams asked: {statuses_sse.count(200)} opened")
            print(f"new client from 127.0.0.1: {await _new_client(base, None)}")
            print(f"new client from {OTHER_ADDRESS}: {await _new_client(base, OTHER_ADDRESS)}")
            stop.set()


# --- outage ---------------------------------------------------------------------------------

CALLERS = 8  # enough calls hung at once to trip a breaker at its default (5 failures)
LIST = ("k8s_list_resources", {"kind": "namespaces"})


class Watch:
    """The outcome of every call the callers made, with its start and end times."""

    def __init__(self) -> None:
        self.results: list[tuple[float, float, bool, str]] = []

    def first_success_after(self, moment: float) -> float | None:
        """Seconds from moment to the end of the first good call started at or after it (a call
        that hung through the outage and was answered at its end does not count)."""
        ends = [end for start, end, ok, _ in self.results if ok and start >= moment]
        return min(ends) - moment if ends else None

    def refused_between(self, start: float, end: float) -> int:
        return sum(1 for _, t, ok, text in self.results if start <= t <= end and not ok and "fail fast" in text)


async def _caller(client: Client, watch: Watch, stop: anyio.Event) -> None:
    while not stop.is_set():
        started = time.monotonic()
        result = await client.call_tool(*LIST)
        text = " ".join(getattr(block, "text", "") for block in result.content)
        watch.results.append((started, time.monotonic(), not result.is_error, text))
        if result.is_error:
            await anyio.sleep(0.05)


def _ready(plane: ControlPlane) -> bool:
    with contextlib.suppress(Exception):
        return plane.client().ok("/readyz")
    return False


async def _wait(check: Callable[[], bool], limit: float = 120) -> float:
    with anyio.fail_after(limit):
        while not await anyio.to_thread.run_sync(check):  # noqa: ASYNC110
            await anyio.sleep(0.05)
    return time.monotonic()


async def _scenario(name: str, plane: ControlPlane, watch: Watch, outage: Callable[[], Any]) -> None:
    began = time.monotonic()
    await outage()
    ready = await _wait(lambda: _ready(plane))
    with anyio.fail_after(180):
        while watch.first_success_after(ready) is None:  # noqa: ASYNC110
            await anyio.sleep(0.05)
    print(
        f"{name}: first success {watch.first_success_after(ready):.1f} s after the apiserver was ready "
        f"({ready - began:.1f} s after the outage began); "
        f"{watch.refused_between(began, time.monotonic())} calls refused as circuit open"
    )
    await anyio.sleep(3)  # settle before the next scenario


async def outage(freeze: float, etcd_stop: float) -> None:
    binaries = ensure_all(node=False)
    with ControlPlane.start(None, binaries, context_name="bench-outage") as plane:
        server = create_server(kubeconfig=str(plane.kubeconfig), log_level="warning")
        watch = Watch()
        stop = anyio.Event()
        async with contextlib.AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(create_client(server)) for _ in range(CALLERS)]
            async with anyio.create_task_group() as tg:
                for client in clients:
                    tg.start_soon(_caller, client, watch, stop)
                await _wait(lambda: watch.first_success_after(0) is not None)

                async def frozen() -> None:
                    plane.pause("kube-apiserver")
                    await anyio.sleep(freeze)
                    plane.resume("kube-apiserver")

                async def restarted() -> None:
                    await anyio.to_thread.run_sync(plane.stop_apiserver)
                    await anyio.to_thread.run_sync(lambda: plane.start_apiserver())

                async def etcd_stopped() -> None:
                    plane.pause("etcd")
                    await anyio.sleep(etcd_stop)
                    plane.resume("etcd")

                await _scenario(f"apiserver frozen {freeze:g} s", plane, watch, frozen)
                await _scenario("apiserver restarted", plane, watch, restarted)
                await _scenario(f"etcd stopped {etcd_stop:g} s", plane, watch, etcd_stopped)
                stop.set()
        await server_parts(server).close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    flood_args = sub.add_parser("flood")
    flood_args.add_argument("--initializes", type=int, default=2000)
    flood_args.add_argument("--sse-streams", type=int, default=30)
    outage_args = sub.add_parser("outage")
    outage_args.add_argument("--freeze", type=float, default=30)
    outage_args.add_argument("--etcd-stop", type=float, default=10)
    args = parser.parse_args()
    with cli.guarded():
        if args.command == "flood":
            asyncio.run(flood(args.initializes, args.sse_streams))
        else:
            asyncio.run(outage(args.freeze, args.etcd_stop))


if __name__ == "__main__":
    main()
