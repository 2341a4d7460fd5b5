"""What a call touches: its namespaces and kinds, read from the validated arguments the way the
handlers read them, so the policy can decide on any tool without per-tool code.

A tool touches the cluster when it is open-world and a query or a mutation; chart and repo
tools, and local queries (contexts, port-forward lists, helm env), touch no namespace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.errors import NotFound
from kubehelm_mcp.kube.discovery import Discovery
from kubehelm_mcp.kube.manifests import parse_manifest
from kubehelm_mcp.tooling import AnyTool, Category


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


def touches_cluster(tool: AnyTool) -> bool:
    return tool.annotations.open_world and tool.category in (Category.QUERY, Category.MUTATE)


async def _kind(discovery: Discovery, kind: str, api_version: str | None) -> KindRef:
    try:
        rt = await discovery.resolve(kind, api_version)
    except NotFound:
        group = api_version.rpartition("/")[0] if api_version else ""
        lowered = kind.strip().lower()
        return KindRef(kind, frozenset({lowered, f"{lowered}.{group}"} if group else {lowered}), None)
    return KindRef(rt.kind, frozenset(rt.names()), rt.namespaced)


async def _manifest_scope(manifest: str, ctx: CallContext, scope: CallScope) -> None:
    discovery = (await ctx.cluster()).discovery
    for obj in parse_manifest(manifest):
        ref = await _kind(discovery, str(obj["kind"]), obj.get("apiVersion"))
        scope.kinds.append(ref)
        if ref.namespaced is not False:  # where kube/manifests.place() would put it
            scope.namespaces.add(str(obj["metadata"].get("namespace") or await ctx.namespace()))


async def call_scope(tool: AnyTool, args: Any, ctx: CallContext) -> CallScope:
    scope = CallScope()
    if not touches_cluster(tool):
        return scope
    manifest = getattr(args, "manifest", None)
    if isinstance(manifest, str):
        await _manifest_scope(manifest, ctx, scope)
        return scope
    kind = getattr(args, "kind", None)
    if isinstance(kind, str) and kind:
        scope.kinds.append(await _kind((await ctx.cluster()).discovery, kind, getattr(args, "api_version", None)))
    if scope.kinds and scope.kinds[0].namespaced is False:
        return scope  # a cluster-scoped kind ignores the namespace argument
    if getattr(args, "all_namespaces", False) is True:
        scope.all_namespaces = True
    else:
        scope.namespaces.add(await ctx.namespace())
    return scope
