"""Which tools are served and callable: read-only mode and the non-destructive default."""

from __future__ import annotations

from typing import Any

from kubehelm_mcp.errors import PolicyDenied
from kubehelm_mcp.settings import Settings
from kubehelm_mcp.tooling import AnyTool


class Policy:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def listed(self, tool: AnyTool) -> bool:
        """Read-only mode hides every tool that could change something; so does the toolset choice."""
        if tool.toolset and tool.toolset not in self._settings.toolsets:
            return False
        return tool.read_only or not self._settings.read_only

    def check(self, tool: AnyTool) -> None:
        if tool.toolset and tool.toolset not in self._settings.toolsets:
            raise PolicyDenied(f"Tool '{tool.name}' belongs to the '{tool.toolset}' toolset, which is not enabled.")
        if self._settings.read_only and not tool.read_only:
            raise PolicyDenied(f"Tool '{tool.name}' can change the cluster and the server runs in read-only mode.")
        if tool.destructive and tool.destructive_when is None:
            self._refuse_destructive(tool)

    def check_call(self, tool: AnyTool, args: Any) -> None:
        """After validation: the calls a `destructive_when` tool says destroy something."""
        if tool.destructive_when is not None and tool.destructive_when(args):
            self._refuse_destructive(tool)

    def _refuse_destructive(self, tool: AnyTool) -> None:
        if not self._settings.allow_destructive:
            raise PolicyDenied(
                f"Tool '{tool.name}' is destructive and the server refuses destructive tools by default.",
                hint="Restart the server with --allow-destructive to permit it.",
            )
