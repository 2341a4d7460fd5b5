"""The gateway beside sparfenyuk/mcp-proxy (PyPI `mcp-proxy`), both fronting the same stdio
server (mcp-server-time from PyPI), in one run:

  python -m bench.gateway [--runs N] [--clients C] [--duration S]

1. Per-call latency of `get_current_time` (p50/p95) through each gateway's Streamable HTTP and
   SSE endpoints, and over stdio straight to the child: the overhead of each gateway is its
   latency over the direct one, and the table prints ours / theirs.
2. C concurrent sessions calling for S seconds through each gateway's Streamable HTTP endpoint:
   answers per second, p50/p99, errors and the gateway's RSS (children included).
Peers come from the cache `python -m tests.support.gateway_peers` fills. Asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import yaml
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from tests.support.gateway_peers import peers

from bench.load import _free_port, _percentile, _proc_status
from bench.stats import Sample, measure

ARGUMENTS = {"timezone": "UTC"}
TOOL = "get_current_time"
START_SECONDS = 60


def _log(message: str) -> None:
    print(f"[bench.gateway] {message}", file=sys.stderr, flush=True)


async def _until_listening(port: int, process: asyncio.subprocess.Process, path: str) -> None:
    """Until the MCP endpoint answers an initialize: both gateways start their child first."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise RuntimeError(f"gateway exited with {process.returncode}")
        try:
            async with Client(streamable_http_client(f"http://127.0.0.1:{port}{path}"), mode="legacy") as client:
                await client.call_tool(TOOL, ARGUMENTS)
                return
        except Exception:  # not up yet
            await asyncio.sleep(0.2)
    raise RuntimeError(f"no gateway answered on port {port} within {START_SECONDS} s")


@asynccontextmanager
async def _running(argv: list[str], port: int, path: str) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        await _until_listening(port, process, path)
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()


def _rss_mb(root: int) -> float:
    """RSS of a process and all its descendants (the gateway and its children), in MB."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    family = {root}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in family and pid not in family:
                family.add(pid)
                grew = True
    total = 0.0
    for pid in family:
        with contextlib.suppress(OSError):
            total += _proc_status(pid, "VmRSS")
    return total / 1024


async def _latency(name: str, client: Client, runs: int) -> Sample:
    async def call() -> None:
        result = await client.call_tool(TOOL, ARGUMENTS)
        assert not result.is_error

    return await measure(name, call, runs, warmup=10)


async def _load(url: str, clients: int, duration: float) -> dict[str, float]:
    """clients sessions calling back to back for duration seconds."""
    answered: list[float] = []
    errors = 0
    stop = time.monotonic() + duration

    async def one() -> None:
        nonlocal errors
        try:
            async with Client(streamable_http_client(url), mode="legacy") as client:
                while time.monotonic() < stop:
                    started = time.perf_counter()
                    try:
                        result = await client.call_tool(TOOL, ARGUMENTS)
                        if result.is_error:
                            errors += 1
                        else:
                            answered.append(time.perf_counter() - started)
                    except Exception:
                        errors += 1
        except Exception:
            errors += 1

    begun = time.monotonic()
    await asyncio.gather(*(one() for _ in range(clients)))
    elapsed = time.monotonic() - begun
    return {
        "per_second": len(answered) / elapsed,
        "p50_ms": _percentile(answered, 0.5) * 1000 if answered else 0.0,
        "p99_ms": _percentile(answered, 0.99) * 1000 if answered else 0.0,
        "errors": float(errors),
    }


def _row(label: str, ours: float, theirs: float, unit: str = "ms") -> str:
    ratio = ours / theirs if theirs else float("nan")
    return f"{label:44} {ours:9.2f} {theirs:9.2f} {unit:>4} {ratio:6.2f}"


async def run(runs: int, clients: int, duration: float) -> None:
    p = peers()
    child = p.time
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "gateway.yaml"
        config.write_text(
            yaml.safe_dump({"servers": {"time": {"command": child[0], "args": child[1:]}}, "default": "time"})
        )
        ours_port, theirs_port = _free_port(), _free_port()
        ours_argv = [sys.executable, "-m", "kubehelm_mcp", "gateway", "--config", str(config), "--port", str(ours_port)]
        ours_argv += ["--log-level", "warning", "--max-sessions-per-caller", str(max(clients * 2, 64))]
        theirs_argv = [*p.mcp_proxy, "--port", str(theirs_port), "--log-level", "WARNING", child[0], "--", *child[1:]]
        samples: dict[str, Sample] = {}
        loads: dict[str, dict[str, float]] = {}
        rss: dict[str, float] = {}
        async with Client(StdioServerParameters(command=child[0], args=child[1:]), mode="legacy") as stdio:
            samples["direct"] = await _latency("direct", stdio, runs)
        for name, argv, port in (("ours", ours_argv, ours_port), ("mcp-proxy", theirs_argv, theirs_port)):
            _log(f"{name}: starting")
            async with _running(argv, port, "/mcp") as process:
                base = f"http://127.0.0.1:{port}"
                async with Client(streamable_http_client(f"{base}/mcp"), mode="legacy") as client:
                    samples[f"{name} http"] = await _latency(f"{name} http", client, runs)
                async with Client(sse_client(f"{base}/sse"), mode="legacy") as client:
                    samples[f"{name} sse"] = await _latency(f"{name} sse", client, runs)
                _log(f"{name}: {clients} sessions for {duration:g} s")
                loads[name] = await _load(f"{base}/mcp", clients, duration)
                rss[name] = _rss_mb(process.pid)
    direct = samples["direct"].p50 * 1000
    print(f"\nPer-call latency of {TOOL} (mcp-server-time over stdio behind each gateway), {runs} calls each")
    print(f"{'measurement':44} {'ours':>9} {'theirs':>9} {'unit':>4} {'ratio':>6}")
    print(f"{'direct stdio p50 (baseline)':44} {direct:9.2f}")
    for transport in ("http", "sse"):
        ours, theirs = samples[f"ours {transport}"], samples[f"mcp-proxy {transport}"]
        print(_row(f"{transport} p50", ours.p50 * 1000, theirs.p50 * 1000))
        print(_row(f"{transport} p95", ours.p95 * 1000, theirs.p95 * 1000))
        print(_row(f"{transport} overhead over direct p50", ours.p50 * 1000 - direct, theirs.p50 * 1000 - direct))
    print(f"\n{clients} concurrent Streamable HTTP sessions for {duration:g} s")
    print(_row("answers per second", loads["ours"]["per_second"], loads["mcp-proxy"]["per_second"], "/s"))
    print(_row("p50", loads["ours"]["p50_ms"], loads["mcp-proxy"]["p50_ms"]))
    print(_row("p99", loads["ours"]["p99_ms"], loads["mcp-proxy"]["p99_ms"]))
    print(_row("errors", loads["ours"]["errors"], loads["mcp-proxy"]["errors"], "n"))
    print(_row("RSS (gateway + child)", rss["ours"], rss["mcp-proxy"], "MB"))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=15.0)
    args = parser.parse_args()
    asyncio.run(run(args.runs, args.clients, args.duration))


if __name__ == "__main__":
    main()
