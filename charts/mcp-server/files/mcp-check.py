"""helm test: speak MCP to every endpoint of the release, as a client would: initialize, then
tools/list, which must list at least MCP_MIN_TOOLS tools (the combined endpoint: names with __).

Runs in the gateway's image (python3 and the MCP SDK are there). Reads MCP_URLS (comma-separated),
MCP_TOKEN (optional bearer token), MCP_MIN_TOOLS.
"""

import asyncio
import os
import sys

from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


async def check(url: str, headers: dict[str, str], least: int) -> str | None:
    if url.endswith("/sse"):
        transport = sse_client(url, headers=headers)
    else:
        transport = streamable_http_client(url, http_client=create_mcp_http_client(headers=headers))
    async with Client(transport) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
    print(f"{url}: initialize ok; tools/list: {len(names)} tools ({', '.join(sorted(names)[:8])})")
    if len(names) < least:
        return f"{url}: {len(names)} tools, expected at least {least}"
    if url.endswith("/combined/mcp") and not all("__" in name for name in names):
        return f"{url}: combined tool names must be <server>__<tool>"
    return None


async def main() -> int:
    token = os.environ.get("MCP_TOKEN", "")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    least = int(os.environ.get("MCP_MIN_TOOLS", "1"))
    failures = []
    for url in filter(None, os.environ["MCP_URLS"].split(",")):
        try:
            problem = await check(url, headers, least)
        except Exception as error:  # one line per endpoint, never a traceback
            problem = f"{url}: {type(error).__name__}: {error}"
        if problem:
            failures.append(problem)
    for problem in failures:
        print(problem, file=sys.stderr)
    return 1 if failures else 0


sys.exit(asyncio.run(main()))
