"""The server in the cluster beside the same server as a local process, on one real cluster.

  python -m bench.incluster [--runs N]

Installs charts/kubehelm-mcp (the image from ./Containerfile, built offline and cached; run
scripts/build-image first on a fresh machine) on a test node, then times k8s_get_resource and
k8s_list_resources over Streamable HTTP against the pod (its ServiceAccount, readonly profile)
and against a local `kubehelm-mcp serve --transport http` (the admin kubeconfig). Prints p50/p95
and the ratio in-cluster / local; asserts nothing about speed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import yaml
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from testcluster.controlplane import ControlPlane
from testcluster.install import Binaries, ensure_all
from testcluster.node import Node
from testcluster.serverimage import ensure_image, import_into_node, node_values

from bench import cli, seed
from bench.calls import Call, time_calls
from bench.servers import ours_argv, server_env
from bench.stats import Sample, table

NAMESPACE = "bench-incluster"
CHART = Path(__file__).resolve().parent.parent / "charts" / "kubehelm-mcp"
RELEASE = "bench"
CALLS: dict[str, Call] = {
    "get": ("k8s_get_resource", {"kind": "ConfigMap", "name": "cm-1", "namespace": NAMESPACE}),
    "list": ("k8s_list_resources", {"kind": "ConfigMap", "namespace": NAMESPACE}),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(binary: Path, plane: ControlPlane, *args: str) -> str:
    done = subprocess.run(
        [str(binary), "--kubeconfig", str(plane.kubeconfig), *args], capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise RuntimeError(f"{binary.name} {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def _install(plane: ControlPlane, binaries: Binaries, node: Node, workdir: Path) -> tuple[str, str]:
    """The chart on the node; returns its MCP URL and bearer token."""
    image = ensure_image(fetch=False)
    import_into_node(image, node.parts.ctr, node.socket)
    port = _free_port()
    values = workdir / "values.yaml"
    values.write_text(yaml.safe_dump(node_values(image, port, int(plane.server.rsplit(":", 1)[1]))))
    install = ["upgrade", "--install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--wait", "--timeout", "240s"]
    _run(binaries.helm_v4, plane, *install, "-f", str(values))
    name = f"{RELEASE}-kubehelm-mcp"
    secret = json.loads(_run(binaries.kubectl, plane, "get", "secret", name, "-n", NAMESPACE, "-o", "json"))
    return f"http://127.0.0.1:{port}/mcp", base64.b64decode(secret["data"]["auth-token"]).decode()


@asynccontextmanager
async def _local_server(plane: ControlPlane, binaries: Binaries) -> AsyncIterator[str]:
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(
        *ours_argv("--transport", "http", "--port", str(port)),
        env=server_env(plane, binaries),
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), timeout=30)


async def _time(url: str, label: str, runs: int, token: str | None = None) -> dict[str, Sample]:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"} if token else None)
    async with Client(streamable_http_client(url, http_client=http)) as client:
        return await time_calls(client, label, CALLS, runs)


async def run(runs: int) -> None:
    binaries = ensure_all(node=True)
    with tempfile.TemporaryDirectory() as tmp, ControlPlane.start(None, binaries) as plane:
        node = Node.start(plane, binaries)
        try:
            objects = [seed.namespace(NAMESPACE)]
            objects += [seed.configmap(f"cm-{i}", NAMESPACE, {"k": f"v{i}"}) for i in range(50)]
            seed.apply(plane, objects)
            url, token = _install(plane, binaries, node, Path(tmp))
            in_cluster = await _time(url, "in-cluster pod http", runs, token)
            async with _local_server(plane, binaries) as local_url:
                local = await _time(local_url, "local process http", runs)
            print("\n== in-cluster server vs local process (ratio = in-cluster p50 / local p50) ==")
            print(table([(in_cluster[key], local[key]) for key in CALLS]))
            _run(binaries.helm_v4, plane, "uninstall", RELEASE, "--namespace", NAMESPACE, "--wait")
        finally:
            node.stop()


def main() -> None:
    parser = cli.parser(__doc__)
    with cli.guarded(node=True):
        asyncio.run(run(parser.parse_args().runs))


if __name__ == "__main__":
    main()
