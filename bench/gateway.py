"""The gateway beside sparfenyuk/mcp-proxy (PyPI `mcp-proxy`), both fronting the same stdio
server (mcp-server-time from PyPI), in one run:

  python -m bench.gateway [--runs N] [--clients C] [--duration S] [--rounds R]

1. Per-call latency of `get_current_time` (p50/p95) through each gateway's Streamable HTTP and
   SSE endpoints, and over stdio straight to the child: the overhead of each gateway is its
   latency over the direct one, and the table prints ours / theirs.
2. C concurrent sessions calling for S seconds through each gateway's Streamable HTTP endpoint:
   answers per second, p50/p99, errors and the gateway's RSS (children included).
Both gateways run at once and are measured in R alternating rounds (ours first in one round,
theirs first in the next), so a machine whose load drifts during the run skews neither side;
each gateway process's own CPU time per call is printed too, the figure least moved by other
work on the machine. Peers come from the cache `python -m tests.support.gateway_peers` fills.
Asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from tests.support.gateway_peers import peers

from bench.load import _cpu_seconds, _free_port, _percentile, _proc_status

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


async def _timed_calls(client: Client, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = await client.call_tool(TOOL, ARGUMENTS)
        times.append(time.perf_counter() - started)
        assert not result.is_error
    return times


@dataclass
class Load:
    answered: list[float] = field(default_factory=list)  # each answer's latency, seconds
    errors: int = 0
    opening: float = 0.0  # seconds to open every session
    calling: float = 0.0  # seconds of the calling window
    cpu: float = 0.0  # the gateway's CPU seconds in the calling window


async def _load(url: str, clients: int, duration: float, pid: int, into: Load) -> None:
    """clients sessions, opened first (timed apart), then calling back to back for duration
    seconds; the gateway's CPU is read over the calling window alone, so it is per answer."""
    opened, finished = 0, 0
    go, close = asyncio.Event(), asyncio.Event()
    all_opened, all_finished = asyncio.Event(), asyncio.Event()
    stop = 0.0

    def count(which: str) -> None:
        nonlocal opened, finished
        if which == "opened":
            opened += 1
            if opened == clients:
                all_opened.set()
        else:
            finished += 1
            if finished == clients:
                all_finished.set()

    async def one() -> None:
        counted = {"opened": False, "finished": False}

        def mark(which: str) -> None:
            if not counted[which]:
                counted[which] = True
                count(which)

        try:
            async with Client(streamable_http_client(url), mode="legacy") as client:
                mark("opened")
                await go.wait()
                while time.monotonic() < stop:
                    started = time.perf_counter()
                    try:
                        result = await client.call_tool(TOOL, ARGUMENTS)
                        if result.is_error:
                            into.errors += 1
                        else:
                            into.answered.append(time.perf_counter() - started)
                    except Exception:
                        into.errors += 1
                mark("finished")
                await close.wait()
        except Exception:
            into.errors += 1
        finally:  # a session that failed still counts, so nobody waits for it
            mark("opened")
            mark("finished")

    begun = time.monotonic()
    tasks = [asyncio.ensure_future(one()) for _ in range(clients)]
    await all_opened.wait()
    into.opening += time.monotonic() - begun
    cpu_before, begun = _cpu_seconds(pid), time.monotonic()
    stop = begun + duration
    go.set()
    await all_finished.wait()
    into.calling += time.monotonic() - begun
    into.cpu += _cpu_seconds(pid) - cpu_before
    close.set()
    await asyncio.gather(*tasks)


def _row(label: str, ours: float, theirs: float, unit: str = "ms") -> str:
    ratio = ours / theirs if theirs else float("nan")
    return f"{label:44} {ours:9.2f} {theirs:9.2f} {unit:>4} {ratio:6.2f}"


def _ordered(names: list[str], round_: int) -> list[str]:
    return names if round_ % 2 == 0 else names[::-1]


async def run(runs: int, clients: int, duration: float, rounds: int) -> None:
    p = peers()
    child = p.time
    names = ["ours", "mcp-proxy"]
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "gateway.yaml"
        config.write_text(
            yaml.safe_dump({"servers": {"time": {"command": child[0], "args": child[1:]}}, "default": "time"})
        )
        ports = {name: _free_port() for name in names}
        ours_argv = [sys.executable, "-m", "kubehelm_mcp", "gateway", "--config", str(config)]
        ours_argv += ["--port", str(ports["ours"]), "--log-level", "warning"]
        ours_argv += ["--max-sessions-per-caller", str(max(clients * 2, 64))]
        theirs_argv = [*p.mcp_proxy, "--port", str(ports["mcp-proxy"]), "--log-level", "WARNING", child[0]]
        theirs_argv += ["--", *child[1:]]
        argv = {"ours": ours_argv, "mcp-proxy": theirs_argv}
        latency: dict[str, list[float]] = {}
        cpu: dict[str, float] = {}  # a gateway's own CPU seconds per call, by "<name> <phase>"
        loads = {name: Load() for name in names}
        rss: dict[str, float] = {}
        per_round = max(1, runs // rounds)
        async with contextlib.AsyncExitStack() as stack:
            direct = await stack.enter_async_context(
                Client(StdioServerParameters(command=child[0], args=child[1:]), mode="legacy")
            )
            processes = {}
            for name in names:
                _log(f"{name}: starting")
                processes[name] = await stack.enter_async_context(_running(argv[name], ports[name], "/mcp"))
            for transport in ("http", "sse"):
                _log(f"latency over {transport}, {rounds} rounds")
                gateways: dict[str, Client] = {}
                for name in names:
                    base = f"http://127.0.0.1:{ports[name]}"
                    connect = sse_client(f"{base}/sse") if transport == "sse" else streamable_http_client(f"{base}/mcp")
                    gateways[name] = await stack.enter_async_context(Client(connect, mode="legacy"))
                    await _timed_calls(gateways[name], 10)  # warm-up
                await _timed_calls(direct, 10)
                for round_ in range(rounds):
                    latency.setdefault("direct", []).extend(await _timed_calls(direct, per_round))
                    for name in _ordered(names, round_):
                        before = _cpu_seconds(processes[name].pid)
                        latency.setdefault(f"{name} {transport}", []).extend(
                            await _timed_calls(gateways[name], per_round)
                        )
                        key = f"{name} {transport}"
                        cpu[key] = cpu.get(key, 0.0) + _cpu_seconds(processes[name].pid) - before
            _log(f"{clients} sessions for {duration:g} s each, in {rounds} rounds")
            for round_ in range(rounds):
                for name in _ordered(names, round_):
                    url, pid = f"http://127.0.0.1:{ports[name]}/mcp", processes[name].pid
                    await _load(url, clients, duration / rounds, pid, loads[name])
            for name in names:
                rss[name] = _rss_mb(processes[name].pid)
    calls = per_round * rounds
    direct_p50 = statistics.median(latency["direct"]) * 1000
    print(f"\nPer-call latency of {TOOL} (mcp-server-time over stdio behind each gateway), {calls} calls each")
    print(f"{'measurement':44} {'ours':>9} {'theirs':>9} {'unit':>4} {'ratio':>6}")
    print(f"{'direct stdio p50 (baseline)':44} {direct_p50:9.2f}")
    for transport in ("http", "sse"):
        ours, theirs = latency[f"ours {transport}"], latency[f"mcp-proxy {transport}"]
        print(_row(f"{transport} p50", _percentile(ours, 0.5) * 1000, _percentile(theirs, 0.5) * 1000))
        print(_row(f"{transport} p95", _percentile(ours, 0.95) * 1000, _percentile(theirs, 0.95) * 1000))
        over_ours = _percentile(ours, 0.5) * 1000 - direct_p50
        over_theirs = _percentile(theirs, 0.5) * 1000 - direct_p50
        print(_row(f"{transport} overhead over direct p50", over_ours, over_theirs))
        ours_cpu, theirs_cpu = cpu[f"ours {transport}"], cpu[f"mcp-proxy {transport}"]
        print(_row(f"{transport} gateway CPU per call", ours_cpu / calls * 1000, theirs_cpu / calls * 1000))
    ours_load, theirs_load = loads["ours"], loads["mcp-proxy"]
    print(f"\n{clients} concurrent Streamable HTTP sessions calling for {duration:g} s")
    ours_rate, theirs_rate = (len(load.answered) / load.calling for load in (ours_load, theirs_load))
    print(_row("answers per second", ours_rate, theirs_rate, "/s"))
    for label, fraction in (("p50", 0.5), ("p99", 0.99)):
        ours_ms, theirs_ms = (_percentile(load.answered, fraction) * 1000 for load in (ours_load, theirs_load))
        print(_row(label, ours_ms, theirs_ms))
    print(_row("errors", ours_load.errors, theirs_load.errors, "n"))
    ours_cpu, theirs_cpu = (load.cpu / max(1, len(load.answered)) * 1000 for load in (ours_load, theirs_load))
    print(_row("gateway CPU per answer", ours_cpu, theirs_cpu))
    print(
        _row(
            f"opening the {clients} sessions (per round)", ours_load.opening / rounds, theirs_load.opening / rounds, "s"
        )
    )
    print(_row("RSS (gateway + child)", rss["ours"], rss["mcp-proxy"], "MB"))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds the runs and duration are split into")
    args = parser.parse_args()
    asyncio.run(run(args.runs, args.clients, args.duration, max(1, args.rounds)))


if __name__ == "__main__":
    main()
