"""Cluster names: the globs of --allowed-clusters/--denied-clusters, and resolving what a caller typed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase

from kubehelm_mcp.errors import InvalidInput, NotFound, PolicyDenied


def cluster_allowed(name: str, allowed: Sequence[str], denied: Sequence[str]) -> bool:
    if any(fnmatchcase(name, glob) for glob in denied):
        return False
    return not allowed or any(fnmatchcase(name, glob) for glob in allowed)


def check_cluster_allowed(name: str, allowed: Sequence[str], denied: Sequence[str]) -> None:
    if not cluster_allowed(name, allowed, denied):
        raise PolicyDenied(f"Cluster '{name}' is outside what this server may reach (--allowed/--denied-clusters).")


def pick(asked: str, known: Iterable[str], what: str = "cluster") -> str:
    """The one known name `asked` means: itself, or for a Cluster API `namespace/name`, a bare name
    that only one namespace has. Unknown and ambiguous names are errors naming the candidates."""
    names = sorted(set(known))
    if asked in names:
        return asked
    bare = [n for n in names if n.rpartition("/")[2] == asked]
    if len(bare) == 1:
        return bare[0]
    if len(bare) > 1:
        raise InvalidInput(f"{what.capitalize()} '{asked}' is ambiguous: {', '.join(bare)}. Name one of them.")
    similar = [n for n in names if asked.lower() in n.lower()][:10]
    hint = f"Did you mean {', '.join(similar)}?" if similar else "capi_list_clusters lists them."
    raise NotFound(f"No {what} '{asked}' is known.", hint=hint)


def matching(partial: str, known: Iterable[str]) -> list[str]:
    """Every known name `partial` is part of, exact matches first (capi_resolve_cluster)."""
    lowered = partial.strip().lower()
    if not lowered:
        raise InvalidInput("name must not be empty.")
    names = sorted(set(known))
    exact = [n for n in names if n.lower() == lowered or n.rpartition("/")[2].lower() == lowered]
    return exact or [n for n in names if lowered in n.lower()]
