"""The Kubernetes toolset (k8s_*)."""

from kubehelm_mcp.tooling import AnyTool
from kubehelm_mcp.toolsets.kubernetes import changes, contexts, discovery, resources

TOOLS: list[AnyTool] = [*contexts.TOOLS, *resources.TOOLS, *discovery.TOOLS, *changes.TOOLS]
