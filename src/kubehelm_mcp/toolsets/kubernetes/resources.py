"""Reading objects of any kind, CRDs included: k8s_get_resource and k8s_list_resources."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.errors import NotFound
from kubehelm_mcp.kube.resources import DEFAULT_PAGE_SIZE, ListQuery, get_object, list_objects, list_rows
from kubehelm_mcp.paging import Cursor, decode_cursor, encode_cursor
from kubehelm_mcp.tooling import READ_ONLY, AnyTool, Category, PagedResult, Tool, ToolResult
from kubehelm_mcp.toolsets.kubernetes.common import (
    KindInput,
    Output,
    explain_not_found,
    render_objects,
    render_table,
    resolve_kind,
)


class GetInput(KindInput):
    name: str = Field(min_length=1, max_length=253, description="Object name.")
    output: Output = Field("yaml", description="yaml (default), json, or a one-line summary.")


class ListInput(KindInput):
    output: Output = Field("summary", description="summary (default, kubectl columns), yaml or json.")
    label_selector: str | None = Field(None, description="e.g. app=web,tier!=cache")
    field_selector: str | None = Field(None, description="e.g. status.phase=Running")
    all_namespaces: bool = Field(False, description="List across all namespaces.")
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=5000, description="Page size.")
    continue_token: str | None = Field(None, description="From a previous result, to get the next page.")


class ResourceResult(ToolResult):
    kind: str
    api_version: str
    name: str
    namespace: str | None = None
    output: Output
    object: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None

    def to_text(self) -> str:
        if self.summary is not None:
            return render_table(list(self.summary), [self.summary])
        return render_objects([self.object or {}], self.output)


class ResourceList(PagedResult):
    kind: str
    api_version: str
    namespace: str | None = None
    output: Output
    columns: list[str] | None = None
    items: list[dict[str, Any]]

    def to_text(self) -> str:
        where = f"namespace {self.namespace}" if self.namespace else "all namespaces"
        if not self.items:
            body = f"No {self.kind} objects found ({where})."
        elif self.output == "summary":
            body = render_table(self.columns or list(self.items[0]), self.items)
        else:
            body = (
                render_objects(self.items, self.output)
                if self.output == "yaml"
                else render_objects([{"items": self.items}], "json")
            )
        footer = [line for line in (self.truncated_note,) if line]
        if self.continue_token:
            footer.append(f"continue_token: {self.continue_token}")
        if self.remaining_item_count:
            footer.append(f"{self.remaining_item_count} more item(s) on the server after this page.")
        return "\n".join([body, *footer])


async def get_resource(args: GetInput, ctx: CallContext) -> ResourceResult:
    cluster, rt = await resolve_kind(args, ctx)
    namespace = await ctx.namespace() if rt.namespaced else None
    try:
        if args.output == "summary":
            query = ListQuery(namespace=namespace, field_selector=f"metadata.name={args.name}", limit=1)
            page = await list_rows(cluster.api, rt, query)
            if not page.items:
                raise NotFound(
                    f"{rt.kind} '{args.name}' was not found" + (f" in namespace '{namespace}'." if namespace else ".")
                )
            summary, obj = page.items[0], None
        else:
            summary, obj = None, await get_object(cluster.api, rt, args.name, namespace)
    except NotFound as error:
        raise await explain_not_found(cluster, rt, namespace, error) from None
    return ResourceResult(
        kind=rt.kind,
        api_version=rt.api_version,
        name=args.name,
        namespace=namespace,
        output=args.output,
        object=obj,
        summary=summary,
    )


async def list_resources(args: ListInput, ctx: CallContext) -> ResourceList:
    cluster, rt = await resolve_kind(args, ctx)
    namespace = None if args.all_namespaces or not rt.namespaced else await ctx.namespace()
    cursor = decode_cursor(args.continue_token)
    query = ListQuery(
        namespace=namespace,
        label_selector=args.label_selector,
        field_selector=args.field_selector,
        limit=args.limit,
        continue_token=cursor.api_token,
    )
    lister = list_rows if args.output == "summary" else list_objects
    try:
        page = await lister(cluster.api, rt, query)
    except NotFound as error:
        raise await explain_not_found(cluster, rt, namespace, error) from None
    next_token = encode_cursor(Cursor(page.next_token, 0)) if page.next_token else None
    return ResourceList(
        kind=rt.kind,
        api_version=rt.api_version,
        namespace=namespace,
        output=args.output,
        columns=page.columns or None,
        items=page.items[cursor.skip :],
        continue_token=next_token,
        remaining_item_count=page.remaining,
        page_token=cursor.api_token,
        page_skip=cursor.skip,
    )


TOOLS: list[AnyTool] = [
    Tool(
        name="k8s_get_resource",
        description="Get one object of any kind (CRDs too) as YAML, JSON or a summary row.",
        input_model=GetInput,
        output_model=ResourceResult,
        annotations=READ_ONLY,
        category=Category.QUERY,
        handler=get_resource,
    ),
    Tool(
        name="k8s_list_resources",
        description="List objects of any kind with kubectl's columns; selectors, paging, all namespaces.",
        input_model=ListInput,
        output_model=ResourceList,
        annotations=READ_ONLY,
        category=Category.QUERY,
        handler=list_resources,
    ),
]
