"""An npm registry and a PyPI simple index on loopback, serving only the packages
testcluster.mcpruntimes cached before the tests (one npm MCP server, one PyPI MCP server, and
their dependencies). The mcp-server chart's pods run on the node's network, so their install
init containers reach it at 127.0.0.1 and install exactly as from npm and PyPI; nothing leaves
the machine. npm requests must carry the bearer token, which only the .npmrc Secret gives."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Registry:
    npm_dir: Path
    pypi_dir: Path
    npm_token: str
    port: int = 0
    requests: list[str] = field(default_factory=list)

    @property
    def npm_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/npm/"

    @property
    def pypi_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/simple/"

    def npmrc(self) -> str:
        """The .npmrc a user would keep in a Secret: the registry and its token."""
        return f"registry={self.npm_url}\n//127.0.0.1:{self.port}/npm/:_authToken={self.npm_token}\n"

    def packument(self, name: str) -> dict[str, Any] | None:
        versions = self._npm_index.get(name)
        if versions is None:
            return None
        out: dict[str, Any] = {}
        for version, entry in versions.items():
            tarball = self.npm_dir / "tarballs" / entry["file"]
            data = tarball.read_bytes()
            integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
            dist = {
                "tarball": f"{self.npm_url}-/{entry['file']}",
                "integrity": integrity,
                "shasum": hashlib.sha1(data).hexdigest(),  # noqa: S324 - npm's own field
            }
            out[version] = {**entry["manifest"], "dist": dist}
        latest = sorted(out, key=lambda v: [int(p) if p.isdigit() else 0 for p in re.split(r"[.+-]", v)])[-1]
        return {"name": name, "dist-tags": {"latest": latest}, "versions": out}

    def simple_page(self, project: str) -> str | None:
        files = [p for p in sorted(self.pypi_dir.glob("*.whl")) if _normalize(p.name.split("-")[0]) == project]
        if not files:
            return None
        links = "".join(
            f'<a href="/files/{html.escape(p.name)}#sha256={hashlib.sha256(p.read_bytes()).hexdigest()}">'
            f"{html.escape(p.name)}</a>\n"
            for p in files
        )
        return f"<!DOCTYPE html><html><body>\n{links}</body></html>\n"

    @property
    def _npm_index(self) -> dict[str, dict[str, Any]]:
        loaded: dict[str, dict[str, Any]] = json.loads((self.npm_dir / "index.json").read_text())
        return loaded


def _handler(registry: Registry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            registry.requests.append(self.path)

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self) -> None:
            """uv asks for a file's size before it downloads it."""
            self.do_GET()

        def do_GET(self) -> None:
            path = urllib.parse.unquote(self.path.split("?", 1)[0])
            if path.startswith("/npm/"):
                if self.headers.get("Authorization") != f"Bearer {registry.npm_token}":
                    self._send(401, b'{"error":"token required"}', "application/json")
                    return
                rest = path.removeprefix("/npm/")
                if rest.startswith("-/"):
                    tarball = registry.npm_dir / "tarballs" / Path(rest).name
                    if tarball.is_file():
                        self._send(200, tarball.read_bytes(), "application/octet-stream")
                        return
                elif (doc := registry.packument(rest)) is not None:
                    self._send(200, json.dumps(doc).encode(), "application/json")
                    return
            elif path.startswith("/simple/"):
                page = registry.simple_page(_normalize(path.removeprefix("/simple/").strip("/")))
                if page is not None:
                    self._send(200, page.encode(), "text/html")
                    return
            elif path.startswith("/files/"):
                wheel = registry.pypi_dir / Path(path).name
                if wheel.is_file():
                    self._send(200, wheel.read_bytes(), "application/octet-stream")
                    return
            self._send(404, b"not found", "text/plain")

    return Handler


@contextmanager
def serve(npm_dir: Path, pypi_dir: Path, npm_token: str) -> Iterator[Registry]:
    """Serve on a free loopback port until the block ends."""
    registry = Registry(npm_dir, pypi_dir, npm_token)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(registry))
    registry.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield registry
    finally:
        server.shutdown()
        server.server_close()
