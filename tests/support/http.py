"""Plain HTTP GETs against a server under test (loopback only)."""

from __future__ import annotations

import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_until_healthy(
    process: subprocess.Popen[bytes], base: str, log: Path, what: str, tls: ssl.SSLContext | None = None
) -> None:
    """Until `base`/health answers 200 (30 s at most); a process that exits or never answers fails
    the test with its log, and is killed in the second case."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{what} exited early: {log.read_text()}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=1, context=tls) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"{what} did not answer /health within 30 s: {log.read_text()}")


# A raw MCP initialize request and the headers Streamable HTTP wants, for tests below the SDK client.
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
