"""The size of tools/list, which a model reads on every conversation: no cluster needed.

  python -m bench.toolslist [--top N]

Asks an in-process server (default settings) through a real in-memory MCP client and prints the
whole answer's size as it goes on the wire (compact JSON), the part a model reads (names,
descriptions, input schemas; clients keep annotations and output schemas to themselves), the share
of descriptions, input and output schemas, and the largest tools. With per-call credentials on, every input grows: that
size is printed too. The committed snapshot is tests/golden/tools_list.json.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from bench.calls import json_bytes
from kubehelm_mcp import create_client


async def _tools(**overrides: Any) -> list[dict[str, Any]]:
    async with create_client(**overrides) as client:
        result = await client.list_tools()
    return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in result.tools]


async def run(top: int) -> None:
    tools = await _tools()
    total = json_bytes({"tools": tools})
    print(f"== tools/list: {len(tools)} tools, {total / 1024:.1f} KB on the wire ==")
    read = json_bytes([{k: tool[k] for k in ("name", "description", "inputSchema") if k in tool} for tool in tools])
    print(f"  the part a model reads (names, descriptions, input schemas): {read / 1024:.1f} KB")
    for part in ("description", "inputSchema", "outputSchema", "annotations"):
        size = sum(json_bytes(tool.get(part)) for tool in tools if part in tool)
        print(f"  {part:14} {size / 1024:7.1f} KB  {100 * size / total:5.1f} %")
    print(f"  largest {top}:")
    for tool in sorted(tools, key=json_bytes, reverse=True)[:top]:
        print(f"    {tool['name']:32} {json_bytes(tool) / 1024:6.1f} KB")
    wide = await _tools(per_call_credentials=True, per_call_kubeconfig=True)
    print(f"  with --per-call-credentials --per-call-kubeconfig: {json_bytes({'tools': wide}) / 1024:.1f} KB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--top", type=int, default=5, help="how many of the largest tools to name (default 5)")
    asyncio.run(run(parser.parse_args().top))


if __name__ == "__main__":
    main()
