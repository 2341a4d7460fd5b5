"""Toolsets: small modules of tool declarations. Each handler calls kube/ or helm/ and returns a
typed result; the pipeline does everything else."""

from __future__ import annotations

import dataclasses

from kubehelm_mcp.tooling import AnyTool
from kubehelm_mcp.toolsets import capi, helm, kubernetes

TOOLSETS: dict[str, list[AnyTool]] = {"kubernetes": kubernetes.TOOLS, "helm": helm.TOOLS, "capi": capi.TOOLS}


def all_tools() -> list[AnyTool]:
    return [dataclasses.replace(tool, toolset=name) for name, tools in TOOLSETS.items() for tool in tools]
