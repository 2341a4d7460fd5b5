"""Calling tools through a real MCP client and checking the result shape."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp_types import CallToolResult, TextContent

TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'File "', "Error at 0x")


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


async def call_ok(client: Client, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    result = await client.call_tool(name, arguments or {})
    assert not result.is_error, f"{name} failed: {text_of(result)}"
    assert result.structured_content is not None, f"{name} returned no structured content"
    assert text_of(result).strip(), f"{name} returned no text"
    structured: dict[str, Any] = result.structured_content
    return structured


async def call_text(client: Client, name: str, arguments: dict[str, Any] | None = None) -> str:
    """The answer of a call to a server in the default `text` result form: text only, once."""
    result = await client.call_tool(name, arguments or {})
    assert not result.is_error, f"{name} failed: {text_of(result)}"
    assert result.structured_content is None, f"{name} sent structured content in the text form"
    return text_of(result)


async def call_error(client: Client, name: str, arguments: dict[str, Any] | None = None) -> str:
    """The error sentence of a call that must fail cleanly: no traceback, one short message."""
    result = await client.call_tool(name, arguments or {})
    message = text_of(result)
    assert result.is_error, f"{name} should have failed but returned: {message[:300]}"
    assert not any(marker in message for marker in TRACEBACK_MARKERS), message
    assert len(message) < 600, message
    return message


@asynccontextmanager
async def bearer_client(url: str, token: str) -> AsyncIterator[Client]:
    """An MCP client over Streamable HTTP that sends `token` as its bearer token."""
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with Client(streamable_http_client(url, http_client=http)) as client:
        yield client
