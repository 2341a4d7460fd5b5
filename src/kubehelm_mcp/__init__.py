"""kubehelm-mcp: an MCP server that gives AI assistants full, safe access to Kubernetes and Helm."""

from __future__ import annotations

__version__ = "0.1.0"

from kubehelm_mcp.api import create_client, create_server

__all__ = ["__version__", "create_client", "create_server"]
