"""A pool of cluster connections keyed by target and identity, built once and reused."""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kubehelm_mcp.errors import ClusterUnavailable, InvalidInput
from kubehelm_mcp.kube.api import KubeApi
from kubehelm_mcp.kube.discovery import Discovery
from kubehelm_mcp.kube.kubeconfig import kubeconfig_paths, read_kubeconfig
from kubehelm_mcp.kube.target import ClusterTarget

if TYPE_CHECKING:
    from kubernetes_asyncio.client import Configuration

IN_CLUSTER_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


@dataclass
class KubeCluster:
    """One connected cluster: the JSON API, its discovery cache and its default namespace."""

    api: KubeApi
    discovery: Discovery
    default_namespace: str
    context: str | None


async def _configure_from_kubeconfig(target: ClusterTarget, config: Configuration) -> tuple[str, str | None]:
    from kubernetes_asyncio.config import ConfigException, load_kube_config

    paths = kubeconfig_paths(target.kubeconfig)
    view = read_kubeconfig(paths)  # clear errors for missing/malformed files and unknown contexts
    ctx = view.context(target.context)
    try:
        await load_kube_config(
            config_file=os.pathsep.join(paths),
            context=ctx.name,
            client_configuration=config,
            persist_config=False,
        )
    except ConfigException as exc:
        raise InvalidInput(f"The kubeconfig context '{ctx.name}' cannot be used: {exc}.") from None
    return ctx.namespace or "default", ctx.name


async def _build(target: ClusterTarget) -> KubeCluster:
    # Deferred to the first connection: see KubeApi.
    from kubernetes_asyncio.client import ApiClient, Configuration
    from kubernetes_asyncio.config import ConfigException, load_incluster_config

    config = Configuration()
    namespace, context = "default", target.context
    if target.in_cluster:
        try:
            load_incluster_config(client_configuration=config)  # type: ignore[no-untyped-call]
        except ConfigException as exc:
            raise ClusterUnavailable(f"In-cluster configuration is unavailable: {exc}.") from None
        with contextlib.suppress(OSError):
            namespace = Path(IN_CLUSTER_NAMESPACE_FILE).read_text(encoding="utf-8").strip() or "default"  # noqa: ASYNC240
    elif target.apiserver and target.token:
        config.host = target.apiserver
    else:
        namespace, context = await _configure_from_kubeconfig(target, config)
    if target.apiserver:
        config.host = target.apiserver
    if target.token:
        config.api_key = {"BearerToken": f"Bearer {target.token}"}
    if target.tls_server_name:
        config.tls_server_name = target.tls_server_name
    if target.insecure_tls:
        config.verify_ssl = False
    api = KubeApi(ApiClient(configuration=config), server=str(config.host))
    return KubeCluster(api=api, discovery=Discovery(api), default_namespace=namespace, context=context)


class ClientPool:
    """Connections are shared by every call with the same target and identity."""

    def __init__(self) -> None:
        self._clusters: dict[tuple[object, ...], KubeCluster] = {}
        self._lock = asyncio.Lock()

    async def get(self, target: ClusterTarget) -> KubeCluster:
        key = target.pool_key
        cluster = self._clusters.get(key)
        if cluster is not None:
            return cluster
        async with self._lock:
            cluster = self._clusters.get(key)
            if cluster is None:
                cluster = await _build(target)
                self._clusters[key] = cluster
            return cluster

    async def close(self) -> None:
        async with self._lock:
            clusters, self._clusters = list(self._clusters.values()), {}
        for cluster in clusters:
            await cluster.api.close()
