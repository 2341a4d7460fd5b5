"""Secret objects in results: their data redacted, and the data followed wherever a write or a
patch put it inside the object (an annotation, a label, any other field).

The rule, for every Secret object in a result:
- every `data` and `stringData` value is [REDACTED] (keys kept);
- every other string of the object (annotations, labels, finalizers, any field but its identity:
  kind, apiVersion, type, name, namespace, uid, resourceVersion, generation, timestamps) that equals
  one of those values, stored (base64) or decoded, is [REDACTED]; one that contains such a value of
  8 characters or more has that part replaced;
- in a write's before/after pair (apply, create, patch, diff), the values of both sides count for
  both, and the label and annotation values the write added or changed on the Secret are [REDACTED]
  (their keys stay, so the diff still shows which ones changed).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, TypeGuard

REDACTED = "[REDACTED]"
MIN_EMBEDDED_CHARS = 8  # shorter values are redacted only where a whole string equals them
_DATA = ("data", "stringData")
_IDENTITY = frozenset({"apiVersion", "kind", "type", "immutable", *_DATA})
_META_IDENTITY = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
        "managedFields",
    }
)
_WRITTEN = ("labels", "annotations")


def is_secret(node: Any) -> TypeGuard[dict[str, Any]]:
    return isinstance(node, dict) and node.get("kind") == "Secret" and isinstance(node.get("metadata"), dict)


def _decoded(value: str) -> str | None:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8") or None
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def secret_values(obj: dict[str, Any]) -> frozenset[str]:
    """A Secret's values in both forms: data as stored (base64) and decoded, stringData as given and encoded."""
    found: set[str] = set()
    for key in _DATA:
        values = obj.get(key)
        for value in values.values() if isinstance(values, dict) else ():
            if not isinstance(value, str) or not value or value == REDACTED:
                continue
            found.add(value)
            other = _decoded(value) if key == "data" else base64.b64encode(value.encode()).decode()
            if other:
                found.add(other)
    return frozenset(found)


def all_secret_values(node: Any) -> frozenset[str]:
    """The values of every Secret anywhere in a result."""
    if isinstance(node, list):
        return frozenset().union(*(all_secret_values(item) for item in node))
    if not isinstance(node, dict):
        return frozenset()
    inner = frozenset().union(*(all_secret_values(value) for value in node.values()))
    return inner | secret_values(node) if is_secret(node) else inner


def hide_known(node: Any, known: frozenset[str]) -> Any:
    """Every string of `node` equal to a known value becomes [REDACTED]; embedded long ones are cut out."""
    if not known:
        return node
    if isinstance(node, list):
        return [hide_known(item, known) for item in node]
    if isinstance(node, dict):
        return {key: hide_known(value, known) for key, value in node.items()}
    if not isinstance(node, str):
        return node
    if node in known:
        return REDACTED
    for value in sorted((v for v in known if len(v) >= MIN_EMBEDDED_CHARS), key=len, reverse=True):
        node = node.replace(value, REDACTED)
    return node


def redact_secret(obj: dict[str, Any], known: frozenset[str] | None = None) -> dict[str, Any]:
    """The Secret with its data redacted and followed (known: its own values unless given more)."""
    known = secret_values(obj) if known is None else known
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key in _DATA and isinstance(value, dict):
            out[key] = dict.fromkeys(value, REDACTED)
        elif key == "metadata":
            out[key] = {k: v if k in _META_IDENTITY else hide_known(v, known) for k, v in value.items()}
        else:
            out[key] = value if key in _IDENTITY else hide_known(value, known)
    return out


def _hide_written(redacted: dict[str, Any], after: dict[str, Any], before: dict[str, Any] | None) -> dict[str, Any]:
    meta = dict(redacted["metadata"])
    old_meta = before["metadata"] if before is not None else {}
    for field in _WRITTEN:
        new, old = after["metadata"].get(field), old_meta.get(field)
        old = old if isinstance(old, dict) else {}
        if isinstance(new, dict) and isinstance(meta.get(field), dict):
            meta[field] = {
                key: shown if key in old and old[key] == new.get(key) else REDACTED
                for key, shown in meta[field].items()
            }
    return {**redacted, "metadata": meta}


def redact_write(state: dict[str, Any]) -> dict[str, Any]:
    """One {"before": object, "after": object} pair of a write (either side may be None)."""
    before = state.get("before") if is_secret(state.get("before")) else None
    after = state.get("after") if is_secret(state.get("after")) else None
    sides = [side for side in (before, after) if is_secret(side)]
    if not sides:
        return state
    known = frozenset().union(*(secret_values(side) for side in sides))
    out = dict(state)
    if before is not None:
        out["before"] = redact_secret(before, known)
    if after is not None:
        out["after"] = _hide_written(redact_secret(after, known), after, before)
    return out
