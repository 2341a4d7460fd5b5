"""The Kubernetes tools against the real apiserver, through an in-memory MCP client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from kubehelm_mcp import create_client
from kubehelm_mcp.settings import Settings
from tests.conftest import SAMPLE_CONFIGMAPS
from tests.support.mcp import call_error, call_ok, text_of

pytestmark = pytest.mark.anyio

CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.khm.example.com
spec:
  group: khm.example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wdg]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer}}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
"""


async def test_contexts(client: Client, kube_cluster: Any) -> None:
    listed = await call_ok(client, "k8s_list_contexts")
    names = [c["name"] for c in listed["items"]]
    assert "kubehelm-test" in names
    assert [c["name"] for c in listed["items"] if c["current"]] == ["kubehelm-test"]
    assert listed["items"][0]["server"] == kube_cluster.server
    current = await call_ok(client, "k8s_get_current_context")
    assert current["name"] == "kubehelm-test"
    assert current["namespace"] == "default"


async def test_get_resource_in_every_output(client: Client, sample_objects: str) -> None:
    args = {"kind": "ConfigMap", "name": "cm-03", "namespace": sample_objects}
    as_yaml = await client.call_tool("k8s_get_resource", args)
    obj = yaml.safe_load(text_of(as_yaml))
    assert obj["metadata"]["labels"] == {"sample": "yes", "tier": "odd"}
    assert "managedFields" not in obj["metadata"]
    assert as_yaml.structured_content is not None
    assert as_yaml.structured_content["object"]["data"]["payload"] == "x" * 400

    as_json = await client.call_tool("k8s_get_resource", {**args, "output": "json"})
    assert json.loads(text_of(as_json))["metadata"]["name"] == "cm-03"

    summary = await call_ok(client, "k8s_get_resource", {**args, "output": "summary"})
    assert summary["summary"]["name"] == "cm-03"
    assert summary["summary"]["data"] == 1  # kubectl's DATA column


async def test_kind_aliases_and_api_version(client: Client, sample_objects: str) -> None:
    for kind in ("deployment", "deployments", "deploy", "Deployment.apps"):
        got = await call_ok(client, "k8s_get_resource", {"kind": kind, "name": "web", "namespace": sample_objects})
        assert got["kind"] == "Deployment"
        assert got["api_version"] == "apps/v1"
    explicit = await call_ok(
        client,
        "k8s_get_resource",
        {"kind": "Deployment", "api_version": "apps/v1", "name": "web", "namespace": sample_objects},
    )
    assert explicit["object"]["spec"]["replicas"] == 1


async def test_secret_values_are_redacted(client: Client, sample_objects: str) -> None:
    got = await client.call_tool(
        "k8s_get_resource", {"kind": "secret", "name": "db-credentials", "namespace": sample_objects}
    )
    assert "hunter2" not in text_of(got)
    assert got.structured_content is not None
    assert got.structured_content["object"]["data"] == {"password": "[REDACTED]"}
    listed = await client.call_tool(
        "k8s_list_resources", {"kind": "secrets", "namespace": sample_objects, "output": "yaml"}
    )
    assert "hunter2" not in text_of(listed)
    assert "aHVudGVyMi" not in text_of(listed)  # nor its base64


async def test_list_summary_selectors_and_namespaces(client: Client, sample_objects: str) -> None:
    listed = await call_ok(
        client, "k8s_list_resources", {"kind": "cm", "namespace": sample_objects, "label_selector": "tier=even"}
    )
    assert len(listed["items"]) == SAMPLE_CONFIGMAPS // 2
    assert listed["columns"] == ["name", "data", "age"]
    assert all(int(item["name"][3:]) % 2 == 0 for item in listed["items"])

    by_field = await call_ok(
        client,
        "k8s_list_resources",
        {"kind": "ConfigMap", "namespace": sample_objects, "field_selector": "metadata.name=cm-07"},
    )
    assert [i["name"] for i in by_field["items"]] == ["cm-07"]

    everywhere = await call_ok(client, "k8s_list_resources", {"kind": "deployments", "all_namespaces": True})
    assert {"namespace": sample_objects, "name": "web"}.items() <= everywhere["items"][0].items() or any(
        i["namespace"] == sample_objects and i["name"] == "web" for i in everywhere["items"]
    )
    assert everywhere["columns"][0] == "namespace"

    nodes_or_ns = await call_ok(client, "k8s_list_resources", {"kind": "namespaces", "namespace": "ignored"})
    assert sample_objects in [i["name"] for i in nodes_or_ns["items"]]


async def test_list_of_a_kind_with_no_objects(client: Client, sample_objects: str) -> None:
    """The apiserver sends `rows: null` for an empty Table."""
    empty = await call_ok(client, "k8s_list_resources", {"kind": "roles", "namespace": sample_objects})
    assert empty["items"] == []
    as_yaml = await client.call_tool(
        "k8s_list_resources", {"kind": "roles", "namespace": sample_objects, "output": "yaml"}
    )
    assert not as_yaml.is_error and "No Role objects found" in text_of(as_yaml)


async def test_list_paging_with_limit_and_continue(client: Client, sample_objects: str) -> None:
    seen: list[str] = []
    token = None
    for _ in range(10):
        args: dict[str, Any] = {
            "kind": "configmaps",
            "namespace": sample_objects,
            "limit": 7,
            "label_selector": "sample=yes",
        }
        if token:
            args["continue_token"] = token
        page = await call_ok(client, "k8s_list_resources", args)
        assert len(page["items"]) <= 7
        seen += [i["name"] for i in page["items"]]
        token = page.get("continue_token")
        if not token:
            break
    assert seen == [f"cm-{i:02d}" for i in range(SAMPLE_CONFIGMAPS)]


async def test_response_budget_cuts_at_item_boundary_and_resumes(
    server_settings: Settings, sample_objects: str
) -> None:
    settings = server_settings.replace(max_response_bytes=6000)
    async with create_client(settings=settings) as small:
        seen: list[str] = []
        token = None
        for _ in range(40):
            args: dict[str, Any] = {
                "kind": "configmaps",
                "namespace": sample_objects,
                "output": "yaml",
                "label_selector": "sample=yes",
            }
            if token:
                args["continue_token"] = token
            result = await small.call_tool("k8s_list_resources", args)
            assert not result.is_error, text_of(result)
            body = text_of(result)
            assert result.structured_content is not None
            size = len(body.encode()) + len(json.dumps(result.structured_content, separators=(",", ":")))
            assert size <= 6000
            page = result.structured_content
            seen += [i["metadata"]["name"] for i in page["items"]]
            token = page.get("continue_token")
            if not token:
                break
            assert "more item(s)" in page["truncated_note"]
    assert seen == [f"cm-{i:02d}" for i in range(SAMPLE_CONFIGMAPS)]


async def test_crd_installed_after_start_is_found(client: Client, kubectl: Any) -> None:
    await call_ok(client, "k8s_get_api_resources")  # warm the discovery cache first
    kubectl("apply", "-f", "-", stdin=CRD)
    for _ in range(50):  # kubectl 1.20's wait fails outright while the new CRD has no conditions yet
        try:
            kubectl("wait", "--for=condition=Established", "crd/widgets.khm.example.com", "--timeout=60s")
            break
        except AssertionError as error:
            if ".status.conditions accessor error" not in str(error):
                raise
            await anyio.sleep(0.2)
    else:
        raise AssertionError("crd/widgets.khm.example.com never got its conditions")
    kubectl(
        "apply",
        "-f",
        "-",
        stdin="apiVersion: khm.example.com/v1\nkind: Widget\nmetadata:\n"
        "  name: w1\n  namespace: default\nspec:\n  size: 3\n",
    )
    listed = await call_ok(client, "k8s_list_resources", {"kind": "wdg", "namespace": "default"})
    assert listed["kind"] == "Widget"
    assert listed["items"][0]["name"] == "w1"
    assert listed["items"][0]["size"] == 3  # the CRD's printer column
    resources = await call_ok(client, "k8s_get_api_resources", {"api_group": "khm.example.com"})
    assert "Widget" in [r["kind"] for r in resources["items"]]


async def test_api_resources_filters(client: Client) -> None:
    core = await call_ok(client, "k8s_get_api_resources", {"api_group": ""})
    kinds = {r["kind"] for r in core["items"]}
    assert {"Pod", "ConfigMap", "Namespace"} <= kinds
    cluster_scoped = await call_ok(client, "k8s_get_api_resources", {"namespaced": False})
    assert all(not r["namespaced"] for r in cluster_scoped["items"])
    assert "Namespace" in {r["kind"] for r in cluster_scoped["items"]}


async def test_bad_input_gets_one_clear_sentence(client: Client, sample_objects: str) -> None:
    unknown_kind = await call_error(client, "k8s_list_resources", {"kind": "Flibbertigibbet"})
    assert "no kind 'Flibbertigibbet'" in unknown_kind

    missing = await call_error(
        client, "k8s_get_resource", {"kind": "ConfigMap", "name": "nope", "namespace": sample_objects}
    )
    assert "'nope'" in missing and "not found" in missing

    no_namespace = await call_error(
        client, "k8s_get_resource", {"kind": "ConfigMap", "name": "x", "namespace": "no-such-namespace"}
    )
    assert no_namespace == "Namespace 'no-such-namespace' does not exist."

    wrong_type = await call_error(client, "k8s_list_resources", {"kind": "pods", "limit": "lots"})
    assert "'limit'" in wrong_type and "integer" in wrong_type

    unknown_arg = await call_error(client, "k8s_list_resources", {"kind": "pods", "colour": "blue"})
    assert "'colour' is not an argument" in unknown_arg

    required = await call_error(client, "k8s_get_resource", {"kind": "pods"})
    assert "'name' is required" in required

    with pytest.raises(MCPError) as unknown_tool:  # a JSON-RPC error, as the spec asks, not a tool result
        await client.call_tool("k8s_teleport", {})
    assert unknown_tool.value.code == INVALID_PARAMS
    assert "Unknown tool 'k8s_teleport'" in unknown_tool.value.error.message

    unknown_context = await call_error(client, "k8s_list_resources", {"kind": "pods", "context": "nowhere"})
    assert "Context 'nowhere' is not in the kubeconfig" in unknown_context

    bad_selector = await call_error(client, "k8s_list_resources", {"kind": "pods", "label_selector": "a==b==c"})
    assert "label selector term 'a==b==c' is not valid" in bad_selector

    bad_token = await call_error(client, "k8s_list_resources", {"kind": "pods", "continue_token": "garbage!"})
    assert "continue_token" in bad_token

    # the server keeps serving after all of that
    await call_ok(client, "k8s_get_current_context")


async def test_broken_kubeconfigs_and_unreachable_cluster(
    server_settings: Settings, tmp_path: Any, kube_cluster: Any
) -> None:
    missing = tmp_path / "missing.yaml"
    malformed = tmp_path / "malformed.yaml"
    malformed.write_text("clusters: [unclosed\n")
    unreachable = tmp_path / "unreachable.yaml"
    config = yaml.safe_load(Path(kube_cluster.kubeconfig).read_text())
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    unreachable.write_text(yaml.safe_dump(config))
    cases = {
        missing: f"Kubeconfig file {missing} does not exist.",
        malformed: f"Kubeconfig file {malformed} is not valid YAML (line 2).",
        unreachable: "Cannot reach the Kubernetes API server at https://127.0.0.1:1",
    }
    for path, expected in cases.items():
        async with create_client(settings=server_settings.replace(kubeconfig=str(path))) as broken:
            message = await call_error(broken, "k8s_list_resources", {"kind": "pods"})
            assert message.startswith(expected), message
            assert "BEGIN" not in message and "client-key" not in message
            # the server keeps serving
            assert (await broken.list_tools()).tools
