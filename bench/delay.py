"""A loopback TCP relay that adds a fixed one-way delay in each direction, so a benchmark can show
what a network round trip does (an apiserver on loopback answers in about a millisecond).

Each chunk is forwarded `delay` seconds after it arrived, in order, so the delay does not add up
along a stream: a response of many chunks arrives `delay` late, not `delay` per chunk. TLS passes
through untouched; only the port differs from the upstream's.
"""

from __future__ import annotations

import asyncio
import contextlib


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def forward() -> None:
        while True:
            due, chunk = await queue.get()
            if not chunk:
                break
            await asyncio.sleep(max(0.0, due - loop.time()))
            writer.write(chunk)
            await writer.drain()

    sender = asyncio.ensure_future(forward())
    try:
        while chunk := await reader.read(65536):
            queue.put_nowait((loop.time() + delay, chunk))
        queue.put_nowait((0.0, b""))
        with contextlib.suppress(ConnectionError):
            await sender
    except ConnectionError:
        pass
    finally:
        sender.cancel()  # also when the relay is closed mid-stream
        writer.close()


class DelayRelay:
    """127.0.0.1:<port> -> upstream (host, port), `delay` seconds each way."""

    def __init__(self, upstream: tuple[str, int], delay: float) -> None:
        self.upstream = upstream
        self.delay = delay
        self.port = 0
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
            task.add_done_callback(self._connections.discard)
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_writer.close()
            return
        pipes = asyncio.gather(
            _pipe(client_reader, upstream_writer, self.delay),
            _pipe(upstream_reader, client_writer, self.delay),
        )
        try:
            await pipes
        except asyncio.CancelledError:  # the relay is closing: end quietly (asyncio reports a cancelled handler)
            pipes.cancel()
            upstream_writer.close()
            client_writer.close()

    async def __aenter__(self) -> DelayRelay:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):  # the client's pooled connections stay open otherwise
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
