"""Stand-ins for the egress tests, all on loopback: an "origin" chart repository on 127.0.0.1 that
the server reaches by the allowed name `allowed.localhost` (a name, so helm fetches it through the
egress proxy, as it would a public host) and that answers chosen paths with a redirect, and an
"internal" server on 127.0.0.3 (not in --allowed-hosts) that records every request it gets."""

from __future__ import annotations

import functools
import http.server
from pathlib import Path
from typing import Any

from tests.support.helm_servers import QuietFiles
from tests.support.loopback import LocalHttpServer, send_body

ALLOWED_NAME = "allowed.localhost"
INTERNAL_ADDRESS = "127.0.0.3"


class Origin(LocalHttpServer):
    """Static files from `root`; a path in `redirects` is answered 302 to its Location."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.redirects: dict[str, str] = {}
        redirects = self.redirects

        class Handler(QuietFiles):
            def do_GET(self) -> None:
                location = redirects.get(self.path)
                if location is None:
                    super().do_GET()
                    return
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

        root.mkdir(parents=True, exist_ok=True)
        super().__init__(functools.partial(Handler, directory=str(root)))
        self.named_url = self.url.replace("127.0.0.1", ALLOWED_NAME)


class Internal(LocalHttpServer):
    """Answers every GET with 200 and records its path: a request here is a request that got through."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        requests = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                requests.append(self.path)
                send_body(self, 200, b"internal: secret\n", "text/plain")

        super().__init__(Handler, host=INTERNAL_ADDRESS)
