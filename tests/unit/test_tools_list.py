"""What a model reads of tools/list on every conversation stays small (sizes, not timings: they are
the same on every machine), and nothing it leaves out is lost: shared inputs are said once in the
instructions, rarely used switches are named in one `flags` input and still work one by one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kubehelm_mcp import create_client
from kubehelm_mcp.schemas import input_schema
from kubehelm_mcp.server import PROVIDER_HIDDEN_INPUTS, instructions
from kubehelm_mcp.tooling import FLAGS_INPUT, switches
from kubehelm_mcp.toolsets import all_tools
from kubehelm_mcp.toolsets.helm.lifecycle import UpgradeInput

pytestmark = pytest.mark.anyio

WIRE_LIMIT = 40 * 1024  # issue 13: all tools, default settings
MODEL_LIMIT = 30 * 1024  # names, descriptions and input schemas


def _bytes(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")).encode())


async def _listed() -> list[dict[str, Any]]:
    async with create_client() as client:
        result = await client.list_tools()
    return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in result.tools]


async def test_tools_list_fits_its_limits() -> None:
    tools = await _listed()
    assert len(tools) == len([t for t in all_tools() if t.cluster_provider is None])  # capi_* need capi
    assert _bytes({"tools": tools}) <= WIRE_LIMIT
    model_part = [{k: t[k] for k in ("name", "description", "inputSchema")} for t in tools]
    assert _bytes(model_part) <= MODEL_LIMIT


def test_shared_inputs_are_said_once_in_the_instructions() -> None:
    for provider, cluster in (("kubeconfig", "context"), ("capi", "cluster_selector")):
        for name in (cluster, "clusters", "namespace", "helm_version", "continue_token", "k8s_diagnose"):
            assert name in instructions(provider), (provider, name)
        for tool in all_tools():
            schema = input_schema(tool.input_model, tool.hidden_inputs | PROVIDER_HIDDEN_INPUTS[provider])
            shared = ("context", "cluster", "clusters", "cluster_selector", "namespace", "helm_version")
            for name in (*shared, "continue_token"):
                assert "description" not in schema["properties"].get(name, {}), (tool.name, name)


def test_flags_name_the_switches_and_turn_them_on() -> None:
    schema = input_schema(UpgradeInput)
    listed = schema["properties"][FLAGS_INPUT]["items"]["enum"]
    assert set(listed) == set(switches(UpgradeInput)) and "no_hooks" in listed and "atomic" in listed
    assert not set(listed) & set(schema["properties"])  # each switch is listed once, in flags
    base = {"release_name": "r", "chart": "./c"}
    grouped = UpgradeInput.model_validate({**base, FLAGS_INPUT: ["no_hooks", "wait_for_jobs"]})
    one_by_one = UpgradeInput.model_validate({**base, "no_hooks": True, "wait_for_jobs": True})
    assert grouped == one_by_one and grouped.no_hooks and not grouped.atomic


@pytest.mark.parametrize("flags", [["no_such_flag"], "no_hooks", [3]])
def test_bad_flags_are_refused_by_name(flags: Any) -> None:
    with pytest.raises(ValueError, match="flag"):
        UpgradeInput.model_validate({"release_name": "r", "chart": "./c", FLAGS_INPUT: flags})


async def test_an_unknown_flag_is_one_clear_sentence_to_the_client() -> None:
    async with create_client() as client:
        result = await client.call_tool("helm_template", {"release_name": "r", "chart": "./c", "flags": ["nope"]})
    text = result.content[0].text if result.content else ""  # type: ignore[union-attr]
    assert result.is_error and "unknown flag(s) nope" in text and "no_hooks" in text and "Traceback" not in text
