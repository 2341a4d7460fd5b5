"""helm_version: which Helm answers, and where it is."""

from __future__ import annotations

import dataclasses

from pydantic import Field

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.tooling import LOCAL_READ_ONLY, AnyTool, Category, Switch, Tool, ToolResult
from kubehelm_mcp.toolsets.helm.common import HelmInput


class VersionInput(HelmInput):
    short: Switch = Field(False, description="Only the version number.")


class HelmVersion(ToolResult):
    version: str
    git_commit: str | None = None
    go_version: str | None = None
    binary: str | None = None

    def to_text(self) -> str:
        if self.git_commit is None:
            return self.version
        return f"{self.version} (commit {self.git_commit}, {self.go_version}) at {self.binary}"


async def helm_version(args: VersionInput, ctx: CallContext) -> HelmVersion:
    if args.short:
        return HelmVersion(version=(await ctx.helm.binary(args.helm_version)).version)
    found = await (await ctx.helm.commands(args.helm_version, ctx.read_file)).version()
    return HelmVersion(**dataclasses.asdict(found))


TOOLS: list[AnyTool] = [
    Tool(
        name="helm_version",
        description="Show the Helm version (v3 or v4) this server runs.",
        input_model=VersionInput,
        output_model=HelmVersion,
        annotations=LOCAL_READ_ONLY,
        category=Category.QUERY,
        handler=helm_version,
    ),
]
