"""Who the API server takes a client for: SelfSubjectReview where it is served, else what the
client's own credentials (impersonation, client certificate, a service-account token) say."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import anyio

from kubehelm_mcp.errors import ToolError
from kubehelm_mcp.kube.clients import KubeCluster
from kubehelm_mcp.kube.target import ClusterTarget


def named(user: str | None, groups: list[str] | tuple[str, ...]) -> str:
    shown = [g for g in groups if g != "system:authenticated"]  # every authenticated user has it
    if user is None:
        return f"groups {', '.join(shown)}"
    return f"user '{user}'" + (f" (groups {', '.join(shown)})" if shown else "")


async def _reviewed(cluster: KubeCluster) -> str | None:
    """The identity as the API server resolved it (authentication.k8s.io SelfSubjectReview, 1.28+)."""
    try:
        rt = await cluster.discovery.resolve("selfsubjectreviews.authentication.k8s.io")
        review = await cluster.api.request(
            "POST",
            rt.collection_path(None),
            body={"apiVersion": rt.api_version, "kind": rt.kind},
            what="The self subject review",
        )
    except ToolError:  # not served (before 1.26), or refused: say what the credentials show instead
        return None
    info = (review.get("status") or {}).get("userInfo") or {}
    return named(str(info["username"]), info.get("groups") or []) if info.get("username") else None


def _certificate_subject(pem: bytes) -> tuple[str, list[str]] | None:
    """CN and O of an X.509 client certificate: the user name and groups the API server reads from it."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        subject = x509.load_pem_x509_certificate(pem).subject
    except ValueError:
        return None
    names = [str(a.value) for a in subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    groups = [str(a.value) for a in subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    return (names[0], groups) if names else None


def _token_claims(token: str) -> dict[str, Any]:
    """A JWT's claims, unverified (only to name a service account); {} for any other token."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


async def who_am_i(cluster: KubeCluster, target: ClusterTarget) -> str:
    """One phrase naming the identity a request of this client is checked as."""
    reviewed = await _reviewed(cluster)
    if reviewed:
        return reviewed
    if target.impersonate_user:
        return f"{named(target.impersonate_user, target.impersonate_groups)}, impersonated"
    cert_file, token = cluster.api.credentials()
    own = "the call's credentials" if target.token else "the server's own credentials"
    if token:
        subject = str(_token_claims(token).get("sub") or "")
        if subject.startswith("system:serviceaccount:"):
            return f"user '{subject}' - {own} (a service-account token)"
        return own
    if cert_file:
        try:
            pem = await anyio.to_thread.run_sync(Path(cert_file).read_bytes)
        except OSError:
            pem = b""
        found = _certificate_subject(pem)
        if found:
            where = f" of context '{cluster.context}'" if cluster.context else ""
            return f"{named(*found)} - {own} (client certificate{where})"
    return own + (f" (context '{cluster.context}')" if cluster.context else "")
