"""A chart-search endpoint that holds each request until the test opens its gate: a tool call
(helm_search_hub, a real helm subprocess) that stays in flight exactly as long as a test needs."""

from __future__ import annotations

import http.server
import threading
from typing import Any

from tests.support.helm_servers import HUB_SEARCH_PATH, HubServer
from tests.support.loopback import LocalHttpServer, send_json

CHART = {
    "name": "webapp",
    "repo": "acme",
    "repo_url": "https://charts.acme.test",
    "version": "1.2.3",
    "app_version": "4.5.6",
    "description": "A web application",
}


class GatedHub(LocalHttpServer):
    def __init__(self) -> None:
        self.arrived = threading.Event()  # a search request is waiting at the gate
        self.gate = threading.Event()
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                if not self.path.startswith(HUB_SEARCH_PATH):
                    self.send_error(404)
                    return
                hub.arrived.set()
                hub.gate.wait(timeout=120)
                send_json(self, {"data": [HubServer.result(CHART)]})

        super().__init__(Handler)

    def __exit__(self, *_: object) -> None:
        self.gate.set()  # never leave a helm process (or this server's thread) waiting
        self.close()
