"""How the server reaches a workload cluster: the kubeconfig its Secret holds, or for calls made
with the caller's own token, only the cluster's address and CA.

A kubeconfig from a Secret is data anyone who may write that Secret controls, so nothing in it
may make the server run a command (`exec`, `auth-provider`) or read one of its own files
(`client-key: /path`, `tokenFile`, a CA path): such a kubeconfig is refused, whole.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from kubehelm_mcp.clusters.capi.model import CapiCluster
from kubehelm_mcp.errors import ClusterUnavailable
from kubehelm_mcp.kube.manifests import load_bounded

KUBECONFIG_KEY = "value"  # Cluster API's kubeconfig Secret key
CA_KEYS = ("tls.crt", "ca.crt")  # the `<name>-ca` Secret's certificate; a ConfigMap's ca.crt
_PLUGIN_KEYS = ("exec", "auth-provider")
_FILE_KEYS = ("client-certificate", "client-key", "tokenFile", "certificate-authority")


def _decoded(secret: dict[str, Any], key: str, what: str) -> bytes:
    data = (secret.get("data") or {}).get(key)
    if not isinstance(data, str):
        raise ClusterUnavailable(f"{what} has no '{key}' key.")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ClusterUnavailable(f"{what}'s '{key}' is not base64.") from None


def _entries(config: dict[str, Any], section: str) -> list[dict[str, Any]]:
    inner = section.rstrip("s")
    return [e[inner] for e in config.get(section) or [] if isinstance(e, dict) and isinstance(e.get(inner), dict)]


def secret_kubeconfig(cluster: CapiCluster, secret: dict[str, Any]) -> dict[str, Any]:
    """The kubeconfig in a Cluster's kubeconfig Secret, checked: self-contained and running nothing."""
    name = (secret.get("metadata") or {}).get("name", "?")
    what = f"Kubeconfig Secret {cluster.namespace}/{name} of cluster {cluster.key}"
    try:
        text = _decoded(secret, KUBECONFIG_KEY, what).decode("utf-8")
    except UnicodeDecodeError:
        raise ClusterUnavailable(f"{what} is not UTF-8 text.") from None
    config = load_bounded(text, what)
    if not isinstance(config, dict) or not config.get("contexts"):
        raise ClusterUnavailable(f"{what} holds no kubeconfig with a context.")
    for body in _entries(config, "users"):
        refused = next((k for k in (*_PLUGIN_KEYS, *_FILE_KEYS) if body.get(k)), None)
        if refused:
            raise ClusterUnavailable(
                f"{what} is refused: its user names '{refused}', and the server runs no command "
                "and reads no file a Secret names."
            )
    for body in _entries(config, "clusters"):
        if body.get("certificate-authority"):
            raise ClusterUnavailable(f"{what} is refused: it names a CA file instead of certificate-authority-data.")
    if not config.get("current-context"):
        first = config["contexts"][0]
        config = {**config, "current-context": first.get("name") if isinstance(first, dict) else None}
    return config


def ca_certificate(cluster: CapiCluster, source: dict[str, Any], kind: str) -> str:
    """The PEM CA from the cluster's CA Secret (base64 `data`) or ConfigMap (plain `data`)."""
    what = f"CA {kind} of cluster {cluster.key}"
    if kind == "Secret":
        for key in CA_KEYS:
            if key in (source.get("data") or {}):
                return _decoded(source, key, what).decode("ascii", "replace")
    else:
        for key in CA_KEYS:
            value = (source.get("data") or {}).get(key)
            if isinstance(value, str) and value:
                return value
    raise ClusterUnavailable(f"The {what} has none of the keys {', '.join(CA_KEYS)}.")


def endpoint_kubeconfig(cluster: CapiCluster, ca_pem: str) -> dict[str, Any]:
    """The cluster's address and CA with an empty user: calls add the caller's token themselves."""
    if not cluster.endpoint:
        raise ClusterUnavailable(f"Cluster {cluster.key} has no spec.controlPlaneEndpoint yet.")
    name = cluster.key
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": name,
                "cluster": {
                    "server": cluster.endpoint,
                    "certificate-authority-data": base64.b64encode(ca_pem.encode()).decode(),
                },
            }
        ],
        "users": [{"name": "caller", "user": {}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": "caller"}}],
        "current-context": name,
    }
