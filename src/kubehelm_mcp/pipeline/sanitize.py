"""Shaping Kubernetes objects for an assistant: noise stripped, Secret values redacted
(pipeline/secrets.py has the rule).

Applied to every structured result, wherever the objects sit in it, so no tool can forget.
"""

from __future__ import annotations

from typing import Any

from kubehelm_mcp.pipeline.secrets import is_secret, redact_secret

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _is_object(node: dict[str, Any]) -> bool:
    return isinstance(node.get("metadata"), dict) and isinstance(node.get("kind"), str)


def _needs_cleaning(meta: dict[str, Any]) -> bool:
    annotations = meta.get("annotations")
    return "managedFields" in meta or (isinstance(annotations, dict) and LAST_APPLIED in annotations)


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


def sanitize(node: Any, *, reveal_secrets: bool = False) -> Any:
    """managedFields and last-applied removed and Secret data redacted (and followed), in a copy of
    what changes; a list or dict with nothing to change is returned itself, not copied. Callers
    rely on that: an object that comes back as the very object it was is exactly what was given
    (helm/manifests.py then shows a rendered document's own text). Leaves are not visited: this
    runs over every result, and most of a result is leaves."""
    if isinstance(node, list):
        items: list[Any] | None = None
        for index, item in enumerate(node):
            if isinstance(item, dict | list):
                new = sanitize(item, reveal_secrets=reveal_secrets)
                if new is not item:
                    items = list(node) if items is None else items
                    items[index] = new
        return node if items is None else items
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] | None = None
    for key, value in node.items():
        if isinstance(value, dict | list):
            new = sanitize(value, reveal_secrets=reveal_secrets)
            if new is not value:
                out = dict(node) if out is None else out
                out[key] = new
    current = node if out is None else out
    if _is_object(current):
        if _needs_cleaning(current["metadata"]):
            current = {**current, "metadata": _clean_metadata(current["metadata"])}
        if is_secret(current) and not reveal_secrets:
            return redact_secret(current)
    return current
