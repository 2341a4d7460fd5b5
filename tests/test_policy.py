"""Safety policy through a real MCP client: read-only mode, the non-destructive default and
--allow-destructive, on tools that really change the cluster."""

from __future__ import annotations

from typing import Any

import pytest

from kubehelm_mcp import create_client
from kubehelm_mcp.settings import Settings
from tests.support.mcp import call_error, call_ok

pytestmark = pytest.mark.anyio

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"


async def test_read_only_lists_and_allows_only_read_only_tools(
    server_settings: Settings, sample_objects: str, kubectl: Any
) -> None:
    async with create_client(settings=server_settings.replace(read_only=True, allow_destructive=True)) as client:
        tools = (await client.list_tools()).tools
        assert {t.name for t in tools} >= {"k8s_get_resource", "helm_list"}
        assert all(t.annotations and t.annotations.read_only_hint for t in tools)
        assert not {"k8s_scale_resource", "k8s_delete_resource"} & {t.name for t in tools}
        message = await call_error(
            client,
            "k8s_scale_resource",
            {"kind": "deployment", "name": "web", "namespace": sample_objects, "replicas": 3},
        )
        assert message == "Tool 'k8s_scale_resource' can change the cluster and the server runs in read-only mode."
    replicas = kubectl("get", "deployment", "web", "-n", sample_objects, "-o", "jsonpath={.spec.replicas}")
    assert replicas == "1"  # nothing changed


async def test_destructive_tools_need_allow_destructive(
    server_settings: Settings, sample_objects: str, kubectl: Any
) -> None:
    kubectl("apply", "-f", "-", stdin=CONFIGMAP.format(name="doomed", namespace=sample_objects))
    args = {"kind": "configmap", "name": "doomed", "namespace": sample_objects}
    async with create_client(settings=server_settings) as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        delete = listed["k8s_delete_resource"]
        assert delete.annotations and delete.annotations.destructive_hint
        message = await call_error(client, "k8s_delete_resource", args)
        assert "destructive" in message and "--allow-destructive" in message
    kubectl("get", "configmap", "doomed", "-n", sample_objects)  # still there

    async with create_client(settings=server_settings.replace(allow_destructive=True)) as client:
        deleted = await call_ok(client, "k8s_delete_resource", args)
        assert deleted["action"] == "deletion requested"
        gone = await call_error(client, "k8s_get_resource", args)
        assert "'doomed'" in gone and "not found" in gone
        again = await call_error(client, "k8s_delete_resource", args)
        assert "not found" in again


async def test_scale_through_the_scale_subresource(client: Any, sample_objects: str, kubectl: Any) -> None:
    scaled = await call_ok(
        client, "k8s_scale_resource", {"kind": "deploy", "name": "web", "namespace": sample_objects, "replicas": 2}
    )
    assert scaled["detail"]["spec"]["replicas"] == 2
    assert kubectl("get", "deployment", "web", "-n", sample_objects, "-o", "jsonpath={.spec.replicas}") == "2"
    await call_ok(
        client, "k8s_scale_resource", {"kind": "deploy", "name": "web", "namespace": sample_objects, "replicas": 1}
    )

    unscalable = await call_error(
        client, "k8s_scale_resource", {"kind": "configmap", "name": "cm-00", "namespace": sample_objects, "replicas": 2}
    )
    assert unscalable == "ConfigMap objects cannot be scaled (no /scale subresource)."
    negative = await call_error(
        client, "k8s_scale_resource", {"kind": "deploy", "name": "web", "namespace": sample_objects, "replicas": -1}
    )
    assert "'replicas'" in negative
