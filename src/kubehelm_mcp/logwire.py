"""A logging filter that keeps protocol traffic out of the log, at every level, debug included.

- Message bodies: the MCP SDK's transports and sse-starlette log whole JSON-RPC messages (tool
  arguments, results: Helm values, Secrets, kubeconfig tokens) at debug. Those loggers' debug
  records are dropped, and so is any other record that quotes a JSON-RPC message (at warning and
  above its text is kept up to the message and the body withheld).
- Client disconnects: a client that goes away (or that the read timeout cuts) mid-request makes
  the SDK log an ERROR with a traceback; one per client floods the log, and the read timeout
  already says what happened. Those records are dropped.
"""

from __future__ import annotations

import logging
import re

# Loggers whose debug records carry message bodies (server and client side: the gateway is a client).
WIRE_LOGGERS = (
    "sse_starlette",
    "mcp.server.sse",
    "mcp.client.sse",
    "mcp.client.streamable_http",
    "kubernetes_asyncio.rest",
)
# A JSON-RPC message as JSON, bytes, a dict or a model's repr, from where it opens.
_BODY = re.compile(r"""(?:\w{1,40}\(|b?['"]?\{)?\s{0,8}["']?jsonrpc["']?\s*[:=]""")
_DISCONNECTS = frozenset({"ClientDisconnect"})  # starlette.requests: the client left while its body was read
MAX_KEPT_CHARS = 200
WITHHELD = "[message body not logged]"


def _is_wire_logger(name: str) -> bool:
    return any(name == wire or name.startswith(wire + ".") for wire in WIRE_LOGGERS)


def _is_disconnect(record: logging.LogRecord) -> bool:
    exc = record.exc_info[1] if record.exc_info else None
    return exc is not None and type(exc).__name__ in _DISCONNECTS


class WireFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _is_disconnect(record):
            return False
        if record.levelno < logging.INFO and _is_wire_logger(record.name):
            return False
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # the scrubber handles arguments that do not fit
        body = _BODY.search(message) if "jsonrpc" in message else None
        if body is None:
            return True
        if record.levelno < logging.WARNING:
            return False
        record.msg, record.args = f"{message[: min(body.start(), MAX_KEPT_CHARS)]}{WITHHELD}", None
        return True
