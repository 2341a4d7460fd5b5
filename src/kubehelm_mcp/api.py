"""The Python API: build a configured server, or a client connected to one in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp import Client
from mcp.server import Server

from kubehelm_mcp.server import KubehelmServer, ServerParts, build_parts, build_server
from kubehelm_mcp.settings import Settings, check_settings


def create_server(settings: Settings | None = None, **overrides: Any) -> KubehelmServer:
    """The configured MCP server; run it on any transport or mount its HTTP app in another app.

    `overrides` are Settings fields, e.g. create_server(kubeconfig="~/.kube/dev", read_only=True).
    Raises SettingsError for settings `kubehelm-mcp serve` refuses (the same check_settings, the
    same sentence), e.g. HTTP without auth on a non-loopback host.
    """
    settings = (settings or Settings()).replace(**overrides) if overrides else (settings or Settings())
    return build_server(build_parts(check_settings(settings)))


def server_parts(server: Server[Any]) -> ServerParts:
    """The settings, pipeline, client pool and metrics behind a server made by create_server."""
    if not isinstance(server, KubehelmServer):
        raise TypeError("server_parts() needs a server made by kubehelm_mcp.create_server")
    return server.parts


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
