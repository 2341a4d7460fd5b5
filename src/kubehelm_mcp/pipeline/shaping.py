"""Shaping a handler's result: sanitise objects and redact secrets, fit the response budget, render the text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kubehelm_mcp.paging import Cursor, encode_cursor
from kubehelm_mcp.pipeline.helm_values import redact_values
from kubehelm_mcp.pipeline.sanitize import sanitize
from kubehelm_mcp.pipeline.secrets import all_secret_values, redact_write
from kubehelm_mcp.tooling import Holds, PagedResult, ToolResult


@dataclass(frozen=True)
class Shaped:
    text: str
    structured: dict[str, Any]


def _render(result: ToolResult) -> Shaped:
    return Shaped(result.to_text(), result.model_dump(mode="json", exclude_none=True))


def _size(shaped: Shaped) -> int:
    return len(shaped.text.encode()) + len(json.dumps(shaped.structured, separators=(",", ":")).encode())


def _holds(result: ToolResult, name: str) -> Holds | None:
    info = type(result).model_fields.get(name)
    return next((m for m in info.metadata if isinstance(m, Holds)), None) if info else None


def _redacted(value: Any, holds: Holds | None, known: frozenset[str]) -> Any:
    """The redaction a field's annotation asks for, before the Secret rule every field gets."""
    if holds is Holds.WRITES and isinstance(value, list):
        return [redact_write(state) if isinstance(state, dict) else state for state in value]
    if holds is Holds.HELM_VALUES:
        return redact_values(value, known)
    return value


def sanitize_result(result: ToolResult, *, reveal_secrets: bool) -> ToolResult:
    """Every dict and list field: Secret objects redacted (pipeline/secrets.py), Helm values and
    write states by their own rules (pipeline/helm_values.py, secrets.redact_write)."""
    fields = [(name, value) for name, value in result if isinstance(value, dict | list)]
    known = frozenset() if reveal_secrets else frozenset().union(*(all_secret_values(v) for _, v in fields))
    updates = {}
    for name, value in fields:
        if not reveal_secrets:
            value = _redacted(value, _holds(result, name), known)
        updates[name] = sanitize(value, reveal_secrets=reveal_secrets)
    return result.model_copy(update=updates)


def _cut(result: PagedResult, kept: int, budget: int) -> PagedResult:
    dropped = len(result.items) - kept
    token = encode_cursor(Cursor(result.page_token, result.page_skip + kept))
    note = (
        f"{dropped} more item(s) of this page not shown to stay within the {budget}-byte response budget; "
        "call again with continue_token to see them, or narrow the query."
    )
    return result.model_copy(update={"items": result.items[:kept], "continue_token": token, "truncated_note": note})


def _fit_items(result: PagedResult, budget: int) -> ToolResult:
    """Keep the longest prefix of items that fits; the continue token resumes right after it."""
    low, high = 0, len(result.items) - 1
    while low < high:  # the largest k whose cut result fits
        mid = (low + high + 1) // 2
        if _size(_render(_cut(result, mid, budget))) <= budget:
            low = mid
        else:
            high = mid - 1
    return _cut(result, max(low, 1), budget)  # one oversized item still beats an empty answer


def _drop_large_fields(result: ToolResult, shaped: Shaped, budget: int) -> Shaped:
    sizes = sorted(
        ((len(json.dumps(v, default=str)), name) for name, v in result if isinstance(v, dict | list | str)),
        reverse=True,
    )
    updates: dict[str, Any] = {}
    for _, name in sizes:
        if name == "truncated_note":
            continue
        updates[name] = None
        trial = result.model_copy(update=updates)
        if _size(Shaped("", trial.model_dump(mode="json", exclude_none=True))) <= budget // 2:
            break
    note = (
        f"Result cut to stay within the {budget}-byte response budget; "
        "ask for less (a summary, fewer fields, a narrower query)."
    )
    trimmed = result.model_copy(update={**updates, "truncated_note": note})
    text_budget = max(budget // 2, budget - _size(Shaped("", trimmed.model_dump(mode="json", exclude_none=True))))
    text = shaped.text.encode()[: max(0, text_budget - len(note) - 8)].decode("utf-8", "ignore")
    text = text.rsplit("\n", 1)[0] if "\n" in text else text
    return Shaped(f"{text}\n... {note}", trimmed.model_dump(mode="json", exclude_none=True))


def shape(result: ToolResult, *, budget: int, reveal_secrets: bool) -> Shaped:
    result = sanitize_result(result, reveal_secrets=reveal_secrets)
    shaped = _render(result)
    if _size(shaped) <= budget:
        return shaped
    if isinstance(result, PagedResult) and len(result.items) > 1:
        shaped = _render(_fit_items(result, budget))
        if _size(shaped) <= budget:
            return shaped
    return _drop_large_fields(result, shaped, budget)
