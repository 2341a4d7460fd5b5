"""helm test: speak MCP to the release like a client would: initialize, tools/list, one read.

Runs in the server's own image (the MCP SDK is there). Reads MCP_URL, MCP_TOKEN (optional),
MCP_READ_NAMESPACE/MCP_READ_NAME (optional: the read of the server's ServiceAccount).
"""

import asyncio
import os
import sys

import httpx2 as httpx
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


async def main() -> int:
    url = os.environ["MCP_URL"]
    token = os.environ.get("MCP_TOKEN", "")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if url.startswith("https:"):  # the certificate names public hosts; trust what the user gave
        verify = os.environ.get("MCP_CA_FILE") or False
        http = httpx.AsyncClient(headers=headers, verify=verify, timeout=httpx.Timeout(30.0, read=300.0))
    else:
        http = create_mcp_http_client(headers=headers)
    async with Client(streamable_http_client(url, http_client=http)) as client:
        tools = await client.list_tools()
        names = {tool.name for tool in tools.tools}
        print(f"initialize ok; tools/list: {len(names)} tools")
        if "k8s_get_resource" not in names:
            print("k8s_get_resource missing from tools/list", file=sys.stderr)
            return 1
        namespace, name = os.environ.get("MCP_READ_NAMESPACE"), os.environ.get("MCP_READ_NAME")
        if namespace and name:
            result = await client.call_tool(
                "k8s_get_resource",
                {"kind": "ServiceAccount", "name": name, "namespace": namespace, "output": "summary"},
            )
            text = " ".join(getattr(block, "text", "") for block in result.content)
            if result.is_error:
                print(f"k8s_get_resource failed: {text}", file=sys.stderr)
                return 1
            print(f"k8s_get_resource ServiceAccount/{name}: {text.strip()[:200]}")
    return 0


sys.exit(asyncio.run(main()))
