"""Cluster providers: what `cluster` names, and the server's connection target for it.

`kubeconfig`: each context is a cluster (no `cluster` means the session's or configured context).
`capi`: each Cluster API Cluster of the management cluster, as namespace/name (no `cluster`
means the management cluster itself). Another provider (kcp, OCM) is one more class here; the
tools and the pipeline only see `ClusterProvider`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Protocol

from kubehelm_mcp.clusters.capi.directory import CapiDirectory
from kubehelm_mcp.clusters.capi.model import AUDIENCE_KEY, IDENTITY_KEY, CapiCluster
from kubehelm_mcp.clusters.names import pick
from kubehelm_mcp.errors import InvalidInput, NotFound
from kubehelm_mcp.kube.api import KubeApi
from kubehelm_mcp.kube.clients import ClientPool, KubeCluster
from kubehelm_mcp.kube.kubeconfig import kubeconfig_paths, read_kubeconfig
from kubehelm_mcp.kube.target import ClusterTarget
from kubehelm_mcp.settings import Settings

GLOB_CHARS = "*?["


@dataclass(frozen=True)
class ClusterChoice:
    """The cluster one call reaches. `name` None is the provider's default cluster."""

    name: str | None
    identity: str | None = None  # the cluster's own identity setting, as written (pipeline/identity.py reads it)
    audience: str | None = None  # the audience its exchanged tokens are asked for
    capi: CapiCluster | None = None


class ClusterProvider(Protocol):
    kind: str

    async def choose(self, asked: str | None) -> ClusterChoice:
        """The cluster `asked` names (None: the default); unknown and ambiguous names are errors."""
        ...

    async def target(self, choice: ClusterChoice, base: ClusterTarget, *, with_credentials: bool) -> ClusterTarget:
        """The server's target for `choice`; with_credentials False: the address and CA only (the
        caller's own token is added to it)."""
        ...

    async def fleet(self, names: list[str], selector: str | None) -> list[str]:
        """The clusters a fleet-wide call asks: names and globs, or a label selector."""
        ...

    async def visible(self, choice: ClusterChoice, as_caller: Callable[[], Awaitable[KubeApi]]) -> bool:
        """Whether a caller may use `choice`, asked through `as_caller` (the caller's own client of
        the server's cluster) when the provider's objects say who may see what."""
        ...


def _expand(patterns: list[str], known: list[str], what: str) -> list[str]:
    chosen: list[str] = []
    for pattern in patterns:
        if any(c in pattern for c in GLOB_CHARS):
            hits = [n for n in known if fnmatchcase(n, pattern)]
            if not hits:
                raise NotFound(f"No {what} matches '{pattern}'.")
        else:
            hits = [pick(pattern, known, what)]
        chosen += [h for h in hits if h not in chosen]
    return chosen


class KubeconfigProvider:
    kind = "kubeconfig"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def choose(self, asked: str | None) -> ClusterChoice:
        return ClusterChoice(asked)

    async def target(self, choice: ClusterChoice, base: ClusterTarget, *, with_credentials: bool) -> ClusterTarget:
        context = choice.name or base.context
        return dataclasses.replace(base, context=context, cluster=context)

    async def fleet(self, names: list[str], selector: str | None) -> list[str]:
        if selector:
            raise InvalidInput(
                "cluster_selector picks Cluster API clusters by label: it needs --cluster-provider capi."
            )
        if self._settings.kube.in_cluster:
            raise InvalidInput("An in-cluster server reaches one cluster: a fleet-wide call needs several.")
        contexts = [c.name for c in read_kubeconfig(kubeconfig_paths(self._settings.kube.kubeconfig)).contexts]
        return _expand(names, contexts, "context")

    async def visible(self, choice: ClusterChoice, as_caller: Callable[[], Awaitable[KubeApi]]) -> bool:
        return True  # the kubeconfig is the server operator's: every context in it is served


class CapiProvider:
    kind = "capi"

    def __init__(self, settings: Settings, management: Callable[[], Awaitable[KubeCluster]], clients: ClientPool):
        self.directory = CapiDirectory(settings.clusters, management, clients)

    async def choose(self, asked: str | None) -> ClusterChoice:
        if asked is None:
            return ClusterChoice(None)
        cluster = await self.directory.lookup(asked)
        return ClusterChoice(cluster.key, cluster.setting(IDENTITY_KEY), cluster.setting(AUDIENCE_KEY), cluster)

    async def target(self, choice: ClusterChoice, base: ClusterTarget, *, with_credentials: bool) -> ClusterTarget:
        if choice.capi is None:
            return base  # the management cluster, as configured
        made = await self.directory.connection(choice.capi, with_credentials=with_credentials)
        return ClusterTarget(kubeconfig=made.path, context=made.context, cluster=choice.name)

    async def visible(self, choice: ClusterChoice, as_caller: Callable[[], Awaitable[KubeApi]]) -> bool:
        """The management cluster is always the caller's to ask; a workload cluster, when the
        caller may read its Cluster object there."""
        return choice.capi is None or await self.directory.visible(choice.capi, await as_caller())

    async def fleet(self, names: list[str], selector: str | None) -> list[str]:
        chosen = [c.key for c in await self.directory.selected(selector)] if selector else []
        if names:
            try:
                expanded = _expand(names, sorted(await self.directory.clusters()), "cluster")
            except NotFound:  # a name created since the last read
                expanded = _expand(names, sorted(await self.directory.clusters(refresh=True)), "cluster")
            chosen += [n for n in expanded if n not in chosen]
        return chosen


def provider_for(
    settings: Settings, management: Callable[[], Awaitable[KubeCluster]], clients: ClientPool
) -> ClusterProvider:
    if settings.clusters.cluster_provider == "capi":
        return CapiProvider(settings, management, clients)
    return KubeconfigProvider(settings)
