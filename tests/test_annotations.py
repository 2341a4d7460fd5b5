"""Annotations must match behaviour: names that say they destroy are destructive, read-only
tools are queries or local chart/repo reads, and every cluster-facing read-only tool, called
with minimal valid arguments, leaves the sample namespace's objects untouched."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kubehelm_mcp import create_client
from kubehelm_mcp.settings import Settings
from kubehelm_mcp.tooling import AnyTool, Category, touches_cluster
from kubehelm_mcp.toolsets import all_tools

DESTRUCTIVE_WORDS = ("delete", "uninstall", "remove", "logout", "rollback", "exec", "push", "rollout")
# Kinds whose objects only change when something writes them (pods and events move on their own).
WATCHED_KINDS = "configmaps,secrets,deployments,services,serviceaccounts,roles,rolebindings"


def _read_only_cluster_tools() -> list[AnyTool]:
    return [tool for tool in all_tools() if tool.read_only and touches_cluster(tool)]


@pytest.mark.parametrize("tool", all_tools(), ids=lambda tool: tool.name)
def test_names_that_destroy_are_destructive(tool: AnyTool) -> None:
    words = tool.name.split("_")
    if words[-1] == "status":  # asks how a verb went (k8s_rollout_status): a read
        assert tool.read_only, tool.name
    elif any(word in words for word in DESTRUCTIVE_WORDS):
        assert tool.destructive and not tool.read_only


@pytest.mark.parametrize("tool", all_tools(), ids=lambda tool: tool.name)
def test_read_only_tools_are_reads(tool: AnyTool) -> None:
    if tool.read_only:
        assert not tool.destructive
        assert tool.category is not Category.MUTATE
        if touches_cluster(tool):
            assert tool.category is Category.QUERY
    if tool.category is Category.MUTATE:
        assert not tool.read_only


def _minimal_arguments(tool: AnyTool, namespace: str) -> dict[str, Any]:
    """Values for the required inputs, by name; every such input a read-only tool has is here."""
    known = {
        "kind": "configmap",
        "name": "cm-00",
        "release_name": "alpha",
        "verb": "get",
        "resource": "configmaps",
        "manifest": f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-00\n  namespace: {namespace}\n",
    }
    required = [name for name, f in tool.input_model.model_fields.items() if f.is_required()]
    missing = [name for name in required if name not in known]
    assert not missing, f"{tool.name}: no test value for required inputs {missing}"
    return {"namespace": namespace, **{name: known[name] for name in required}}


def _versions(kubectl: Any, namespace: str) -> dict[str, str]:
    listed = json.loads(kubectl("get", WATCHED_KINDS, "-n", namespace, "-o", "json"))
    return {
        f"{item['kind']}/{item['metadata']['name']}": item["metadata"]["resourceVersion"] for item in listed["items"]
    }


@pytest.mark.anyio
async def test_read_only_cluster_tools_change_nothing(
    server_settings: Settings, sample_objects: str, kubectl: Any
) -> None:
    tools = _read_only_cluster_tools()
    assert len(tools) > 10
    before = _versions(kubectl, sample_objects)
    async with create_client(settings=server_settings) as client:
        for tool in tools:
            # a read may fail (no release 'alpha' here); what matters is that it writes nothing
            await client.call_tool(tool.name, _minimal_arguments(tool, sample_objects))
    assert _versions(kubectl, sample_objects) == before
