"""The Python API: build a configured server, or a client connected to one in-process."""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp import Client
from mcp.server import Server

from kubehelm_mcp.server import ServerParts, build_parts, build_server
from kubehelm_mcp.settings import Settings

_parts: weakref.WeakKeyDictionary[Server[Any], ServerParts] = weakref.WeakKeyDictionary()


def create_server(settings: Settings | None = None, **overrides: Any) -> Server[Any]:
    """The configured MCP server; run it on any transport or mount its HTTP app in another app.

    `overrides` are Settings fields, e.g. create_server(kubeconfig="~/.kube/dev", read_only=True).
    """
    settings = (settings or Settings()).replace(**overrides) if overrides else (settings or Settings())
    parts = build_parts(settings)
    server = build_server(parts)
    _parts[server] = parts
    return server


def server_parts(server: Server[Any]) -> ServerParts:
    """The settings, pipeline, client pool and metrics behind a server made by create_server."""
    return _parts[server]


@asynccontextmanager
async def create_client(
    server: Server[Any] | None = None, settings: Settings | None = None, **overrides: Any
) -> AsyncIterator[Client]:
    """A connected MCP client session to an in-process server (made here unless one is given)."""
    owned = server is None
    server = server or create_server(settings, **overrides)
    try:
        async with Client(server, raise_exceptions=False) as client:
            yield client
    finally:
        if owned:
            await server_parts(server).close()
