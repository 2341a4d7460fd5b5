"""capi_list_clusters, capi_get_cluster, capi_resolve_cluster and capi_cluster_health.

Cluster objects are read on the management cluster as the caller (the call's own identity), so
a caller lists and resolves only the clusters its RBAC lets it read; the server's
--allowed-clusters/--denied-clusters filter them further.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydantic import BaseModel, Field

from kubehelm_mcp.clusters.capi.directory import CapiDirectory, Workers
from kubehelm_mcp.clusters.capi.model import IDENTITY_KEY, CapiCluster, parse_cluster
from kubehelm_mcp.clusters.names import cluster_allowed, matching, pick
from kubehelm_mcp.clusters.provider import CapiProvider
from kubehelm_mcp.context import CallContext
from kubehelm_mcp.errors import ToolError
from kubehelm_mcp.kube.health import NodeHealth, Probe, cluster_health
from kubehelm_mcp.tooling import (
    READ_ONLY,
    AnyTool,
    Category,
    PagedResult,
    Target,
    Tool,
    ToolInput,
    ToolResult,
    Touches,
)
from kubehelm_mcp.toolsets.rendering import render_table
from kubehelm_mcp.validators import ContextName, LabelSelector

CLUSTERS = Touches(kinds=("clusters.cluster.x-k8s.io",))
COLUMNS = ["cluster", "phase", "version", "control_plane", "infrastructure", "workers", "labels"]


class ListInput(ToolInput):
    label_selector: LabelSelector | None = None
    phase: str | None = Field(None, description="e.g. Provisioned, Provisioning, Failed, Deleting.")

    def target(self) -> Target:
        return replace(super().target(), all_namespaces=not self.namespace)  # no namespace: every one


class NamedInput(ToolInput):
    name: ContextName = Field(description="namespace/name, or a name only one namespace has.")


class ClusterRow(BaseModel):
    cluster: str
    phase: str
    version: str | None = None
    control_plane: str
    infrastructure: str
    workers: str | None = None
    labels: str | None = None


class ClusterList(PagedResult):
    items: list[ClusterRow]

    def table(self) -> tuple[list[str], list[dict[str, Any]]] | None:
        return COLUMNS, [row.model_dump() for row in self.items]

    def to_text(self) -> str:
        if not self.items:
            return "No Cluster API clusters found."
        return render_table(COLUMNS, [row.model_dump(exclude_none=True) for row in self.items])


class ConditionRow(BaseModel):
    type: str
    status: str
    reason: str | None = None
    message: str | None = None


class ClusterDetails(ToolResult):
    cluster: str
    api_version: str
    phase: str
    version: str | None = None
    endpoint: str | None = None
    control_plane_ready: bool
    control_plane_machines: str | None = None
    infrastructure_ready: bool
    workers: str | None = None
    identity: str | None = None
    failure: str | None = None
    labels: dict[str, str] | None = None
    conditions: list[ConditionRow] = []

    def to_text(self) -> str:
        lines = [
            f"{self.cluster} ({self.api_version}): {self.phase}, Kubernetes {self.version or 'version unknown'}",
            f"control plane: {'ready' if self.control_plane_ready else 'NOT ready'}"
            + (f" ({self.control_plane_machines} machines ready)" if self.control_plane_machines else ""),
            f"infrastructure: {'ready' if self.infrastructure_ready else 'NOT ready'}",
        ]
        lines += [
            f"{label}: {value}"
            for label, value in (
                ("workers ready", self.workers),
                ("endpoint", self.endpoint),
                ("identity", self.identity),
                ("failure", self.failure),
            )
            if value
        ]
        if self.labels:
            lines.append("labels: " + ", ".join(f"{k}={v}" for k, v in self.labels.items()))
        lines += [_condition_line(c) for c in self.conditions]
        return "\n".join(lines)


def _condition_line(c: ConditionRow) -> str:
    why = " ".join(": ".join(part for part in (c.reason, c.message) if part).split())  # one line
    return f"  {c.type}={c.status}" + (f" ({why})" if why else "")


class Candidates(ToolResult):
    asked: str
    exact: bool
    clusters: list[str]

    def to_text(self) -> str:
        if not self.clusters:
            return f"No cluster name contains '{self.asked}'."
        if len(self.clusters) == 1:
            return self.clusters[0]
        kind = "matches exactly" if self.exact else "is part of"
        return f"'{self.asked}' {kind} {len(self.clusters)} clusters, name one: " + ", ".join(self.clusters)


class CapiHealth(ToolResult):
    cluster: str
    healthy: bool
    phase: str
    problems: list[str] = []
    version: str | None = None
    probes: list[Probe] = []
    nodes: list[NodeHealth] | None = None
    unreachable: str | None = None

    def to_text(self) -> str:
        lines = [f"{self.cluster} {'healthy' if self.healthy else 'UNHEALTHY'} (phase {self.phase})"]
        lines += [f"  {p}" for p in self.problems]
        if self.unreachable:
            lines.append(f"live check: {self.unreachable}")
        else:
            lines.append(f"server {self.version or 'version unknown'}")
            for p in self.probes:
                lines.append(f"{p.endpoint}: " + (p.error or ("ok" if p.ok else f"FAILED: {', '.join(p.failed)}")))
        if self.nodes is not None:
            ready = sum(n.ready for n in self.nodes)
            lines.append(f"nodes: {ready}/{len(self.nodes)} Ready")
            lines += [f"  {n.name}: {', '.join(n.problems)}" for n in self.nodes if n.problems]
        return "\n".join(lines)


def _directory(ctx: CallContext) -> CapiDirectory:
    if not isinstance(ctx.provider, CapiProvider):
        raise RuntimeError("capi tools are served with the capi provider only")  # Policy refuses them before
    return ctx.provider.directory


def _ready(flag: bool) -> str:
    return "ready" if flag else "not ready"


def _row(cluster: CapiCluster, workers: Workers | None) -> ClusterRow:
    control_plane = _ready(cluster.control_plane_ready)
    if cluster.control_plane is not None:
        control_plane += f" {cluster.control_plane}"
    return ClusterRow(
        cluster=cluster.key,
        phase=cluster.phase,
        version=cluster.version or (workers.version if workers else None),
        control_plane=control_plane,
        infrastructure=_ready(cluster.infrastructure_ready),
        workers=str(workers.replicas) if workers else None,
        labels=",".join(f"{k}={v}" for k, v in sorted(cluster.labels.items()) if not k.startswith("cluster.x-k8s.io/"))
        or None,
    )


async def _visible_clusters(ctx: CallContext, namespace: str | None, selector: str | None) -> list[CapiCluster]:
    """The Clusters the caller may read, within the server's cluster policy."""
    api = (await ctx.cluster()).api
    objects = await _directory(ctx).read("Cluster", api=api, namespace=namespace, label_selector=selector)
    policy = ctx.settings.policy
    clusters = [parse_cluster(obj) for obj in objects]
    return sorted(
        (c for c in clusters if cluster_allowed(c.key, policy.allowed_clusters, policy.denied_clusters)),
        key=lambda c: c.key,
    )


async def _one(ctx: CallContext, asked: str) -> CapiCluster:
    """The one Cluster the caller may read that `asked` names (clusters/names.pick: exact, or a
    name only one namespace has)."""
    visible = {c.key: c for c in await _visible_clusters(ctx, None, None)}
    return visible[pick(asked, visible)]


async def list_clusters(args: ListInput, ctx: CallContext) -> ClusterList:
    clusters = await _visible_clusters(ctx, args.namespace, args.label_selector)
    if args.phase:
        clusters = [c for c in clusters if c.phase.lower() == args.phase.lower()]
    workers = await _directory(ctx).workers(api=(await ctx.cluster()).api, namespace=args.namespace)
    return ClusterList(items=[_row(c, workers.get(c.key)) for c in clusters])


async def get_cluster(args: NamedInput, ctx: CallContext) -> ClusterDetails:
    cluster = await _one(ctx, args.name)
    workers = (await _directory(ctx).workers(api=(await ctx.cluster()).api, namespace=cluster.namespace)).get(
        cluster.key
    )
    return ClusterDetails(
        cluster=cluster.key,
        api_version=cluster.api_version,
        phase=cluster.phase,
        version=cluster.version or (workers.version if workers else None),
        endpoint=cluster.endpoint,
        control_plane_ready=cluster.control_plane_ready,
        control_plane_machines=str(cluster.control_plane) if cluster.control_plane else None,
        infrastructure_ready=cluster.infrastructure_ready,
        workers=str(workers.replicas) if workers else None,
        identity=cluster.setting(IDENTITY_KEY),
        failure=cluster.failure,
        labels=cluster.labels or None,
        conditions=[
            ConditionRow(type=c.type, status=c.status, reason=c.reason or None, message=c.message or None)
            for c in cluster.conditions
        ],
    )


async def resolve_cluster(args: NamedInput, ctx: CallContext) -> Candidates:
    visible = [c.key for c in await _visible_clusters(ctx, None, None)]
    found = matching(args.name, visible)
    exact = any(n.lower() == args.name.lower() or n.rpartition("/")[2].lower() == args.name.lower() for n in found)
    return Candidates(asked=args.name, exact=exact, clusters=found)


async def cluster_health_check(args: NamedInput, ctx: CallContext) -> CapiHealth:
    cluster = await _one(ctx, args.name)
    problems = [f"{c.type}={c.status}" + (f": {c.reason}" if c.reason else "") for c in cluster.conditions if c.bad]
    health = CapiHealth(cluster=cluster.key, healthy=False, phase=cluster.phase, problems=problems)
    try:
        workload = await ctx.other_cluster(cluster.key)  # as the caller, like any call naming the cluster
        version, probes, nodes = await cluster_health(workload.api)
    except ToolError as exc:
        health.unreachable = str(exc)
        return health
    if all(p.error for p in probes):  # nothing answered: say why once
        health.unreachable = probes[0].error
        return health
    health.version, health.probes = version, probes
    health.nodes = nodes if isinstance(nodes, list) else None
    if isinstance(nodes, str):
        health.problems.append(f"nodes: {nodes}")
    node_problems = any(n.problems for n in health.nodes or [])
    health.healthy = not problems and all(p.ok for p in probes) and not node_problems
    return health


def _tool(name: str, description: str, input_model: type[ToolInput], output: type[ToolResult], handler: Any) -> AnyTool:
    return Tool(
        name=name,
        touches=CLUSTERS,
        description=description,
        input_model=input_model,
        output_model=output,
        annotations=READ_ONLY,
        category=Category.QUERY,
        handler=handler,
        cluster_provider="capi",
    )


TOOLS: list[AnyTool] = [
    _tool(
        "capi_list_clusters",
        "Cluster API workload clusters: phase, version, control plane, infrastructure, workers ready/desired.",
        ListInput,
        ClusterList,
        list_clusters,
    ),
    _tool(
        "capi_get_cluster",
        "One Cluster API cluster in detail, with its conditions.",
        NamedInput,
        ClusterDetails,
        get_cluster,
    ),
    _tool(
        "capi_resolve_cluster",
        "The exact cluster names a partial name matches.",
        NamedInput,
        Candidates,
        resolve_cluster,
    ),
    _tool(
        "capi_cluster_health",
        "A workload cluster's CAPI conditions plus its live readyz and nodes, as you.",
        NamedInput,
        CapiHealth,
        cluster_health_check,
    ),
]
