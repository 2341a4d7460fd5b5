"""Changing objects: k8s_patch_resource, k8s_scale_resource and k8s_delete_resource."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydantic import Field

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.errors import InvalidInput, NotFound, UnsupportedMediaType
from kubehelm_mcp.kube.manifests import load_yaml
from kubehelm_mcp.kube.mutations import PatchType, Propagation, delete_object, patch_object, scale_object
from kubehelm_mcp.kube.resources import get_object
from kubehelm_mcp.tooling import (
    DESTRUCTIVE_IDEMPOTENT,
    OBJECTS,
    WRITES,
    WRITES_IDEMPOTENT,
    AnyTool,
    Category,
    Target,
    Tool,
    ToolResult,
)
from kubehelm_mcp.toolsets.kubernetes.common import (
    ChangeSet,
    KindInput,
    ObjectChange,
    comparable,
    explain_not_found,
    resolve_kind,
)
from kubehelm_mcp.validators import ObjectName


class NamedInput(KindInput):
    name: ObjectName = Field(min_length=1, max_length=253)

    def target(self) -> Target:
        return replace(super().target(), names=(self.name,))


class ScaleInput(NamedInput):
    replicas: int = Field(ge=0, le=100000)
    dry_run: bool = Field(False, description="Server dry run; change nothing.")


class DeleteInput(NamedInput):
    propagation_policy: Propagation | None = None
    grace_period_seconds: int | None = Field(None, ge=0, le=86400)
    dry_run: bool = Field(False, description="Server dry run; delete nothing.")


class PatchInput(NamedInput):
    patch: dict[str, Any] | list[dict[str, Any]] | str = Field(
        description="Object (strategic, merge) or operation list (json); or as YAML/JSON text."
    )
    patch_type: PatchType | None = Field(None, description="Default: strategic (merge for custom resources).")
    dry_run: bool = Field(False, description="Preview the diff only")


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
    scale = await scale_object(cluster.api, rt, args.name, namespace, args.replicas, dry_run=args.dry_run)
    status = scale.get("status") or {}
    preview = " (dry run, nothing changed)" if args.dry_run else ""
    return ChangeResult(
        kind=rt.kind,
        name=args.name,
        namespace=namespace,
        action=f"scaled to {args.replicas} replica(s) (currently {status.get('replicas', 0)}){preview}",
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
        dry_run=args.dry_run,
    )
    action = "deletion would succeed (dry run, nothing deleted)" if args.dry_run else "deletion requested"
    return ChangeResult(kind=rt.kind, name=args.name, namespace=namespace, action=action)


def _patch_body(patch: dict[str, Any] | list[dict[str, Any]] | str) -> Any:
    if not isinstance(patch, str):
        return patch
    docs = load_yaml(patch, "patch")
    if len(docs) != 1:
        raise InvalidInput("The patch must be exactly one YAML or JSON document.")
    return docs[0]


async def patch_resource(args: PatchInput, ctx: CallContext) -> ChangeSet:
    cluster, rt = await resolve_kind(args, ctx)
    namespace = await ctx.namespace() if rt.namespaced else None
    body = _patch_body(args.patch)
    try:
        before = await get_object(cluster.api, rt, args.name, namespace)
    except NotFound as error:
        raise await explain_not_found(cluster, rt, namespace, error) from None
    patch_type: PatchType = args.patch_type or ("json" if isinstance(body, list) else "strategic")
    try:
        after = await patch_object(cluster.api, rt, args.name, namespace, body, patch_type, dry_run=args.dry_run)
    except UnsupportedMediaType:
        if args.patch_type is not None or patch_type != "strategic":
            raise UnsupportedMediaType(
                f"{rt.kind} objects do not take {patch_type} patches.",
                hint="Custom resources take patch_type merge or json.",
            ) from None
        # Like kubectl: custom resources have no strategic merge, so the default falls back to merge.
        after = await patch_object(cluster.api, rt, args.name, namespace, body, "merge", dry_run=args.dry_run)
    unchanged = comparable(before) == comparable(after)
    change = ObjectChange(
        kind=rt.kind,
        api_version=rt.api_version,
        name=args.name,
        namespace=namespace,
        action="unchanged" if unchanged else "patched",
    )
    states = None if unchanged else [{"index": 0, "before": before, "after": after}]
    return ChangeSet(dry_run=args.dry_run, items=[change], states=states)


TOOLS: list[AnyTool] = [
    Tool(
        name="k8s_patch_resource",
        touches=OBJECTS,
        description="Patch one object (strategic, merge or json patch); shows the diff.",
        input_model=PatchInput,
        output_model=ChangeSet,
        annotations=WRITES,
        category=Category.MUTATE,
        handler=patch_resource,
    ),
    Tool(
        name="k8s_scale_resource",
        touches=OBJECTS,
        description="Set the replica count of any kind with /scale.",
        input_model=ScaleInput,
        output_model=ChangeResult,
        annotations=WRITES_IDEMPOTENT,
        category=Category.MUTATE,
        handler=scale_resource,
    ),
    Tool(
        name="k8s_delete_resource",
        touches=OBJECTS,
        description="Delete one object of any kind.",
        input_model=DeleteInput,
        output_model=ChangeResult,
        annotations=DESTRUCTIVE_IDEMPOTENT,
        category=Category.MUTATE,
        handler=delete_resource,
    ),
]
