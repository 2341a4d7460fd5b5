"""Chart search: helm_search_repo (the local repository indexes) and helm_search_hub (Artifact Hub)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, Field

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.helm.requests import SearchRepoRequest
from kubehelm_mcp.tooling import LOCAL_READ_ONLY, READ_ONLY, AnyTool, Category, PagedResult, Switch, Tool
from kubehelm_mcp.toolsets.helm.common import HelmInput
from kubehelm_mcp.toolsets.helm.remote import commands
from kubehelm_mcp.toolsets.rendering import render_table
from kubehelm_mcp.validators import CliText, CliWord


class SearchRepoInput(HelmInput):
    keyword: CliWord = Field("", description="Empty: every chart")
    regexp: Switch = Field(False, description="Treat the keyword as a regular expression.")
    versions: Switch = Field(False, description="Every version, not only the latest.")
    devel: Switch = Field(False)
    version_constraint: CliText | None = Field(None, description="Semver constraint, e.g. ^1.0.0.")


class SearchHubInput(HelmInput):
    keyword: CliWord = Field(min_length=1)
    list_repo_url: Switch = Field(False)


class RepoChart(BaseModel):
    name: str
    version: str
    app_version: str = ""
    description: str = ""


class HubChart(BaseModel):
    url: str
    version: str
    app_version: str = ""
    description: str = ""
    repository: dict[str, str] | None = None


class _ChartTable(PagedResult):
    columns: ClassVar[list[str]]

    def to_text(self) -> str:
        if not self.items:
            return "No charts found."
        return render_table(self.columns, [c.model_dump() for c in self.items])


class RepoSearch(_ChartTable):
    columns: ClassVar[list[str]] = ["name", "version", "app_version", "description"]
    items: list[RepoChart]


class HubSearch(_ChartTable):
    columns: ClassVar[list[str]] = ["url", "version", "app_version", "description"]
    items: list[HubChart]


async def helm_search_repo(args: SearchRepoInput, ctx: CallContext) -> RepoSearch:
    request = SearchRepoRequest(args.keyword, args.regexp, args.versions, args.devel, args.version_constraint)
    rows = await (await commands(args, ctx)).search_repo(request)
    return RepoSearch(items=[RepoChart(**row) for row in rows])


async def helm_search_hub(args: SearchHubInput, ctx: CallContext) -> HubSearch:
    rows = await (await commands(args, ctx)).search_hub(args.keyword, ctx.settings.helm.helm_hub_url)
    if not args.list_repo_url:
        rows = [{k: v for k, v in row.items() if k != "repository"} for row in rows]
    return HubSearch(items=[HubChart(**row) for row in rows])


TOOLS: list[AnyTool] = [
    Tool(
        name="helm_search_repo",
        description="Search the charts of the configured repositories.",
        input_model=SearchRepoInput,
        output_model=RepoSearch,
        annotations=LOCAL_READ_ONLY,
        category=Category.REPO,
        handler=helm_search_repo,
    ),
    Tool(
        name="helm_search_hub",
        description="Search Artifact Hub for charts.",
        input_model=SearchHubInput,
        output_model=HubSearch,
        annotations=READ_ONLY,
        category=Category.REPO,
        handler=helm_search_hub,
    ),
]
