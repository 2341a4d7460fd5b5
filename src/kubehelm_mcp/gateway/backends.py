"""Connecting to one backend MCP server, through the SDK's own client transports: a stdio child
process, a remote Streamable HTTP URL, or a remote legacy SSE URL."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from mcp import Client, StdioServerParameters
from mcp.client.session import MessageHandlerFnT
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp_types import Implementation

from kubehelm_mcp import __version__
from kubehelm_mcp.gateway.config import ServerConfig

CLIENT_INFO = Implementation(name="kubehelm-mcp-gateway", version=__version__)


def _expand(value: str) -> str:
    """${VAR} in a configured env or header value comes from the gateway's own environment, so a
    secret can live in a Kubernetes Secret rather than in the config file."""
    return os.path.expandvars(value)


def transport_for(config: ServerConfig, extra_env: Mapping[str, str], extra_headers: Mapping[str, str]) -> Any:
    """The SDK transport (an async context manager of streams) for this backend; extra_env and
    extra_headers carry one user's identity to a per-user child."""
    if config.transport == "stdio":
        assert config.command is not None
        params = StdioServerParameters(
            command=config.command,
            args=list(config.args),
            env={**{k: _expand(v) for k, v in config.env.items()}, **extra_env},
            cwd=config.cwd,
        )
        return stdio_client(params, errlog=sys.stderr)
    assert config.url is not None
    headers = {**{k: _expand(v) for k, v in config.headers.items()}, **extra_headers}
    if config.transport == "sse":
        return sse_client(config.url, headers=headers, timeout=config.timeout, sse_read_timeout=3600)
    return streamable_http_client(config.url, http_client=create_mcp_http_client(headers=headers))


def backend_client(
    config: ServerConfig,
    message_handler: MessageHandlerFnT,
    extra_env: Mapping[str, str] | None = None,
    extra_headers: Mapping[str, str] | None = None,
    sampling_callback: Any = None,
    elicitation_callback: Any = None,
) -> Client:
    """An unentered client for the backend; entering it spawns or connects and initializes. With
    the callbacks it declares sampling and elicitation, which the gateway relays (asks.py)."""
    options: dict[str, Any] = {}
    if sampling_callback is not None:
        options["sampling_callback"] = sampling_callback
    if elicitation_callback is not None:
        options["elicitation_callback"] = elicitation_callback
    return Client(
        transport_for(config, extra_env or {}, extra_headers or {}),
        # The handshake era: every published server speaks it, and the gateway itself settles
        # which protocol version its own clients speak.
        mode="legacy",
        message_handler=message_handler,
        client_info=CLIENT_INFO,
        cache=None,  # the gateway relays, it must not answer from a cache of its own
        **options,
    )
