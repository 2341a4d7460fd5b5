"""The safety-mode decisions on their own: dry-run values, tool filters, namespace and kind rules."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import Field

from kubehelm_mcp.errors import PolicyDenied
from kubehelm_mcp.pipeline.policy import Policy, dry_run_value
from kubehelm_mcp.pipeline.scope import CallScope, KindRef
from kubehelm_mcp.settings import Settings
from kubehelm_mcp.tooling import Annotations, Category, Tool, ToolInput, ToolResult, Touches
from kubehelm_mcp.toolsets import all_tools


class BoolDryRun(ToolInput):
    dry_run: bool = False


class HelmDryRun(ToolInput):
    dry_run: Literal["client", "server"] | None = Field(None)


async def _noop(args: ToolInput, ctx: object) -> ToolResult:
    return ToolResult()


def _tool(name: str, model: type[ToolInput] = ToolInput, *, read_only: bool = False) -> Tool[ToolInput, ToolResult]:
    annotations = Annotations(read_only=read_only)
    return Tool(name, "d", model, ToolResult, annotations, Category.MUTATE, _noop, touches=Touches())


def test_dry_run_value_follows_the_field_type() -> None:
    assert dry_run_value(_tool("a", BoolDryRun)) is True
    assert dry_run_value(_tool("b", HelmDryRun)) == "server"
    assert dry_run_value(_tool("c")) is None


def test_dry_run_mode_forces_the_input_or_refuses() -> None:
    policy = Policy(Settings(dry_run=True))
    helm = _tool("helm_x", HelmDryRun)
    policy.check(helm)
    assert policy.apply_dry_run(helm, HelmDryRun()).dry_run == "server"
    with pytest.raises(PolicyDenied, match=r"^Tool 'plain' cannot run as a dry run; the server runs with --dry-run\.$"):
        policy.check(_tool("plain"))
    reader = _tool("reader", read_only=True)
    policy.check(reader)
    assert not policy.forces_dry_run(reader)


def test_every_registered_dry_run_input_has_a_forced_value() -> None:
    for tool in all_tools():
        if "dry_run" in tool.input_model.model_fields:
            assert dry_run_value(tool) is not None, tool.name


def test_disabled_wins_over_enabled() -> None:
    policy = Policy(Settings(enabled_tools=("k8s_*",), disabled_tools=("k8s_delete_*",)))
    assert policy.listed(_tool("k8s_get", read_only=True))
    assert not policy.listed(_tool("k8s_delete_resource"))
    assert not policy.listed(_tool("helm_list", read_only=True))
    with pytest.raises(PolicyDenied, match=r"^Tool 'helm_list' is disabled on this server\.$"):
        policy.check(_tool("helm_list", read_only=True))


SECRET = KindRef("Secret", frozenset({"secret", "secrets"}), True)
NAMESPACE = KindRef("Namespace", frozenset({"namespace", "namespaces", "ns"}), False)


@pytest.mark.parametrize(
    ("settings", "scope", "refusal"),
    [
        (Settings(allowed_namespaces=("team-*",)), CallScope(namespaces={"team-a"}), None),
        (Settings(allowed_namespaces=("team-*",)), CallScope(namespaces={"prod"}), "'prod' is not among"),
        (
            Settings(allowed_namespaces=("*",), denied_namespaces=("kube-*",)),
            CallScope(namespaces={"kube-system"}),
            "denied",
        ),
        (Settings(allowed_namespaces=("team-*",)), CallScope(all_namespaces=True), "all namespaces"),
        (Settings(allowed_namespaces=("*",)), CallScope(all_namespaces=True), None),
        (Settings(denied_namespaces=("kube-system",)), CallScope(all_namespaces=True), "all namespaces"),
        (Settings(allowed_namespaces=("team-*",)), CallScope(kinds=[NAMESPACE]), "cluster-scoped"),
        (Settings(allowed_namespaces=("team-*",), allow_cluster_scoped=True), CallScope(kinds=[NAMESPACE]), None),
        (Settings(denied_kinds=("Secret",)), CallScope(kinds=[SECRET], namespaces={"a"}), "'Secret' is denied"),
        (Settings(denied_kinds=("secret*",)), CallScope(kinds=[SECRET]), "'Secret' is denied"),
        (Settings(denied_kinds=("ns",)), CallScope(kinds=[SECRET]), None),
    ],
)
def test_scope_rules(settings: Settings, scope: CallScope, refusal: str | None) -> None:
    policy = Policy(settings)
    assert policy.scoped
    if refusal is None:
        policy.check_scope(scope)
    else:
        with pytest.raises(PolicyDenied, match=refusal):
            policy.check_scope(scope)
