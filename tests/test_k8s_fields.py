"""`fields` on k8s_get_resource and k8s_list_resources against the real apiserver."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from mcp import Client

from tests.support.mcp import call_error, text_of

pytestmark = pytest.mark.anyio

SECRET = "hunter2-sample-secret"  # the sample Secret's value (tests/conftest.py)


async def _call(client: Client, tool: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    result = await client.call_tool(tool, args)
    assert not result.is_error and result.structured_content is not None, text_of(result)
    return text_of(result), result.structured_content


async def test_get_picks_fields(client: Client, sample_objects: str) -> None:
    args = {"kind": "deploy", "name": "web", "namespace": sample_objects}
    fields = ["metadata.labels", "spec.template.spec.containers[0].image", "status.nothing"]
    text, structured = await _call(client, "k8s_get_resource", {**args, "fields": fields})
    assert (
        yaml.safe_load(text)
        == structured["object"]
        == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": sample_objects, "labels": {"app": "web"}},
            "spec": {"template": {"spec": {"containers": [{"image": "127.0.0.1/kubehelm/busybox:1"}]}}},
        }
    )
    text, structured = await _call(client, "k8s_get_resource", {**args, "fields": fields, "output": "summary"})
    header, row = text.splitlines()
    assert header.split()[-3:] == ["METADATA.LABELS", "SPEC.TEMPLATE.SPEC.CONTAINERS[0].IMAGE", "STATUS.NOTHING"]
    assert row.split()[0] == "web" and row.split()[-3:] == ['{"app":"web"}', "127.0.0.1/kubehelm/busybox:1", "<none>"]
    assert structured["summary"]["name"] == "web" and structured["fields"] == fields


async def test_list_fields_as_json_and_columns(client: Client, sample_objects: str) -> None:
    args = {"kind": "cm", "namespace": sample_objects, "label_selector": "tier=even", "limit": 2}
    text, structured = await _call(
        client, "k8s_list_resources", {**args, "output": "json", "fields": ["metadata.labels.tier"]}
    )
    assert json.loads(text.splitlines()[0])["items"] == structured["items"]
    assert structured["items"][0] == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm-00", "namespace": sample_objects, "labels": {"tier": "even"}},
    }
    text, structured = await _call(client, "k8s_list_resources", {**args, "fields": ["metadata.labels.tier"]})
    lines = text.splitlines()
    assert lines[0].split() == ["NAME", "DATA", "AGE", "METADATA.LABELS.TIER"]
    assert lines[1].split()[0] == "cm-00" and lines[1].split()[-1] == "even"
    assert structured["items"][0]["picked"]["metadata"]["labels"] == {"tier": "even"}


async def test_fields_never_reveal_secret_values(client: Client, sample_objects: str) -> None:
    args = {
        "kind": "secret",
        "name": "db-credentials",
        "namespace": sample_objects,
        "fields": ["data.password", "data"],
    }
    for output in ("yaml", "json", "summary"):
        text, structured = await _call(client, "k8s_get_resource", {**args, "output": output})
        assert SECRET not in text and SECRET not in json.dumps(structured), output
        assert "[REDACTED]" in text
    listed, structured = await _call(
        client, "k8s_list_resources", {"kind": "secret", "namespace": sample_objects, "fields": ["data.password"]}
    )
    assert SECRET not in listed and SECRET not in json.dumps(structured) and "[REDACTED]" in listed


async def test_bad_field_paths_get_one_sentence(client: Client, sample_objects: str) -> None:
    args = {"kind": "cm", "namespace": sample_objects}
    message = await call_error(client, "k8s_list_resources", {**args, "fields": ["data..payload"]})
    assert message == "Field path 'data..payload' is not valid at character 5; write e.g. spec.containers[0].image."
    too_many = await call_error(client, "k8s_list_resources", {**args, "fields": ["a"] * 31})
    assert too_many.startswith("Invalid arguments for k8s_list_resources: 'fields':")
