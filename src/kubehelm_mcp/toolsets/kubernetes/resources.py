"""Reading objects of any kind, CRDs included: k8s_get_resource and k8s_list_resources."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from pydantic import Field

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.errors import NotFound
from kubehelm_mcp.kube.paths import Segment, column_text, parse_path, pick
from kubehelm_mcp.kube.resources import DEFAULT_PAGE_SIZE, ListQuery, get_object, list_objects, list_rows
from kubehelm_mcp.paging import Cursor, decode_cursor, encode_cursor
from kubehelm_mcp.tooling import (
    OBJECTS,
    READ_ONLY,
    AnyTool,
    Category,
    FleetInput,
    PagedResult,
    Resumable,
    Target,
    Tool,
    ToolResult,
)
from kubehelm_mcp.toolsets.kubernetes.common import (
    KindInput,
    Output,
    explain_not_found,
    render_objects,
    resolve_kind,
)
from kubehelm_mcp.toolsets.rendering import render_table
from kubehelm_mcp.validators import FieldSelector, LabelSelector, ObjectName

FieldPaths = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=300)]] | None,
    Field(max_length=30, description="e.g. spec.containers[0].image"),
]
# Kept in every picked object: it says what the object is (and lets Secrets be recognised and redacted).
IDENTITY = [parse_path(p) for p in ("apiVersion", "kind", "metadata.name", "metadata.namespace")]
PICKED = "picked"  # the key of a summary row's picked object


class GetInput(Resumable, KindInput):
    name: ObjectName = Field(min_length=1, max_length=253)
    output: Output = Field("yaml", description="summary: one kubectl row")
    fields: FieldPaths = None

    def target(self) -> Target:
        return replace(super().target(), names=(self.name,))


class ListInput(Resumable, FleetInput, KindInput):
    output: Output = Field("summary", description="summary: kubectl columns")
    label_selector: LabelSelector | None = Field(None, description="e.g. app=web,tier!=cache")
    field_selector: FieldSelector | None = Field(None, description="e.g. status.phase=Running")
    all_namespaces: bool = False
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=5000)
    fields: FieldPaths = None

    def target(self) -> Target:
        return replace(super().target(), all_namespaces=self.all_namespaces)


def _parse_fields(fields: list[str] | None) -> list[tuple[Segment, ...]]:
    return [parse_path(text) for text in fields or []]


def _picked(obj: dict[str, Any], paths: list[tuple[Segment, ...]], rt_kind: str, api_version: str) -> dict[str, Any]:
    obj = {"apiVersion": api_version, "kind": rt_kind, **obj}  # Table row objects may lack them
    return pick(obj, [*IDENTITY, *paths])


def _summary_table(columns: list[str], rows: list[dict[str, Any]], fields: list[str] | None) -> str:
    """kubectl's columns, then one per field path, read from each row's picked object."""
    return render_table(*_summary_rows(columns, rows, fields))


def _summary_rows(
    columns: list[str], rows: list[dict[str, Any]], fields: list[str] | None
) -> tuple[list[str], list[dict[str, Any]]]:
    paths = _parse_fields(fields)
    cells = [
        {
            **row,
            **{text: column_text(row.get(PICKED) or {}, path) for text, path in zip(fields or [], paths, strict=True)},
        }
        for row in rows
    ]
    return [*columns, *(fields or [])], cells


class ResourceResult(ToolResult):
    kind: str
    api_version: str
    name: str
    namespace: str | None = None
    output: Output
    object: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    fields: list[str] | None = None

    def to_text(self) -> str:
        if self.summary is not None:
            return _summary_table([c for c in self.summary if c != PICKED], [self.summary], self.fields)
        return render_objects([self.object or {}], self.output)


class ResourceList(PagedResult):
    kind: str
    api_version: str
    namespace: str | None = None
    output: Output
    columns: list[str] | None = None
    fields: list[str] | None = None
    items: list[dict[str, Any]]

    def table(self) -> tuple[list[str], list[dict[str, Any]]] | None:
        if self.output != "summary":
            return None
        columns = self.columns or ([c for c in self.items[0] if c != PICKED] if self.items else [])
        columns, rows = _summary_rows(columns, self.items, self.fields)
        return columns, [{k: v for k, v in row.items() if k != PICKED} for row in rows]

    def to_text(self) -> str:
        where = f"namespace {self.namespace}" if self.namespace else "all namespaces"
        if not self.items:
            body = f"No {self.kind} objects found ({where})."
        elif self.output == "summary":
            columns = self.columns or [c for c in self.items[0] if c != PICKED]
            body = _summary_table(columns, self.items, self.fields)
        else:
            body = (
                render_objects(self.items, self.output)
                if self.output == "yaml"
                else render_objects([{"items": self.items}], "json")
            )
        if self.remaining_item_count:
            return f"{body}\n{self.remaining_item_count} more item(s) on the server after this page."
        return body


async def get_resource(args: GetInput, ctx: CallContext) -> ResourceResult:
    paths = _parse_fields(args.fields)
    cluster, rt = await resolve_kind(args, ctx)
    namespace = await ctx.namespace() if rt.namespaced else None
    try:
        if args.output == "summary":
            query = ListQuery(namespace=namespace, field_selector=f"metadata.name={args.name}", limit=1)
            page = await list_rows(cluster.api, rt, query, full_objects=bool(paths))
            if not page.items:
                raise NotFound(
                    f"{rt.kind} '{args.name}' was not found" + (f" in namespace '{namespace}'." if namespace else ".")
                )
            summary, obj = page.items[0], None
            if paths:
                summary[PICKED] = _picked(page.objects[0], paths, rt.kind, rt.api_version)
        else:
            summary, obj = None, await get_object(cluster.api, rt, args.name, namespace, may_watch=True)
            if paths:
                obj = _picked(obj, paths, rt.kind, rt.api_version)
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
        fields=args.fields,
    )


async def list_resources(args: ListInput, ctx: CallContext) -> ResourceList:
    paths = _parse_fields(args.fields)
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
    try:
        if args.output == "summary":
            page = await list_rows(cluster.api, rt, query, full_objects=bool(paths))
            if paths:
                for row, obj in zip(page.items, page.objects, strict=True):
                    row[PICKED] = _picked(obj, paths, rt.kind, rt.api_version)
        else:
            page = await list_objects(cluster.api, rt, query)
            if paths:
                page.items = [_picked(obj, paths, rt.kind, rt.api_version) for obj in page.items]
    except NotFound as error:
        raise await explain_not_found(cluster, rt, namespace, error) from None
    next_token = encode_cursor(Cursor(page.next_token, 0)) if page.next_token else None
    return ResourceList(
        kind=rt.kind,
        api_version=rt.api_version,
        namespace=namespace,
        output=args.output,
        columns=page.columns or None,
        fields=args.fields,
        items=page.items[cursor.skip :],
        continue_token=next_token,
        remaining_item_count=page.remaining,
        page_token=cursor.api_token,
        page_skip=cursor.skip,
    )


TOOLS: list[AnyTool] = [
    Tool(
        name="k8s_get_resource",
        touches=OBJECTS,
        description="Get one object of any kind (CRDs too) as YAML, JSON or a summary row.",
        input_model=GetInput,
        output_model=ResourceResult,
        annotations=READ_ONLY,
        category=Category.QUERY,
        handler=get_resource,
    ),
    Tool(
        name="k8s_list_resources",
        touches=OBJECTS,
        description="List objects of any kind (CRDs too) with kubectl's columns.",
        input_model=ListInput,
        output_model=ResourceList,
        annotations=READ_ONLY,
        category=Category.QUERY,
        handler=list_resources,
    ),
]
