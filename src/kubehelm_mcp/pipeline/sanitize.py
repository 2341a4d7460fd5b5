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
    """Return a copy with managedFields and last-applied removed and Secret data redacted (and followed)."""
    if isinstance(node, list):
        return [sanitize(item, reveal_secrets=reveal_secrets) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: sanitize(v, reveal_secrets=reveal_secrets) for k, v in node.items()}
    if _is_object(out):
        out["metadata"] = _clean_metadata(out["metadata"])
        if is_secret(out) and not reveal_secrets:
            out = redact_secret(out)
    return out
