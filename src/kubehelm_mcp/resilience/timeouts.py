"""How long one call may run: its category's timeout, or longer when its own input waits longer."""

from __future__ import annotations

from kubehelm_mcp.settings import ResilienceSettings
from kubehelm_mcp.tooling import AnyTool, ToolInput

# Room after a tool's own wait ends: helm still records the release, a rollback starts, output is read.
WAIT_MARGIN = 30.0


def call_timeout(settings: ResilienceSettings, tool: AnyTool, args: ToolInput) -> float:
    base = settings.timeout_for(tool.category)
    wait = args.requested_wait()
    return max(base, wait + WAIT_MARGIN) if wait > 0 else base
