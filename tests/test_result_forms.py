"""What a client receives: the default `text` form carries each answer once (no structuredContent,
no output schemas); the `structured` form adds structuredContent that always matches the tool's
output schema (the SDK client checks it). In both, no response is larger than the budget, and any
document, values file, README, object or log over the budget is read to its end through
continue tokens, on the real cluster with real helm."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp_types import CallToolResult

from kubehelm_mcp import create_client
from kubehelm_mcp.settings import Settings
from tests.support.helm_servers import HELM_HOME_VARS
from tests.support.mcp import call_ok, text_of

pytestmark = pytest.mark.anyio

NAMESPACE = "khm-forms"
BUDGET = 16 * 1024
DASHBOARD_BYTES = 52 * 1024  # like the Grafana dashboards of real charts
LOG_LINES = 3000
ENVELOPE = len('event: message\ndata: {"jsonrpc":"2.0","id":2147483647,"result":}\n\n')


def _dashboard(n: int) -> str:
    rows = "".join(f'  {{"panel": {i}, "title": "requests {n}.{i}", "expr": "rate(x[5m])"}},\n' for i in range(800))
    body = rows * (DASHBOARD_BYTES // len(rows) + 1)
    return body[:DASHBOARD_BYTES] + f"END-OF-DASHBOARD-{n}"


@pytest.fixture(scope="module")
def big_chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A chart whose three ConfigMaps each hold a 52 KB dashboard, with a ~160 KB values.yaml
    and an 80 KB README."""
    chart = tmp_path_factory.mktemp("forms") / "dashboards"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: dashboards\nversion: 1.0.0\n")
    values = {"dashboards": {f"d{n}": _dashboard(n) for n in range(3)}, "finalSetting": "LAST-VALUE"}
    (chart / "values.yaml").write_text(json.dumps(values, indent=1))  # JSON is YAML
    (chart / "README.md").write_text("".join(f"Readme line {i}.\n" for i in range(5000)) + "README-END\n")
    (chart / "templates" / "dashboards.yaml").write_text(
        "{{- range $name, $body := .Values.dashboards }}\n"
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ $.Release.Name }}-{{ $name }}\n"
        "data:\n  dashboard.json: {{ $body | quote }}\n{{- end }}\n"
    )
    return chart


@pytest.fixture(scope="module")
def big_objects(kubectl: Any, kube_node: Any, big_chart: Path, helm_binaries: dict[str, Path], kubeconfig: Path) -> str:
    """The chart installed as release `dash`, one 70 KB ConfigMap `big`, and a pod `talker`
    that has written a ~150 KB log."""
    kubectl("create", "namespace", NAMESPACE)
    data = "".join(f"row {i}: {'z' * 60}\n" for i in range(1100)) + "BIG-END"
    kubectl("create", "configmap", "big", "-n", NAMESPACE, "--from-literal", f"payload={data}")
    kubectl(
        "run", "talker", "-n", NAMESPACE, "--image=127.0.0.1/kubehelm/busybox:1", "--image-pull-policy=Never",
        "--restart=Never", "--command", "--", "sh", "-c",
        f"i=0; while [ $i -lt {LOG_LINES} ]; do echo \"log line $i {'y' * 30}\"; i=$((i+1)); done; "
        "echo LOG-END; sleep 3600",
    )  # fmt: skip
    kubectl("wait", "--for=condition=Ready", "pod/talker", "-n", NAMESPACE, "--timeout=120s")
    home = big_chart.parent / "helm-home"
    env = {**os.environ, **{var: str(home / var.lower()) for var in HELM_HOME_VARS}}
    argv = [
        str(helm_binaries["v3"]),
        "install",
        "dash",
        str(big_chart),
        "-n",
        NAMESPACE,
        "--kubeconfig",
        str(kubeconfig),
    ]
    subprocess.run(argv, env=env, check=True, capture_output=True, timeout=120)
    return NAMESPACE


async def _client(settings: Settings, form: str) -> AsyncIterator[Client]:
    async with create_client(settings=settings.replace(result_format=form, max_response_bytes=BUDGET)) as client:
        yield client


@pytest.fixture(params=["text", "structured"])
async def form_client(request: pytest.FixtureRequest, server_settings: Settings) -> AsyncIterator[Client]:
    async for client in _client(server_settings, request.param):
        yield client


def wire_bytes(result: CallToolResult) -> int:
    return ENVELOPE + len(result.model_dump_json(by_alias=True, exclude_none=True).encode())


def _token(result: CallToolResult) -> str | None:
    if result.structured_content is not None:
        token = result.structured_content.get("continue_token")
        return str(token) if token else None
    lines = [line for line in text_of(result).splitlines() if line.startswith("continue_token: ")]
    return lines[-1].removeprefix("continue_token: ") if lines else None


async def read_to_end(client: Client, tool: str, arguments: dict[str, Any]) -> tuple[str, int]:
    """Every response's text, joined, following continue tokens; and how many calls it took.
    Each response must be within the budget and, in the structured form, schema-valid (the
    client raises otherwise)."""
    texts, token = [], None
    for calls in range(1, 300):
        result = await client.call_tool(tool, {**arguments, **({"continue_token": token} if token else {})})
        assert not result.is_error, text_of(result)
        assert wire_bytes(result) <= BUDGET, (tool, calls, wire_bytes(result))
        texts.append(text_of(result))
        token = _token(result)
        if not token:
            return "\n".join(texts), calls
    raise AssertionError(f"{tool} never finished")


LARGE_ANSWERS: list[tuple[str, dict[str, Any], list[str]]] = [
    ("helm_template", {"release_name": "t"}, [f"END-OF-DASHBOARD-{n}" for n in range(3)]),
    ("helm_show_values", {}, ["END-OF-DASHBOARD-2", "LAST-VALUE"]),
    ("helm_show_readme", {}, ["Readme line 4999.", "README-END"]),
    ("helm_get_manifest", {"release_name": "dash"}, [f"END-OF-DASHBOARD-{n}" for n in range(3)]),
    ("helm_get_all", {"release_name": "dash"}, [f"END-OF-DASHBOARD-{n}" for n in range(3)]),
    ("helm_get_values", {"release_name": "dash", "all": True}, ["END-OF-DASHBOARD-2", "LAST-VALUE"]),
    ("k8s_get_resource", {"kind": "ConfigMap", "name": "big"}, ["row 1099", "BIG-END"]),
    ("k8s_list_resources", {"kind": "ConfigMap", "output": "yaml"}, ["BIG-END", "END-OF-DASHBOARD-1"]),
    ("k8s_describe_resource", {"kind": "ConfigMap", "name": "big"}, ["BIG-END"]),
    # newest lines first, then back through the older ones
    ("k8s_get_pod_logs", {"name": "talker", "tail_lines": 10000}, ["log line 0 ", "log line 2999 ", "LOG-END"]),
]


@pytest.mark.parametrize(("tool", "arguments", "markers"), LARGE_ANSWERS, ids=[t for t, _, _ in LARGE_ANSWERS])
async def test_large_answers_are_read_to_the_end_within_the_budget(
    form_client: Client, big_objects: str, big_chart: Path, tool: str, arguments: dict[str, Any], markers: list[str]
) -> None:
    arguments = {"namespace": big_objects, **arguments}
    if tool.startswith(("helm_template", "helm_show")):
        arguments["chart"] = str(big_chart)
    text, calls = await read_to_end(form_client, tool, arguments)
    assert calls > 3  # really over the budget
    for marker in markers:
        assert marker in text, (tool, marker)


async def test_the_default_form_sends_each_answer_once(server_settings: Settings, big_objects: str) -> None:
    async with create_client(settings=server_settings.replace(result_format="text")) as client:
        listed = await client.list_tools()
        assert all(tool.output_schema is None for tool in listed.tools)
        result = await client.call_tool("k8s_get_resource", {"kind": "Pod", "name": "talker", "namespace": big_objects})
        assert not result.is_error and result.structured_content is None
        assert "name: talker" in text_of(result)
    async for structured in _client(server_settings, "structured"):
        listed = await structured.list_tools()
        assert all(tool.output_schema is not None for tool in listed.tools)


async def test_values_can_be_picked_by_key(client: Client, big_objects: str, big_chart: Path) -> None:
    shown = await call_ok(client, "helm_show_values", {"chart": str(big_chart), "keys": ["finalSetting"]})
    assert shown["content"] == "finalSetting: LAST-VALUE"
    got = await call_ok(
        client,
        "helm_get_values",
        {"release_name": "dash", "namespace": big_objects, "all": True, "keys": ["finalSetting"]},
    )
    assert got["values"] == {"finalSetting": "LAST-VALUE"}
