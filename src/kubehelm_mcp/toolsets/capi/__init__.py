"""Cluster API tools: the workload clusters of a management cluster (--cluster-provider capi)."""

from kubehelm_mcp.toolsets.capi.clusters import TOOLS

__all__ = ["TOOLS"]
