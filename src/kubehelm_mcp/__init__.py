"""kubehelm-mcp: an MCP server that gives AI assistants full, safe access to Kubernetes and Helm.

The map, top to bottom (arrows point down only; tests/unit/test_layers.py guards them, and
docs/architecture.md explains them):

    cli.py, __main__.py    the command line: `kubehelm-mcp serve | gateway | version`
    faststart.py           a stdio handshake answered from an earlier start's record, before the SDK loads
    gateway/               `kubehelm-mcp gateway`: many MCP servers behind one HTTP endpoint; uses web/,
                           never server.py, toolsets/, kube/ or helm/
    api.py                 the Python API: create_server, create_client, server_parts
    web/                   the HTTP app (Streamable HTTP, SSE, health, readiness, metrics, auth,
                           origins, limits, drain, TLS); builds on server.py, never the reverse
    server.py              assembles settings -> toolsets -> pipeline -> one MCP Server
    pipeline/              what every call needs, in order: policy, validation, target, resilience,
                           handler, shaping, scrubbing, telemetry (runner.py holds the order)
    toolsets/              tool declarations: kubernetes/, helm/, and rendering.py (tables)
    kube/, helm/           Kubernetes access and the Helm engines; they know nothing of MCP
    resilience/, identity/, egress/, telemetry/
                           the pipeline's and engines' parts: timeouts, retries, breakers, limits,
                           cache; cluster identity; the egress rule and proxy; metrics and traces
    tooling.py             how a tool is declared (name, description, input, annotations, category)
    settings.py            one typed settings object: flags > KUBEHELM_MCP_* env > defaults
    docs.py                generates docs/tools.md and docs/settings.md from the code
    shared leaves          caller, context, errors, validators, schemas, paging, metrics, audit,
                           localfiles, concurrency, expiring, elicitation, log*, hardening, yamltext
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kubehelm_mcp.api import create_client, create_server

__all__ = ["__version__", "create_client", "create_server"]


def __getattr__(name: str) -> Any:
    """The Python API loads on first use: `kubehelm-mcp serve` answers a stdio client's handshake
    before it (faststart.py)."""
    if name in ("create_client", "create_server"):
        from kubehelm_mcp import api

        return getattr(api, name)
    raise AttributeError(f"module 'kubehelm_mcp' has no attribute {name!r}")
