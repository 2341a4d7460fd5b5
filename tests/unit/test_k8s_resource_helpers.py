"""Pure helpers of the resource tools: manifest parsing, object diffs, event rows and selectors."""

from __future__ import annotations

import datetime as dt

import pytest

from kubehelm_mcp.errors import InvalidInput
from kubehelm_mcp.kube.events import EventQuery, event_row
from kubehelm_mcp.kube.manifests import load_yaml, parse_manifest
from kubehelm_mcp.pipeline.shaping import Form, shape
from kubehelm_mcp.toolsets.kubernetes.common import ChangeSet, ObjectChange, object_diff


def test_manifest_documents_lists_and_plain_dates() -> None:
    text = """
apiVersion: v1
kind: ConfigMap
metadata: {name: a}
data: {when: 2024-01-15, at: 2024-01-15T10:00:00Z, flag: "yes"}
---
# only a comment
---
{"apiVersion": "v1", "kind": "ConfigMapList", "items": [
  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}},
  {"apiVersion": "v1", "kind": "List",
   "items": [{"apiVersion": "v1", "kind": "Secret", "metadata": {"generateName": "s-"}}]}
]}
"""
    objects = parse_manifest(text)
    assert [(o["kind"], o["metadata"]) for o in objects] == [
        ("ConfigMap", {"name": "a"}),
        ("ConfigMap", {"name": "b"}),
        ("Secret", {"generateName": "s-"}),
    ]
    assert objects[0]["data"] == {"when": "2024-01-15", "at": "2024-01-15T10:00:00Z", "flag": "yes"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [b", "The manifest is not valid YAML or JSON: expected ',' or ']', but got '<stream end>' (line 1"),
        ("42\n", "Document 1 of the manifest is not an object."),
        ("kind: X\nmetadata: {name: x}\n", "Document 1 of the manifest has no apiVersion."),
        ("apiVersion: v1\nkind: ''\n", "Document 1 of the manifest has no kind."),
        ("apiVersion: v1\nkind: X\nmetadata: {name: ''}\n", "Document 1 of the manifest (X) has no metadata.name."),
        ("", "The manifest holds no objects."),
    ],
)
def test_manifest_problems_are_one_sentence(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_manifest(text)
    assert caught.value.message.startswith(message)


def test_patch_text_parses_as_one_value() -> None:
    assert load_yaml('[{"op": "remove", "path": "/a"}]', "patch") == [[{"op": "remove", "path": "/a"}]]


def test_object_diff_ignores_volatile_metadata() -> None:
    meta = {"name": "a", "resourceVersion": "1", "generation": 1}
    before = {"kind": "ConfigMap", "metadata": meta, "data": {"k": "1"}}
    after = {**before, "metadata": {"name": "a", "resourceVersion": "2", "generation": 2}, "data": {"k": "2"}}
    diff = object_diff(before, after, "ConfigMap ns/a", "now")
    assert diff.splitlines()[:2] == ["--- ConfigMap ns/a (live)", "+++ ConfigMap ns/a (now)"]
    assert "-  k: '1'" in diff and "+  k: '2'" in diff and "resourceVersion" not in diff and "generation" not in diff
    assert object_diff(before, {**before, "metadata": {"name": "a", "resourceVersion": "9"}}, "x", "now") == ""


def test_change_set_diff_is_rendered_from_sanitised_objects() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "managedFields": [{"m": 1}]}}
    result = ChangeSet(
        items=[ObjectChange(kind="Secret", api_version="v1", name="s", namespace="ns", action="configured")],
        states=[{"index": 0, "before": {**secret, "data": {"k": "b2xk"}}, "after": {**secret, "data": {"k": "bmV3"}}}],
    )
    shaped = shape(result, Form(budget=65536, structured=True))
    assert "b2xk" not in shaped.text and "bmV3" not in shaped.text and "managedFields" not in shaped.text
    assert shaped.structured is not None and "states" not in shaped.structured
    assert shaped.structured["diff"] == "Secret ns/s (no diff shown: only redacted Secret values differ)"
    assert shaped.text.splitlines()[0] == "Secret ns/s configured"

    revealed = shape(result, Form(budget=65536, structured=True, reveal_secrets=True))
    assert "-  k: b2xk" in revealed.text and "+  k: bmV3" in revealed.text


def test_event_rows_and_selectors() -> None:
    now = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    event = {
        "metadata": {"namespace": "ns", "creationTimestamp": "2026-01-01T11:00:00Z"},
        "involvedObject": {"kind": "Pod", "name": "p"},
        "type": "Warning",
        "reason": "BackOff",
        "message": "Back-off   restarting\n failed container",
        "source": {"component": "kubelet", "host": "node-1"},
        "count": 4,
        "lastTimestamp": "2026-01-01T11:58:00Z",
    }
    row = event_row(event, now)
    assert row == {
        "namespace": "ns",
        "type": "Warning",
        "reason": "BackOff",
        "object": "pod/p",
        "last_seen": "2m (x4)",
        "from": "kubelet, node-1",
        "message": "Back-off restarting failed container",
        "count": 4,
        "time": "2026-01-01T11:58:00Z",
    }
    new_style = {"eventTime": "2026-01-01T11:59:30.000000Z", "reportingComponent": "ctrl", "series": {"count": 2}}
    assert event_row(new_style, now)["last_seen"] == "30s (x2)" and event_row(new_style, now)["from"] == "ctrl"

    assert EventQuery(namespace=None).field_selector() == ""
    assert EventQuery(namespace="ns", event_type="Warning").field_selector() == "type=Warning"
    assert (
        EventQuery(namespace="ns", kind="Pod", name="p", uid="u").field_selector()
        == "involvedObject.kind=Pod,involvedObject.name=p,involvedObject.uid=u,involvedObject.namespace=ns"
    )
