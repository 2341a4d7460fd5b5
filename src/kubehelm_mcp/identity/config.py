"""Whether the --cluster-identity settings can work at all, checked before `serve` binds a socket."""

from __future__ import annotations

from urllib.parse import urlsplit

from kubehelm_mcp.settings import Settings

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def identity_config_problem(settings: Settings) -> str | None:
    """One sentence explaining why these identity settings cannot serve HTTP, or None."""
    mode = settings.cluster_identity
    if settings.transport == "stdio" or mode == "server":
        return None  # stdio always runs as the server's identity
    if not settings.oidc_issuer:
        return (
            f"--cluster-identity {mode} needs --oidc-issuer: the caller's cluster identity comes from their OIDC token."
        )
    if mode != "obo":
        return None
    missing = [
        flag
        for flag, value in (
            ("--obo-token-url", settings.obo_token_url),
            ("--obo-client-id", settings.obo_client_id),
            ("--obo-client-secret", settings.obo_client_secret),
        )
        if not value
    ]
    if missing:
        return f"--cluster-identity obo needs {', '.join(missing)}."
    url = urlsplit(settings.obo_token_url or "")
    if url.scheme != "https" and not (url.scheme == "http" and url.hostname in LOOPBACK_HOSTS):
        return "--obo-token-url must be an https URL (plain http only on loopback): it carries tokens and the secret."
    return None
