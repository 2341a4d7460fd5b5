"""The Kubernetes toolset (k8s_*)."""

from kubehelm_mcp.toolsets.kubernetes import changes, contexts, discovery, resources

TOOLS = [*contexts.TOOLS, *resources.TOOLS, *discovery.TOOLS, *changes.TOOLS]
