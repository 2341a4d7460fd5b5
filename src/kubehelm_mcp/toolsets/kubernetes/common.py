"""Inputs and rendering shared by the resource tools."""

from __future__ import annotations

import json
from typing import Any, Literal

import yaml
from pydantic import Field

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.errors import NotFound
from kubehelm_mcp.kube.clients import KubeCluster
from kubehelm_mcp.kube.discovery import ResourceType
from kubehelm_mcp.tooling import ToolInput

Output = Literal["summary", "yaml", "json"]


class KindInput(ToolInput):
    kind: str = Field(
        min_length=1, max_length=253, description="Kind, plural or short name, e.g. Deployment, pods, cm."
    )
    api_version: str | None = Field(None, description="group/version to disambiguate, e.g. apps/v1.")


async def resolve_kind(args: KindInput, ctx: CallContext) -> tuple[KubeCluster, ResourceType]:
    cluster = await ctx.cluster()
    return cluster, await cluster.discovery.resolve(args.kind, args.api_version)


async def explain_not_found(cluster: KubeCluster, rt: ResourceType, namespace: str | None, error: NotFound) -> NotFound:
    """A 404 for a namespaced object is often a missing namespace: say which."""
    if rt.namespaced and namespace:
        try:
            await cluster.api.request("GET", f"/api/v1/namespaces/{namespace}", what=f"Namespace '{namespace}'")
        except NotFound:
            return NotFound(f"Namespace '{namespace}' does not exist.")
    return error


def render_objects(objects: list[dict[str, Any]], output: Output) -> str:
    if output == "json":
        return json.dumps(objects[0] if len(objects) == 1 else objects, separators=(",", ":"))
    return yaml.safe_dump_all(objects, sort_keys=False, default_flow_style=False, width=120).strip()


def render_table(columns: list[str], rows: list[dict[str, Any]]) -> str:
    """kubectl-style aligned columns."""
    header = [c.upper() for c in columns]
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)]
    lines = ["   ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in [header, *cells]]
    return "\n".join(lines)
