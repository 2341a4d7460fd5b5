"""A throwaway OIDC issuer on 127.0.0.1: fresh RSA and EC keys per run, discovery and JWKS
served by a threaded http.server, tokens minted with pyjwt."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import ssl
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from testcluster.controlplane import ControlPlane

from tests.support.loopback import LocalHttpServer, send_json

AUDIENCE = "kubehelm-mcp-test"
SCOPE = "mcp.tools"
ROLE = "kube.reader"
CLIENT = "assistant"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_jwk(kid: str, key: PrivateKey) -> dict[str, Any]:
    if isinstance(key, rsa.RSAPrivateKey):
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    else:
        jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "use": "sig"}


class Issuer(LocalHttpServer):
    def __init__(self, tls: tuple[Path, Path] | None = None) -> None:
        """tls: a certificate and key to serve https with (an apiserver trusts only an https issuer)."""
        self.keys: dict[str, PrivateKey] = {"rsa-1": rsa_key(), "ec-1": ec_key()}
        self.published = ["rsa-1", "ec-1"]
        self.jwks_fetches = 0
        super().__init__(self._handler(), tls=tls)

    def publish(self, kid: str, key: PrivateKey) -> None:
        self.keys[kid] = key
        self.published.append(kid)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(kid, self.keys[kid]) for kid in self.published]}

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": "user-1",
            "azp": CLIENT,
            "scp": f"{SCOPE} other",
            "roles": [ROLE],
            "iat": now,
            "nbf": now - 5,
            "exp": now + 600,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}  # None drops a claim

    def token(self, kid: str = "rsa-1", alg: str | None = None, **overrides: Any) -> str:
        key = self.keys[kid]
        alg = alg or ("RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256")
        return jwt.encode(self.claims(**overrides), key, algorithm=alg, headers={"kid": kid})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks"}
                elif self.path == "/jwks":
                    issuer.jwks_fetches += 1
                    body = issuer.jwks()
                else:
                    self.send_error(404)
                    return
                send_json(self, body)

            def log_message(self, *_: Any) -> None:
                pass

        return Handler


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict[str, Any], claims: dict[str, Any], hmac_secret: bytes | None = None) -> str:
    """A token pyjwt would refuse to mint: 'alg: none', or HS256 keyed with a public key."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = b"" if hmac_secret is None else hmac.new(hmac_secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def public_pem(key: PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def trusting_apiserver_args(issuer: Issuer, ca_file: Path) -> list[str]:
    """kube-apiserver flags that trust `issuer` (served over https with a certificate from ca_file):
    user names are the token's sub, groups its groups claim."""
    return [
        f"--oidc-issuer-url={issuer.url}",
        f"--oidc-client-id={AUDIENCE}",
        f"--oidc-ca-file={ca_file}",
        "--oidc-username-claim=sub",
        "--oidc-username-prefix=-",
        "--oidc-groups-claim=groups",
    ]


def wait_until_trusted(plane: ControlPlane, token: str, timeout: float = 60.0) -> None:
    """The apiserver sets its OIDC verifier up in the background: poll until a token is accepted."""
    context = ssl.create_default_context(cafile=str(plane.ca_file))
    deadline = time.monotonic() + timeout
    while True:
        request = urllib.request.Request(f"{plane.server}/api", headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, context=context, timeout=5):
                return
        except urllib.error.HTTPError as error:
            if error.code != 401 or time.monotonic() > deadline:
                raise AssertionError(f"the apiserver does not accept the issuer's token: HTTP {error.code}") from None
        time.sleep(0.5)
