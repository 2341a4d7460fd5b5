"""Port-forwards: a listener on 127.0.0.1 whose every connection is bridged through its own
apiserver port-forward websocket (v4.channel.k8s.io).

For one port, channel 0 carries data and channel 1 errors; the first frame the server sends
on each channel starts with the port number (2 bytes), which is not payload.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from kubehelm_mcp.errors import Conflict, InvalidInput, NotFound, ToolError
from kubehelm_mcp.kube.api import KubeApi
from kubehelm_mcp.kube.pods import pod_path

if TYPE_CHECKING:
    import aiohttp

log = logging.getLogger("kubehelm_mcp.portforward")

DATA, ERROR = 0, 1
LOCAL_HOST = "127.0.0.1"  # never any other interface: a forward must not open the cluster to the network
CHUNK = 64 * 1024
HALF_CLOSE_GRACE = 5.0  # seconds a connection may still receive after the client stops sending


@dataclass(frozen=True)
class ForwardTarget:
    namespace: str
    pod: str
    port: int
    via: str | None = None  # e.g. "service/web:80" when resolved from a Service


@dataclass
class PortForward:
    id: str
    target: ForwardTarget
    owner: str | None = None  # who opened it; None when callers are not authenticated
    local_port: int = 0
    server: asyncio.Server | None = None
    started_at: float = field(default_factory=time.time)
    connections: set[asyncio.Task[None]] = field(default_factory=set)
    accepted: int = 0

    @property
    def address(self) -> str:
        return f"{LOCAL_HOST}:{self.local_port}"

    async def handle(self, api: KubeApi, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.accepted += 1
        self.connections.add(task)
        try:
            await _bridge(api, self.target, reader, writer)
        except asyncio.CancelledError:
            # Cancelled by close(): end quietly. This task is the top of its connection, and a
            # cancelled connection task makes Python 3.11's asyncio log a spurious traceback.
            pass
        finally:
            self.connections.discard(task)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in list(self.connections):
            task.cancel()
        await asyncio.gather(*self.connections, return_exceptions=True)
        if self.server is not None:
            with contextlib.suppress(Exception):
                await self.server.wait_closed()


async def _upstream(ws: aiohttp.ClientWebSocketResponse, reader: asyncio.StreamReader) -> None:
    while chunk := await reader.read(CHUNK):
        await ws.send_bytes(bytes([DATA]) + chunk)


async def _downstream(ws: aiohttp.ClientWebSocketResponse, writer: asyncio.StreamWriter, target: ForwardTarget) -> None:
    import aiohttp  # loaded with kubernetes_asyncio, before any stream opens

    prefixed: set[int] = set()
    async for message in ws:
        if message.type != aiohttp.WSMsgType.BINARY or not message.data:
            continue
        channel, payload = message.data[0], message.data[1:]
        if channel not in prefixed:
            prefixed.add(channel)
            payload = payload[2:]
        if not payload:
            continue
        if channel == DATA:
            writer.write(payload)
            await writer.drain()
        elif channel == ERROR:
            log.warning("port-forward to %s/%s:%s: %s", target.namespace, target.pod, target.port, payload[:300])
            return


async def _bridge(
    api: KubeApi, target: ForwardTarget, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    import aiohttp  # loaded with kubernetes_asyncio, before any stream opens

    path = f"{pod_path(target.namespace, target.pod)}/portforward"
    try:
        async with api.websocket(path, query=[("ports", str(target.port))]) as ws:
            up = asyncio.ensure_future(_upstream(ws, reader))
            down = asyncio.ensure_future(_downstream(ws, writer, target))
            tasks = {up, down}
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                if up in done and down not in done:
                    # The client may only have half-closed: let an answer in flight arrive.
                    await asyncio.wait({down}, timeout=HALF_CLOSE_GRACE)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
    except (ToolError, aiohttp.ClientError, ConnectionError) as exc:
        log.warning("port-forward to %s/%s:%s failed: %s", target.namespace, target.pod, target.port, exc)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def _listen(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]], local_port: int
) -> asyncio.Server:
    try:
        return await asyncio.start_server(handler, host=LOCAL_HOST, port=local_port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise Conflict(
                f"Local port {local_port} is already in use on {LOCAL_HOST}.",
                hint="Pass another local_port, or omit it to get a free one.",
            ) from None
        raise InvalidInput(
            f"Cannot listen on {LOCAL_HOST}:{local_port}: {(exc.strerror or 'error').lower()}."
        ) from None


class PortForwards:
    """The server's open forwards; all of them close when the server shuts down.

    A forward opened by an authenticated caller is that caller's alone: others neither see nor
    stop it. Unauthenticated callers (stdio, HTTP without auth) share the unowned ones.
    """

    def __init__(self) -> None:
        self._forwards: dict[str, PortForward] = {}
        self._ids = itertools.count(1)

    async def start(
        self, api: KubeApi, target: ForwardTarget, local_port: int | None, owner: str | None = None
    ) -> PortForward:
        forward = PortForward(id=f"pf-{next(self._ids)}", target=target, owner=owner)
        forward.server = await _listen(partial(forward.handle, api), local_port or 0)
        forward.local_port = int(forward.server.sockets[0].getsockname()[1])
        self._forwards[forward.id] = forward
        return forward

    def list(self, owner: str | None = None) -> list[PortForward]:
        return [f for f in self._forwards.values() if f.owner == owner]

    def __len__(self) -> int:
        return len(self._forwards)

    async def stop(self, forward_id: str, owner: str | None = None) -> PortForward:
        forward = self._forwards.get(forward_id)
        if forward is None or forward.owner != owner:
            known = ", ".join(f.id for f in self.list(owner)) or "none are open"
            raise NotFound(f"No port-forward has id '{forward_id}' ({known}).")
        del self._forwards[forward_id]
        await forward.close()
        return forward

    async def close(self) -> None:
        forwards, self._forwards = list(self._forwards.values()), {}
        await asyncio.gather(*(f.close() for f in forwards), return_exceptions=True)
