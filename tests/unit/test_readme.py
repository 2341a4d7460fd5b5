"""The README is the user's reference: every tool and every setting must be in it."""

from __future__ import annotations

from pathlib import Path

from kubehelm_mcp.settings import env_name, flag_name, settings_fields
from kubehelm_mcp.toolsets import all_tools

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_tool_is_documented() -> None:
    missing = [tool.name for tool in all_tools() if f"`{tool.name}`" not in README]
    assert not missing, f"README lacks: {missing}"


def test_every_setting_is_documented_with_its_variable() -> None:
    missing = [flag_name(f) for f in settings_fields() if f"`{flag_name(f)}` | `{env_name(f)}`" not in README]
    assert not missing, f"README settings table lacks: {missing}"
