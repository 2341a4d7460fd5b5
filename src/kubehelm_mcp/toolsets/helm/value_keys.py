"""Picking parts of a values tree (helm_show_values, helm_get_values): a model asking about one
setting of a large chart reads that setting, not the whole file."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from kubehelm_mcp.kube.paths import parse_path, pick
from kubehelm_mcp.tooling import ToolInput


class KeysInput(ToolInput):
    keys: list[str] | None = Field(None, max_length=64, description="Only these paths, e.g. image.tag")


def picked_values(values: dict[str, Any] | None, keys: list[str] | None) -> dict[str, Any] | None:
    """`values` holding only the given paths (all of it without keys); missing paths are left out."""
    if not keys or values is None:
        return values
    return pick(values, [parse_path(key) for key in keys])
