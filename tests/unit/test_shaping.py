from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from kubehelm_mcp.errors import InvalidInput
from kubehelm_mcp.helm.manifests import split_manifest
from kubehelm_mcp.paging import Cursor, decode_cursor, encode_cursor
from kubehelm_mcp.pipeline.sanitize import LAST_APPLIED, sanitize
from kubehelm_mcp.pipeline.scrub import scrub
from kubehelm_mcp.pipeline.shaping import Form, Shaped, shape
from kubehelm_mcp.tooling import PagedResult, ToolResult
from kubehelm_mcp.toolsets.helm.documents import Documents, page_of


class Items(PagedResult):
    items: list[dict[str, Any]]


class Blob(ToolResult):
    name: str
    body: str | None = None


class Text(Blob):
    def to_text(self) -> str:
        return self.body or ""


def test_sanitize_strips_noise_and_redacts_secrets_anywhere() -> None:
    secret = {
        "kind": "Secret",
        "metadata": {"name": "s", "managedFields": [{}], "annotations": {LAST_APPLIED: "{...}", "keep": "me"}},
        "data": {"password": "aHVudGVy"},
        "stringData": {"token": "plain"},
    }
    cleaned = sanitize({"items": [secret]})
    only = cleaned["items"][0]
    assert only["data"] == {"password": "[REDACTED]"} and only["stringData"] == {"token": "[REDACTED]"}
    assert only["metadata"] == {"name": "s", "annotations": {"keep": "me"}}
    assert sanitize(secret, reveal_secrets=True)["data"] == {"password": "aHVudGVy"}
    assert secret["data"] == {"password": "aHVudGVy"}  # the input is not modified


def test_scrub_removes_credentials() -> None:
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLXBhcnQ"
    text = (
        f"Authorization: Bearer abcdef123456 token={jwt} https://bob:s3cret@repo.example/x "
        "password: hunter2 -----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----"
    )
    cleaned = scrub(text, known_secrets=("opaque-value-1",))
    for leaked in ("abcdef123456", jwt, "s3cret", "hunter2", "MIIE"):
        assert leaked not in cleaned
    assert scrub("the opaque-value-1 leaked", ("opaque-value-1",)) == "the [REDACTED] leaked"


def test_scrub_stays_on_one_line() -> None:
    volume = "volumes:\n- name: certs\n  secret:\n    secretName: tls-certs\n"
    assert scrub(volume) == volume
    assert scrub("password: hunter2\nnext: line") == "password: [REDACTED]\nnext: line"


def test_cursor_round_trip_and_garbage() -> None:
    assert decode_cursor(encode_cursor(Cursor("abc", 7))) == Cursor("abc", 7)
    assert decode_cursor(None) == Cursor()
    for bad in ("!!!", encode_cursor(Cursor(None, 0))[:-2] + "xx", "eyJjIjogMX0"):
        try:
            decode_cursor(bad)
        except Exception as exc:
            assert "continue_token" in str(exc)
        else:
            raise AssertionError(f"{bad!r} decoded")


def wire_bytes(shaped: Shaped) -> int:
    """What the client receives, as the SDK serialises it (compact JSON, UTF-8), in its envelope."""
    result: dict[str, Any] = {"content": [{"type": "text", "text": shaped.text}], "isError": False}
    if shaped.structured is not None:
        result["structuredContent"] = shaped.structured
    message = {"jsonrpc": "2.0", "id": 2**31, "result": result}
    return len(f"event: message\ndata: {json.dumps(message, ensure_ascii=False, separators=(',', ':'))}\n\n".encode())


def read_all(result_of: Callable[[Cursor], ToolResult], form: Form) -> list[Shaped]:
    """Every response of an answer, following continue tokens as a client would."""
    responses, cursor = [], Cursor()
    while True:
        shaped = shape(result_of(cursor), form, cursor)
        assert wire_bytes(shaped) <= form.budget
        responses.append(shaped)
        token = shaped.structured.get("continue_token") if shaped.structured else _token_in(shaped.text)
        if not token:
            return responses
        cursor = decode_cursor(token)
        assert len(responses) < 500


def _token_in(text: str) -> str | None:
    line = next((line for line in text.splitlines() if line.startswith("continue_token: ")), None)
    return line.removeprefix("continue_token: ") if line else None


def page_from(items: list[dict[str, Any]]) -> Callable[[Cursor], ToolResult]:
    return lambda cursor: Items(items=items[cursor.skip :], page_skip=cursor.skip)


@pytest.mark.parametrize("structured", [False, True])
def test_budget_cuts_lists_at_an_item_boundary(structured: bool) -> None:
    result = Items(items=[{"n": i, "pad": "x" * 100} for i in range(100)], page_token="tok", page_skip=3)
    shaped = shape(result, Form(budget=3000, structured=structured))
    assert wire_bytes(shaped) <= 3000
    if structured:
        assert shaped.structured is not None
        kept = shaped.structured["items"]
        assert kept == [{"n": i, "pad": "x" * 100} for i in range(len(kept))]
        token = shaped.structured["continue_token"]
    else:
        assert shaped.structured is None
        kept = [line for line in shaped.text.splitlines() if line.startswith("- n: ")]
        token = _token_in(shaped.text)
    assert 0 < len(kept) < 100
    assert token is not None and decode_cursor(token) == Cursor("tok", 3 + len(kept))
    assert f"{100 - len(kept)} more item(s)" in shaped.text


@pytest.mark.parametrize("structured", [False, True])
def test_an_item_larger_than_a_response_comes_in_parts_that_add_up(structured: bool) -> None:
    items = [{"n": 0, "small": "a"}, {"n": 1, "dashboard": "\n".join(f'"line {i}": "\u00e9\\"' for i in range(3000))}]
    items.append({"n": 2, "small": "b"})
    form = Form(budget=4096, structured=structured)
    responses = read_all(page_from(items), form)
    parts = [r for r in responses if "Bytes " in r.text]
    assert len(parts) > 3  # the big item really was split
    whole = Items(items=[items[1]]).to_text()
    assert "".join(_part_text(r, structured) for r in parts) == whole
    assert "small: a" in responses[0].text and "small: b" in responses[-1].text


def _part_text(shaped: Shaped, structured: bool) -> str:
    if structured:
        assert shaped.structured is not None and not shaped.structured.get("items")
        return str(shaped.structured["part"]["text"])
    return shaped.text.rsplit("\nBytes ", 1)[0]


@pytest.mark.parametrize("structured", [False, True])
def test_a_single_answer_over_the_budget_is_resumable(structured: bool) -> None:
    body = "".join(f"key{i}: {'v' * (i % 90)}\n" for i in range(4000))
    form = Form(budget=8192, structured=structured)
    responses = read_all(lambda cursor: Text(name="big", body=body), form)
    assert len(responses) > 10
    for shaped in responses:
        if structured:
            assert shaped.structured is not None
            assert shaped.structured["name"] == "big" and "body" not in shaped.structured
    texts = [_part_text(r, structured) for r in responses]
    assert "".join(texts) == body
    assert all(t.endswith("\n") for t in texts[:-1])  # parts end at line ends


def test_a_cut_answer_of_a_tool_without_continue_token_says_to_narrow() -> None:
    shaped = shape(Blob(name="big", body="line\n" * 5000), Form(budget=2000, resumable=False))
    assert wire_bytes(shaped) <= 2000
    assert "narrow the query" in shaped.text and "continue_token" not in shaped.text


def test_a_stale_offset_is_refused_clearly() -> None:
    with pytest.raises(InvalidInput, match="continue_token"):
        shape(Blob(name="small", body="hi"), Form(budget=2000), Cursor(None, 0, 10_000))


def test_small_results_pass_unchanged() -> None:
    shaped = shape(Blob(name="small", body="hi"), Form(budget=10_000, structured=True))
    assert shaped.structured == {"name": "small", "body": "hi"}
    assert shape(Blob(name="small", body="hi"), Form(budget=10_000)).structured is None


def test_sanitize_returns_what_it_leaves_unchanged_and_copies_what_it_changes() -> None:
    plain = {"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}
    noisy = {"kind": "ConfigMap", "metadata": {"name": "n", "managedFields": [{}]}}
    secret = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "djE="}}
    both = [plain, noisy, secret]
    cleaned = sanitize(both)
    assert cleaned is not both and cleaned[0] is plain
    assert cleaned[1] is not noisy and "managedFields" in noisy["metadata"]  # the input is never changed
    assert cleaned[2]["data"] == {"k": "[REDACTED]"} and secret["data"] == {"k": "djE="}
    assert sanitize([plain]) == [plain] and sanitize(both[:1])[0] is plain
    assert sanitize(secret, reveal_secrets=True) is secret


def test_rendered_documents_are_shown_as_rendered_unless_sanitising_changed_them() -> None:
    manifest = (
        "---\n# Source: c/templates/cm.yaml\n# kept: a comment of the template\n"
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {port: "80"}\n'
        "---\n# Source: c/templates/secret.yaml\napiVersion: v1\nkind: Secret\n"
        "metadata: {name: s}\nstringData: {password: hunter2-hunter2}\n"
    )
    result = Documents(**page_of(split_manifest(manifest, verbatim=True), None))
    text = shape(result, Form(budget=65536)).text
    assert (
        '# kept: a comment of the template\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {port: "80"}'
        in text
    )
    assert "hunter2" not in text and "password: '[REDACTED]'" in text  # the Secret: sanitised, then written anew
    structured = shape(result, Form(budget=65536, structured=True)).structured
    assert structured is not None and structured["items"][0]["object"] == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm"},
        "data": {"port": "80"},
    }
