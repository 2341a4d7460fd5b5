"""Calling tools through a real MCP client and checking the result shape."""

from __future__ import annotations

from typing import Any

from mcp import Client
from mcp_types import CallToolResult, TextContent

TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'File "', "Error at 0x")


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


async def call_ok(client: Client, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    result = await client.call_tool(name, arguments or {})
    assert not result.is_error, f"{name} failed: {text_of(result)}"
    assert result.structured_content is not None, f"{name} returned no structured content"
    assert text_of(result).strip(), f"{name} returned no text"
    return result.structured_content


async def call_error(client: Client, name: str, arguments: dict[str, Any] | None = None) -> str:
    """The error sentence of a call that must fail cleanly: no traceback, one short message."""
    result = await client.call_tool(name, arguments or {})
    message = text_of(result)
    assert result.is_error, f"{name} should have failed but returned: {message[:300]}"
    assert not any(marker in message for marker in TRACEBACK_MARKERS), message
    assert len(message) < 600, message
    return message
