"""The Kubernetes toolset (k8s_*)."""

from kubehelm_mcp.tooling import AnyTool
from kubehelm_mcp.toolsets.kubernetes import (
    apply,
    changes,
    cluster,
    contexts,
    create,
    describe,
    diagnose,
    diff,
    discovery,
    events,
    pods,
    portforward,
    resources,
    rollout,
)

TOOLS: list[AnyTool] = [
    *contexts.TOOLS,
    *resources.TOOLS,
    *describe.TOOLS,
    *diagnose.TOOLS,
    *events.TOOLS,
    *discovery.TOOLS,
    *apply.TOOLS,
    *create.TOOLS,
    *diff.TOOLS,
    *changes.TOOLS,
    *rollout.TOOLS,
    *pods.TOOLS,
    *portforward.TOOLS,
    *cluster.TOOLS,
]
