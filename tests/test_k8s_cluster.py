"""Cluster tools: health, access checks, top, and per-session context switching."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from mcp import Client

from kubehelm_mcp import create_client
from kubehelm_mcp.settings import Settings
from tests.conftest import start_http_server, stop_http_server
from tests.support.mcp import call_error, call_ok
from tests.support.rbac import reader_account

pytestmark = pytest.mark.anyio

ACCESS_NS = "khm-access"
READER = f"""apiVersion: v1
kind: Namespace
metadata: {{name: {ACCESS_NS}}}
---
{reader_account(ACCESS_NS, "pod-reader", ["pods", "pods/log"])}"""


@pytest.fixture(scope="module")
def reader_token(kube_cluster: Any, kubectl: Any) -> str:
    kubectl("apply", "-f", "-", stdin=READER)
    return str(kube_cluster.service_account_token(ACCESS_NS, "pod-reader"))


async def test_cluster_health(client: Client, kube_node: Any) -> None:
    health = await call_ok(client, "k8s_get_cluster_health")
    assert health["healthy"] is True and health["version"].startswith("v1.")
    probes = {p["endpoint"]: p for p in health["probes"]}
    assert set(probes) == {"/readyz", "/livez"}
    assert all(p["ok"] and p["checks"] > 3 and not p.get("failed") for p in probes.values())
    node = next(n for n in health["nodes"] if n["name"] == "localhost")
    assert node["ready"] is True and not node.get("problems")


async def test_can_i_as_admin(client: Client) -> None:
    for resource in ("deployments.apps", "Deployment", "deploy"):
        answer = await call_ok(client, "k8s_can_i", {"verb": "create", "resource": resource, "namespace": "default"})
        assert answer["allowed"] is True and answer["resource"] == "deployments.apps", answer
    nodes = await call_ok(client, "k8s_can_i", {"verb": "delete", "resource": "nodes", "namespace": "default"})
    assert nodes["allowed"] is True and nodes.get("namespace") is None  # cluster-scoped: no namespace
    unknown = await call_error(client, "k8s_can_i", {"verb": "get", "resource": "flumphs"})
    assert unknown.startswith("The cluster serves no kind 'flumphs'")
    bad_verb = await call_error(client, "k8s_can_i", {"verb": "get pods", "resource": "pods"})
    assert "'verb'" in bad_verb


async def test_can_i_restricted_service_account(
    server_settings: Settings, kube_cluster: Any, reader_token: str
) -> None:
    creds = {"kube_apiserver": kube_cluster.server, "kube_token": reader_token, "kube_insecure_tls": True}
    async with create_client(settings=server_settings.replace(per_call_credentials=True)) as client:

        async def ask(**spec: Any) -> dict[str, Any]:
            return await call_ok(client, "k8s_can_i", {"namespace": ACCESS_NS, **creds, **spec})

        allowed = await ask(verb="list", resource="pods")
        assert allowed["allowed"] is True and "pod-reader" in allowed.get("reason", "")
        assert (await ask(verb="get", resource="pods", subresource="log", name="any"))["allowed"] is True
        assert (await ask(verb="delete", resource="pods"))["allowed"] is False
        assert (await ask(verb="create", resource="pods", subresource="exec"))["allowed"] is False
        assert (await ask(verb="get", resource="secrets"))["allowed"] is False
        elsewhere = await call_ok(
            client, "k8s_can_i", {"verb": "list", "resource": "pods", "namespace": "default", **creds}
        )
        assert elsewhere["allowed"] is False


async def test_top_without_metrics_api(client: Client) -> None:
    for tool in ("k8s_top_pods", "k8s_top_nodes"):
        message = await call_error(client, tool)
        assert message.startswith("The metrics API (metrics.k8s.io) is not available in this cluster."), message


def two_context_kubeconfig(source: Path, target: Path) -> tuple[str, str]:
    config = yaml.safe_load(source.read_text())
    original = config["contexts"][0]
    other = {"name": "khm-other", "context": {**original["context"], "namespace": "khm-other"}}
    config["contexts"].append(other)
    target.write_text(yaml.safe_dump(config))
    return str(original["name"]), "khm-other"


async def test_switch_context_is_per_session(server_settings: Settings, kubeconfig: Path, tmp_path: Path) -> None:
    original, other = two_context_kubeconfig(kubeconfig, tmp_path / "kubeconfig")
    server = start_http_server(server_settings.replace(kubeconfig=str(tmp_path / "kubeconfig")), tmp_path)
    try:
        # Sessions exist on the handshake-era protocol; the stateless one has none to switch.
        async with Client(server.mcp_url, mode="legacy") as first, Client(server.mcp_url, mode="legacy") as second:
            switched = await call_ok(first, "k8s_switch_context", {"name": other})
            assert (switched["name"], switched["namespace"], switched["source"]) == (other, "khm-other", "session")
            assert (await call_ok(first, "k8s_get_current_context"))["name"] == other
            assert (await call_ok(second, "k8s_get_current_context"))["name"] == original

            # the switch reaches cluster calls too: the context's namespace becomes the default
            listed = await call_ok(first, "k8s_list_resources", {"kind": "configmaps"})
            assert listed["namespace"] == "khm-other"
            assert (await call_ok(second, "k8s_list_resources", {"kind": "configmaps"}))["namespace"] == "default"

            unknown = await call_error(first, "k8s_switch_context", {"name": "nowhere"})
            assert unknown == f"Context 'nowhere' is not in the kubeconfig; known contexts: {original}, {other}."
            assert (await call_ok(first, "k8s_get_current_context"))["name"] == other

        async with Client(server.mcp_url) as stateless:
            refused = await call_error(stateless, "k8s_switch_context", {"name": other})
            assert refused.startswith("This client's MCP protocol is stateless") and "'context' on each call" in refused
            assert (await call_ok(stateless, "k8s_get_current_context"))["name"] == original
    finally:
        stop_http_server(server)
