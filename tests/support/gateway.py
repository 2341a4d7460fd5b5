"""Running `kubehelm-mcp gateway` as users do (a process with a config file) and reaching it
through real MCP clients; finding its child processes to kill or freeze them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import yaml
from mcp import Client
from mcp.client.session import MessageHandlerFnT
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from tests.conftest import free_port
from tests.support.http import get, wait_until_healthy

TOKEN = "gateway-test-token"


@dataclass
class GatewayProcess:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    config: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def status(self) -> dict[str, Any]:
        code, body = get(f"{self.base}/status")
        assert code == 200, body
        document: dict[str, Any] = json.loads(body)
        return document

    def server(self, name: str) -> dict[str, Any]:
        server: dict[str, Any] = self.status()["servers"][name]
        return server

    def reload(self, config: Mapping[str, Any]) -> None:
        self.config.write_text(yaml.safe_dump(dict(config)))
        self.process.send_signal(signal.SIGHUP)


def post_status(url: str, body: Any, headers: Mapping[str, str]) -> int:
    """The HTTP status a POST gets (no MCP client: refusals happen below the protocol)."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def write_config(tmp_path: Path, config: Mapping[str, Any]) -> Path:
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(dict(config)))
    return path


def start_gateway(
    tmp_path: Path, config: Mapping[str, Any] | Path, *flags: str, env: Mapping[str, str] | None = None
) -> GatewayProcess:
    """The gateway on a free port, once /health answers; flags default to the static test token."""
    path = config if isinstance(config, Path) else write_config(tmp_path, config)
    port = free_port()
    log = tmp_path / f"gateway-{port}.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KUBEHELM_MCP_")}
    environment.update(env or {})
    if not flags and "KUBEHELM_MCP_OIDC_ISSUER" not in environment:
        flags = ("--auth-token", TOKEN)
    command = [sys.executable, "-m", "kubehelm_mcp", "gateway", "--config", str(path), "--port", str(port), *flags]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=environment, stdout=sink, stderr=subprocess.STDOUT)
    gateway = GatewayProcess(process, port, log, path)
    wait_until_healthy(process, gateway.base, log, "the gateway")
    return gateway


def stop_gateway(gateway: GatewayProcess) -> str:
    """SIGTERM drains and exits 0, with no traceback; the log."""
    gateway.process.terminate()
    try:
        code = gateway.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        gateway.process.kill()
        raise AssertionError("the gateway did not stop within 20 s of SIGTERM") from None
    log = gateway.log.read_text()
    assert code == 0, f"exit code {code}: {log}"
    # Children write their stderr into the gateway's (a child killed mid-write may print its own
    # traceback); the gateway's code must never show up in one.
    ours = [line for line in log.splitlines() if 'File "' in line and "/kubehelm_mcp/" in line]
    assert not ours, log
    return log


async def wait_for(condition: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await anyio.sleep(0.1)


@asynccontextmanager
async def gateway_client(
    url: str,
    token: str | None = TOKEN,
    *,
    sse: bool = False,
    legacy: bool = False,
    message_handler: MessageHandlerFnT | None = None,
    **callbacks: Any,
) -> AsyncIterator[Client]:
    """A real MCP client of one gateway endpoint, over Streamable HTTP or (sse=True) legacy SSE;
    legacy=True speaks the handshake era, where server notifications arrive outside requests."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport: Any = (
        sse_client(url, headers=headers)
        if sse
        else streamable_http_client(url, http_client=create_mcp_http_client(headers=headers))
    )
    options: dict[str, Any] = {"message_handler": message_handler} if message_handler else {}
    options.update(callbacks)  # sampling_callback, elicitation_callback
    async with Client(transport, mode="legacy" if legacy or sse else "auto", **options) as client:
        yield client


def child_pids(parent: int, marker: str) -> list[int]:
    """Processes under `parent` (any depth) whose command line contains marker."""
    parents: dict[int, int] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            commands[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])

    def under(pid: int) -> bool:
        while pid in parents and pid > 1:
            pid = parents[pid]
            if pid == parent:
                return True
        return False

    return sorted(pid for pid, command in commands.items() if marker in command and under(pid))


# A client on the TypeScript SDK (the copy server-everything brings): lists the tools of an
# endpoint, calls one, and prints one JSON line.
TS_CLIENT = """
const { Client } = require("@modelcontextprotocol/sdk/client/index.js");
const { StreamableHTTPClientTransport } = require("@modelcontextprotocol/sdk/client/streamableHttp.js");
const { SSEClientTransport } = require("@modelcontextprotocol/sdk/client/sse.js");
const [url, kind, token, tool, args] = process.argv.slice(2);
const headers = { Authorization: `Bearer ${token}` };
const transport = kind === "sse"
  ? new SSEClientTransport(new URL(url), { requestInit: { headers }, eventSourceInit: { fetch: (u, i) =>
      fetch(u, { ...i, headers: { ...(i && i.headers), ...headers } }) } })
  : new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
(async () => {
  const client = new Client({ name: "ts-client", version: "1" });
  await client.connect(transport);
  const tools = await client.listTools();
  const result = await client.callTool({ name: tool, arguments: JSON.parse(args) });
  console.log(JSON.stringify({ tools: tools.tools.map((t) => t.name), result }));
  await client.close();
})().catch((e) => { console.error(String(e)); process.exit(1); });
"""


def ts_client_call(
    tmp_path: Path, url: str, tool: str, arguments: Mapping[str, Any], *, sse: bool = False, token: str = TOKEN
) -> dict[str, Any]:
    """{"tools": [names], "result": CallToolResult} as the TypeScript SDK's client got them."""
    from tests.support.gateway_peers import node_modules

    script = tmp_path / "ts-client.cjs"
    script.write_text(TS_CLIENT)
    done = subprocess.run(
        ["node", str(script), url, "sse" if sse else "http", token, tool, json.dumps(dict(arguments))],
        env={**os.environ, "NODE_PATH": str(node_modules())},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def start_remote_everything(transport: str) -> tuple[subprocess.Popen[bytes], str]:
    """server-everything serving Streamable HTTP ("streamableHttp") or legacy SSE ("sse") on a
    free loopback port; its MCP URL once it answers."""
    from tests.support.gateway_peers import peers

    port = free_port()
    argv = [*peers().everything[:-1], transport]
    process = subprocess.Popen(
        argv, env={**os.environ, "PORT": str(port)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}/" + ("mcp" if transport == "streamableHttp" else "sse")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"server-everything ({transport}) did not listen on {port} within 30 s")
