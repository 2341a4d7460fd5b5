"""The bounded loader on every YAML the server reads but did not write: one clear sentence for a
bomb, the document itself otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubehelm_mcp.errors import InvalidInput, ToolError
from kubehelm_mcp.helm.manifests import split_manifest
from kubehelm_mcp.kube.kubeconfig import load_kubeconfig_file
from kubehelm_mcp.kube.manifests import load_bounded

BILLION_LAUGHS = 'lol0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"lol{i + 1}: &a{i + 1} [{','.join([f'*a{i}'] * 9)}]\n" for i in range(8)
)


def test_load_bounded_names_what_it_refuses() -> None:
    with pytest.raises(InvalidInput, match=r"^File x is refused because its aliases expand to more than 100000"):
        load_bounded(BILLION_LAUGHS, "File x")
    with pytest.raises(InvalidInput, match=r"^File x is refused because an alias refers to the node"):
        load_bounded("&a [*a]", "File x")
    with pytest.raises(InvalidInput, match=r"^File x is not valid YAML \(line 2\)\.$"):
        load_bounded("a: [b\n", "File x")
    assert load_bounded("base: &b {a: 1}\nother: *b\n", "File x") == {"base": {"a": 1}, "other": {"a": 1}}


def test_kubeconfig_files_are_bounded(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(BILLION_LAUGHS)
    with pytest.raises(InvalidInput, match=f"^Kubeconfig file {path} is refused because its aliases expand"):
        load_kubeconfig_file(str(path))


def test_rendered_manifests_are_bounded() -> None:
    with pytest.raises(ToolError, match=r"refused because its aliases expand .* \(chart/templates/bomb.yaml\)\.$"):
        split_manifest("---\n# Source: chart/templates/bomb.yaml\n" + BILLION_LAUGHS)
    docs = split_manifest("---\n# Source: c/t.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    assert docs == [
        {"source": "c/t.yaml", "object": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}}
    ]
