"""Cluster-wide views: health, access checks and resource usage (top)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.kube.access import AccessQuery, Someone, can_i
from kubehelm_mcp.kube.health import NodeHealth, Probe, cluster_health
from kubehelm_mcp.kube.top import read_metrics, usage
from kubehelm_mcp.kube.whoami import named, who_am_i
from kubehelm_mcp.tooling import (
    NAMESPACE,
    READ_ONLY,
    AnyTool,
    Category,
    FleetInput,
    PagedResult,
    Target,
    Tool,
    ToolInput,
    ToolResult,
    Touches,
)
from kubehelm_mcp.toolsets.rendering import render_table
from kubehelm_mcp.validators import ObjectName


class ClusterHealth(ToolResult):
    healthy: bool
    version: str | None = None
    probes: list[Probe]
    nodes: list[NodeHealth] | None = None
    nodes_error: str | None = None

    def to_text(self) -> str:
        lines = [f"Cluster {'healthy' if self.healthy else 'UNHEALTHY'} (server {self.version or 'version unknown'})"]
        for p in self.probes:
            state = p.error or (f"ok ({p.checks} checks)" if p.ok else f"FAILED: {', '.join(p.failed) or 'not ok'}")
            lines.append(f"{p.endpoint}: {state}")
        if self.nodes_error:
            lines.append(f"nodes: {self.nodes_error}")
        elif self.nodes is not None:
            ready = sum(n.ready for n in self.nodes)
            lines.append(f"nodes: {ready}/{len(self.nodes)} Ready")
            lines += [f"  {n.name}: {', '.join(n.problems) or 'Ready'} ({n.kubelet_version})" for n in self.nodes]
        return "\n".join(lines)


async def get_cluster_health(args: FleetInput, ctx: CallContext) -> ClusterHealth:
    version, probes, nodes = await cluster_health((await ctx.cluster()).api)
    node_list = nodes if isinstance(nodes, list) else None
    healthy = all(p.ok for p in probes) and node_list is not None and all(not n.problems for n in node_list)
    return ClusterHealth(
        healthy=healthy,
        version=version,
        probes=probes,
        nodes=node_list,
        nodes_error=nodes if isinstance(nodes, str) else None,
    )


# namespace/name, namespace:name or system:serviceaccount:namespace:name; a bare name is in the call's namespace
_SERVICE_ACCOUNT = re.compile(
    r"(?:system:serviceaccount:)?(?:(?P<ns>[a-z0-9]([-a-z0-9]*[a-z0-9])?)[/:])?(?P<name>[a-z0-9]([-.a-z0-9]*[a-z0-9])?)"
)


class CanIInput(ToolInput):
    verb: str = Field(
        min_length=1, max_length=64, pattern=r"^([a-z]+|\*)$", description="e.g. get, list, create, delete, *."
    )
    resource: str = Field(min_length=1, max_length=253, description="e.g. pods, jobs.batch")
    name: ObjectName | None = Field(None, max_length=253, description="One object's name.")
    subresource: str | None = Field(None, max_length=64, description="e.g. log, exec, scale.")
    user: str | None = Field(None, min_length=1, max_length=253, description="Check this user, not yourself.")
    groups: list[Annotated[str, Field(min_length=1, max_length=253)]] = Field(
        default_factory=list, max_length=32, description="Check with these groups."
    )
    service_account: str | None = Field(None, max_length=253, description="namespace/name")

    @field_validator("service_account")
    @classmethod
    def _account(cls, value: str | None) -> str | None:
        if value is not None and not _SERVICE_ACCOUNT.fullmatch(value):
            raise ValueError("must be namespace/name (or a name in the call's namespace)")
        return value

    @model_validator(mode="after")
    def _one_subject(self) -> CanIInput:
        if self.user and self.service_account:
            raise ValueError("pass user or service_account, not both")
        return self

    def someone(self, namespace: str) -> Someone | None:
        """Whom to check: None for the caller's own identity."""
        if self.service_account:
            found = _SERVICE_ACCOUNT.fullmatch(self.service_account)
            assert found is not None  # checked by _account
            return Someone.service_account(found["ns"] or namespace, found["name"], tuple(self.groups))
        if self.user or self.groups:
            return Someone.person(self.user, tuple(self.groups))
        return None


class AccessResult(ToolResult):
    allowed: bool
    identity: str  # who was checked
    verb: str
    resource: str
    namespace: str | None = None
    reason: str | None = None

    def to_text(self) -> str:
        where = f" in namespace {self.namespace}" if self.namespace else " (cluster-wide)"
        reason = f": {self.reason}" if self.reason else ""
        return f"{'yes' if self.allowed else 'no'} - {self.verb} {self.resource}{where}, as {self.identity}{reason}"


async def check_access(args: CanIInput, ctx: CallContext) -> AccessResult:
    cluster, namespace = await ctx.cluster(), await ctx.namespace()
    query = AccessQuery(args.verb, args.resource, args.name, args.subresource, namespace)
    asker = await who_am_i(cluster, ctx.target)
    someone = args.someone(namespace)
    answer = await can_i(cluster, query, someone, asker)
    identity = asker if someone is None else named(someone.user, someone.groups)
    resource = f"{answer.resource}.{answer.group}" if answer.group and answer.group != "*" else answer.resource
    resource += f"/{args.subresource}" if args.subresource else ""
    resource += f" '{args.name}'" if args.name else ""
    return AccessResult(
        allowed=answer.allowed,
        identity=identity,
        verb=args.verb,
        resource=resource,
        namespace=answer.namespace,
        reason=answer.reason,
    )


class TopPodsInput(ToolInput):
    all_namespaces: bool = Field(False, description="All namespaces.")

    def target(self) -> Target:
        return replace(super().target(), all_namespaces=self.all_namespaces)


class Usage(PagedResult):
    items: list[dict[str, Any]]

    def to_text(self) -> str:
        if not self.items:
            return "No usage reported."
        return render_table(list(self.items[0]), self.items)


def _by_cpu(rows: list[dict[str, Any]]) -> Usage:
    return Usage(items=sorted(rows, key=lambda r: r["cpu_m"], reverse=True))


async def top_pods(args: TopPodsInput, ctx: CallContext) -> Usage:
    namespace = None if args.all_namespaces else await ctx.namespace()
    items = await read_metrics(await ctx.cluster(), "pods", namespace)
    rows = []
    for item in items:
        cpu, memory = usage(item.get("containers") or [])
        meta = item.get("metadata", {})
        rows.append({"namespace": meta.get("namespace"), "name": meta.get("name"), "cpu_m": cpu, "memory_mi": memory})
    return _by_cpu(rows)


async def top_nodes(args: ToolInput, ctx: CallContext) -> Usage:
    items = await read_metrics(await ctx.cluster(), "nodes", None)
    rows = []
    for item in items:
        cpu, memory = usage([item])
        rows.append({"name": item.get("metadata", {}).get("name"), "cpu_m": cpu, "memory_mi": memory})
    return _by_cpu(rows)


TOOLS: list[AnyTool] = [
    Tool(
        name="k8s_get_cluster_health",
        touches=Touches(kinds=("nodes",), namespaced=False),
        description="Cluster health: apiserver checks, node conditions, version.",
        input_model=FleetInput,
        output_model=ClusterHealth,
        annotations=READ_ONLY,
        category=Category.QUERY,
        handler=get_cluster_health,
    ),
    Tool(
        name="k8s_can_i",
        touches=NAMESPACE,
        description=(
            "kubectl auth can-i: may you (named in the answer), or a given user, groups or ServiceAccount, do a verb?"
        ),
        input_model=CanIInput,
        output_model=AccessResult,
        annotations=READ_ONLY,
        category=Category.QUERY,
        handler=check_access,
    ),
    Tool(
        name="k8s_top_pods",
        touches=Touches(kinds=("pods",)),
        description="CPU (millicores) and memory (MiB) per pod.",
        input_model=TopPodsInput,
        output_model=Usage,
        annotations=READ_ONLY,
        category=Category.QUERY,
        handler=top_pods,
    ),
    Tool(
        name="k8s_top_nodes",
        touches=Touches(kinds=("nodes",), namespaced=False),
        description="CPU (millicores) and memory (MiB) per node.",
        input_model=ToolInput,
        output_model=Usage,
        annotations=READ_ONLY,
        category=Category.QUERY,
        handler=top_nodes,
    ),
]
