"""k8s_describe_resource: one object of any kind in kubectl describe's spirit, with its events."""

from __future__ import annotations

import datetime as dt
import textwrap
from dataclasses import replace
from typing import Any

from pydantic import Field

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.errors import Forbidden, NotFound
from kubehelm_mcp.kube.events import condense, object_events
from kubehelm_mcp.kube.resources import age, get_object
from kubehelm_mcp.tooling import OBJECTS, READ_ONLY, AnyTool, Category, Resumable, Target, Tool, ToolResult
from kubehelm_mcp.toolsets.kubernetes.common import KindInput, explain_not_found, resolve_kind
from kubehelm_mcp.toolsets.rendering import render_table
from kubehelm_mcp.validators import ObjectName
from kubehelm_mcp.yamltext import dump_yaml

MAX_ANNOTATION_CHARS = 200
MAX_EVENTS = 30  # distinct events shown
EVENTS_READ = 300  # newest events read, before repeats and routine ones are folded away
EVENT_COLUMNS = ["type", "reason", "last_seen", "from", "message"]
_EVENT_FIELDS = frozenset([*EVENT_COLUMNS, "count", "time"])


class DescribeInput(Resumable, KindInput):
    name: ObjectName = Field(min_length=1, max_length=253, description="Object name.")

    def target(self) -> Target:
        return replace(super().target(), names=(self.name,))


class DescribeResult(ToolResult):
    kind: str
    api_version: str
    name: str
    namespace: str | None = None
    object: dict[str, Any] | None = None
    events: list[dict[str, Any]] | None = None
    events_omitted: int = 0
    events_error: str | None = None

    def to_text(self) -> str:
        obj = self.object or {}
        meta = obj.get("metadata") or {}
        lines = [f"Name:         {self.name}"]
        if self.namespace:
            lines.append(f"Namespace:    {self.namespace}")
        lines.append(f"Kind:         {self.kind} ({self.api_version})")
        created = meta.get("creationTimestamp")
        if created:
            lines.append(f"Created:      {created} ({age(created, dt.datetime.now(dt.UTC))} ago)")
        if meta.get("deletionTimestamp"):
            lines.append(f"Deleting:     since {meta['deletionTimestamp']}")
        lines.append(f"Labels:       {_pairs(meta.get('labels'))}")
        lines.append(f"Annotations:  {_pairs(meta.get('annotations'), MAX_ANNOTATION_CHARS)}")
        owners = [
            f"{o.get('kind')}/{o.get('name')}" + (" (controller)" if o.get("controller") else "")
            for o in meta.get("ownerReferences") or []
        ]
        if owners:
            lines.append(f"Owned by:     {', '.join(owners)}")
        if meta.get("finalizers"):
            lines.append(f"Finalizers:   {', '.join(meta['finalizers'])}")
        for key, value in obj.items():
            if key in ("apiVersion", "kind", "metadata"):
                continue
            rendered = dump_yaml(value)
            if isinstance(value, dict | list) and value:
                lines.append(f"{key[:1].upper()}{key[1:]}:\n{textwrap.indent(rendered, '  ')}")
            else:
                lines.append(f"{key[:1].upper()}{key[1:]}: {rendered.removesuffix('...').strip()}")
        if self.events_error:
            lines.append(f"Events:       not shown: {self.events_error}")
        elif self.events is None:
            pass  # dropped to fit the response budget
        elif self.events:
            table = textwrap.indent(render_table(EVENT_COLUMNS, self.events), "  ")
            older = f"\n  ({self.events_omitted} older event(s) not shown)" if self.events_omitted else ""
            lines.append(f"Events:\n{table}{older}")
        else:
            lines.append("Events:       <none>")
        return "\n".join(lines)


def _pairs(mapping: dict[str, Any] | None, limit: int | None = None) -> str:
    if not mapping:
        return "<none>"
    shown = []
    for key, value in mapping.items():
        text = str(value)
        if limit and len(text) > limit:
            text = f"{text[:limit]}... ({len(text)} chars)"
        shown.append(f"{key}={text}")
    return ", ".join(shown)


async def describe_resource(args: DescribeInput, ctx: CallContext) -> DescribeResult:
    cluster, rt = await resolve_kind(args, ctx)
    namespace = await ctx.namespace() if rt.namespaced else None
    try:
        obj = await get_object(cluster.api, rt, args.name, namespace, may_watch=True)
    except NotFound as error:
        raise await explain_not_found(cluster, rt, namespace, error) from None
    events: list[dict[str, Any]] = []
    omitted, events_error = 0, None
    try:
        page = await object_events(cluster.api, obj, namespaced=rt.namespaced, newest=EVENTS_READ)
    except Forbidden as exc:  # RBAC may allow the object but not its events
        events_error = exc.message
    else:
        condensed = condense(page.rows)
        shown = condensed[-MAX_EVENTS:]
        events = [{k: v for k, v in row.items() if k in _EVENT_FIELDS} for row in shown]
        omitted = len(condensed) - len(shown) + page.matched - len(page.rows)
    return DescribeResult(
        kind=rt.kind,
        api_version=rt.api_version,
        name=args.name,
        namespace=namespace,
        object=obj,
        events=events,
        events_omitted=omitted,
        events_error=events_error,
    )


TOOLS: list[AnyTool] = [
    Tool(
        name="k8s_describe_resource",
        touches=OBJECTS,
        description="Describe one object of any kind: metadata, owners, spec, status, recent events.",
        input_model=DescribeInput,
        output_model=DescribeResult,
        annotations=READ_ONLY,
        category=Category.QUERY,
        handler=describe_resource,
    ),
]
