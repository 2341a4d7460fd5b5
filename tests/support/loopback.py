"""A threaded http.server on a free 127.0.0.1 port: the base of every local counterpart the tests
serve (chart repositories, hubs, OIDC issuers, token endpoints, OTLP receivers)."""

from __future__ import annotations

import http.server
import json
import ssl
import threading
from pathlib import Path
from typing import Any, Self


def send_body(handler: http.server.BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def send_json(handler: http.server.BaseHTTPRequestHandler, document: Any, status: int = 200) -> None:
    send_body(handler, status, json.dumps(document).encode(), "application/json")


class LocalHttpServer:
    """Serving from construction until `close` (or the end of a `with` block)."""

    def __init__(self, handler: Any, tls: tuple[Path, Path] | None = None, host: str = "127.0.0.1") -> None:
        """tls: a certificate and key to serve https with; host: a loopback address to listen on."""
        self.httpd = http.server.ThreadingHTTPServer((host, 0), handler)
        scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://{host}:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
