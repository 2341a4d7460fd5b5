"""A minimal HTTPS client for the apiserver: readiness checks and a few reads need no kubectl."""

from __future__ import annotations

import http.client
import json
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class ApiError(RuntimeError):
    def __init__(self, status: int, path: str, body: str) -> None:
        super().__init__(f"{status} from {path}: {body[:500]}")
        self.status = status


class ApiClient:
    """One request per connection: simple, and plenty for polling a local apiserver."""

    def __init__(
        self, server: str, ca_file: Path, cert: Path | None = None, key: Path | None = None, token: str | None = None
    ) -> None:
        parts = urlsplit(server)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 443
        self.context = ssl.create_default_context(cafile=str(ca_file))
        if cert is not None and key is not None:
            self.context.load_cert_chain(str(cert), str(key))
        self.token = token

    def request(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> tuple[int, str]:
        connection = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=timeout)
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            return response.status, response.read().decode(errors="replace")
        finally:
            connection.close()

    def get(self, path: str) -> dict[str, Any]:
        """GET a JSON object; raise ApiError on any non-2xx status."""
        status, text = self.request("GET", path)
        if not 200 <= status < 300:
            raise ApiError(status, path, text)
        result: dict[str, Any] = json.loads(text)
        return result

    def ok(self, path: str) -> bool:
        """True when GET path answers 200 (used for /readyz and existence checks)."""
        return self.request("GET", path, timeout=5.0)[0] == 200
