"""Helpers shared by the tests: kubectl and helm against the real test cluster, MCP result checks."""
