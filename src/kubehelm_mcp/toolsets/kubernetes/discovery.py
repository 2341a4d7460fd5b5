"""API discovery: the kinds this cluster serves."""

from __future__ import annotations

from pydantic import BaseModel, Field

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.tooling import NAMESPACE, READ_ONLY, AnyTool, Category, PagedResult, Tool, ToolInput
from kubehelm_mcp.toolsets.rendering import render_table


class ApiResourcesInput(ToolInput):
    api_group: str | None = Field(None, description="'' for core")
    namespaced: bool | None = None


class ApiResource(BaseModel):
    kind: str
    name: str
    api_version: str
    namespaced: bool
    short_names: list[str] = []
    verbs: list[str] = []


class ApiResourceList(PagedResult):
    items: list[ApiResource]

    def to_text(self) -> str:
        rows = [
            {
                "name": r.name,
                "shortnames": ",".join(r.short_names),
                "apiversion": r.api_version,
                "namespaced": str(r.namespaced).lower(),
                "kind": r.kind,
            }
            for r in self.items
        ]
        return render_table(["name", "shortnames", "apiversion", "namespaced", "kind"], rows)


async def api_resources(args: ApiResourcesInput, ctx: CallContext) -> ApiResourceList:
    cluster = await ctx.cluster()
    types = [t for t in await cluster.discovery.all(refresh=True) if t.preferred]
    if args.api_group is not None:
        types = [t for t in types if t.group == args.api_group]
    if args.namespaced is not None:
        types = [t for t in types if t.namespaced == args.namespaced]
    types.sort(key=lambda t: (t.group, t.plural))
    return ApiResourceList(
        items=[
            ApiResource(
                kind=t.kind,
                name=t.plural,
                api_version=t.api_version,
                namespaced=t.namespaced,
                short_names=list(t.short_names),
                verbs=list(t.verbs),
            )
            for t in types
        ]
    )


TOOLS: list[AnyTool] = [
    Tool(
        name="k8s_get_api_resources",
        touches=NAMESPACE,
        description="The kinds the cluster serves (kubectl api-resources).",
        input_model=ApiResourcesInput,
        output_model=ApiResourceList,
        annotations=READ_ONLY,
        category=Category.QUERY,
        handler=api_resources,
    ),
]
