"""A probe MCP server on the official SDK, for what third-party servers cannot show: the identity
a gateway handed it (HTTP headers, environment), its process, and the logging/setLevel it got.

  python -P tests/support/gateway_probe.py stdio
  python -P tests/support/gateway_probe.py streamable-http PORT     # http://127.0.0.1:PORT/mcp
  python -P tests/support/gateway_probe.py sse PORT                 # http://127.0.0.1:PORT/sse

Tools: `whoami` (the x-* headers of the request, the PROBE_* environment, the pid), `log` (one
log message at each level from the last logging/setLevel up; answers that level), `sleep` and
`cancelled` (how many sleeps were cancelled), `add_tool` (adds a tool, sends tools/list_changed).
Run by file path with -P (this directory's mcp.py must not shadow the SDK); PROBE_ARGV is that command.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from typing import Any, get_args

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import EmptyResult, LoggingLevel, SetLevelRequestParams, ToolListChangedNotification

warnings.filterwarnings("ignore", category=MCPDeprecationWarning)  # logging is what it probes

LEVELS: tuple[LoggingLevel, ...] = get_args(LoggingLevel)
state: dict[str, Any] = {"level": None, "cancelled": 0}
probe: MCPServer[Any] = MCPServer("probe")


@probe.tool()
async def whoami(ctx: Context) -> str:
    """The identity this server was handed."""
    request = ctx.request_context.request
    headers = getattr(request, "headers", None) or {}
    return json.dumps(
        {
            "headers": {k.lower(): v for k, v in headers.items() if k.lower().startswith("x-")},
            "env": {k: v for k, v in os.environ.items() if k.startswith("PROBE_")},
            "pid": os.getpid(),
        }
    )


@probe.tool()
async def log(ctx: Context) -> str:
    """Logs one message at each level from the level set by logging/setLevel up."""
    level = state["level"]
    for name in LEVELS[LEVELS.index(level) if level else 0 :]:
        await ctx.request_context.session.send_log_message(name, f"probe logs at {name}", logger="probe")
    return level or "unset"


@probe.tool()
async def sleep(seconds: float) -> str:
    """Sleeps; a cancelled sleep is counted."""
    try:
        await anyio.sleep(seconds)
    except anyio.get_cancelled_exc_class():
        state["cancelled"] += 1
        raise
    return "slept"


@probe.tool()
async def cancelled() -> int:
    """How many sleeps were cancelled."""
    return int(state["cancelled"])


@probe.tool()
async def add_tool(name: str, ctx: Context) -> str:
    """Adds a tool of that name and tells the client its tools changed."""

    async def added() -> str:
        return name

    probe.add_tool(added, name=name, description="Added while running.")
    await ctx.request_context.session.send_notification(ToolListChangedNotification())
    return "added"


async def set_level(ctx: Any, params: SetLevelRequestParams) -> EmptyResult:
    state["level"] = params.level
    return EmptyResult()


PROBE_ARGV = [sys.executable, "-P", os.path.abspath(__file__)]
probe._lowlevel_server.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)

if __name__ == "__main__":
    transport = sys.argv[1] if len(sys.argv) > 1 else "stdio"
    if transport == "stdio":
        probe.run("stdio")
    elif transport == "sse":
        probe.run("sse", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        probe.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
