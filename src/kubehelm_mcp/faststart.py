"""A stdio server's handshake answered before the MCP SDK is loaded.

Importing the SDK and the toolsets takes most of a second (the SDK alone: `import mcp.server`
~0.5 s here), and a client waits for it: its `initialize` and `tools/list` have no answer until
then. Those two answers depend only on the code, the settings and what the client asked, so the
first start records them (a handshake record on disk, keyed by a fingerprint of all of that), and
later starts give them from the record while the server loads in a thread. Then the real server
takes over the connection: every line read so far is replayed to it, so its session is exactly the
one the client opened, and its own answers to the requests already answered are dropped.

Nothing here imports the SDK: that is the point. A record that cannot be read or written only
means no early answer; the server then answers as it always does.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import json
import os
import queue
import select
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import IO, Any

from kubehelm_mcp import __version__

EOF_MARK = b""
# The code an answer depends on: this package, the SDK and its protocol types, and pydantic (schemas).
_CODE = ("kubehelm_mcp", "mcp", "mcp_types", "pydantic", "pydantic_core")
# The handshake of either era (initialize, or the 2026 protocol's discover) and the tool list.
_RECORDED = ("initialize", "server/discover", "tools/list")
_VERSION_META = "io.modelcontextprotocol/protocolVersion"


def _stamp(path: Path) -> bytes:
    stat = path.stat()
    return f"{path}:{stat.st_size}:{stat.st_mtime_ns};".encode()


def _code_fingerprint() -> bytes:
    """Every source file of this package (it may be an editable install), and for the libraries the
    file an installation rewrites (their __init__.py); ~5 ms."""
    digest = hashlib.sha256(__version__.encode())
    for name in _CODE:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        files = sorted(origin.parent.rglob("*.py")) if name == "kubehelm_mcp" else [origin]
        for path in files:
            digest.update(_stamp(path))
    return digest.digest()


def record_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kubehelm-mcp" / "handshake"


class HandshakeRecord:
    """Answers to `initialize` and `tools/list`, one file per (code, settings, question)."""

    def __init__(self, settings_text: str, directory: Path | None = None) -> None:
        self._base = hashlib.sha256(_code_fingerprint() + settings_text.encode())
        self._dir = directory or record_dir()

    def _path(self, method: str, question: Any) -> Path:
        key = self._base.copy()
        key.update(json.dumps([method, question], sort_keys=True, separators=(",", ":")).encode())
        return self._dir / f"{key.hexdigest()[:40]}.json"

    def get(self, method: str, question: Any) -> Any:
        try:
            return json.loads(self._path(method, question).read_bytes())
        except (OSError, ValueError):
            return None

    def put(self, method: str, question: Any, answer: Any) -> None:
        path = self._path(method, question)
        try:
            self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(json.dumps(answer, separators=(",", ":")))
            partial.replace(path)  # whole or not at all, whatever another server does at the same time
        except OSError:
            pass


def _without_client_info(params: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in (params.get("_meta") or {}).items() if not k.endswith("clientInfo")}
    return {k: v for k, v in {**params, "_meta": meta}.items() if k != "clientInfo" and v != {}}


def _question(method: str, params: dict[str, Any], version: str | None) -> Any:
    """What an answer depends on besides the code and settings: the client's handshake request but
    its name; for tools/list, the protocol version (the request's own, or the negotiated one) and page.
    None when that version is not known yet."""
    if method != "tools/list":
        return _without_client_info(params)
    version = (params.get("_meta") or {}).get(_VERSION_META) or version
    return {"version": version, "cursor": params.get("cursor")} if version else None


class EarlyAnswers:
    """Reads the client's first lines; answers them from the record while it can, and keeps every
    line for the server to replay. After the handover it only watches for answers to record."""

    def __init__(self, record: HandshakeRecord, write: Callable[[bytes], None]) -> None:
        self.record = record
        self.write = write
        self.replay: list[bytes] = []
        self.answering = True  # until the first line the record cannot answer
        self.answered: set[str] = set()  # ids (as JSON) whose answer the client already has
        self.pending: dict[str, tuple[str, Any]] = {}  # ids of recorded questions awaiting the server's answer
        self.version: str | None = None  # the negotiated protocol version

    def take(self, line: bytes) -> None:
        """A line from the client, before the handover."""
        self.replay.append(line)
        if not self.answering:
            self.watch(line)
            return
        try:
            message = json.loads(line)
            method, ident, params = message.get("method"), message.get("id"), message.get("params") or {}
        except (ValueError, AttributeError):
            self.answering = False
            return
        if method == "notifications/initialized":
            return
        question = _question(method, params, self.version) if method in _RECORDED else None
        answer = self.record.get(method, question) if question is not None else None
        if answer is None:
            self.answering = False
            self.watch(line)
            return
        if method == "initialize":
            self.version = answer.get("protocolVersion")
        self.write(json.dumps({"jsonrpc": "2.0", "id": ident, "result": answer}).encode() + b"\n")
        self.answered.add(json.dumps(ident))

    def watch(self, line: bytes) -> None:
        """Note a recorded kind of question whose answer the server is about to give."""
        if not any(method.encode() in line for method in _RECORDED):
            return
        try:
            message = json.loads(line)
        except ValueError:
            return
        method = message.get("method")
        if method in _RECORDED and "id" in message:
            question = _question(method, message.get("params") or {}, self.version)
            if question is not None:
                self.pending[json.dumps(message["id"])] = (method, question)

    def outgoing(self, text: str) -> bool:
        """The server's message: False to drop it (the client has that answer already); answers to
        recorded questions are recorded on the way out."""
        if not self.answered and not self.pending:
            return True
        try:
            message = json.loads(text)
        except ValueError:
            return True
        ident = json.dumps(message.get("id"))
        if "result" in message and ident in self.pending:
            method, question = self.pending.pop(ident)
            if method == "initialize":
                self.version = message["result"].get("protocolVersion")
            self.record.put(method, question, message["result"])
        if ident in self.answered and ("result" in message or "error" in message):
            self.answered.discard(ident)
            return False
        return True


class WireIn:
    """The client's lines for the SDK's stdio transport (`async for line in stdin`): what was read
    before the handover, then the rest straight from the pipe on the event loop (no thread hop per
    message), or through the reader thread when stdin is no pipe."""

    def __init__(self, early: EarlyAnswers, reader: LineReader) -> None:
        self._early = early
        self._reader = reader

    async def __aiter__(self) -> AsyncIterator[str]:
        for line in self._early.replay:
            yield line.decode("utf-8", "replace")
        async for line in self._reader.handed_over():
            self._early.watch(line)
            yield line.decode("utf-8", "replace")


class WireOut:
    """The server's lines to the client (the SDK's stdio transport writes and flushes), less the
    answers the client already has."""

    def __init__(self, early: EarlyAnswers, sink: IO[bytes], lock: threading.Lock) -> None:
        self._early = early
        self._sink = sink
        self._lock = lock
        self._buffer: list[str] = []

    async def write(self, text: str) -> None:
        self._buffer.append(text)

    async def flush(self) -> None:
        text, self._buffer = "".join(self._buffer), []
        lines = [line for line in text.splitlines(keepends=True) if self._early.outgoing(line)]
        if lines:
            with self._lock:
                self._sink.write("".join(lines).encode())
                self._sink.flush()


def claim_stdio() -> tuple[IO[bytes], IO[bytes]]:
    """The protocol's own copies of fd 0 and 1; the descriptors themselves then point at the null
    device and stderr, so no child process or stray print can read from or write on the wire."""
    wire_in = os.fdopen(os.dup(0), "rb", buffering=0)
    wire_out = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    return wire_in, wire_out


MAX_LINE = 64 * 1024 * 1024  # one JSON-RPC message from the client (a manifest, values)


class LineReader:
    """The client's lines. Before the handover a thread reads them (no event loop runs yet) into
    `inbox`, ending with EOF_MARK; at the handover the thread stops and the event loop reads the
    pipe itself."""

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.inbox: queue.Queue[bytes] = queue.Queue()
        self._stop = threading.Event()
        self._pending = b""  # a partial line the thread had read when it stopped
        self._thread = threading.Thread(target=self._run, name="stdio-in", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        fd = self.source.fileno()
        while not self._stop.is_set():
            if not select.select([fd], [], [], 0.05)[0]:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                if self._pending.strip():
                    self.inbox.put(self._pending + b"\n")
                self._pending = b""
                self.inbox.put(EOF_MARK)
                return
            self._pending += chunk
            *lines, self._pending = self._pending.split(b"\n")
            for line in lines:
                if line.strip():
                    self.inbox.put(line + b"\n")

    async def handed_over(self) -> AsyncIterator[bytes]:
        """Every line from here on: those the thread read, then the pipe's, until EOF."""
        import anyio.to_thread

        self._stop.set()
        await anyio.to_thread.run_sync(self._thread.join)
        while not self.inbox.empty():
            line = self.inbox.get_nowait()
            if line == EOF_MARK:
                return
            yield line
        loop = asyncio.get_running_loop()
        stream = asyncio.StreamReader(limit=MAX_LINE)
        try:
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), self.source)
        except ValueError:  # no pipe, socket or terminal: only a thread can wait on it
            async for line in self._threaded():  # it goes on from its partial line
                yield line
            return
        stream.feed_data(self._pending)
        while line := await stream.readline():
            if line.strip():
                yield line if line.endswith(b"\n") else line + b"\n"

    async def _threaded(self) -> AsyncIterator[bytes]:
        import anyio.to_thread

        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="stdio-in", daemon=True)
        self._thread.start()
        while (line := await anyio.to_thread.run_sync(self.inbox.get)) != EOF_MARK:
            yield line
