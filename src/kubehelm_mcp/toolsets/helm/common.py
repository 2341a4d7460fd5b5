"""Inputs every Helm tool shares."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from kubehelm_mcp.helm.models import HelmMajor
from kubehelm_mcp.tooling import ToolInput


def _default_said_once(schema: dict[str, Any]) -> None:
    """The default (v4) is in the server's instructions, not on each of 44 tools."""
    schema.pop("default", None)


class HelmInput(ToolInput):
    helm_version: HelmMajor = Field("v4", json_schema_extra=_default_said_once)
