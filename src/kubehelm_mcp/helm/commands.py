"""Which Helm command an argument list runs ('list', 'get values', 'repo add'), for telemetry:
release names, charts and flag values never become labels."""

from __future__ import annotations

from collections.abc import Sequence

_GROUPS = frozenset({"dependency", "get", "plugin", "registry", "repo", "search", "show"})
_COMMANDS = _GROUPS | {
    "create",
    "env",
    "history",
    "install",
    "lint",
    "list",
    "package",
    "pull",
    "push",
    "rollback",
    "status",
    "template",
    "test",
    "uninstall",
    "upgrade",
    "verify",
    "version",
}


def helm_command(args: Sequence[str]) -> str:
    """The first known command word (flags may come first) and, for a command group, its subcommand."""
    for i, word in enumerate(args):
        if word in _COMMANDS:
            sub = args[i + 1] if i + 1 < len(args) else ""
            return f"{word} {sub}" if word in _GROUPS and sub.isalpha() else word
    return "other"
