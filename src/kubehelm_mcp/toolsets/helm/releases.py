"""Release reads: helm_list and helm_status."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from typing import Any, Literal

from pydantic import Field

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.helm.models import (
    LIST_STATUS_FLAGS,
    ReleaseListQuery,
    ReleaseSummary,
    list_shows_every_state_by_default,
)
from kubehelm_mcp.tooling import (
    READ_ONLY,
    RELEASES,
    AnyTool,
    Category,
    FleetInput,
    PagedResult,
    Switch,
    Target,
    Tool,
    ToolResult,
)
from kubehelm_mcp.toolsets.helm.common import HelmInput
from kubehelm_mcp.toolsets.rendering import render_table
from kubehelm_mcp.validators import CliText, LabelSelector, ReleaseName

RELEASE_NAME = Field(min_length=1, max_length=53)


class ListInput(HelmInput, FleetInput):
    all_namespaces: Switch = Field(False, description="List releases in every namespace.")
    filter: CliText | None = Field(None, description="Regex on names")
    selector: LabelSelector | None = Field(None)
    sort_by: Literal["name", "date"] = Field("name", description="Sort by name or date.")
    sort_reverse: Switch = Field(False, description="Reverse the sort order.")
    limit: int = Field(256, ge=0, le=10000, description="0: all")
    offset: int = Field(0, ge=0, description="Releases to skip.")
    all: Switch = Field(False)
    deployed: Switch = False
    failed: Switch = False
    pending: Switch = False
    superseded: Switch = False
    uninstalled: Switch = False
    uninstalling: Switch = False

    def target(self) -> Target:
        return replace(super().target(), all_namespaces=self.all_namespaces)


class StatusInput(HelmInput):
    release_name: ReleaseName = RELEASE_NAME
    revision: int | None = Field(None, ge=1)

    def target(self) -> Target:
        return replace(super().target(), names=(self.release_name,))


RELEASE_COLUMNS = ["name", "namespace", "revision", "updated", "status", "chart", "app_version"]


class ReleaseList(PagedResult):
    items: list[ReleaseSummary]

    def table(self) -> tuple[list[str], list[dict[str, Any]]] | None:
        return RELEASE_COLUMNS, [dataclasses.asdict(r) for r in self.items]

    def to_text(self) -> str:
        if not self.items:
            return "No releases found."
        return render_table(RELEASE_COLUMNS, [dataclasses.asdict(r) for r in self.items])


class ReleaseStatusResult(ToolResult):
    name: str
    namespace: str
    revision: int
    status: str
    chart: str
    app_version: str
    first_deployed: str
    last_deployed: str
    description: str
    notes: str | None = None


async def helm_list(args: ListInput, ctx: CallContext) -> ReleaseList:
    statuses = tuple(flag for flag in LIST_STATUS_FLAGS if getattr(args, flag))
    query = ReleaseListQuery(
        filter=args.filter,
        selector=args.selector,
        statuses=statuses,
        all_statuses=args.all or (not statuses and list_shows_every_state_by_default(args.helm_version)),
        sort_by_date=args.sort_by == "date",
        reverse=args.sort_reverse,
        limit=args.limit,
        offset=args.offset,
    )
    reader = await ctx.helm.reader(args.helm_version)
    releases = await reader.list_releases(await ctx.helm_target(all_namespaces=args.all_namespaces), query)
    return ReleaseList(items=releases)


async def helm_status(args: StatusInput, ctx: CallContext) -> ReleaseStatusResult:
    reader = await ctx.helm.reader(args.helm_version)
    status = await reader.status(await ctx.helm_target(), args.release_name, args.revision)
    return ReleaseStatusResult(**dataclasses.asdict(status))


TOOLS: list[AnyTool] = [
    Tool(
        name="helm_list",
        touches=RELEASES,
        description="List Helm releases (v3 default: deployed and failed).",
        input_model=ListInput,
        output_model=ReleaseList,
        annotations=READ_ONLY,
        category=Category.QUERY,
        handler=helm_list,
    ),
    Tool(
        name="helm_status",
        touches=RELEASES,
        description="Show a release's status, chart, revision, timestamps and notes.",
        input_model=StatusInput,
        output_model=ReleaseStatusResult,
        annotations=READ_ONLY,
        category=Category.QUERY,
        handler=helm_status,
    ),
]
