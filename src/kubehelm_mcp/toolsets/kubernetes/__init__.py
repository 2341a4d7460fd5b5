"""The Kubernetes toolset (k8s_*)."""

from kubehelm_mcp.tooling import AnyTool
from kubehelm_mcp.toolsets.kubernetes import (
    apply,
    changes,
    cluster,
    contexts,
    describe,
    discovery,
    events,
    pods,
    portforward,
    resources,
)

TOOLS: list[AnyTool] = [
    *contexts.TOOLS,
    *resources.TOOLS,
    *describe.TOOLS,
    *events.TOOLS,
    *discovery.TOOLS,
    *apply.TOOLS,
    *changes.TOOLS,
    *pods.TOOLS,
    *portforward.TOOLS,
    *cluster.TOOLS,
]
