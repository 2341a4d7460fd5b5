"""The egress proxy: every helm subprocess fetches through it (HTTP_PROXY/HTTPS_PROXY), so what
helm reaches beyond the tool's arguments (Chart.yaml dependency repositories, chart URLs in a
repository index, redirects, plugin archives, OCI registries) meets the same rule as the arguments.

For each CONNECT (https, OCI) or absolute-URI request (plain http) it resolves the host itself,
applies `rules.refusal`, and connects to the checked address: a name that resolves differently a
second time (DNS rebinding) is never looked up again. A refused host gets `403 <reason>`, which helm
prints. Plain-http responses are read up to their headers: a redirect whose Location is refused is
answered with 403 too, which matters for a loopback Location (Go connects to `localhost` and
loopback addresses directly, never through a proxy, so that hop would otherwise go unchecked).

One proxy per server, started on first use on 127.0.0.1 at an ephemeral port; clients must send
the per-process credential in the proxy URL, so no other local user can relay through it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import anyio

from kubehelm_mcp.egress import rules

log = logging.getLogger(__name__)

MAX_HEAD = 64 * 1024
CONNECT_TIMEOUT = 30.0
_USER = "kubehelm-mcp"
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "upgrade"})
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


class Refused(Exception):
    """A request the proxy answers itself, with this status and one sentence."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Head:
    """A request or response head: its first line and its header lines, as received."""

    first: str
    headers: list[tuple[str, str]]

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)

    def encode(self, first: str | None = None) -> bytes:
        """The head to pass on, one exchange per connection: hop-by-hop headers out, `close` in."""
        kept = (f"{k}: {v}" for k, v in self.headers if k.lower() not in _HOP_BY_HOP)
        lines = [first or self.first, *kept, "Connection: close"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _read_head(reader: asyncio.StreamReader) -> Head:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise Refused(431, "the request head is too large") from None
    lines = raw.decode("latin-1").split("\r\n")[:-2]
    headers = [(k.strip(), v.strip()) for k, sep, v in (line.partition(":") for line in lines[1:]) if sep]
    return Head(lines[0], headers)


def _target(authority: str, default_port: int) -> tuple[str, int]:
    """host and port of `host[:port]` or `[v6]:port`."""
    parts = urlsplit(f"//{authority}")
    try:
        port = parts.port or default_port
    except ValueError:
        raise Refused(400, f"{_printable(authority)} is not a valid host:port") from None
    if not parts.hostname:
        raise Refused(400, f"{_printable(authority)} has no host")
    return parts.hostname, port


def _printable(text: str) -> str:
    return _UNPRINTABLE.sub("?", text)[:200]


class EgressProxy:
    """See the module docstring. `allowed_hosts`: the server's --allowed-hosts."""

    def __init__(self, allowed_hosts: tuple[str, ...]) -> None:
        self.allowed_hosts = allowed_hosts
        self._secret = secrets.token_urlsafe(24)
        self._server: asyncio.Server | None = None
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    async def url(self) -> str:
        """The proxy URL (with its credential) for a child's environment; starts the proxy once."""
        async with self._lock:
            if self._server is None:
                self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=MAX_HEAD)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://{_USER}:{self._secret}@127.0.0.1:{port}"

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            for task in list(self._tasks):
                task.cancel()
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._exchange(reader, writer)
        except Refused as exc:
            await _answer(writer, exc.status, exc.message)
        except (OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()

    def _authorized(self, head: Head) -> bool:
        expected = base64.b64encode(f"{_USER}:{self._secret}".encode()).decode()
        return secrets.compare_digest(head.header("proxy-authorization") or "", f"Basic {expected}")

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await _read_head(reader)
        method, _, rest = head.first.partition(" ")
        uri = rest.rpartition(" ")[0]
        if not self._authorized(head):
            raise Refused(407, "the egress proxy is for this server's helm processes only")
        if method.upper() == "CONNECT":
            host, port = _target(uri, 443)
            upstream_reader, upstream_writer = await self._connect(host, port)
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await _relay(reader, writer, upstream_reader, upstream_writer)
            return
        url = urlsplit(uri)
        if url.scheme.lower() != "http" or not url.netloc:
            raise Refused(400, "only absolute http:// requests and CONNECT are proxied")
        host, port = _target(url.netloc, 80)
        upstream_reader, upstream_writer = await self._connect(host, port)
        path = url.path or "/"
        request_line = f"{method} {path}{'?' + url.query if url.query else ''} HTTP/1.1"
        upstream_writer.write(head.encode(request_line))
        upload = asyncio.create_task(_pipe(reader, upstream_writer))
        try:
            response = await _read_head(upstream_reader)
            await self._check_redirect(uri, response)
            writer.write(response.encode())
            await _pipe(upstream_reader, writer)
        finally:
            upload.cancel()
            upstream_writer.close()

    async def _check_redirect(self, request_url: str, response: Head) -> None:
        """A redirect is the next request's URL: refused here when its host is, since Go would reach
        a loopback Location directly rather than through this proxy."""
        status = response.first.split(" ")[1:2]
        location = response.header("location")
        if not (status and status[0].startswith("3") and location):
            return
        target = urlsplit(urljoin(request_url, location))
        if target.hostname:
            await self._check(target.hostname, f"the redirect target {_printable(target.hostname)}")

    async def _check(self, host: str, what: str) -> list[rules.Address]:
        """The addresses of `host` the rule lets a fetch reach; Refused when the rule refuses it."""
        try:
            addresses = await anyio.to_thread.run_sync(rules.resolve, host)
        except rules.Unresolvable:
            raise Refused(502, f"{what} cannot be resolved") from None
        refused = rules.refusal(host, addresses, self.allowed_hosts)
        if refused is not None:
            log.info("egress refused: %s", refused.sentence(_printable(host)))
            raise Refused(403, f"egress refused: {refused.sentence(what)}")
        return [a for a in addresses if rules.refusal(host, [a], self.allowed_hosts) is None]

    async def _connect(self, host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to a checked address of host (never a second lookup of the name)."""
        addresses = await self._check(host, f"the host {_printable(host)}")
        for address in addresses:
            with contextlib.suppress(OSError, TimeoutError):
                return await asyncio.wait_for(asyncio.open_connection(str(address), port), CONNECT_TIMEOUT)
        raise Refused(502, f"the host {_printable(host)} did not accept a connection on port {port}")


async def _answer(writer: asyncio.StreamWriter, status: int, message: str) -> None:
    """A response the proxy makes itself; the reason phrase carries the sentence (Go shows it)."""
    reason = _printable(message)
    body = f"{reason}\n".encode()
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
    with contextlib.suppress(OSError):
        writer.write(f"{head}Connection: close\r\n\r\n".encode() + body)
        await writer.drain()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()
        if sink.can_write_eof():
            sink.write_eof()


async def _relay(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    upstream_reader: asyncio.StreamReader,
    upstream_writer: asyncio.StreamWriter,
) -> None:
    """Bytes both ways until both sides are done (a CONNECT tunnel)."""
    try:
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
    finally:
        upstream_writer.close()
