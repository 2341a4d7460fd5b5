"""Safety modes through a real MCP client: --dry-run, tool filters, namespace scope and denied
kinds. Every refused or dry-run call must leave the cluster as it was."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client
from mcp_types import CallToolResult

from kubehelm_mcp import create_client
from kubehelm_mcp.settings import Settings
from tests.support.mcp import call_error, call_ok, text_of

pytestmark = pytest.mark.anyio

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"
SECRET = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"


def _names(kubectl: Any, kind: str, namespace: str) -> set[str]:
    listed = json.loads(kubectl("get", kind, "-n", namespace, "-o", "json"))
    return {item["metadata"]["name"] for item in listed["items"]}


async def _ok_text(client: Client, name: str, arguments: dict[str, Any]) -> str:
    result: CallToolResult = await client.call_tool(name, arguments)
    assert not result.is_error, text_of(result)
    return text_of(result)


async def test_dry_run_mode_changes_nothing(
    server_settings: Settings, sample_objects: str, kubectl: Any, helm_releases: dict[str, Any]
) -> None:
    ns = sample_objects
    before = _names(kubectl, "configmaps", ns)
    async with create_client(settings=server_settings.replace(dry_run=True)) as client:
        applied = await _ok_text(
            client, "k8s_apply_resource", {"manifest": CONFIGMAP.format(name="dry-new", namespace=ns)}
        )
        assert applied.startswith("[dry run] ")
        # no --allow-destructive needed: a forced dry run destroys nothing
        deleted = await _ok_text(client, "k8s_delete_resource", {"kind": "cm", "name": "cm-01", "namespace": ns})
        assert deleted.startswith("[dry run] ") and "nothing deleted" in deleted
        scaled = await _ok_text(
            client, "k8s_scale_resource", {"kind": "deploy", "name": "web", "namespace": ns, "replicas": 4}
        )
        assert scaled.startswith("[dry run] ")
        installed = await _ok_text(
            client,
            "helm_install",
            {"release_name": "dry-release", "chart": helm_releases["chart"], "namespace": helm_releases["namespace"]},
        )
        assert installed.startswith("[dry run] ")
        refused = await call_error(
            client, "k8s_create_resource", {"manifest": CONFIGMAP.format(name="x", namespace=ns)}
        )
        assert refused == ("Tool 'k8s_create_resource' cannot run as a dry run; the server runs with --dry-run.")
        read = await _ok_text(client, "k8s_get_resource", {"kind": "cm", "name": "cm-01", "namespace": ns})
        assert not read.startswith("[dry run]")  # reads are not marked
    assert _names(kubectl, "configmaps", ns) == before
    assert kubectl("get", "deployment", "web", "-n", ns, "-o", "jsonpath={.spec.replicas}") == "1"
    releases = kubectl("get", "secrets", "-A", "-l", "owner=helm,name=dry-release", "-o", "name")
    assert releases == ""


async def test_enabled_and_disabled_tools(server_settings: Settings, sample_objects: str) -> None:
    settings = server_settings.replace(
        enabled_tools=("k8s_get_*", "k8s_list_*", "helm_list"), disabled_tools=("k8s_list_events", "helm_*")
    )
    async with create_client(settings=settings) as client:
        listed = {t.name for t in (await client.list_tools()).tools}
        assert "k8s_get_resource" in listed and "k8s_list_resources" in listed
        assert not {"k8s_list_events", "helm_list", "k8s_apply_resource"} & listed
        for name in ("k8s_list_events", "helm_list", "k8s_apply_resource"):
            assert await call_error(client, name, {}) == f"Tool '{name}' is disabled on this server."
        await call_ok(client, "k8s_get_resource", {"kind": "cm", "name": "cm-00", "namespace": sample_objects})


async def test_namespace_scope(server_settings: Settings, sample_objects: str, kubectl: Any) -> None:
    settings = server_settings.replace(allowed_namespaces=("khm-*",), denied_namespaces=("khm-helm",))
    async with create_client(settings=settings) as client:
        await call_ok(client, "k8s_get_resource", {"kind": "cm", "name": "cm-00", "namespace": sample_objects})
        # no namespace argument: the call would use the context's default, 'default'
        default = await call_error(client, "k8s_list_resources", {"kind": "configmaps"})
        assert default == "Namespace 'default' is not among this server's --allowed-namespaces."
        denied = await call_error(client, "helm_list", {"namespace": "khm-helm"})
        assert denied == "Namespace 'khm-helm' is denied on this server (--denied-namespaces)."
        everywhere = await call_error(client, "k8s_list_resources", {"kind": "configmaps", "all_namespaces": True})
        assert "all namespaces" in everywhere
        cluster_scoped = await call_error(client, "k8s_list_resources", {"kind": "ns"})
        assert (
            cluster_scoped.startswith("Kind 'Namespace' is cluster-scoped")
            and "--allow-cluster-scoped" in cluster_scoped
        )
        # a manifest's objects carry their own namespace: one outside the scope refuses the whole call
        manifest = (
            CONFIGMAP.format(name="scoped-a", namespace=sample_objects)
            + "---\n"
            + CONFIGMAP.format(name="scoped-b", namespace="default")
        )
        outside = await call_error(client, "k8s_apply_resource", {"manifest": manifest})
        assert outside == "Namespace 'default' is not among this server's --allowed-namespaces."
    assert "scoped-a" not in _names(kubectl, "configmaps", sample_objects)
    assert "scoped-b" not in _names(kubectl, "configmaps", "default")

    wide = settings.replace(allowed_namespaces=("*",), denied_namespaces=(), allow_cluster_scoped=True)
    async with create_client(settings=wide) as client:
        await call_ok(client, "k8s_list_resources", {"kind": "ns"})
        await call_ok(client, "k8s_list_resources", {"kind": "configmaps", "all_namespaces": True, "limit": 5})


async def test_denied_kinds_resolve_aliases(server_settings: Settings, sample_objects: str, kubectl: Any) -> None:
    settings = server_settings.replace(denied_kinds=("secrets", "ClusterRole.rbac.authorization.k8s.io"))
    async with create_client(settings=settings) as client:
        for kind in ("Secret", "secret", "secrets", "SECRET"):
            args = {"kind": kind, "name": "db-credentials", "namespace": sample_objects}
            assert (
                await call_error(client, "k8s_get_resource", args)
                == "Kind 'Secret' is denied on this server (--denied-kinds)."
            )
        listed = await call_error(client, "k8s_list_resources", {"kind": "secret", "namespace": sample_objects})
        assert "'Secret' is denied" in listed
        roles = await call_error(client, "k8s_list_resources", {"kind": "clusterroles"})
        assert roles == "Kind 'ClusterRole' is denied on this server (--denied-kinds)."
        manifest = (
            CONFIGMAP.format(name="kind-a", namespace=sample_objects)
            + "---\n"
            + SECRET.format(name="kind-b", namespace=sample_objects)
        )
        applied = await call_error(client, "k8s_apply_resource", {"manifest": manifest})
        assert applied == "Kind 'Secret' is denied on this server (--denied-kinds)."
        await call_ok(client, "k8s_get_resource", {"kind": "cm", "name": "cm-00", "namespace": sample_objects})
        await call_ok(client, "k8s_list_resources", {"kind": "configmaps", "namespace": sample_objects, "limit": 2})
    assert "kind-a" not in _names(kubectl, "configmaps", sample_objects)
    assert "kind-b" not in _names(kubectl, "secrets", sample_objects)
