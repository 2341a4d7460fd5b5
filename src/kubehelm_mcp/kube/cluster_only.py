"""A kubeconfig that names only a cluster: the address, CA and TLS options of the target's context
(or of the pod's in-cluster API), with an empty user.

Calls that run with the caller's token (--cluster-identity obo/passthrough) are built from it, so
the server's own client certificate, token or exec plugin can never ride along with them: with a
certificate present the apiserver would authenticate that, not the token.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kubehelm_mcp.errors import ClusterUnavailable, InvalidInput
from kubehelm_mcp.kube.kubeconfig import (
    kubeconfig_paths,
    load_kubeconfig_file,
    private_kubeconfig_file,
    read_kubeconfig,
)
from kubehelm_mcp.kube.target import ClusterTarget

IN_CLUSTER_CA = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
IN_CLUSTER_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
IN_CLUSTER_CONTEXT = "in-cluster"
_USER = "caller"


def _in_cluster() -> tuple[dict[str, Any], str | None]:
    host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        raise ClusterUnavailable("In-cluster configuration is unavailable: KUBERNETES_SERVICE_HOST/PORT are not set.")
    server = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
    try:
        namespace = Path(IN_CLUSTER_NAMESPACE).read_text(encoding="utf-8").strip() or None
    except OSError:
        namespace = None
    return {"server": server, "certificate-authority": IN_CLUSTER_CA}, namespace


def _from_kubeconfig(target: ClusterTarget) -> tuple[str, dict[str, Any], str | None]:
    paths = kubeconfig_paths(target.kubeconfig)
    context = read_kubeconfig(paths).context(target.context)
    for path in paths:  # kubectl's merge: the first file that defines the cluster wins
        for entry in load_kubeconfig_file(path).get("clusters") or []:
            if (
                isinstance(entry, dict)
                and entry.get("name") == context.cluster
                and isinstance(entry.get("cluster"), dict)
            ):
                cluster = dict(entry["cluster"])
                authority = cluster.get("certificate-authority")
                if isinstance(authority, str) and authority and not os.path.isabs(authority):
                    cluster["certificate-authority"] = str(Path(path).parent / authority)  # relative to its file
                return context.name, cluster, context.namespace
    raise InvalidInput(
        f"The kubeconfig context '{context.name}' names cluster '{context.cluster}', which is not defined."
    )


def cluster_only_kubeconfig(target: ClusterTarget) -> dict[str, Any]:
    """The target's cluster and context with an empty user: the token is added by whoever uses it
    (the client's Configuration, helm's environment), so no file ever holds it."""
    if target.in_cluster:
        name = IN_CLUSTER_CONTEXT
        cluster, namespace = _in_cluster()
    else:
        name, cluster, namespace = _from_kubeconfig(target)
    if target.apiserver:
        cluster["server"] = target.apiserver
    context: dict[str, Any] = {"cluster": name, "user": _USER}
    if namespace:
        context["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": _USER, "user": {}}],
        "contexts": [{"name": name, "context": context}],
        "current-context": name,
    }


def cluster_only_kubeconfig_file(target: ClusterTarget) -> tuple[str, str]:
    """The file form (for helm and the Helm SDK, which take the token separately) and its context name."""
    config = cluster_only_kubeconfig(target)
    return private_kubeconfig_file(config), str(config["current-context"])
