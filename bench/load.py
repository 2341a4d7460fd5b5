"""Load: many concurrent HTTP MCP clients asking mixed read questions, against the real cluster.

  python -m bench.load [--clients 200] [--duration 60] [--servers kubehelm-mcp,kubernetes-mcp-server]

Each server runs as its own process on 127.0.0.1 (Streamable HTTP) against the same test
cluster; each client is the MCP SDK's own Client (initialize handshake, so both servers speak
the same protocol) with its own connections. All clients connect first, then for --duration
seconds each asks the questions below in turn (starting at a different one), one at a time.
A question is what one of our calls answers; kubernetes-mcp-server needs two calls for one of
them. Reported per server: questions answered per second, p50/p99 latency, errors (exceptions
and error results), peak RSS (VmHWM) and CPU seconds of the server process, beside the CPU
seconds the clients themselves took and the machine's load average.

The load generator runs in this one Python process, on the same machine as the server under
test: the numbers are for comparing the servers in the same run, not absolute capacity.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import socket
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from mcp import Client
from testcluster.controlplane import ControlPlane
from testcluster.install import Binaries, ensure_all

from bench import cli, seed
from bench.calls import Call
from bench.helmcli import helm
from bench.servers import KMS, kms_argv, ours_argv, server_env

OURS = "kubehelm-mcp"
NAMESPACE = "bench-load"
CONFIGMAPS = 50
RELEASES = ("one", "two", "three")
CONNECT_AT_ONCE = 20  # handshakes in flight while the clients connect
CALL_TIMEOUT = 60.0
START_TIMEOUT = 60.0

_CM = {"kind": "ConfigMap", "name": "cm-1", "namespace": NAMESPACE}
_DEPLOYMENT = {"kind": "Deployment", "name": "web", "namespace": NAMESPACE}

# question -> (our calls, kubernetes-mcp-server's calls)
QUESTIONS: dict[str, tuple[list[Call], list[Call]]] = {
    "get a ConfigMap": ([("k8s_get_resource", _CM)], [("resources_get", {"apiVersion": "v1", **_CM})]),
    "list ConfigMaps": (
        [("k8s_list_resources", {"kind": "ConfigMap", "namespace": NAMESPACE})],
        [("resources_list", {"apiVersion": "v1", "kind": "ConfigMap", "namespace": NAMESPACE})],
    ),
    "describe a Deployment (theirs: get + events)": (
        [("k8s_describe_resource", _DEPLOYMENT)],
        [
            ("resources_get", {"apiVersion": "apps/v1", **_DEPLOYMENT}),
            ("events_list", {"namespace": NAMESPACE, "fieldSelector": "involvedObject.name=web"}),
        ],
    ),
    "list events": ([("k8s_list_events", {"namespace": NAMESPACE})], [("events_list", {"namespace": NAMESPACE})]),
    "list Helm releases": ([("helm_list", {"namespace": NAMESPACE})], [("helm_list", {"namespace": NAMESPACE})]),
}


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    connected: int = 0
    not_connected: int = 0
    last_answer: float = 0.0  # monotonic time of the last question answered or failed

    def ok(self, question: str, seconds: float) -> None:
        self.latencies.setdefault(question, []).append(seconds)
        self.last_answer = time.monotonic()

    def error(self, what: str) -> None:
        self.errors[what[:160]] += 1
        self.last_answer = time.monotonic()

    @property
    def answered(self) -> list[float]:
        return [s for times in self.latencies.values() for s in times]


@dataclass(frozen=True)
class Result:
    server: str
    clients: int
    seconds: float
    tally: Tally
    peak_rss_mb: float
    cpu_seconds: float
    generator_cpu_seconds: float  # this process: the clients' own cost, on the same cores
    load_average: float  # the machine's 1-minute load average at the end


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else float("nan")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _proc_status(pid: int, key: str) -> float:
    """A kB figure from /proc/PID/status (VmHWM: the peak resident set)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return float(line.split()[1])
    return float("nan")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


async def _wait_listening(port: int, proc: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            raise RuntimeError(f"the server exited with {proc.returncode} before listening")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"nothing listened on 127.0.0.1:{port} within {START_TIMEOUT} s")


async def _ask(client: Client, question: str, calls: list[Call], tally: Tally) -> None:
    started = time.perf_counter()
    for tool, arguments in calls:
        try:
            result = await client.call_tool(tool, arguments)
        except Exception as exc:
            tally.error(f"{tool}: {type(exc).__name__}: {exc}")
            return
        if result.is_error:
            text = " ".join(getattr(block, "text", "") for block in result.content)
            tally.error(f"{tool}: error result: {text}")
            return
    tally.ok(question, time.perf_counter() - started)


async def _one_client(
    url: str,
    index: int,
    questions: list[tuple[str, list[Call]]],
    tally: Tally,
    connecting: anyio.Semaphore,
    arrived: Callable[[], None],
    go: anyio.Event,
    deadline: list[float],
) -> None:
    stage = "connect"
    try:
        async with AsyncExitStack() as stack:
            async with connecting:
                client = await stack.enter_async_context(Client(url, mode="legacy", read_timeout_seconds=CALL_TIMEOUT))
                await client.list_tools()  # the output schemas the client checks results against
            tally.connected += 1
            stage = "ask"
            arrived()
            await go.wait()
            for question, calls in itertools.islice(itertools.cycle(questions), index % len(questions), None):
                if time.monotonic() >= deadline[0]:
                    break
                await _ask(client, question, calls, tally)
            stage = "disconnect"
    except Exception as exc:
        tally.error(f"{stage}: {type(exc).__name__}: {exc}")
    finally:
        if stage == "connect":
            tally.not_connected += 1
            arrived()


async def _drive(
    url: str, clients: int, duration: float, questions: list[tuple[str, list[Call]]]
) -> tuple[Tally, float]:
    """Connect every client, then let them ask for `duration` seconds; the seconds returned run
    from the start to the last answer (disconnecting is not counted)."""
    tally = Tally()
    all_arrived, go = anyio.Event(), anyio.Event()
    deadline = [float("inf")]
    connecting = anyio.Semaphore(CONNECT_AT_ONCE)

    def arrived() -> None:
        if tally.connected + tally.not_connected == clients:
            all_arrived.set()

    async with anyio.create_task_group() as tg:
        for index in range(clients):
            tg.start_soon(_one_client, url, index, questions, tally, connecting, arrived, go, deadline)
        await all_arrived.wait()
        started = time.monotonic()
        deadline[0] = started + duration
        go.set()
    return tally, max(tally.last_answer - started, duration)


async def _measure(
    name: str, argv: list[str], env: dict[str, str], clients: int, duration: float, port: int, mine: bool
) -> Result:
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        await _wait_listening(port, proc)
        questions = [(q, ours if mine else theirs) for q, (ours, theirs) in QUESTIONS.items()]
        print(f"[load] {name}: {clients} clients for {duration:g} s", flush=True)
        generator_started = time.process_time()
        tally, seconds = await _drive(f"http://127.0.0.1:{port}/mcp", clients, duration, questions)
        generator = time.process_time() - generator_started
        rss = _proc_status(proc.pid, "VmHWM") / 1024
        return Result(name, clients, seconds, tally, rss, _cpu_seconds(proc.pid), generator, os.getloadavg()[0])
    finally:
        if proc.returncode is None:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), timeout=60)


def _seed(plane: ControlPlane, binaries: Binaries, workdir: Path) -> None:
    objects = [seed.namespace(NAMESPACE)]
    objects += [seed.configmap(f"cm-{i}", NAMESPACE, {"k": f"v{i}"}) for i in range(CONFIGMAPS)]
    labels = {"app": "web"}
    objects.append(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": NAMESPACE, "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "web", "image": "127.0.0.1/kubehelm/busybox:1"}]},
                },
            },
        }
    )
    seed.apply(plane, objects)
    chart = seed.create_chart(plane, binaries, workdir / "demo")
    for release in RELEASES:
        helm(plane, binaries, "install", release, str(chart), "-n", NAMESPACE)


def _report(results: list[Result]) -> str:
    head = (
        f"{'server':24} {'clients':>7} {'seconds':>7} {'answered':>8} {'per s':>7} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'errors':>6} {'peak RSS MB':>11} {'CPU s':>6} {'clients CPU s':>13} {'load avg':>8}"
    )
    lines = [head]
    for r in results:
        answered = r.tally.answered
        lines.append(
            f"{r.server:24} {r.clients:7d} {r.seconds:7.1f} {len(answered):8d} {len(answered) / r.seconds:7.1f} "
            f"{statistics.median(answered) * 1000 if answered else float('nan'):8.1f} "
            f"{_percentile(answered, 0.99) * 1000:8.1f} {sum(r.tally.errors.values()):6d} "
            f"{r.peak_rss_mb:11.1f} {r.cpu_seconds:6.1f} {r.generator_cpu_seconds:13.1f} {r.load_average:8.2f}"
        )
    lines.append("")
    lines.append(f"{'question':48} " + " ".join(f"{r.server[:20]:>20}" for r in results) + "   (p50 / p99 ms)")
    for question in QUESTIONS:
        cells = []
        for r in results:
            times = r.tally.latencies.get(question, [])
            cell = f"{statistics.median(times) * 1000:.0f} / {_percentile(times, 0.99) * 1000:.0f}" if times else "-"
            cells.append(f"{cell:>20}")
        lines.append(f"{question:48} " + " ".join(cells))
    for r in results:
        for error, count in r.tally.errors.most_common(5):
            lines.append(f"{r.server}: {count} x {error}")
    return "\n".join(lines)


async def run(clients: int, duration: float, servers: list[str]) -> None:
    binaries = ensure_all(node=False)
    with tempfile.TemporaryDirectory() as tmp, ControlPlane.start(None, binaries) as plane:
        _seed(plane, binaries, Path(tmp))
        env = server_env(plane, binaries)
        results: list[Result] = []
        for name in servers:
            port = _free_port()
            if name == OURS:
                argv = ours_argv("--transport", "http", "--port", str(port), "--read-only")
                results.append(await _measure(name, argv, env, clients, duration, port, mine=True))
            elif name == KMS:
                peer = kms_argv()
                if peer is None:
                    print(f"[load] {KMS} could not be fetched; skipped", flush=True)
                    continue
                argv = [*peer, "--port", str(port), "--bind-address", "127.0.0.1", "--read-only"]
                results.append(await _measure(name, argv, env, clients, duration, port, mine=False))
        print(f"\n== load: {clients} concurrent HTTP MCP clients, mixed reads ==")
        print(_report(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=200, help="concurrent MCP clients (default 200)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load per server (default 60)")
    parser.add_argument("--servers", default=f"{OURS},{KMS}", help=f"comma-separated: {OURS}, {KMS}")
    args = parser.parse_args()
    with cli.guarded():
        asyncio.run(run(args.clients, args.duration, [s.strip() for s in args.servers.split(",") if s.strip()]))


if __name__ == "__main__":
    main()
