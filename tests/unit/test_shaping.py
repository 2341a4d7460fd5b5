from __future__ import annotations

import json
from typing import Any

from kubehelm_mcp.paging import Cursor, decode_cursor, encode_cursor
from kubehelm_mcp.pipeline.sanitize import LAST_APPLIED, sanitize
from kubehelm_mcp.pipeline.scrub import scrub
from kubehelm_mcp.pipeline.shaping import shape
from kubehelm_mcp.tooling import PagedResult, ToolResult


class Items(PagedResult):
    items: list[dict[str, Any]]


class Blob(ToolResult):
    name: str
    body: str | None = None


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


def test_budget_cuts_lists_at_an_item_boundary() -> None:
    result = Items(items=[{"n": i, "pad": "x" * 100} for i in range(100)], page_token="tok", page_skip=3)
    shaped = shape(result, budget=3000, reveal_secrets=False)
    size = len(shaped.text.encode()) + len(json.dumps(shaped.structured, separators=(",", ":")))
    assert size <= 3000
    kept = shaped.structured["items"]
    assert kept == [{"n": i, "pad": "x" * 100} for i in range(len(kept))]
    assert 0 < len(kept) < 100
    assert decode_cursor(shaped.structured["continue_token"]) == Cursor("tok", 3 + len(kept))
    assert f"{100 - len(kept)} more item(s)" in shaped.structured["truncated_note"]


def test_budget_drops_large_fields_of_single_results() -> None:
    shaped = shape(Blob(name="big", body="line\n" * 5000), budget=2000, reveal_secrets=False)
    assert len(shaped.text.encode()) + len(json.dumps(shaped.structured)) <= 2200
    assert shaped.structured["name"] == "big" and "body" not in shaped.structured
    assert "response budget" in shaped.structured["truncated_note"]


def test_small_results_pass_unchanged() -> None:
    shaped = shape(Blob(name="small", body="hi"), budget=10_000, reveal_secrets=False)
    assert shaped.structured == {"name": "small", "body": "hi"}
