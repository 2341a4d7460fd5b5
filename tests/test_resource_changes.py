"""Writing objects of any kind through a real MCP client against the real apiserver:
k8s_apply_resource, k8s_patch_resource, k8s_describe_resource and k8s_delete_resource's dry run."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from mcp import Client

from kubehelm_mcp import create_client
from kubehelm_mcp.settings import Settings
from tests.support.mcp import call_error, call_ok, text_of

pytestmark = pytest.mark.anyio

NS = "khm-apply"
SECRET_VALUE = "s3cr3t-apply-value"

MANIFEST = f"""apiVersion: v1
kind: Namespace
metadata:
  name: {NS}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: {NS}
data:
  mode: fast
  released: 2024-01-15
---
apiVersion: v1
kind: Secret
metadata:
  name: token
  namespace: {NS}
stringData:
  token: {SECRET_VALUE}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: {NS}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: api}}}}
  template:
    metadata: {{labels: {{app: api}}}}
    spec:
      containers:
      - name: api
        image: 127.0.0.1/kubehelm/busybox:1
        command: [sleep, "3600"]
"""

CRD_AND_CR = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.khm.example.com
spec:
  group: khm.example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
              colour: {type: string}
---
apiVersion: khm.example.com/v1
kind: Gadget
metadata:
  name: g1
  namespace: default
spec:
  size: 1
"""


@pytest.fixture(scope="module")
def stuck_pod(kubectl: Any, applied: str) -> str:
    """A pod no node can take: the scheduler reports a FailedScheduling warning about it."""
    kubectl(
        "apply",
        "-f",
        "-",
        stdin=f"apiVersion: v1\nkind: Pod\nmetadata: {{name: stuck, namespace: {applied}}}\nspec:\n"
        "  nodeSelector: {khm-nowhere: 'true'}\n"
        "  containers: [{name: c, image: 127.0.0.1/kubehelm/busybox:1, command: [sleep, '60']}]\n",
    )
    deadline = time.monotonic() + 30
    about_it = "--field-selector=involvedObject.name=stuck"
    while "FailedScheduling" not in kubectl("get", "events", "-n", applied, about_it):
        assert time.monotonic() < deadline, "the scheduler reported nothing about the stuck pod"
        time.sleep(0.3)
    return "stuck"


def _actions(result: dict[str, Any]) -> dict[str, str]:
    return {f"{i['kind']}/{i['name']}": i["action"] for i in result["items"]}


@pytest.fixture(scope="module")
def applied(kubectl: Any) -> str:
    """The manifest applied once by kubectl, so tests start from known objects."""
    kubectl("apply", "--server-side", "--field-manager=kubehelm-mcp", "-f", "-", stdin=MANIFEST)
    return NS


async def test_apply_creates_then_reports_unchanged(client: Client, kubectl: Any) -> None:
    namespace = "khm-apply-fresh"
    manifest = MANIFEST.replace(NS, namespace)
    created = await call_ok(client, "k8s_apply_resource", {"manifest": manifest})
    assert _actions(created) == {
        "Namespace/khm-apply-fresh": "created",
        "ConfigMap/settings": "created",
        "Secret/token": "created",
        "Deployment/api": "created",
    }
    assert created["dry_run"] is False and "diff" not in created
    # an unquoted date stays the string it was written as
    assert kubectl("get", "cm", "settings", "-n", namespace, "-o", "jsonpath={.data.released}") == "2024-01-15"
    managers = kubectl("get", "deploy", "api", "-n", namespace, "-o", "jsonpath={.metadata.managedFields[*].manager}")
    assert "kubehelm-mcp" in managers.split()

    again = await client.call_tool("k8s_apply_resource", {"manifest": manifest})
    assert again.structured_content is not None
    assert set(_actions(again.structured_content).values()) == {"unchanged"}
    assert "Deployment khm-apply-fresh/api unchanged" in text_of(again)


async def test_apply_shows_a_diff_and_dry_run_changes_nothing(client: Client, kubectl: Any, applied: str) -> None:
    changed = MANIFEST.replace("replicas: 1", "replicas: 3").replace("mode: fast", "mode: careful")
    changed = changed.replace(SECRET_VALUE, "another-secret-value")

    preview = await client.call_tool("k8s_apply_resource", {"manifest": changed, "dry_run": True})
    assert not preview.is_error, text_of(preview)
    text = text_of(preview)
    assert text.startswith("Dry run:")
    assert f"--- Deployment {applied}/api (live)" in text and f"+++ Deployment {applied}/api (dry run)" in text
    assert "-  replicas: 1" in text and "+  replicas: 3" in text
    assert "-  mode: fast" in text and "+  mode: careful" in text
    assert f"Secret {applied}/token (no diff shown: only redacted Secret values differ)" in text
    assert preview.structured_content is not None
    assert _actions(preview.structured_content)["Deployment/api"] == "configured"
    for leaked in ("another-secret-value", SECRET_VALUE, "managedFields", "resourceVersion"):
        assert leaked not in text and leaked not in json.dumps(preview.structured_content)
    assert kubectl("get", "deploy", "api", "-n", applied, "-o", "jsonpath={.spec.replicas}") == "1"
    assert kubectl("get", "cm", "settings", "-n", applied, "-o", "jsonpath={.data.mode}") == "fast"

    real = await call_ok(client, "k8s_apply_resource", {"manifest": changed})
    assert _actions(real) == {
        "Namespace/khm-apply": "unchanged",
        "ConfigMap/settings": "configured",
        "Secret/token": "configured",
        "Deployment/api": "configured",
    }
    assert "+  replicas: 3" in real["diff"] and "(now)" in real["diff"]
    assert kubectl("get", "deploy", "api", "-n", applied, "-o", "jsonpath={.spec.replicas}") == "3"
    await call_ok(client, "k8s_apply_resource", {"manifest": MANIFEST})  # back to the start
    assert kubectl("get", "deploy", "api", "-n", applied, "-o", "jsonpath={.spec.replicas}") == "1"


async def test_apply_fills_the_namespace_and_refuses_a_mismatch(client: Client, kubectl: Any, applied: str) -> None:
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: implicit}\ndata: {a: '1'}\n"
    done = await call_ok(client, "k8s_apply_resource", {"manifest": manifest, "namespace": applied})
    assert done["items"][0]["namespace"] == applied
    kubectl("get", "cm", "implicit", "-n", applied)

    explicit = manifest.replace("{name: implicit}", "{name: implicit, namespace: default}")
    message = await call_error(client, "k8s_apply_resource", {"manifest": explicit, "namespace": applied})
    assert "names namespace 'default' but the call asks for namespace 'khm-apply'" in message

    cluster_scoped = "apiVersion: v1\nkind: Namespace\nmetadata: {name: khm-apply-scoped, namespace: whatever}\n"
    scoped = await call_ok(client, "k8s_apply_resource", {"manifest": cluster_scoped})
    assert "namespace" not in scoped["items"][0]


async def test_apply_crd_and_custom_resource_in_one_manifest(client: Client, kubectl: Any) -> None:
    done = await call_ok(client, "k8s_apply_resource", {"manifest": CRD_AND_CR})
    assert _actions(done) == {"CustomResourceDefinition/gadgets.khm.example.com": "created", "Gadget/g1": "created"}
    assert kubectl("get", "gadgets.khm.example.com", "g1", "-n", "default", "-o", "jsonpath={.spec.size}") == "1"


async def test_apply_generate_name_json_and_lists(client: Client, kubectl: Any, applied: str) -> None:
    as_json = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "List",
            "items": [
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "job-"}, "data": {"x": "1"}},
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "from-json"}},
            ],
        }
    )
    done = await call_ok(client, "k8s_apply_resource", {"manifest": as_json, "namespace": applied})
    generated, named = done["items"]
    assert generated["action"] == "created" and generated["name"].startswith("job-") and generated["name"] != "job-*"
    assert named == {
        "kind": "ConfigMap",
        "api_version": "v1",
        "name": "from-json",
        "namespace": applied,
        "action": "created",
    }
    kubectl("get", "cm", generated["name"], "-n", applied)


async def test_apply_conflicts_and_force(client: Client, kubectl: Any, applied: str) -> None:
    kubectl("create", "configmap", "owned", "-n", applied, "--from-literal=level=1")
    manifest = (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: owned, namespace: {applied}}}\ndata: {{level: '2'}}\n"
    )
    message = await call_error(client, "k8s_apply_resource", {"manifest": manifest})
    assert "conflict" in message.lower() and "force_conflicts=true" in message
    assert kubectl("get", "cm", "owned", "-n", applied, "-o", "jsonpath={.data.level}") == "1"
    forced = await call_ok(client, "k8s_apply_resource", {"manifest": manifest, "force_conflicts": True})
    assert _actions(forced) == {"ConfigMap/owned": "configured"}
    assert kubectl("get", "cm", "owned", "-n", applied, "-o", "jsonpath={.data.level}") == "2"


async def test_apply_reports_each_failure_and_keeps_going(client: Client, kubectl: Any, applied: str) -> None:
    manifest = (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: good-one, namespace: {applied}}}\n---\n"
        f"apiVersion: khm.example.com/v1\nkind: Doohickey\nmetadata: {{name: d, namespace: {applied}}}\n---\n"
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: Bad_Name, namespace: {applied}}}\n"
    )
    result = await client.call_tool("k8s_apply_resource", {"manifest": manifest})
    assert not result.is_error, text_of(result)
    text = text_of(result)
    assert text.startswith("1 of 3 object(s) done; 2 failed.")
    assert f"ConfigMap {applied}/good-one created" in text
    assert "Doohickey" in text and "no kind 'Doohickey'" in text
    assert "Bad_Name" in text and "refused" in text
    assert result.structured_content is not None
    errors = [i.get("error") for i in result.structured_content["items"]]
    assert errors[0] is None and all(errors[1:])
    kubectl("get", "cm", "good-one", "-n", applied)


async def test_apply_bad_manifests_get_one_clear_sentence(client: Client) -> None:
    cases = {
        "kind: [unclosed": "The manifest is not valid YAML or JSON:",
        "- just\n- a list\n": "Document 1 of the manifest is not an object.",
        "apiVersion: v1\nmetadata: {name: x}\n": "Document 1 of the manifest has no kind.",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n": "Document 1 of the manifest (ConfigMap) has no metadata.",
        "---\n---\n": "The manifest holds no objects.",
    }
    for manifest, expected in cases.items():
        message = await call_error(client, "k8s_apply_resource", {"manifest": manifest})
        assert message.startswith(expected), message
    single = await call_error(
        client, "k8s_apply_resource", {"manifest": "apiVersion: v9\nkind: Sprocket\nmetadata: {name: s}\n"}
    )
    assert single.startswith("Sprocket s was not applied: The cluster serves no kind 'Sprocket' in v9.")
    two = await call_error(
        client,
        "k8s_apply_resource",
        {"manifest": "apiVersion: v9\nkind: Sprocket\nmetadata: {name: s}\n---\n" * 2},
    )
    assert two.startswith("None of the 2 objects was applied.")


async def test_patch_types_diff_and_dry_run(client: Client, kubectl: Any, applied: str) -> None:
    target = {"kind": "deployment", "name": "api", "namespace": applied}
    preview = await client.call_tool(
        "k8s_patch_resource", {**target, "patch": {"spec": {"replicas": 2}}, "dry_run": True}
    )
    assert not preview.is_error, text_of(preview)
    assert "-  replicas: 1" in text_of(preview) and "+  replicas: 2" in text_of(preview)
    assert kubectl("get", "deploy", "api", "-n", applied, "-o", "jsonpath={.spec.replicas}") == "1"

    # strategic (the default) merges the containers list by name instead of replacing it
    strategic = await call_ok(
        client,
        "k8s_patch_resource",
        {
            **target,
            "patch": {
                "spec": {"template": {"spec": {"containers": [{"name": "api", "env": [{"name": "A", "value": "1"}]}]}}}
            },
        },
    )
    assert strategic["items"][0]["action"] == "patched"
    assert "+        - name: A" in strategic["diff"]
    image = kubectl("get", "deploy", "api", "-n", applied, "-o", "jsonpath={.spec.template.spec.containers[0].image}")
    assert image == "127.0.0.1/kubehelm/busybox:1"

    as_text = await call_ok(
        client,
        "k8s_patch_resource",
        {**target, "patch": "metadata:\n  labels:\n    tier: backend\n", "patch_type": "merge"},
    )
    assert "+    tier: backend" in as_text["diff"]

    json_patch = [{"op": "replace", "path": "/spec/replicas", "value": 1}]
    unchanged = await call_ok(client, "k8s_patch_resource", {**target, "patch": json_patch})
    assert unchanged["items"][0]["action"] == "unchanged" and "diff" not in unchanged
    assert kubectl("get", "deploy", "api", "-n", applied, "-o", "jsonpath={.metadata.labels.tier}") == "backend"


async def test_patch_custom_resources_fall_back_to_merge(client: Client, kubectl: Any) -> None:
    await call_ok(client, "k8s_apply_resource", {"manifest": CRD_AND_CR})
    target = {"kind": "gadget", "name": "g1", "namespace": "default"}
    merged = await call_ok(client, "k8s_patch_resource", {**target, "patch": {"spec": {"colour": "red"}}})
    assert merged["items"][0]["action"] == "patched" and "+  colour: red" in merged["diff"]
    assert kubectl("get", "gadget", "g1", "-n", "default", "-o", "jsonpath={.spec.colour}") == "red"

    message = await call_error(
        client, "k8s_patch_resource", {**target, "patch": {"spec": {"size": 2}}, "patch_type": "strategic"}
    )
    assert message == "Gadget objects do not take strategic patches. Custom resources take patch_type merge or json."


async def test_patch_errors(client: Client, applied: str) -> None:
    target = {"kind": "configmap", "name": "settings", "namespace": applied}
    missing = await call_error(client, "k8s_patch_resource", {**target, "name": "nope", "patch": {"data": {}}})
    assert "'nope'" in missing and "not found" in missing
    no_ns = await call_error(client, "k8s_patch_resource", {**target, "namespace": "no-such-ns", "patch": {}})
    assert no_ns == "Namespace 'no-such-ns' does not exist."
    wrong_shape = await call_error(client, "k8s_patch_resource", {**target, "patch": {"a": 1}, "patch_type": "json"})
    assert wrong_shape.startswith("A json patch is a list of operations")
    list_as_merge = await call_error(
        client, "k8s_patch_resource", {**target, "patch": [{"op": "remove", "path": "/x"}], "patch_type": "merge"}
    )
    assert list_as_merge == "A merge patch is an object holding the fields to change."
    bad_text = await call_error(client, "k8s_patch_resource", {**target, "patch": "data: [unclosed"})
    assert bad_text.startswith("The patch is not valid YAML or JSON:")
    bad_op = await call_error(
        client, "k8s_patch_resource", {**target, "patch": [{"op": "remove", "path": "/data/absent"}]}
    )
    assert "refused" in bad_op or "Invalid" in bad_op or "unable" in bad_op


async def test_describe_with_events(client: Client, applied: str, stuck_pod: str) -> None:
    described = await client.call_tool("k8s_describe_resource", {"kind": "deploy", "name": "api", "namespace": applied})
    assert not described.is_error, text_of(described)
    text = text_of(described)
    assert text.startswith(f"Name:         api\nNamespace:    {applied}\nKind:         Deployment (apps/v1)")
    assert "Spec:\n  replicas:" in text and "Status:" in text
    assert "managedFields" not in text
    assert described.structured_content is not None
    events = described.structured_content["events"]
    assert any(e["reason"] == "ScalingReplicaSet" and e["from"] == "deployment-controller" for e in events), events
    assert "ScalingReplicaSet" in text

    pod = await call_ok(client, "k8s_describe_resource", {"kind": "pod", "name": stuck_pod, "namespace": applied})
    warning = next(e for e in pod["events"] if e["reason"] == "FailedScheduling")
    assert warning["type"] == "Warning" and warning["from"].startswith("default-scheduler")


async def test_events_newest_first_with_filters(client: Client, applied: str, stuck_pod: str) -> None:
    listed = await call_ok(client, "k8s_list_events", {"namespace": applied})
    times = [e["time"] for e in listed["items"]]
    assert times == sorted(times, reverse=True) and len(times) == listed["matched"]
    assert {"deployment/api", f"pod/{stuck_pod}"} <= {e["object"] for e in listed["items"]}
    assert "namespace" not in listed["items"][0]

    warnings = await call_ok(client, "k8s_list_events", {"namespace": applied, "event_type": "Warning"})
    assert warnings["items"] and all(e["type"] == "Warning" for e in warnings["items"])
    assert any(e["reason"] == "FailedScheduling" for e in warnings["items"])

    about = await call_ok(client, "k8s_list_events", {"namespace": applied, "kind": "deploy", "name": "api"})
    assert about["items"] and {e["object"] for e in about["items"]} == {"deployment/api"}

    everywhere = await client.call_tool("k8s_list_events", {"all_namespaces": True, "kind": "pods", "limit": 1})
    assert not everywhere.is_error, text_of(everywhere)
    assert everywhere.structured_content is not None
    assert len(everywhere.structured_content["items"]) == 1 and "namespace" in everywhere.structured_content["items"][0]
    assert text_of(everywhere).startswith("NAMESPACE   LAST_SEEN")
    assert "1 newest of" in text_of(everywhere)

    none = await call_ok(client, "k8s_list_events", {"namespace": applied, "name": "no-such-object"})
    assert none["items"] == [] and none["matched"] == 0
    unknown = await call_error(client, "k8s_list_events", {"kind": "Flibbertigibbet"})
    assert "no kind 'Flibbertigibbet'" in unknown


async def test_describe_secrets_cluster_scoped_and_errors(client: Client, applied: str) -> None:
    secret = await client.call_tool("k8s_describe_resource", {"kind": "secret", "name": "token", "namespace": applied})
    assert not secret.is_error
    assert SECRET_VALUE not in text_of(secret) and SECRET_VALUE not in json.dumps(secret.structured_content)
    assert "Data:\n  token: '[REDACTED]'" in text_of(secret) or "Data:\n  token: [REDACTED]" in text_of(secret)

    namespace = await client.call_tool("k8s_describe_resource", {"kind": "ns", "name": applied})
    assert namespace.structured_content is not None and "namespace" not in namespace.structured_content
    assert "Namespace:" not in text_of(namespace) and "Status:\n  phase: Active" in text_of(namespace)
    missing = await call_error(client, "k8s_describe_resource", {"kind": "cm", "name": "nope", "namespace": applied})
    assert "'nope'" in missing and "not found" in missing


async def test_delete_dry_run_keeps_the_object(server_settings: Settings, kubectl: Any, applied: str) -> None:
    async with create_client(settings=server_settings.replace(allow_destructive=True)) as client:
        args = {"kind": "configmap", "name": "settings", "namespace": applied, "dry_run": True}
        done = await call_ok(client, "k8s_delete_resource", args)
        assert done["action"] == "deletion would succeed (dry run, nothing deleted)"
        kubectl("get", "cm", "settings", "-n", applied)
        missing = await call_error(client, "k8s_delete_resource", {**args, "name": "nope"})
        assert "not found" in missing


async def test_read_only_hides_the_writers(server_settings: Settings, applied: str) -> None:
    async with create_client(settings=server_settings.replace(read_only=True)) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert "k8s_describe_resource" in names
        assert not {"k8s_apply_resource", "k8s_patch_resource"} & names
        message = await call_error(
            client, "k8s_patch_resource", {"kind": "cm", "name": "settings", "namespace": applied, "patch": {}}
        )
        assert "read-only mode" in message


READER = """apiVersion: v1
kind: ServiceAccount
metadata: {name: cm-reader, namespace: NS}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: cm-reader, namespace: NS}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: cm-reader, namespace: NS}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: cm-reader}
subjects: [{kind: ServiceAccount, name: cm-reader, namespace: NS}]
"""


async def test_rbac_limits_read_clearly(
    server_settings: Settings, kube_cluster: Any, kubectl: Any, applied: str
) -> None:
    """An identity that may read ConfigMaps but not events, nor change anything."""
    kubectl("apply", "-f", "-", stdin=READER.replace("NS", applied))
    token = kube_cluster.service_account_token(applied, "cm-reader")
    identity = {"kube_apiserver": kube_cluster.server, "kube_token": token, "kube_insecure_tls": True}
    async with create_client(settings=server_settings.replace(per_call_credentials=True)) as client:
        args = {"kind": "configmap", "name": "settings", "namespace": applied, **identity}
        described = await client.call_tool("k8s_describe_resource", args)
        assert not described.is_error, text_of(described)
        assert "Data:\n  mode: fast" in text_of(described)
        assert "Events:       not shown: Forbidden:" in text_of(described) and token not in text_of(described)

        manifest = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings, namespace: {applied}}}\n"
        refused = await call_error(client, "k8s_apply_resource", {"manifest": manifest, **identity})
        assert refused.startswith(f"ConfigMap {applied}/settings was not applied: Forbidden:"), refused
        patch = await call_error(client, "k8s_patch_resource", {**args, "patch": {"data": {"mode": "slow"}}})
        assert patch.startswith("Forbidden:") and token not in patch
    assert kubectl("get", "cm", "settings", "-n", applied, "-o", "jsonpath={.data.mode}") == "fast"
