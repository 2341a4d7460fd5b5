"""Arrows point down only: each rule names a layer and the modules it must never import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = "kubehelm_mcp"

# (layer, forbidden imports): a layer is a module or package prefix; so is each forbidden entry.
RULES: list[tuple[str, tuple[str, ...]]] = [
    ("kubehelm_mcp.toolsets", ("kubehelm_mcp.pipeline", "kubehelm_mcp.web", "kubehelm_mcp.server", "kubehelm_mcp.cli")),
    ("kubehelm_mcp.kube", ("mcp", "mcp_types", "kubehelm_mcp.pipeline", "kubehelm_mcp.web", "kubehelm_mcp.toolsets")),
    ("kubehelm_mcp.helm", ("mcp", "mcp_types", "kubehelm_mcp.pipeline", "kubehelm_mcp.web", "kubehelm_mcp.toolsets")),
    ("kubehelm_mcp.pipeline", ("kubehelm_mcp.web", "kubehelm_mcp.server", "kubehelm_mcp.cli")),
    # cluster providers build on kube/: the pipeline and the capi toolset use them, never the reverse
    (
        "kubehelm_mcp.clusters",
        (
            "mcp",
            "mcp_types",
            "kubehelm_mcp.pipeline",
            "kubehelm_mcp.toolsets",
            "kubehelm_mcp.web",
            "kubehelm_mcp.server",
        ),
    ),
    ("kubehelm_mcp.server", ("kubehelm_mcp.web", "kubehelm_mcp.cli")),  # web/ builds on server.py, not back
    # the gateway relays to other MCP servers: it reuses web/ and telemetry, never the tool server
    (
        "kubehelm_mcp.gateway",
        (
            "kubehelm_mcp.server",
            "kubehelm_mcp.toolsets",
            "kubehelm_mcp.kube",
            "kubehelm_mcp.helm",
        ),
    ),
    ("kubehelm_mcp", ("bench", "testcluster", "tests")),
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str) -> set[str]:
    """Every module a file imports, at any depth (inside functions and TYPE_CHECKING blocks too)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _violations() -> list[str]:
    problems = []
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        module = _module_name(path)
        imported = _imports(path, module)
        for layer, forbidden in RULES:
            if not _within(module, layer):
                continue
            for name in sorted(imported):
                for banned in forbidden:
                    if _within(name, banned) and not _within(name, layer):
                        problems.append(f"{module} imports {name} ({layer} must not import {banned})")
    return sorted(set(problems))


def test_arrows_point_down() -> None:
    problems = _violations()
    assert not problems, "An import points up a layer (see docs/architecture.md):\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("from kubehelm_mcp.web.app import create_app", "kubehelm_mcp.toolsets.x", "kubehelm_mcp.web.app"),
        ("from . import sibling", "kubehelm_mcp.kube.api", "kubehelm_mcp.kube.sibling"),
        ("from ..pipeline import CallPipeline", "kubehelm_mcp.toolsets.helm.x", "kubehelm_mcp.toolsets.pipeline"),
        ("def f():\n    import mcp.server", "kubehelm_mcp.helm.cli", "mcp.server"),
    ],
)
def test_the_parser_sees_every_import(tmp_path: Path, source: str, module: str, expected: str) -> None:
    path = tmp_path / "m.py"
    path.write_text(source)
    assert expected in _imports(path, module)


def test_tools_are_declared_one_way() -> None:
    """Every toolset declares tools as plain Tool(...) with the annotation presets of tooling.py:
    no partials or helpers around Tool, no Annotations(...) of its own."""
    offenders = []
    for path in sorted((SRC / PACKAGE / "toolsets").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.Call):
                continue
            called = ast.unparse(node.func)
            wraps_tool = called.endswith("partial") and any(ast.unparse(a) == "Tool" for a in node.args)
            if called == "Annotations" or wraps_tool:
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}: {called}(...)")
    assert not offenders, "declare tools with Tool(...) and a tooling.py preset:\n" + "\n".join(offenders)
