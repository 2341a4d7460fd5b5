"""Shaping Kubernetes objects for an assistant: noise stripped, Secret values redacted.

Applied to every structured result, wherever the objects sit in it, so no tool can forget.
"""

from __future__ import annotations

from typing import Any

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
REDACTED_VALUE = "[REDACTED]"


def _is_object(node: dict[str, Any]) -> bool:
    return isinstance(node.get("metadata"), dict) and isinstance(node.get("kind"), str)


def _clean_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in meta.items() if k != "managedFields"}
    annotations = meta.get("annotations")
    if isinstance(annotations, dict) and LAST_APPLIED in annotations:
        trimmed = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
        if trimmed:
            meta["annotations"] = trimmed
        else:
            meta.pop("annotations")
    return meta


def _redact_secret(node: dict[str, Any]) -> dict[str, Any]:
    for key in ("data", "stringData"):
        if isinstance(node.get(key), dict):
            node[key] = dict.fromkeys(node[key], REDACTED_VALUE)
    return node


def sanitize(node: Any, *, reveal_secrets: bool = False) -> Any:
    """Return a copy with managedFields and last-applied removed and Secret data redacted."""
    if isinstance(node, list):
        return [sanitize(item, reveal_secrets=reveal_secrets) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: sanitize(v, reveal_secrets=reveal_secrets) for k, v in node.items()}
    if _is_object(out):
        out["metadata"] = _clean_metadata(out["metadata"])
        if out["kind"] == "Secret" and not reveal_secrets:
            out = _redact_secret(out)
    return out
