"""Helm: an engine interface with typed results, a CLI engine over real helm binaries and a
storage engine that reads Helm's release records through the Kubernetes API in-process.

Nothing here knows about MCP.
"""
