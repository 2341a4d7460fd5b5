"""k8s_list_events: what happened recently in a namespace, or to the objects of one kind or name."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from pydantic import Field

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.kube.events import MAX_SCANNED, EventQuery, list_events
from kubehelm_mcp.tooling import READ_ONLY, AnyTool, Category, Target, Tool, ToolInput, ToolResult, Touches
from kubehelm_mcp.toolsets.rendering import render_table
from kubehelm_mcp.validators import ObjectName


class EventsInput(ToolInput):
    all_namespaces: bool = Field(False, description="Events of every namespace.")
    kind: str | None = Field(None, description="e.g. Pod")
    name: ObjectName | None = Field(None, max_length=253)
    event_type: Literal["Normal", "Warning"] | None = Field(None, description="Warning shows only problems.")
    limit: int = Field(100, ge=1, le=1000)

    def target(self) -> Target:
        names = (self.name,) if self.name else ()
        found = replace(super().target(), kind=self.kind, names=names)
        return replace(found, all_namespaces=self.all_namespaces)


class EventList(ToolResult):
    namespace: str | None = None
    matched: int
    complete: bool = True
    # newest first, so that a result cut to the response budget keeps the most recent events
    items: list[dict[str, Any]] | None = None

    def to_text(self) -> str:
        where = f"namespace {self.namespace}" if self.namespace else "all namespaces"
        if self.items is None:
            body = ""
        elif not self.items:
            body = f"No events found ({where})."
        else:
            columns = ["last_seen", "type", "reason", "object", "message"]
            body = render_table(["namespace", *columns] if self.namespace is None else columns, self.items)
            if self.matched > len(self.items):
                body += f"\n({len(self.items)} newest of {self.matched} matching; raise limit or filter for more)"
            if not self.complete:
                body += f"\n(only {MAX_SCANNED} events were read from the server; filter to narrow)"
        return body


async def get_events(args: EventsInput, ctx: CallContext) -> EventList:
    cluster = await ctx.cluster()
    kind = (await cluster.discovery.resolve(args.kind)).kind if args.kind else None
    namespace = None if args.all_namespaces else await ctx.namespace()
    query = EventQuery(namespace=namespace, kind=kind, name=args.name, event_type=args.event_type)
    page = await list_events(cluster.api, query, newest=args.limit)
    items = list(reversed(page.rows))
    if namespace:
        items = [{k: v for k, v in row.items() if k != "namespace"} for row in items]
    return EventList(namespace=namespace, matched=page.matched, complete=page.complete, items=items)


TOOLS: list[AnyTool] = [
    Tool(
        name="k8s_list_events",
        touches=Touches(kinds=("events",), named=True),
        description="Recent events, newest first, filtered by kind, name or type.",
        input_model=EventsInput,
        output_model=EventList,
        annotations=READ_ONLY,
        category=Category.QUERY,
        handler=get_events,
    ),
]
