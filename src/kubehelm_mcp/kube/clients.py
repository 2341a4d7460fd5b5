"""A pool of cluster connections keyed by target and identity, built once and reused."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kubehelm_mcp.errors import ClusterUnavailable, InvalidInput
from kubehelm_mcp.kube.api import KubeApi
from kubehelm_mcp.kube.cluster_only import cluster_only_kubeconfig
from kubehelm_mcp.kube.discovery import Discovery
from kubehelm_mcp.kube.kubeconfig import kubeconfig_paths, read_kubeconfig
from kubehelm_mcp.kube.target import ClusterTarget
from kubehelm_mcp.kube.watched import WatchedReads
from kubehelm_mcp.telemetry.hooks import NULL_OBSERVER, Observer

if TYPE_CHECKING:
    from kubernetes_asyncio.client import ApiClient, Configuration

WIRE_LOGGER = "kubernetes_asyncio.client.rest"
IN_CLUSTER_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
# A client built for an expiring token (a caller's) is closed this long after the token expired:
# calls that started just before may finish, and the pool does not grow with every token ever seen.
EXPIRED_CLIENT_GRACE = 600.0


@dataclass
class KubeCluster:
    """One connected cluster: the JSON API, its discovery cache and its default namespace."""

    api: KubeApi
    discovery: Discovery
    default_namespace: str
    context: str | None


async def _configure_from_kubeconfig(target: ClusterTarget, config: Configuration) -> tuple[str, str | None]:
    from kubernetes_asyncio.config import ConfigException

    from kubehelm_mcp.kube.config_loader import load_kubeconfig

    paths = kubeconfig_paths(target.kubeconfig)
    view = read_kubeconfig(paths)  # clear errors for missing/malformed files and unknown contexts
    ctx = view.context(target.context)
    try:
        await load_kubeconfig(paths, ctx.name, config)
    except ConfigException as exc:
        raise InvalidInput(f"The kubeconfig context '{ctx.name}' cannot be used: {exc}.") from None
    return ctx.namespace or "default", ctx.name


async def _configure_cluster_only(target: ClusterTarget, config: Configuration) -> tuple[str, str | None]:
    """The cluster's address and CA only: the caller's token (set by _build) is the one credential."""
    from kubernetes_asyncio.config import ConfigException, load_kube_config_from_dict

    kubeconfig = cluster_only_kubeconfig(target)
    try:
        await load_kube_config_from_dict(kubeconfig, client_configuration=config)
    except ConfigException as exc:
        raise InvalidInput(f"The cluster of context '{kubeconfig['current-context']}' cannot be used: {exc}.") from None
    namespace = kubeconfig["contexts"][0]["context"].get("namespace") or "default"
    return namespace, None if target.in_cluster else str(kubeconfig["current-context"])


def _impersonate(client: ApiClient, target: ClusterTarget) -> None:
    """Every request of this client, REST and websocket alike, carries the impersonation headers: the
    HTTP session's default headers keep repeated Impersonate-Group headers, which a dict cannot."""
    client.rest_client.pool_manager.headers.extend(target.impersonation_headers())


def import_client_library() -> None:
    """kubernetes-asyncio's import (~0.5 s): deferred from server start to the first connection,
    and done ahead of it by the pipeline's warm-up."""
    import kubernetes_asyncio.client
    import kubernetes_asyncio.config  # noqa: F401


async def _build(target: ClusterTarget, observer: Observer, watched: WatchedReads | None) -> KubeCluster:
    # Deferred to the first connection: see KubeApi.
    from kubernetes_asyncio.client import ApiClient, Configuration
    from kubernetes_asyncio.config import ConfigException, load_incluster_config

    # The library's debug log holds whole request and response bodies (Secret data, tokens): never emit it.
    logging.getLogger(WIRE_LOGGER).setLevel(max(logging.INFO, logging.getLogger(WIRE_LOGGER).level))
    config = Configuration()
    namespace, context = "default", target.context
    if not target.user_credentials:
        namespace, context = await _configure_cluster_only(target, config)
    elif target.in_cluster:
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
    try:
        client = ApiClient(configuration=config)
    except ssl.SSLError:  # the message names no file or key, so say which setting to look at
        raise InvalidInput(
            f"The TLS client certificate or key of the kubeconfig context '{context}' cannot be loaded."
        ) from None
    _impersonate(client, target)
    api = KubeApi(client, server=str(config.host), observer=observer, watched=watched)
    return KubeCluster(api=api, discovery=Discovery(api), default_namespace=namespace, context=context)


class ClientPool:
    """Connections are shared by every call with the same target and identity."""

    def __init__(
        self, observer: Observer = NULL_OBSERVER, max_clients: int = 256, watched: WatchedReads | None = None
    ) -> None:
        self._observer = observer  # every request of every pooled client reports to it
        self.watched = watched  # shared by every client: one bound on the watches the server keeps
        # Insertion order is use order (get() moves a hit to the end): the first is the least recently used.
        self._clusters: dict[tuple[object, ...], KubeCluster] = {}
        self._kubeconfigs: dict[tuple[object, ...], str | None] = {}  # which file each client was built from
        self._close_after: dict[tuple[object, ...], float] = {}  # keys of clients for expiring tokens
        self._max_clients = max_clients
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        return len(self._clusters)

    async def get(self, target: ClusterTarget) -> KubeCluster:
        key = target.pool_key
        cluster = self._clusters.pop(key, None)
        if cluster is not None:
            self._clusters[key] = cluster  # now the most recently used
            return cluster
        async with self._lock:
            cluster = self._clusters.get(key)
            if cluster is None:
                await self._close_expired()
                await self._make_room()
                cluster = await _build(target, self._observer, self.watched)
                self._clusters[key] = cluster
                self._kubeconfigs[key] = target.kubeconfig
                if target.expires_at is not None:
                    self._close_after[key] = target.expires_at + EXPIRED_CLIENT_GRACE
            return cluster

    async def discard(self, kubeconfig: str) -> int:
        """Close every client built from `kubeconfig` (its Secret was rotated); how many there were."""
        async with self._lock:
            keys = [key for key, path in self._kubeconfigs.items() if path == kubeconfig]
            for key in keys:
                await self._close(key)
        return len(keys)

    async def _make_room(self) -> None:
        """Under the lock: the least recently used client goes when the pool is full. A call still
        using it fails like a dropped connection would; the bound keeps one client per user and
        cluster from growing without end on a busy shared server."""
        while len(self._clusters) >= self._max_clients:
            await self._close(next(iter(self._clusters)))

    async def _close(self, key: tuple[object, ...]) -> None:
        self._close_after.pop(key, None)
        self._kubeconfigs.pop(key, None)
        closed = self._clusters.pop(key, None)
        if closed is not None:
            await closed.api.close()

    async def _close_expired(self) -> None:
        """Swept whenever a client is built (a new token arrived), under the lock."""
        now = time.time()
        for key in [k for k, deadline in self._close_after.items() if deadline <= now]:
            await self._close(key)

    async def close(self) -> None:
        async with self._lock:
            clusters, self._clusters = list(self._clusters.values()), {}
            self._close_after.clear()
            self._kubeconfigs.clear()
        for cluster in clusters:
            await cluster.api.close()
