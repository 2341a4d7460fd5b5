"""Changing objects: k8s_scale_resource and k8s_delete_resource."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.kube.mutations import Propagation, delete_object, scale_object
from kubehelm_mcp.tooling import Annotations, AnyTool, Category, Tool, ToolResult
from kubehelm_mcp.toolsets.kubernetes.common import KindInput, resolve_kind


class NamedInput(KindInput):
    name: str = Field(min_length=1, max_length=253, description="Object name.")


class ScaleInput(NamedInput):
    replicas: int = Field(ge=0, le=100000, description="Desired replica count.")


class DeleteInput(NamedInput):
    propagation_policy: Propagation | None = Field(None, description="Foreground, Background or Orphan.")
    grace_period_seconds: int | None = Field(None, ge=0, le=86400, description="Seconds before a forced stop.")


class ChangeResult(ToolResult):
    kind: str
    name: str
    namespace: str | None = None
    action: str
    detail: dict[str, Any] | None = None

    def to_text(self) -> str:
        where = f" in namespace {self.namespace}" if self.namespace else ""
        return f"{self.kind} {self.name}{where}: {self.action}."


async def scale_resource(args: ScaleInput, ctx: CallContext) -> ChangeResult:
    cluster, rt = await resolve_kind(args, ctx)
    namespace = await ctx.namespace() if rt.namespaced else None
    scale = await scale_object(cluster.api, rt, args.name, namespace, args.replicas)
    status = scale.get("status") or {}
    return ChangeResult(
        kind=rt.kind,
        name=args.name,
        namespace=namespace,
        action=f"scaled to {args.replicas} replica(s) (currently {status.get('replicas', 0)})",
        detail={"spec": scale.get("spec"), "status": status},
    )


async def delete_resource(args: DeleteInput, ctx: CallContext) -> ChangeResult:
    cluster, rt = await resolve_kind(args, ctx)
    namespace = await ctx.namespace() if rt.namespaced else None
    await delete_object(
        cluster.api,
        rt,
        args.name,
        namespace,
        propagation=args.propagation_policy,
        grace_period_seconds=args.grace_period_seconds,
    )
    return ChangeResult(kind=rt.kind, name=args.name, namespace=namespace, action="deletion requested")


TOOLS: list[AnyTool] = [
    Tool(
        name="k8s_scale_resource",
        description="Set the replica count of a Deployment, StatefulSet, ReplicaSet or any kind with /scale.",
        input_model=ScaleInput,
        output_model=ChangeResult,
        annotations=Annotations(read_only=False, idempotent=True),
        category=Category.MUTATE,
        handler=scale_resource,
    ),
    Tool(
        name="k8s_delete_resource",
        description="Delete one object of any kind.",
        input_model=DeleteInput,
        output_model=ChangeResult,
        annotations=Annotations(read_only=False, destructive=True, idempotent=True),
        category=Category.MUTATE,
        handler=delete_resource,
    ),
]
