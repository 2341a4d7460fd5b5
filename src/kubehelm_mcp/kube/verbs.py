"""The apiserver's verb for a REST request (get, list, watch, create, update, patch, delete,
deletecollection), as its own audit log and RBAC name it: telemetry labels stay few and familiar."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

_WRITE_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}
_NAMESPACE_SUBRESOURCES = ("status", "finalize")


def _names_one_object(path: str) -> bool | None:
    """True for /.../pods/web (and its subresources), False for a collection, None for a
    non-resource path (/version, /readyz, discovery)."""
    segments = [s for s in path.split("?", 1)[0].split("/") if s]
    if segments[:1] == ["api"]:
        rest = segments[2:]
    elif segments[:1] == ["apis"]:
        rest = segments[3:]
    else:
        return None
    if not rest:
        return None  # /api/v1 or /apis/apps/v1: discovery
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in _NAMESPACE_SUBRESOURCES:
        rest = rest[2:]  # a namespaced resource
    return len(rest) >= 2


def request_verb(method: str, path: str, query: Sequence[tuple[str, Any]] = ()) -> str:
    method = method.upper()
    if method in _WRITE_VERBS:
        return _WRITE_VERBS[method]
    named = _names_one_object(path)
    if method == "DELETE":
        return "deletecollection" if named is False else "delete"
    if method != "GET":
        return method.lower()
    if any(key == "watch" and str(value).lower() in ("true", "1") for key, value in query):
        return "watch"
    return "list" if named is False else "get"
