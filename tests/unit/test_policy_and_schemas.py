from __future__ import annotations

from dataclasses import replace

import pytest

from kubehelm_mcp.errors import PolicyDenied
from kubehelm_mcp.helm.models import normalize_time
from kubehelm_mcp.kube.discovery import ResourceType, _match
from kubehelm_mcp.pipeline.policy import Policy
from kubehelm_mcp.schemas import compact, input_schema, output_schema
from kubehelm_mcp.settings import Settings
from kubehelm_mcp.tooling import NAMESPACE, READ_ONLY, Annotations, Category, Tool, ToolInput, ToolResult
from kubehelm_mcp.toolsets import all_tools


async def _noop(args: ToolInput, ctx: object) -> ToolResult:
    return ToolResult()


def _tool(annotations: Annotations) -> Tool[ToolInput, ToolResult]:
    return Tool(
        name="t",
        description="d",
        input_model=ToolInput,
        output_model=ToolResult,
        annotations=annotations,
        category=Category.QUERY,
        handler=_noop,
        toolset="kubernetes",
        touches=NAMESPACE,
    )


READER = _tool(READ_ONLY)
WRITER = _tool(Annotations(read_only=False))
DELETER = _tool(Annotations(read_only=False, destructive=True))


def test_default_policy_refuses_only_destructive_tools() -> None:
    policy = Policy(Settings())
    policy.check(READER)
    policy.check(WRITER)
    with pytest.raises(PolicyDenied, match="--allow-destructive"):
        policy.check(DELETER)
    Policy(Settings(allow_destructive=True)).check(DELETER)


def test_destructive_when_refuses_only_the_destructive_calls() -> None:
    rollout_like = replace(DELETER, destructive_when=lambda args: args.namespace == "prod")
    policy = Policy(Settings())
    policy.check(rollout_like)  # the tool itself may be called
    policy.check_call(rollout_like, ToolInput(namespace="dev"))
    with pytest.raises(PolicyDenied, match="--allow-destructive"):
        policy.check_call(rollout_like, ToolInput(namespace="prod"))
    Policy(Settings(allow_destructive=True)).check_call(rollout_like, ToolInput(namespace="prod"))


def test_read_only_policy_hides_and_refuses_writers() -> None:
    policy = Policy(Settings(read_only=True, allow_destructive=True))
    assert policy.listed(READER) and not policy.listed(WRITER) and not policy.listed(DELETER)
    for tool in (WRITER, DELETER):
        with pytest.raises(PolicyDenied, match="read-only mode"):
            policy.check(tool)


def test_compact_schema_keeps_property_named_title() -> None:
    schema = {
        "title": "X",
        "type": "object",
        "properties": {
            "title": {"title": "Title", "type": "string"},
            "maybe": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None, "title": "Maybe"},
        },
    }
    assert compact(schema) == {
        "type": "object",
        "properties": {"title": {"type": "string"}, "maybe": {"type": "integer"}},
    }


def test_tool_schemas_carry_no_class_docstrings() -> None:
    for tool in all_tools():
        for schema in (input_schema(tool.input_model), output_schema(tool.output_model)):
            assert "description" not in schema, tool.name
            assert all("description" not in d for d in schema.get("$defs", {}).values()), tool.name
        assert "additionalProperties" not in input_schema(tool.input_model), tool.name  # refused all the same


def test_go_and_rfc3339_times_normalise_alike() -> None:
    assert normalize_time("2026-11-22 04:30:01.123456789 +0000 UTC") == "2026-11-22T04:30:01Z"
    assert normalize_time("2026-11-22T05:30:01.5+01:00") == "2026-11-22T04:30:01Z"
    assert normalize_time("") == ""


def _rt(group: str, kind: str, plural: str, preferred: bool = True, short: tuple[str, ...] = ()) -> ResourceType:
    return ResourceType(
        group=group,
        version="v1",
        kind=kind,
        plural=plural,
        singular=kind.lower(),
        namespaced=True,
        verbs=("get", "list"),
        short_names=short,
        preferred=preferred,
    )


def test_kind_resolution_prefers_core_and_honours_groups() -> None:
    types = [
        _rt("events.k8s.io", "Event", "events"),
        _rt("", "Event", "events", short=("ev",)),
        _rt("apps", "Deployment", "deployments", short=("deploy",)),
    ]
    assert _match(types, "events", None) == types[1]
    assert _match(types, "Event", "events.k8s.io/v1") == types[0]
    assert _match(types, "events.events.k8s.io", None) == types[0]
    assert _match(types, "deploy", None) == types[2]
    assert _match(types, "widgets", None) is None
