"""An RFC 8693 token endpoint on 127.0.0.1 for the on-behalf-of tests: it checks the client's
credentials, the grant and the subject token (a JWT of the test Issuer), and answers with a real
cluster token mapped from the subject."""

from __future__ import annotations

import base64
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote_plus

import jwt

from tests.support.loopback import LocalHttpServer, send_json
from tests.support.oidc import AUDIENCE, Issuer

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


class TokenEndpoint(LocalHttpServer):
    def __init__(
        self, issuer: Issuer, client_id: str, client_secret: str, audience: str, tokens: dict[str, str]
    ) -> None:
        """tokens: the cluster token handed out for each subject (`sub`) of an incoming token."""
        self.issuer = issuer
        self.client = (client_id, client_secret)
        self.audience = audience
        self.tokens = tokens
        self.exchanges = 0  # successful ones
        self.refusals: list[str] = []  # the OAuth error of each refused request
        super().__init__(self._handler())
        self.url += "/token"

    def _client_ok(self, authorization: str | None) -> bool:
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme != "Basic":
            return False
        client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        return (unquote_plus(client_id), unquote_plus(secret)) == self.client

    def answer(self, authorization: str | None, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if not self._client_ok(authorization):
            return 401, {"error": "invalid_client", "error_description": "client authentication failed"}
        expected = {"grant_type": GRANT_TYPE, "subject_token_type": ACCESS_TOKEN_TYPE, "audience": self.audience}
        if any(form.get(k) != v for k, v in expected.items()):
            return 400, {"error": "invalid_request"}
        try:
            claims = jwt.decode(
                form.get("subject_token", ""),
                self.issuer.keys["rsa-1"].public_key(),
                algorithms=["RS256"],
                audience=AUDIENCE,
                issuer=self.issuer.url,
            )
        except jwt.PyJWTError:
            return 400, {"error": "invalid_grant"}
        token = self.tokens.get(claims.get("sub", ""))
        if token is None:
            return 400, {"error": "invalid_target"}
        self.exchanges += 1
        return 200, {
            "access_token": token,
            "issued_token_type": ACCESS_TOKEN_TYPE,
            "token_type": "Bearer",
            "expires_in": 600,
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                status, body = endpoint.answer(self.headers.get("Authorization"), form)
                if status != 200:
                    endpoint.refusals.append(body["error"])
                send_json(self, body, status)

            def log_message(self, *_: Any) -> None:
                pass

        return Handler
