"""`kubehelm-mcp gateway`: many MCP servers behind one authenticated HTTP endpoint."""
