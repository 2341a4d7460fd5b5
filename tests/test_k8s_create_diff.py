"""k8s_create_resource and k8s_diff_resource through a real MCP client against the real apiserver."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client

from tests.support.mcp import call_error, call_ok, text_of

pytestmark = pytest.mark.anyio

SECRET_VALUE = "s3cr3t-diff-value"


def _manifest(ns: str) -> str:
    return f"""apiVersion: v1
kind: Namespace
metadata: {{name: {ns}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings, namespace: {ns}}}
data: {{mode: fast}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{generateName: job-}}
data: {{x: '1'}}
"""


def _exists(kubectl: Any, *args: str) -> bool:
    return bool(kubectl("get", *args, "--ignore-not-found", "-o", "name").strip())


async def test_create_all_then_conflict_names_the_object(client: Client, kubectl: Any) -> None:
    ns = "khm-create"
    done = await call_ok(client, "k8s_create_resource", {"manifest": _manifest(ns), "namespace": ns})
    names = [(i["kind"], i["name"], i["action"]) for i in done["items"]]
    assert names[:2] == [("Namespace", ns, "created"), ("ConfigMap", "settings", "created")]
    assert names[2][0] == "ConfigMap" and names[2][1].startswith("job-") and names[2][1] != "job-*"
    assert kubectl("get", "cm", "settings", "-n", ns, "-o", "jsonpath={.data.mode}") == "fast"

    again = await call_error(client, "k8s_create_resource", {"manifest": _manifest(ns), "namespace": ns})
    assert again.startswith("Nothing was created: 2 of 3 objects would fail."), again
    assert f"Namespace {ns} already exists" in again and f"ConfigMap {ns}/settings already exists" in again
    # the generateName object passed the dry run, but nothing was created: still only one job-*
    assert kubectl("get", "cm", "-n", ns, "-o", "name").count("configmap/job-") == 1

    one = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings, namespace: {ns}}}\n"
    message = await call_error(client, "k8s_create_resource", {"manifest": one})
    assert message == f"Nothing was created: ConfigMap {ns}/settings already exists (k8s_apply_resource updates it)."


async def test_create_validates_everything_before_creating(client: Client, kubectl: Any) -> None:
    manifest = (
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: khm-create-check}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: khm-fine, namespace: default}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name, namespace: default}\n"
    )
    message = await call_error(client, "k8s_create_resource", {"manifest": manifest})
    assert message.startswith("Nothing was created: 1 of 3 objects would fail. ConfigMap default/Bad_Name:"), message
    assert not _exists(kubectl, "namespace", "khm-create-check") and not _exists(kubectl, "cm", "khm-fine")

    unknown = await call_error(
        client, "k8s_create_resource", {"manifest": "apiVersion: v9\nkind: Sprocket\nmetadata: {name: s}\n"}
    )
    assert unknown.startswith("Nothing was created: Sprocket s: The cluster serves no kind 'Sprocket' in v9.")


async def test_create_failing_midway_says_what_was_created(client: Client, kubectl: Any) -> None:
    ns = "khm-create-midway"
    doc = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: twice, namespace: {ns}}}\n"
    manifest = f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n---\n{doc}---\n{doc}---\n" + doc.replace(
        "twice", "after"
    )
    # both copies pass the dry run (neither exists yet); the second real create then conflicts
    message = await call_error(client, "k8s_create_resource", {"manifest": manifest})
    assert message == (
        f"Only 2 of 4 objects were created (Namespace {ns}, ConfigMap {ns}/twice): ConfigMap {ns}/twice already "
        f"exists (k8s_apply_resource updates it); not created: ConfigMap {ns}/twice, ConfigMap {ns}/after."
    )
    assert _exists(kubectl, "cm", "twice", "-n", ns) and not _exists(kubectl, "cm", "after", "-n", ns)


async def test_diff_shows_changes_and_new_objects_and_changes_nothing(client: Client, kubectl: Any) -> None:
    ns = "khm-diff"
    kubectl(
        "apply",
        "--server-side",
        "--field-manager=kubehelm-mcp",
        "-f",
        "-",
        stdin=f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n---\n"
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: live, namespace: {ns}}}\ndata: {{mode: fast}}\n---\n"
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: token, namespace: {ns}}}\nstringData: {{token: old-value}}\n",
    )
    before = kubectl("get", "cm,secret", "-n", ns, "-o", "json")
    manifest = (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: live, namespace: {ns}}}\ndata: {{mode: careful}}\n---\n"
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: brand-new, namespace: {ns}}}\ndata: {{a: '1'}}\n---\n"
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: token, namespace: {ns}}}\n"
        f"stringData: {{token: {SECRET_VALUE}}}\n---\n"
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: fresh, namespace: {ns}}}\n"
        f"stringData: {{password: {SECRET_VALUE}}}\n"
    )
    result = await client.call_tool("k8s_diff_resource", {"manifest": manifest})
    assert not result.is_error, text_of(result)
    text, structured = text_of(result), result.structured_content
    assert structured is not None
    assert {i["name"]: i["action"] for i in structured["items"]} == {
        "live": "configured",
        "brand-new": "created",
        "token": "configured",
        "fresh": "created",
    }
    assert f"--- ConfigMap {ns}/live (live)" in text and f"+++ ConfigMap {ns}/live (dry run)" in text
    assert "-  mode: fast" in text and "+  mode: careful" in text
    assert f"+++ ConfigMap {ns}/brand-new (dry run)" in text and "+  a: '1'" in text and "+kind: ConfigMap" in text
    assert f"+++ Secret {ns}/fresh (dry run)" in text and "+  password: '[REDACTED]'" in text
    for leaked in (SECRET_VALUE, "old-value", "managedFields"):
        assert leaked not in text and leaked not in json.dumps(structured)
    # a dry run: the cluster holds exactly what it held before
    assert kubectl("get", "cm,secret", "-n", ns, "-o", "json") == before
    assert not _exists(kubectl, "cm", "brand-new", "-n", ns)

    same = await call_ok(client, "k8s_diff_resource", {"manifest": manifest.split("---")[0], "namespace": ns})
    assert same["items"][0]["action"] == "configured"
    unchanged = manifest.split("---")[0].replace("careful", "fast")
    assert (await call_ok(client, "k8s_diff_resource", {"manifest": unchanged}))["items"][0]["action"] == "unchanged"


async def test_diff_bad_input_gets_one_sentence(client: Client) -> None:
    bad = await call_error(client, "k8s_diff_resource", {"manifest": "kind: [unclosed"})
    assert bad.startswith("The manifest is not valid YAML or JSON:")
    unknown = await call_error(
        client, "k8s_diff_resource", {"manifest": "apiVersion: v9\nkind: Sprocket\nmetadata: {name: s}\n"}
    )
    assert unknown.startswith("Sprocket s was not compared: The cluster serves no kind 'Sprocket' in v9.")


async def test_annotations(client: Client) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    diff, create, rollout = tools["k8s_diff_resource"], tools["k8s_create_resource"], tools["k8s_rollout"]
    assert diff.annotations and diff.annotations.read_only_hint is True
    assert create.annotations and create.annotations.read_only_hint is False
    assert create.annotations.destructive_hint is False
    assert rollout.annotations and rollout.annotations.destructive_hint is True
    assert "destructive" in (rollout.description or "")
