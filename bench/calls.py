"""Tool calls through one MCP client: timed, and sized as the client receives them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.types import CallToolResult, TextContent

from bench.stats import Sample, measure

Call = tuple[str, dict[str, Any]]  # tool name, arguments


def json_bytes(value: object) -> int:
    """Compact JSON, as the servers put it on the wire."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def result_bytes(result: CallToolResult) -> int:
    """What a model is shown: every text block plus the structured content."""
    text = sum(len(block.text.encode()) for block in result.content if isinstance(block, TextContent))
    return text + (json_bytes(result.structured_content) if result.structured_content is not None else 0)


async def checked_call(client: Client, label: str, call: Call) -> CallToolResult:
    tool, args = call
    result = await client.call_tool(tool, args)
    if result.is_error:
        raise RuntimeError(f"{label} {tool} failed: {result.content}")
    return result


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


async def calls_bytes(client: Client, label: str, calls: list[Call], dump: Path | None = None) -> int:
    """The bytes of several calls summed (what a peer needs more than one call for); with dump, each
    result is also written there as `<label>-<tool>.json`, to see what the bytes are."""
    total = 0
    for call in calls:
        result = await checked_call(client, label, call)
        total += result_bytes(result)
        if dump is not None:
            _write(dump / f"{label}-{call[0]}.json", result.model_dump_json(by_alias=True, indent=1))
    return total


async def time_calls(
    client: Client, label: str, calls: dict[str, Call], runs: int, pause: float = 0.0
) -> dict[str, Sample]:
    samples = {}
    for key, call in calls.items():

        async def once(call: Call = call) -> None:
            await checked_call(client, label, call)

        samples[key] = await measure(f"{label} {call[0]}", once, runs, pause=pause)
    return samples
