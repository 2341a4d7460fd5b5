"""Confirmation rules as pure functions: parsing, the verb a tool name gives, matching, the question."""

from __future__ import annotations

import pytest

from kubehelm_mcp.pipeline.confirm import RELEASE, Action, changes_something, matches, parse_rules, question, verb_of
from kubehelm_mcp.pipeline.scope import KindRef
from kubehelm_mcp.settings import SettingsError, load_settings
from kubehelm_mcp.toolsets import all_tools

DEPLOYMENT = KindRef("Deployment", frozenset({"deployment", "deployments", "deploy", "deployments.apps"}), True)


def action(verb: str, kinds: tuple[KindRef, ...], namespaces: tuple[str, ...], **extra: object) -> Action:
    fields: dict[str, object] = {"names": ("web",), "all_namespaces": False, "context": "dev", **extra}
    return Action(verb=verb, kinds=kinds, namespaces=namespaces, **fields)  # type: ignore[arg-type]


def test_verbs_come_from_tool_names() -> None:
    verbs = {tool.name: verb_of(tool.name) for tool in all_tools()}
    assert verbs["k8s_delete_resource"] == "delete"
    assert verbs["k8s_apply_resource"] == "apply"
    assert verbs["k8s_exec_pod"] == "exec_pod"
    assert verbs["helm_uninstall"] == "uninstall"
    assert verbs["helm_repo_remove"] == "repo_remove"


def test_rules_match_by_tool_or_by_verb_kind_and_namespace() -> None:
    rules = parse_rules(("helm_uninstall", "delete:deploy:prod-*", "*:Release:*"))
    by_tool, by_scope, releases = rules
    delete_prod = action("delete", (DEPLOYMENT,), ("prod-eu",))
    assert matches(by_tool, "helm_uninstall", action("uninstall", (RELEASE,), ("x",)))
    assert not matches(by_tool, "helm_upgrade", action("upgrade", (RELEASE,), ("x",)))
    assert matches(by_scope, "k8s_delete_resource", delete_prod)  # a short name matches too
    assert not matches(by_scope, "k8s_delete_resource", action("delete", (DEPLOYMENT,), ("dev",)))
    assert not matches(by_scope, "k8s_scale_resource", action("scale", (DEPLOYMENT,), ("prod-eu",)))
    assert matches(by_scope, "k8s_delete_resource", action("delete", (DEPLOYMENT,), (), all_namespaces=True))
    assert matches(releases, "helm_rollback", action("rollback", (RELEASE,), ("x",)))
    assert not matches(releases, "k8s_delete_resource", delete_prod)
    assert matches(parse_rules(("repo_remove:*:*",))[0], "helm_repo_remove", action("repo_remove", (), ()))


def test_the_question_names_action_kind_name_namespace_and_context() -> None:
    assert question("k8s_delete_resource", action("delete", (DEPLOYMENT,), ("prod",))) == (
        "Allow k8s_delete_resource to delete Deployment 'web' in namespace 'prod' on context 'dev'?"
    )
    assert question("helm_repo_remove", action("repo_remove", (), (), names=("a", "b"), context=None)) == (
        "Allow helm_repo_remove to repo remove 'a', 'b'?"
    )


def test_calls_that_change_nothing_are_never_asked() -> None:
    tools = {tool.name: tool for tool in all_tools()}
    model = tools["k8s_delete_resource"].input_model
    assert changes_something(tools["k8s_delete_resource"], model(kind="pods", name="x"))
    assert not changes_something(tools["k8s_delete_resource"], model(kind="pods", name="x", dry_run=True))
    rollout = tools["k8s_rollout"]
    assert not changes_something(rollout, rollout.input_model(kind="deploy", name="x", action="status"))
    assert changes_something(rollout, rollout.input_model(kind="deploy", name="x", action="restart"))
    get = tools["k8s_get_resource"]
    assert not changes_something(get, get.input_model(kind="pods", name="x"))


@pytest.mark.parametrize("bad", ["delete:Deployment", "a:b:c:d", "delete::prod"])
def test_malformed_rules_are_refused_at_start(bad: str) -> None:
    with pytest.raises(SettingsError, match="must be a tool name or glob, or verb:kind:namespace"):
        load_settings(environ={"KUBEHELM_MCP_CONFIRM": f"helm_uninstall,{bad}"})
    assert load_settings(environ={"KUBEHELM_MCP_CONFIRM": "helm_*,delete:*:prod"}).policy.confirm == (
        "helm_*",
        "delete:*:prod",
    )
    with pytest.raises(SettingsError, match="deny, allow"):
        load_settings(environ={"KUBEHELM_MCP_CONFIRM_FALLBACK": "maybe"})
