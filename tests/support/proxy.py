"""A small round-robin HTTP reverse proxy on 127.0.0.1: each request goes to the next backend in
turn (per request, not per connection, as a load balancer in front of replicas does), the
response streams back as it arrives, and the proxy counts requests and tool calls per backend."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter

import httpx2
import uvicorn
from starlette.types import Message, Receive, Scope, Send

# Hop-by-hop headers (RFC 9110 7.6.1) and the ones httpx sets itself for the backend.
_NOT_FORWARDED = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length"}


def _tool_calls(body: bytes) -> int:
    try:
        message = json.loads(body)
    except ValueError:
        return 0
    messages = message if isinstance(message, list) else [message]
    return sum(1 for m in messages if isinstance(m, dict) and m.get("method") == "tools/call")


class RoundRobinProxy:
    def __init__(self, backends: list[str], port: int) -> None:
        self.backends = backends
        self.requests: Counter[str] = Counter()
        self.tool_calls: Counter[str] = Counter()
        self._turn = itertools.cycle(backends)
        self._lock = threading.Lock()
        self._http: httpx2.AsyncClient | None = None
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(self, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)  # no signal handlers off main

    def __enter__(self) -> RoundRobinProxy:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            assert time.monotonic() < deadline, "the proxy did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """The backend client lives on the proxy's own event loop, from startup to shutdown."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._http = httpx2.AsyncClient(timeout=httpx2.Timeout(30, read=300))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._http is not None:
                    await self._http.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _next(self, body: bytes) -> str:
        with self._lock:
            backend = next(self._turn)
            self.requests[backend] += 1
            self.tool_calls[backend] += _tool_calls(body)
        return backend

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        assert scope["type"] == "http" and self._http is not None
        body = await _read_body(receive)
        backend = self._next(body)
        headers = [(k, v) for k, v in scope["headers"] if k.decode("latin-1").lower() not in _NOT_FORWARDED]
        target = backend + scope["raw_path"].decode("latin-1")
        if scope["query_string"]:
            target += "?" + scope["query_string"].decode("latin-1")
        request = self._http.build_request(scope["method"], target, headers=headers, content=body)
        response = await self._http.send(request, stream=True)
        try:
            out = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.multi_items()]
            out = [(k, v) for k, v in out if k.decode("latin-1").lower() not in _NOT_FORWARDED]
            await send({"type": "http.response.start", "status": response.status_code, "headers": out})
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()


async def _read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message: Message = await receive()
        body += bytes(message.get("body", b""))
        if not message.get("more_body", False):
            return body
