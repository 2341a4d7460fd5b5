"""What a tool handler receives: the resolved target and the services to act on it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from kubehelm_mcp.caller import Caller
from kubehelm_mcp.clusters.provider import ClusterProvider
from kubehelm_mcp.helm.models import HelmTarget
from kubehelm_mcp.helm.service import HelmService
from kubehelm_mcp.kube.clients import ClientPool, KubeCluster
from kubehelm_mcp.kube.portforward import PortForwards
from kubehelm_mcp.kube.target import ClusterTarget
from kubehelm_mcp.localfiles import ServerFiles, read_local_file
from kubehelm_mcp.settings import Settings

ProgressReporter = Callable[[float, float | None, str | None], Awaitable[None]]


async def _no_progress(progress: float, total: float | None, message: str | None) -> None:
    return None


@dataclass
class SessionState:
    """Per-client state. Switching context changes this session's default, never the server's."""

    context: str | None = None
    # False when the client's protocol keeps no session (stateless 2026-07-28): state set in
    # one call would be gone by the next, so tools that set it must say so instead.
    persistent: bool = True


@dataclass
class CallContext:
    settings: Settings
    target: ClusterTarget
    namespace_arg: str | None
    session: SessionState
    caller: Caller
    clients: ClientPool
    helm: HelmService
    forwards: PortForwards  # the server's port-forwards: they outlive the call that opened them
    report_progress: ProgressReporter = field(default=_no_progress)
    files: ServerFiles = field(default_factory=ServerFiles)  # the server's own credential files
    provider: ClusterProvider | None = None  # where the clusters a call may name come from
    reach: Callable[[str], Awaitable[KubeCluster]] | None = None  # another cluster, as this call's caller

    def read_file(self, path: str, what: str) -> bytes:
        """A caller's local file, checked and size-capped on the descriptor it is read from."""
        return read_local_file(path, what, self.settings, self.files)

    async def cluster(self) -> KubeCluster:
        return await self.clients.get(self.target)

    async def other_cluster(self, name: str) -> KubeCluster:
        """A cluster other than the call's own, under the same identity rules (capi_cluster_health)."""
        if self.reach is None:
            raise RuntimeError("this call context reaches no other cluster")
        return await self.reach(name)

    async def namespace(self) -> str:
        """The namespace argument, else the server's --namespace, else the context's default."""
        if self.namespace_arg:
            return self.namespace_arg
        if self.settings.kube.namespace:
            return self.settings.kube.namespace
        return (await self.cluster()).default_namespace

    async def helm_target(self, *, all_namespaces: bool = False) -> HelmTarget:
        return HelmTarget(cluster=self.target, namespace=await self.namespace(), all_namespaces=all_namespaces)
