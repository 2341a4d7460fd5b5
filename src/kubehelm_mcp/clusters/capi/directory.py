"""The management cluster's Cluster API objects, read with the server's own identity and cached.

The Cluster list is trusted for --capi-refresh seconds and read again at once when a call names
a cluster it does not hold. Each workload cluster's kubeconfig Secret (or CA) is cached the same
way; when a later read finds it rotated, every client built from the old one is closed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from kubehelm_mcp.clusters.capi.access import ca_certificate, endpoint_kubeconfig, secret_kubeconfig
from kubehelm_mcp.clusters.capi.model import (
    CAPI_GROUP,
    CLUSTER_NAME_LABEL,
    CapiCluster,
    Replicas,
    owner_cluster,
    parse_cluster,
    worker_replicas,
    worker_version,
)
from kubehelm_mcp.clusters.names import pick
from kubehelm_mcp.errors import ClusterUnavailable, Forbidden, NotFound
from kubehelm_mcp.kube.api import KubeApi
from kubehelm_mcp.kube.clients import ClientPool, KubeCluster
from kubehelm_mcp.kube.discovery import ResourceType
from kubehelm_mcp.kube.kubeconfig import private_kubeconfig_file
from kubehelm_mcp.settings import ClusterSettings

VERSIONS = ("v1beta2", "v1beta1")  # newest first: the one a management cluster serves is read
WORKER_KINDS = ("MachineDeployment", "MachinePool")


@dataclass(frozen=True)
class Connection:
    """A materialized kubeconfig for one workload cluster, and what it was made from."""

    path: str
    context: str
    source_version: str  # the Secret's (or CA's) resourceVersion


@dataclass(frozen=True)
class Workers:
    replicas: Replicas
    version: str | None


class CapiDirectory:
    def __init__(
        self,
        settings: ClusterSettings,
        management: Callable[[], Awaitable[KubeCluster]],
        clients: ClientPool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._management = management  # the server's own client of the management cluster
        self._clients = clients
        self._clock = clock
        self._clusters: dict[str, CapiCluster] = {}
        self._read_at = float("-inf")
        self._connections: dict[tuple[str, str], tuple[Connection, float]] = {}  # (cluster, how) -> (made, at)
        self._lock = asyncio.Lock()

    async def _kind(self, kind: str) -> ResourceType:
        discovery = (await self._management()).discovery
        for version in VERSIONS:
            try:
                return await discovery.resolve(kind, f"{CAPI_GROUP}/{version}")
            except NotFound:
                continue
        raise NotFound(
            f"The management cluster serves no Cluster API {kind} ({CAPI_GROUP} {' or '.join(VERSIONS)}).",
            hint="--cluster-provider capi needs a Cluster API management cluster.",
        )

    async def read(
        self,
        kind: str,
        *,
        api: KubeApi | None = None,
        namespace: str | None = None,
        label_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every object of a Cluster API kind, as `api` sees it (default: the server's own client);
        in `namespace`, else in each of --capi-namespaces, else in all."""
        rt = await self._kind(kind)
        api = api or (await self._management()).api
        namespaces: tuple[str | None, ...] = (namespace,) if namespace else (self._settings.capi_namespaces or (None,))
        query = [("labelSelector", label_selector)] if label_selector else []
        found: list[dict[str, Any]] = []
        for where in namespaces:
            doc = await api.request("GET", rt.collection_path(where), query=query, what=f"{rt.kind} list")
            for item in doc.get("items") or []:
                item.setdefault("apiVersion", rt.api_version)
                found.append(item)
        return found

    async def visible(self, cluster: CapiCluster, api: KubeApi) -> bool:
        """Whether `api`'s identity (a caller's) may read this Cluster object."""
        rt = await self._kind("Cluster")
        try:
            await api.request("GET", rt.object_path(cluster.name, cluster.namespace), what=f"Cluster {cluster.key}")
        except (NotFound, Forbidden):
            return False
        return True

    async def clusters(self, *, refresh: bool = False) -> dict[str, CapiCluster]:
        """Every Cluster the server sees, by namespace/name."""
        if refresh or self._clock() - self._read_at >= self._settings.capi_refresh:
            async with self._lock:
                if refresh or self._clock() - self._read_at >= self._settings.capi_refresh:
                    parsed = [parse_cluster(obj) for obj in await self.read("Cluster")]
                    self._clusters = {c.key: c for c in parsed}
                    self._read_at = self._clock()
        return self._clusters

    async def selected(self, label_selector: str) -> list[CapiCluster]:
        """The Clusters a label selector picks, as the apiserver evaluates it."""
        return sorted(
            (parse_cluster(o) for o in await self.read("Cluster", label_selector=label_selector)), key=lambda c: c.key
        )

    async def lookup(self, asked: str) -> CapiCluster:
        """The Cluster a call names (namespace/name, or a name only one namespace has)."""
        known = await self.clusters()
        try:
            return known[pick(asked, known)]
        except NotFound:
            known = await self.clusters(refresh=True)  # created since the last read
            return known[pick(asked, known)]

    async def workers(self, api: KubeApi | None = None, namespace: str | None = None) -> dict[str, Workers]:
        """Per cluster key: its MachineDeployments' and MachinePools' machines, and their version."""
        found: dict[str, Workers] = {}
        for kind in WORKER_KINDS:
            try:
                objects = await self.read(kind, api=api, namespace=namespace)
            except (NotFound, Forbidden):
                continue  # no MachinePools here, or a caller who may read Clusters only: counts left out
            for obj in objects:
                owner = owner_cluster(obj)
                if owner is None:
                    continue
                key = f"{(obj.get('metadata') or {}).get('namespace', '')}/{owner}"
                before = found.get(key, Workers(Replicas(), None))
                found[key] = Workers(before.replicas + worker_replicas(obj), before.version or worker_version(obj))
        return found

    async def _get(self, path: str) -> dict[str, Any] | None:
        api: KubeApi = (await self._management()).api
        try:
            obj: dict[str, Any] = await api.request("GET", path, what=path.rpartition("/")[2])
        except NotFound:
            return None
        return obj

    async def _kubeconfig_secret(self, cluster: CapiCluster) -> dict[str, Any]:
        base = f"/api/v1/namespaces/{cluster.namespace}/secrets"
        secret = await self._get(f"{base}/{cluster.name}-kubeconfig")
        if secret is not None:
            return secret
        # Provider variants name it otherwise; Cluster API labels it with the cluster's name.
        api = (await self._management()).api
        doc = await api.request("GET", base, query=[("labelSelector", f"{CLUSTER_NAME_LABEL}={cluster.name}")])
        candidates = sorted(
            (
                s
                for s in doc.get("items") or []
                if "kubeconfig" in s["metadata"]["name"] and "value" in (s.get("data") or {})
            ),
            key=lambda s: s["metadata"]["name"],
        )
        if not candidates:
            raise ClusterUnavailable(
                f"Cluster {cluster.key} has no kubeconfig Secret ({cluster.name}-kubeconfig, or one labelled "
                f"{CLUSTER_NAME_LABEL}={cluster.name}) yet."
            )
        chosen: dict[str, Any] = candidates[0]
        return chosen

    async def _ca(self, cluster: CapiCluster) -> tuple[str, str]:
        for kind, path in (
            ("Secret", f"/api/v1/namespaces/{cluster.namespace}/secrets/{cluster.name}-ca"),
            ("ConfigMap", f"/api/v1/namespaces/{cluster.namespace}/configmaps/{cluster.name}-ca"),
        ):
            source = await self._get(path)
            if source is not None:
                return ca_certificate(cluster, source, kind), str(source["metadata"].get("resourceVersion", ""))
        raise ClusterUnavailable(f"Cluster {cluster.key} has no CA Secret or ConfigMap {cluster.name}-ca.")

    async def connection(self, cluster: CapiCluster, *, with_credentials: bool) -> Connection:
        """The kubeconfig to reach `cluster` with: its Secret's (with_credentials), or its address
        and CA only, for calls that bring the caller's own token."""
        how = "kubeconfig" if with_credentials else "endpoint"
        cached = self._connections.get((cluster.key, how))
        if cached is not None and self._clock() - cached[1] < self._settings.capi_refresh:
            return cached[0]
        if with_credentials:
            secret = await self._kubeconfig_secret(cluster)
            config = secret_kubeconfig(cluster, secret)
            version = str(secret["metadata"].get("resourceVersion", ""))
        else:
            ca, version = await self._ca(cluster)
            config = endpoint_kubeconfig(cluster, ca)
        made = Connection(private_kubeconfig_file(config), str(config["current-context"]), version)
        self._connections[(cluster.key, how)] = (made, self._clock())
        if cached is not None and cached[0].path != made.path:
            await self._clients.discard(cached[0].path)  # rotated: no client keeps the old credentials
        return made

    async def forget(self, cluster_key: str) -> None:
        """Read this cluster's Secret again on its next call (its credentials were refused)."""
        for how in ("kubeconfig", "endpoint"):
            cached = self._connections.pop((cluster_key, how), None)
            if cached is not None:
                await self._clients.discard(cached[0].path)
