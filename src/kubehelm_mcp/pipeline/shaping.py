"""Shaping a handler's result: sanitise objects and redact secrets, then fit what the client
receives into the response budget.

The budget counts the bytes of the JSON the client receives: the text as a JSON string
(escapes included), the structured copy when the result form sends one, and the JSON-RPC
envelope. What does not fit is never dropped: a page is cut after the items that fit, and an
item (or a whole answer) larger than a response is sent in parts, each resumable through the
result's continue_token, so any document, values file or log can be read to its end.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from kubehelm_mcp.errors import InvalidInput
from kubehelm_mcp.paging import Cursor, encode_cursor
from kubehelm_mcp.pipeline.helm_values import redact_values
from kubehelm_mcp.pipeline.sanitize import sanitize
from kubehelm_mcp.pipeline.secrets import all_secret_values, redact_write
from kubehelm_mcp.tooling import Holds, PagedResult, Part, ToolResult

# Around the text and the structured copy: the JSON-RPC envelope and id, the result's _meta (server
# name and version), content wrapper, isError and resultType (~230 bytes measured), plus SSE
# framing (event line, an event id when the transport keeps them) on the HTTP transports.
ENVELOPE_BYTES = 384
_STRUCTURED_KEY_BYTES = len(',"structuredContent":')


def _unchanged(text: str) -> str:
    return text


@dataclass(frozen=True)
class Form:
    """What a shaped answer must respect.

    structured: also send the structured copy (the `structured` result form);
    resumable: the tool's input takes a continue_token, so a cut answer can point at its rest;
    finish: what the runner does to the text afterwards (known credentials out, the dry-run
      marker in), applied here so the bytes counted are the bytes sent.
    """

    budget: int
    structured: bool = False
    reveal_secrets: bool = False
    resumable: bool = True
    finish: Callable[[str], str] = field(default=_unchanged)


@dataclass(frozen=True)
class Shaped:
    text: str
    structured: dict[str, Any] | None


def _json_bytes(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


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
    fields = [(name, value, _holds(result, name)) for name, value in result if isinstance(value, dict | list)]
    # the Secret values seen anywhere are needed only where Helm values are redacted: found then alone
    needs_known = not reveal_secrets and any(holds is Holds.HELM_VALUES for _, _, holds in fields)
    known = frozenset().union(*(all_secret_values(v) for _, v, _ in fields)) if needs_known else frozenset()
    updates = {}
    for name, value, holds in fields:
        redacted = value if reveal_secrets else _redacted(value, holds, known)
        sanitized = sanitize(redacted, reveal_secrets=reveal_secrets)
        if sanitized is not value:  # a field nothing changed keeps its very objects (sanitize's rule)
            updates[name] = sanitized
    return result.model_copy(update=updates) if updates else result


def _with_footer(result: ToolResult, body: str) -> str:
    """The one place the note and the continue token are written into the text (to_text renders
    only the body), so every tool's reader gets them, once, in the same words."""
    footer = [result.truncated_note] if result.truncated_note else []
    if result.continue_token:
        footer.append(f"continue_token: {result.continue_token}")
    return "\n".join([body, *footer])


def _line_end(data: bytes, start: int, end: int) -> int:
    """Where a part ending at or before `end` should end: after the last newline in the window,
    or, for one line longer than the window, on a UTF-8 character boundary."""
    if end >= len(data):
        return len(data)
    newline = data.rfind(b"\n", start, end)
    if newline >= start:
        return newline + 1
    while end > start + 1 and (data[end] & 0xC0) == 0x80:  # inside a multi-byte character
        end -= 1
    return end


def _skeleton(result: ToolResult) -> ToolResult:
    """The result without its payload, for a part: a page without items, an answer without its
    optional large fields (every such field is optional: tooling.ToolResult)."""
    if isinstance(result, PagedResult):
        return result.model_copy(update={"items": []})
    fields = type(result).model_fields
    drop = {
        name: None
        for name, value in result
        if isinstance(value, dict | list | str) and name in fields and not fields[name].is_required()
    }
    return result.model_copy(update=drop)


class Shaper:
    def __init__(self, form: Form) -> None:
        self.form = form

    def render(self, result: ToolResult, body: str | None = None) -> Shaped:
        text = self.form.finish(_with_footer(result, result.to_text() if body is None else body))
        structured = result.model_dump(mode="json", exclude_none=True) if self.form.structured else None
        return Shaped(text, structured)

    def size(self, shaped: Shaped) -> int:
        size = ENVELOPE_BYTES + _json_bytes(shaped.text)
        if shaped.structured is not None:
            size += _STRUCTURED_KEY_BYTES + _json_bytes(shaped.structured)
        return size

    def fits(self, shaped: Shaped) -> bool:
        return self.size(shaped) <= self.form.budget

    def token(self, cursor: Cursor) -> str | None:
        return encode_cursor(cursor) if self.form.resumable else None

    def shape(self, result: ToolResult, resume: Cursor) -> Shaped:
        if resume.offset and (result.items if isinstance(result, PagedResult) else True):
            return self.part(result, resume)  # the rest of an item (or answer) a previous part began
        shaped = self.render(result)
        if self.fits(shaped):
            return shaped
        if isinstance(result, PagedResult) and result.items:
            kept = self.most_items(result)
            if kept:
                return self.render(self.cut(result, kept))
        return self.part(result, replace(resume, offset=0))

    def cut(self, result: PagedResult, kept: int) -> PagedResult:
        dropped = len(result.items) - kept
        token = self.token(Cursor(result.page_token, result.page_skip + kept))
        follow = "call again with continue_token for them" if token else "narrow the query to see them"
        note = f"{dropped} more item(s) of this page left out to stay within the response budget; {follow}."
        return result.model_copy(update={"items": result.items[:kept], "continue_token": token, "truncated_note": note})

    def most_items(self, result: PagedResult) -> int:
        """The largest k whose cut page fits (0 when even the first item alone does not)."""
        low, high = 0, len(result.items) - 1
        while low < high:
            mid = (low + high + 1) // 2
            if self.fits(self.render(self.cut(result, mid))):
                low = mid
            else:
                high = mid - 1
        return low

    def part(self, result: ToolResult, resume: Cursor) -> Shaped:
        """Bytes from the resume offset of the text of the page's first item (or of the whole
        answer), as many as fit, ending at a line end where one lies in reach."""
        offset = resume.offset
        whole: ToolResult
        if isinstance(result, PagedResult):
            whole = result.model_copy(
                update={"items": result.items[:1], "continue_token": None, "truncated_note": None}
            )
        else:
            whole = result.model_copy(update={"continue_token": None, "truncated_note": None, "part": None})
        data = whole.to_text().encode()
        if offset >= len(data):
            raise InvalidInput(
                "continue_token points past the end of this answer (it changed since); call again without it."
            )
        skeleton = _skeleton(result)
        end = min(len(data), offset + self.form.budget)
        while True:
            end = _line_end(data, offset, end)
            framed = self.framed(result, skeleton, data, resume, end)
            overshoot = self.size(framed) - self.form.budget
            if overshoot <= 0 or end - offset <= 1:
                return framed
            copies = 2 if self.form.structured else 1  # the part is in the text and in structuredContent
            end = offset + max(1, end - offset - -(-overshoot // copies))

    def framed(self, result: ToolResult, skeleton: ToolResult, data: bytes, resume: Cursor, end: int) -> Shaped:
        offset, total = resume.offset, len(data)
        chunk = data[offset:end].decode("utf-8", "ignore")
        if end < total:  # the rest of this item or answer: the same page, or the same call, resumed further on
            at = Cursor(result.page_token, result.page_skip) if isinstance(result, PagedResult) else resume
            token = self.token(replace(at, offset=end))
        elif isinstance(result, PagedResult) and len(result.items) > 1:
            token = self.token(Cursor(result.page_token, result.page_skip + 1))
        else:
            token = result.continue_token  # the next page the handler found, if any
        what = "this item" if isinstance(result, PagedResult) else "this answer"
        note = f"Bytes {offset}-{end} of {total} of {what}" + (
            "; call again with continue_token for the rest." if end < total and token else "."
        )
        if end < total and not token:
            note = f"{note[:-1]}; the rest is over the response budget: narrow the query."
        shaped = skeleton.model_copy(
            update={
                "part": Part(text=chunk, offset=offset, total=total),
                "truncated_note": note,
                "continue_token": token,
            }
        )
        return self.render(shaped, body=chunk)


def shape(result: ToolResult, form: Form, resume: Cursor | None = None) -> Shaped:
    result = sanitize_result(result, reveal_secrets=form.reveal_secrets)
    return Shaper(form).shape(result, resume or Cursor())
