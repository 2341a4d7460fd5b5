"""The environment that sends a helm subprocess's fetches through the server's egress proxy.

Go (helm, client-go, oras) reads HTTP_PROXY/HTTPS_PROXY, git's curl reads http_proxy/HTTPS_PROXY/
ALL_PROXY: all are set, and NO_PROXY names only the target cluster's API server (helm's own
Kubernetes traffic, which the egress rule is not about). Go never proxies `localhost` or a loopback
address; kubehelm_mcp.egress.proxy explains how those are covered.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from kubehelm_mcp.egress.proxy import EgressProxy
from kubehelm_mcp.errors import ToolError
from kubehelm_mcp.helm.models import HelmTarget
from kubehelm_mcp.kube.cluster_only import cluster_only_kubeconfig

log = logging.getLogger(__name__)

_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
_NO_PROXY_VARS = ("NO_PROXY", "no_proxy")


def apiserver_authority(target: HelmTarget) -> str | None:
    """host:port of the API server helm will talk to for this target, or None when it cannot be
    told (helm then fails on its own, with its own message)."""
    try:
        server = cluster_only_kubeconfig(target.cluster)["clusters"][0]["cluster"].get("server")
        parts = urlsplit(str(server))
        if not parts.hostname:
            return None
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return f"{host}:{parts.port or (80 if parts.scheme == 'http' else 443)}"
    except (ToolError, OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        log.debug("no API server address for the egress exemption: %s", exc.__class__.__name__)
        return None


async def egress_environment(proxy: EgressProxy, target: HelmTarget | None) -> dict[str, str]:
    url = await proxy.url()
    exempt = apiserver_authority(target) if target is not None else None
    return {**dict.fromkeys(_PROXY_VARS, url), **dict.fromkeys(_NO_PROXY_VARS, exempt or "")}
