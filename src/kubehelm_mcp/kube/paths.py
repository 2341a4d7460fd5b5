"""Simple field paths into objects: `metadata.name`, `spec.containers[0].image`, `spec.containers[*].name`,
`metadata.labels['app.kubernetes.io/name']`. Picks parts of an object or reads values for a column."""

from __future__ import annotations

import copy
import json
import re
from typing import Any, Final

from kubehelm_mcp.errors import InvalidInput


class _Wildcard:
    def __repr__(self) -> str:
        return "*"


WILDCARD: Final = _Wildcard()
Segment = str | int | _Wildcard

# A name after an optional dot, or a bracket holding an index, * or a quoted key.
_TOKEN = re.compile(r"""\.?([^.\[\]'"\s]+)|\[(-?\d+|\*|'[^']*'|"[^"]*")\]""")
_MISSING: Final = object()


def parse_path(text: str) -> tuple[Segment, ...]:
    """The segments of a path; a leading dot and jsonpath braces ({.a.b}) are accepted."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    segments: list[Segment] = []
    pos = 0
    while pos < len(body):
        match = _TOKEN.match(body, pos)
        if not match or (match.group(1) and match.start() > 0 and body[match.start()] != "."):
            raise InvalidInput(
                f"Field path '{text}' is not valid at character {pos + 1}; write e.g. spec.containers[0].image."
            )
        name, bracket = match.groups()
        if name is not None:
            segments.append(name)
        elif bracket == "*":
            segments.append(WILDCARD)
        elif bracket[0] in "'\"":
            segments.append(bracket[1:-1])
        else:
            segments.append(int(bracket))
        pos = match.end()
    if not segments:
        raise InvalidInput("A field path is empty; write e.g. metadata.name.")
    return tuple(segments)


def _indexes(node: list[Any], head: int | _Wildcard) -> list[int]:
    if isinstance(head, _Wildcard):
        return list(range(len(node)))
    index = head + len(node) if head < 0 else head
    return [index] if 0 <= index < len(node) else []


def _pick(node: Any, segments: tuple[Segment, ...]) -> Any:
    if not segments:
        return copy.deepcopy(node)
    head, rest = segments[0], segments[1:]
    if isinstance(head, str):
        if not isinstance(node, dict) or head not in node:
            return _MISSING
        sub = _pick(node[head], rest)
        return _MISSING if sub is _MISSING else {head: sub}
    if not isinstance(node, list):
        return _MISSING
    found = {i: sub for i in _indexes(node, head) if (sub := _pick(node[i], rest)) is not _MISSING}
    if not found:
        return _MISSING
    # Elements keep their positions (None before them), so a path reads the same in the pick.
    return [found.get(i) for i in range(max(found) + 1)]


def _merge(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        return {**a, **{k: _merge(a[k], v) if k in a else v for k, v in b.items()}}
    if isinstance(a, list) and isinstance(b, list):
        size = max(len(a), len(b))
        padded = zip([*a, *[None] * (size - len(a))], [*b, *[None] * (size - len(b))], strict=True)
        return [_merge(x, y) for x, y in padded]
    return b if a is None else a


def pick(obj: dict[str, Any], paths: list[tuple[Segment, ...]]) -> dict[str, Any]:
    """A copy of `obj` holding only the given paths (missing ones are left out)."""
    result: dict[str, Any] = {}
    for segments in paths:
        part = _pick(obj, segments)
        if part is not _MISSING:
            result = _merge(result, part)
    return result


def lookup(node: Any, segments: tuple[Segment, ...]) -> list[Any]:
    """Every value a path reaches (several through a wildcard, none when it is missing)."""
    if not segments:
        return [] if node is None else [node]
    head, rest = segments[0], segments[1:]
    if isinstance(head, str):
        return lookup(node[head], rest) if isinstance(node, dict) and head in node else []
    if not isinstance(node, list):
        return []
    return [value for i in _indexes(node, head) for value in lookup(node[i], rest)]


def column_text(obj: dict[str, Any], segments: tuple[Segment, ...]) -> str:
    """A table cell, like kubectl's custom columns: values joined by commas, <none> when missing."""
    values = lookup(obj, segments)
    if not values:
        return "<none>"
    return ",".join(v if isinstance(v, str) else json.dumps(v, separators=(",", ":")) for v in values)
