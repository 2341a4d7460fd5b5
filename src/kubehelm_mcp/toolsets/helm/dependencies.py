"""Chart dependencies (helm_dependency_list/update/build) and helm_env."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, model_validator

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.helm.requests import DependencyFetchRequest
from kubehelm_mcp.tooling import LOCAL_READ_ONLY, WRITES_IDEMPOTENT, AnyTool, Category, Switch, Tool, ToolResult
from kubehelm_mcp.toolsets.helm.common import HelmInput
from kubehelm_mcp.toolsets.helm.dependency_sources import check_dependency_sources
from kubehelm_mcp.toolsets.helm.remote import commands, existing_dir
from kubehelm_mcp.validators import ChartPath, LocalPath


class ChartPathInput(HelmInput):
    chart_path: ChartPath = Field(min_length=1)


class FetchInput(ChartPathInput):
    verify: Switch = Field(False)
    keyring: LocalPath | None = Field(None)
    skip_refresh: Switch = Field(False)

    @model_validator(mode="after")
    def _dependency_sources(self, info: ValidationInfo) -> FetchInput:
        check_dependency_sources(self.chart_path, info)
        return self


class DependencyList(ToolResult):
    chart_path: str
    dependencies: list[dict[str, str]]


class DependencyFetch(ToolResult):
    chart_path: str
    charts: list[str]  # archives now in charts/
    output: str


class HelmEnv(ToolResult):
    env: dict[str, str]


def _archives(chart_dir: Path) -> list[str]:
    charts = chart_dir / "charts"
    return sorted(p.name for p in charts.iterdir()) if charts.is_dir() else []


async def helm_dependency_list(args: ChartPathInput, ctx: CallContext) -> DependencyList:
    chart_dir = existing_dir(args.chart_path, "Chart directory")
    dependencies = await (await commands(args, ctx)).dependency_list(str(chart_dir))
    return DependencyList(chart_path=str(chart_dir), dependencies=dependencies)


async def _fetch(args: FetchInput, ctx: CallContext, verb: Literal["update", "build"]) -> DependencyFetch:
    chart_dir = existing_dir(args.chart_path, "Chart directory")
    request = DependencyFetchRequest(str(chart_dir), args.verify, args.keyring, args.skip_refresh)
    out = await (await commands(args, ctx)).dependency_fetch(verb, request)
    return DependencyFetch(chart_path=str(chart_dir), charts=_archives(chart_dir), output=out)


async def helm_dependency_update(args: FetchInput, ctx: CallContext) -> DependencyFetch:
    return await _fetch(args, ctx, "update")


async def helm_dependency_build(args: FetchInput, ctx: CallContext) -> DependencyFetch:
    return await _fetch(args, ctx, "build")


async def helm_env(args: HelmInput, ctx: CallContext) -> HelmEnv:
    return HelmEnv(env=await (await commands(args, ctx)).env())


# Both rewrite charts/ from Chart.yaml or Chart.lock: the same inputs give the same files (idempotent).
TOOLS: list[AnyTool] = [
    Tool(
        name="helm_dependency_list",
        description="List a chart's dependencies and whether each is in charts/.",
        input_model=ChartPathInput,
        output_model=DependencyList,
        annotations=LOCAL_READ_ONLY,
        category=Category.CHART,
        handler=helm_dependency_list,
    ),
    Tool(
        name="helm_dependency_update",
        description="Update charts/ from Chart.yaml (rewrites Chart.lock).",
        input_model=FetchInput,
        output_model=DependencyFetch,
        annotations=WRITES_IDEMPOTENT,
        category=Category.REPO,
        handler=helm_dependency_update,
    ),
    Tool(
        name="helm_dependency_build",
        description="Rebuild charts/ from Chart.lock.",
        input_model=FetchInput,
        output_model=DependencyFetch,
        annotations=WRITES_IDEMPOTENT,
        category=Category.REPO,
        handler=helm_dependency_build,
    ),
    Tool(
        name="helm_env",
        description="Helm's environment (its config, cache and data paths).",
        input_model=HelmInput,
        output_model=HelmEnv,
        annotations=LOCAL_READ_ONLY,
        category=Category.QUERY,
        handler=helm_env,
    ),
]
