"""Every tool that reaches a cluster declares what it touches (`Tool.touches`), and the policy and
confirmation rules read that declaration: each such tool, called through a real MCP client against a
denied scope, is refused before its handler runs. The calls name objects that do not exist, so a
call that got past the policy would answer "not found" (or fail otherwise), never the refusal."""

from __future__ import annotations

from typing import Any

import mcp_types as types
import pytest
from mcp import Client
from mcp.client import ClientRequestContext

from kubehelm_mcp import create_client, create_server
from kubehelm_mcp.api import server_parts
from kubehelm_mcp.settings import Settings
from kubehelm_mcp.tooling import reaches_cluster, touches_cluster
from kubehelm_mcp.toolsets import all_tools
from tests.support.mcp import call_error

pytestmark = pytest.mark.anyio

NS = "khm-scope-nowhere"  # never created: a call that reached the cluster would fail otherwise
CM = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: absent, namespace: {NS}}}\n"
RELEASE = {"release_name": "absent"}
CHART = {**RELEASE, "chart": "absent-repo/absent"}

# tool -> (arguments, the kind --denied-kinds refuses it by, the kind glob a --confirm rule names)
CALLS: dict[str, tuple[dict[str, Any], str | None, str | None]] = {
    "k8s_get_resource": ({"kind": "ConfigMap", "name": "absent"}, "configmaps", None),
    "k8s_list_resources": ({"kind": "cm"}, "configmaps", None),
    "k8s_describe_resource": ({"kind": "configmap", "name": "absent"}, "configmaps", None),
    "k8s_list_events": ({}, "events", None),
    "k8s_get_api_resources": ({}, None, None),
    "k8s_apply_resource": ({"manifest": CM}, "configmaps", "configmap"),
    "k8s_create_resource": ({"manifest": CM}, "ConfigMap", "configmaps"),
    "k8s_diff_resource": ({"manifest": CM}, "cm", None),
    "k8s_patch_resource": ({"kind": "cm", "name": "absent", "patch": {"data": {"k": "v"}}}, "configmaps", "cm"),
    "k8s_scale_resource": ({"kind": "deploy", "name": "absent", "replicas": 2}, "deployments", "deployment"),
    "k8s_delete_resource": ({"kind": "ConfigMap", "name": "absent"}, "configmaps", "configmap"),
    "k8s_rollout": ({"name": "absent", "action": "restart"}, "deployments.apps", "deployments"),
    "k8s_rollout_status": ({"name": "absent"}, "deployments", None),
    "k8s_get_pod_logs": ({"name": "absent"}, "pods", None),
    "k8s_exec_pod": ({"name": "absent", "command": ["true"]}, "pods", "pods/exec"),
    "k8s_port_forward_pod": ({"name": "absent", "port": 80}, "pods", "pods/portforward"),
    "k8s_port_forward_service": ({"name": "absent", "port": 80}, "services", "pods/portforward"),
    "k8s_get_cluster_health": ({}, "nodes", None),
    "k8s_can_i": ({"verb": "get", "resource": "pods"}, None, None),
    "k8s_diagnose": ({"kind": "deploy", "name": "absent"}, "deployments", None),
    "k8s_top_pods": ({}, "pods", None),
    "k8s_top_nodes": ({}, "nodes", None),
    "helm_list": ({}, None, None),
    "helm_status": (RELEASE, None, None),
    "helm_history": (RELEASE, None, None),
    "helm_get_values": (RELEASE, None, None),
    "helm_get_manifest": (RELEASE, None, None),
    "helm_get_hooks": (RELEASE, None, None),
    "helm_get_notes": (RELEASE, None, None),
    "helm_get_metadata": (RELEASE, None, None),
    "helm_get_all": (RELEASE, None, None),
    "helm_install": (CHART, None, "Release"),
    "helm_upgrade": (CHART, None, "release"),
    "helm_rollback": (RELEASE, None, "releases"),
    "helm_uninstall": (RELEASE, None, "Release"),
    "helm_test": (RELEASE, None, "release"),
}
POD_TOOLS = (
    "k8s_get_pod_logs",
    "k8s_exec_pod",
    "k8s_port_forward_pod",
    "k8s_port_forward_service",
    "k8s_top_pods",
    "k8s_diagnose",
)
TOOLS = {tool.name: tool for tool in all_tools()}
# The capi_* tools need a Cluster API management cluster: tests/test_capi_federation.py refuses them by scope.
CLUSTER_TOOLS = sorted(name for name, tool in TOOLS.items() if touches_cluster(tool) and not tool.cluster_provider)


def test_every_tool_that_reaches_a_cluster_declares_what_it_touches() -> None:
    for tool in TOOLS.values():
        reaches = reaches_cluster(tool.annotations, tool.category)
        assert reaches == (tool.touches is not None), tool.name
    assert sorted(CALLS) == CLUSTER_TOOLS  # the table below covers each of them
    for name in CLUSTER_TOOLS:
        _args, denied_kind, confirm_kind = CALLS[name]
        tool = TOOLS[name]
        touches = tool.touches
        assert touches is not None
        covered_by_kind = denied_kind is not None
        covered_by_namespace = touches.namespaced
        covered_by_confirm = confirm_kind is not None or tool.read_only
        assert covered_by_kind or covered_by_namespace, name
        assert covered_by_confirm, name  # every tool that changes something has a --confirm kind rule below


def _arguments(name: str) -> dict[str, Any]:
    return {**CALLS[name][0], "namespace": NS}


@pytest.mark.parametrize("name", [n for n in CLUSTER_TOOLS if CALLS[n][1] is not None])
async def test_denied_kinds_refuse_every_tool_with_a_kind(server_settings: Settings, name: str) -> None:
    settings = server_settings.replace(allow_destructive=True, denied_kinds=(CALLS[name][1] or "",))
    async with create_client(settings=settings) as client:
        message = await call_error(client, name, _arguments(name))
    assert "is denied on this server (--denied-kinds)" in message, message


@pytest.mark.parametrize("name", POD_TOOLS)
async def test_denied_pods_refuse_every_pod_tool(server_settings: Settings, name: str) -> None:
    settings = server_settings.replace(allow_destructive=True, denied_kinds=("pods",))
    async with create_client(settings=settings) as client:
        message = await call_error(client, name, _arguments(name))
    assert "is denied on this server (--denied-kinds)" in message, message


async def test_a_denied_subresource_refuses_only_its_tool(server_settings: Settings) -> None:
    settings = server_settings.replace(allow_destructive=True, denied_kinds=("pods/exec",))
    async with create_client(settings=settings) as client:
        message = await call_error(client, "k8s_exec_pod", _arguments("k8s_exec_pod"))
        assert message == "Kind 'pods/exec' is denied on this server (--denied-kinds)."
        logs = await call_error(client, "k8s_get_pod_logs", _arguments("k8s_get_pod_logs"))
        assert "--denied-kinds" not in logs and "absent" in logs  # it reached the cluster: no such pod


@pytest.mark.parametrize("name", CLUSTER_TOOLS)
async def test_allowed_namespaces_refuse_every_cluster_tool(server_settings: Settings, name: str) -> None:
    settings = server_settings.replace(allow_destructive=True, allowed_namespaces=("khm-only-this",))
    async with create_client(settings=settings) as client:
        message = await call_error(client, name, _arguments(name))
    touches = TOOLS[name].touches
    assert touches is not None
    if touches.namespaced:
        assert message == f"Namespace '{NS}' is not among this server's --allowed-namespaces.", message
    else:  # a tool that touches only cluster-scoped kinds
        assert "is cluster-scoped and this server limits calls to --allowed-namespaces" in message, message


class Decline:
    def __init__(self) -> None:
        self.questions: list[str] = []

    async def __call__(self, context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.questions.append(params.message)
        return types.ElicitResult.model_validate({"action": "decline"})


@pytest.mark.parametrize("name", [n for n in CLUSTER_TOOLS if CALLS[n][2] is not None])
async def test_confirm_kind_rules_reach_every_tool_that_changes_something(server_settings: Settings, name: str) -> None:
    rule = f"*:{(CALLS[name][2] or '').lower()}:{NS}"
    server = create_server(server_settings.replace(allow_destructive=True, confirm=(rule,)))
    user = Decline()
    try:
        async with Client(server, raise_exceptions=False, elicitation_callback=user) as client:
            message = await call_error(client, name, _arguments(name))
    finally:
        await server_parts(server).close()
    assert message == f"The user declined {name}; nothing was changed.", message
    assert len(user.questions) == 1 and f"in namespace '{NS}'" in user.questions[0], user.questions
