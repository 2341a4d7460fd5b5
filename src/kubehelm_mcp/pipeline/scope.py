"""What a call touches: its namespaces and kinds, from what its tool declares (`Tool.touches`)
and what its input names (`ToolInput.target()`), so the policy decides on any tool without
per-tool code and without guessing from field names.

Only tools that reach a cluster declare `touches` (tooling.touches_cluster); chart, repo and
local tools touch no namespace.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.errors import NotFound
from kubehelm_mcp.kube.discovery import Discovery
from kubehelm_mcp.kube.manifests import parse_manifest
from kubehelm_mcp.tooling import AnyTool, ToolInput


@dataclass(frozen=True)
class KindRef:
    """A kind as the cluster serves it; `namespaced` is None for a kind discovery does not know
    (yet: a manifest may create its CRD first)."""

    kind: str
    names: frozenset[str]
    namespaced: bool | None


@dataclass
class CallScope:
    namespaces: set[str] = field(default_factory=set)
    all_namespaces: bool = False
    kinds: list[KindRef] = field(default_factory=list)


async def _kind(discovery: Discovery, kind: str, api_version: str | None) -> KindRef:
    try:
        rt = await discovery.resolve(kind, api_version)
    except NotFound:
        group = api_version.rpartition("/")[0] if api_version else ""
        lowered = kind.strip().lower()
        return KindRef(kind, frozenset({lowered, f"{lowered}.{group}"} if group else {lowered}), None)
    return KindRef(rt.kind, rt.names, rt.namespaced)


async def _manifest_scope(manifest: str, ctx: CallContext, scope: CallScope) -> None:
    discovery = (await ctx.cluster()).discovery
    for obj in parse_manifest(manifest):
        ref = await _kind(discovery, str(obj["kind"]), obj.get("apiVersion"))
        scope.kinds.append(ref)
        if ref.namespaced is not False:  # where kube/manifests.place() would put it
            scope.namespaces.add(str(obj["metadata"].get("namespace") or await ctx.namespace()))


async def _declared_kind(discovery: Discovery, declared: str) -> KindRef:
    """`pods`, or a subresource `pods/exec`: denied by its own name and by any of its resource's."""
    resource, _, sub = declared.partition("/")
    ref = await _kind(discovery, resource, None)
    if not sub:
        return ref
    return KindRef(declared, ref.names | {f"{name}/{sub}" for name in ref.names}, ref.namespaced)


async def call_scope(tool: AnyTool, args: ToolInput, ctx: CallContext) -> CallScope:
    scope = CallScope()
    touches = tool.touches
    if touches is None:
        return scope
    target = args.target()
    if touches.named and target.manifest is not None:
        await _manifest_scope(target.manifest, ctx, scope)
        return scope
    if touches.kinds or (touches.named and target.kind):
        discovery = (await ctx.cluster()).discovery
        scope.kinds.extend([await _declared_kind(discovery, kind) for kind in touches.kinds])
        if touches.named and target.kind:
            scope.kinds.append(await _kind(discovery, target.kind, target.api_version))
    if not touches.namespaced or (scope.kinds and all(ref.namespaced is False for ref in scope.kinds)):
        return scope  # cluster-scoped kinds ignore the namespace argument
    if target.all_namespaces:
        scope.all_namespaces = True
    else:
        scope.namespaces.add(await ctx.namespace())
    return scope
