"""Confirmation rules (--confirm): a call that matches one runs only after the user accepts a
one-sentence question put through the client (MCP elicitation); --confirm-fallback decides when
the client cannot ask. A rule is a tool name or glob, or `verb:kind:namespace` globs.

What a call does is read generically: the verb is the tool name without its toolset prefix and
`_resource` suffix (delete, apply, scale, uninstall, exec_pod, repo_remove), the kinds and
namespaces are what pipeline/scope.py says the call touches (a tool declaring a Helm release acts
on kind `Release`), the names are what the input names (`ToolInput.target()`) or the manifest's objects.
Calls that change nothing (read-only tools, dry runs, a `destructive_when` tool's reads) never ask.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import anyio

from kubehelm_mcp.caller import Answer
from kubehelm_mcp.context import CallContext
from kubehelm_mcp.errors import ConfirmationPending, PolicyDenied
from kubehelm_mcp.kube.manifests import parse_manifest
from kubehelm_mcp.pipeline.scope import KindRef, call_scope
from kubehelm_mcp.tooling import AnyTool, ToolInput, touches_cluster

log = logging.getLogger("kubehelm_mcp.confirm")

RELEASE = KindRef("Release", frozenset({"release", "releases"}), True)


@dataclass(frozen=True)
class Rule:
    text: str
    tool: str | None  # a tool-name glob, or None for a verb:kind:namespace rule
    verb: str = "*"
    kind: str = "*"
    namespace: str = "*"


@dataclass(frozen=True)
class Action:
    """What one call would do, as a question names it and the rules match it."""

    verb: str
    kinds: tuple[KindRef, ...]
    names: tuple[str, ...]
    namespaces: tuple[str, ...]
    all_namespaces: bool
    context: str | None


@functools.lru_cache(maxsize=16)
def parse_rules(raw: tuple[str, ...]) -> tuple[Rule, ...]:
    """Rules as settings.py validated them: no colon, or exactly two."""
    rules = []
    for text in raw:
        if ":" in text:
            verb, kind, namespace = text.split(":")
            rules.append(Rule(text, None, verb.lower(), kind.lower(), namespace))
        else:
            rules.append(Rule(text, text))
    return tuple(rules)


def verb_of(tool_name: str) -> str:
    return tool_name.partition("_")[2].removesuffix("_resource") or tool_name


def changes_something(tool: AnyTool, args: Any) -> bool:
    if tool.read_only or getattr(args, "dry_run", None):
        return False
    return tool.destructive_when is None or tool.destructive_when(args)


def _names(args: ToolInput) -> tuple[str, ...]:
    target = args.target()
    if target.manifest is not None:
        metas = [obj["metadata"] for obj in parse_manifest(target.manifest)]
        return tuple(str(meta.get("name") or meta.get("generateName")) for meta in metas)
    return target.names


async def describe_action(tool: AnyTool, args: ToolInput, ctx: CallContext) -> Action:
    scope = await call_scope(tool, args, ctx)
    release = tool.touches is not None and tool.touches.release
    kinds = tuple(scope.kinds) or ((RELEASE,) if release else ())
    return Action(
        verb=verb_of(tool.name),
        kinds=kinds,
        names=_names(args),
        namespaces=tuple(sorted(scope.namespaces)),
        all_namespaces=scope.all_namespaces,
        context=(await ctx.cluster()).context if touches_cluster(tool) else None,
    )


def matches(rule: Rule, tool_name: str, action: Action) -> bool:
    if rule.tool is not None:
        return fnmatchcase(tool_name, rule.tool)
    kind_names = {name for ref in action.kinds for name in (*ref.names, ref.kind.lower())} or {""}
    return (
        fnmatchcase(action.verb, rule.verb)
        and any(fnmatchcase(name, rule.kind) for name in kind_names)
        and (action.all_namespaces or any(fnmatchcase(ns, rule.namespace) for ns in action.namespaces or ("",)))
    )


def question(tool_name: str, action: Action) -> str:
    """One sentence: the action, kind, names, namespace and context."""
    kind = "/".join(ref.kind for ref in action.kinds)
    names = ", ".join(f"'{name}'" for name in action.names)
    parts = [f"Allow {tool_name} to {action.verb.replace('_', ' ')}", kind, names]
    if action.all_namespaces:
        parts.append("in all namespaces")
    elif action.namespaces:
        parts.append(f"in namespace {', '.join(repr(ns) for ns in action.namespaces)}")
    if action.context:
        parts.append(f"on context '{action.context}'")
    return " ".join(part for part in parts if part) + "?"


def _needs_scope(rules: tuple[Rule, ...], tool_name: str) -> bool:
    return any(rule.tool is None or fnmatchcase(tool_name, rule.tool) for rule in rules)


async def confirm_call(tool: AnyTool, args: Any, ctx: CallContext) -> None:
    """Return when the call may run; raise PolicyDenied (nothing has changed) when it may not."""
    settings = ctx.settings
    rules = parse_rules(settings.policy.confirm)
    if not rules or not changes_something(tool, args) or not _needs_scope(rules, tool.name):
        return
    wait = settings.resilience.mutate_timeout  # the scope lookup and the user's answer, together
    try:
        with anyio.fail_after(wait):
            action = await describe_action(tool, args, ctx)
            rule = next((r for r in rules if matches(r, tool.name, action)), None)
            if rule is None:
                return
            asked = question(tool.name, action)
            answer = await ctx.caller.ask(asked)
    except TimeoutError:
        raise PolicyDenied(
            f"{tool.name} needs the user's confirmation and none came within {wait:g} seconds; nothing was changed."
        ) from None
    log.info("confirmation of %s (rule %r): %s", tool.name, rule.text, answer.value)
    _decide(tool.name, rule, answer, settings.policy.confirm_fallback)


def _decide(tool_name: str, rule: Rule, answer: Answer, fallback: str) -> None:
    if answer is Answer.ACCEPT or (answer is Answer.UNSUPPORTED and fallback == "allow"):
        return
    if answer is Answer.UNSUPPORTED:
        raise PolicyDenied(
            f"{tool_name} needs the user's confirmation (rule '{rule.text}') and this client cannot ask for it; "
            "nothing was changed.",
            hint="Use a client that supports MCP elicitation, or start the server with --confirm-fallback allow.",
        )
    if answer is Answer.PENDING:
        raise ConfirmationPending(f"{tool_name} waits for the user's confirmation; nothing was changed yet.")
    said = "declined" if answer is Answer.DECLINE else "cancelled"
    raise PolicyDenied(f"The user {said} {tool_name}; nothing was changed.")
