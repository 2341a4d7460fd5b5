"""Inputs every Helm tool shares."""

from __future__ import annotations

from pydantic import Field

from kubehelm_mcp.helm.models import HelmMajor
from kubehelm_mcp.tooling import ToolInput


class HelmInput(ToolInput):
    helm_version: HelmMajor = Field("v4", description="Helm major version: v3 or v4.")
