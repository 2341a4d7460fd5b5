"""The HTTP face of the server: one Starlette app for Streamable HTTP, SSE, health and metrics."""
