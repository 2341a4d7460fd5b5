"""HTTPS without an ingress: --tls-cert and --tls-key, checked before anything binds a socket."""

from __future__ import annotations

import ssl
from pathlib import Path

from kubehelm_mcp.settings import Settings


def tls_problem(settings: Settings) -> str | None:
    """One sentence explaining why these TLS settings cannot serve, or None (TLS off, or usable)."""
    if settings.transport == "stdio" or not (settings.tls_cert or settings.tls_key):
        return None
    if not (settings.tls_cert and settings.tls_key):
        given, missing = ("--tls-cert", "--tls-key") if settings.tls_cert else ("--tls-key", "--tls-cert")
        return f"{given} needs {missing}: HTTPS takes a certificate and its private key."
    for flag, path in (("--tls-cert", settings.tls_cert), ("--tls-key", settings.tls_key)):
        try:
            Path(path).read_bytes()
        except OSError as exc:
            return f"{flag} {path} cannot be read: {exc.strerror or exc}."
    try:
        # An empty password, so an encrypted key fails here instead of prompting on a terminal.
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(settings.tls_cert, settings.tls_key, password=b"")
    except (ssl.SSLError, ValueError):
        return (
            f"{settings.tls_cert} and {settings.tls_key} are not a PEM certificate and its matching, "
            "unencrypted private key."
        )
    return None
