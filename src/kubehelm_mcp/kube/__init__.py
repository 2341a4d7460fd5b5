"""Kubernetes access: cluster targets, a client pool, API discovery and resource reads.

Nothing here knows about MCP; failures surface as kubehelm_mcp.errors.ToolError subclasses.
"""
