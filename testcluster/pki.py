"""Certificates and kubeconfigs for one test cluster, made with the openssl CLI.

ECDSA P-256 keys (generated instantly) for every TLS identity; the service-account signing
key is RSA, as Kubernetes' own tooling makes it.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .procs import capture

APISERVER_SANS = (
    "IP:127.0.0.1",
    "IP:10.0.0.1",
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
)
DEFAULT_CONTEXT = "kubehelm-test"
DAYS = "3650"


@dataclass(frozen=True)
class KeyPair:
    cert: Path
    key: Path


def _ec_key_args(key: Path) -> list[str]:
    return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key)]


def create_ca(directory: Path, common_name: str = "kubehelm-test-ca") -> KeyPair:
    directory.mkdir(parents=True, exist_ok=True)
    pair = KeyPair(directory / "ca.crt", directory / "ca.key")
    capture(
        [
            "openssl",
            "req",
            "-x509",
            *_ec_key_args(pair.key),
            "-out",
            pair.cert,
            "-days",
            DAYS,
            "-subj",
            f"/CN={common_name}",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
        ]
    )
    os.chmod(pair.key, 0o600)
    return pair


def issue(
    ca: KeyPair,
    directory: Path,
    name: str,
    *,
    common_name: str,
    organizations: Sequence[str] = (),
    sans: Sequence[str] = (),
    server: bool = False,
) -> KeyPair:
    """Issue a leaf certificate signed by ca; client auth always, server auth when asked."""
    directory.mkdir(parents=True, exist_ok=True)
    pair = KeyPair(directory / f"{name}.crt", directory / f"{name}.key")
    subject = "".join(f"/O={org}" for org in organizations) + f"/CN={common_name}"
    usages = "serverAuth,clientAuth" if server else "clientAuth"
    extensions = [
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-addext",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "-addext",
        f"extendedKeyUsage={usages}",
    ]
    if sans:
        extensions += ["-addext", "subjectAltName=" + ",".join(sans)]
    # openssl 3 `req -CA` signs in one step, copying the -addext extensions.
    capture(
        [
            "openssl",
            "req",
            "-x509",
            *_ec_key_args(pair.key),
            "-out",
            pair.cert,
            "-CA",
            ca.cert,
            "-CAkey",
            ca.key,
            "-days",
            DAYS,
            "-subj",
            subject,
            *extensions,
        ]
    )
    os.chmod(pair.key, 0o600)
    return pair


def service_account_keys(directory: Path) -> KeyPair:
    """RSA key pair for signing service-account tokens (cert field holds the public key)."""
    pair = KeyPair(directory / "sa.pub", directory / "sa.key")
    capture(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", pair.key])
    capture(["openssl", "pkey", "-in", pair.key, "-pubout", "-out", pair.cert])
    os.chmod(pair.key, 0o600)
    return pair


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def write_kubeconfig(
    path: Path,
    *,
    server: str,
    ca_file: Path,
    client: KeyPair | None = None,
    token: str | None = None,
    context_name: str = DEFAULT_CONTEXT,
    cluster_name: str | None = None,
    user_name: str | None = None,
    namespace: str | None = None,
) -> Path:
    """Write a self-contained kubeconfig (credentials inlined) with one context.

    JSON is valid YAML, so every kubeconfig reader accepts it; inlined data keeps the file
    usable after copying it elsewhere.
    """
    if (client is None) == (token is None):
        raise ValueError("give exactly one of client (cert/key) or token")
    user: dict[str, str] = (
        {"token": token}
        if token is not None
        else {
            "client-certificate-data": _b64(client.cert),  # type: ignore[union-attr]
            "client-key-data": _b64(client.key),  # type: ignore[union-attr]
        }
    )
    cluster_name = cluster_name or context_name
    user_name = user_name or f"{context_name}-user"
    context: dict[str, str] = {"cluster": cluster_name, "user": user_name}
    if namespace:
        context["namespace"] = namespace
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [
            {"name": cluster_name, "cluster": {"server": server, "certificate-authority-data": _b64(ca_file)}}
        ],
        "users": [{"name": user_name, "user": user}],
        "contexts": [{"name": context_name, "context": context}],
        "current-context": context_name,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n")
    os.chmod(path, 0o600)
    return path
