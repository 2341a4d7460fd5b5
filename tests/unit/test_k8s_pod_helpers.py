"""Pure helpers behind the pod tools: log cutting, exec status and buffers, container choice."""

from __future__ import annotations

import json

import pytest

from kubehelm_mcp.errors import InvalidInput
from kubehelm_mcp.kube.logs import grep_lines, keep_newest, line_cost
from kubehelm_mcp.kube.pods import pick_container
from kubehelm_mcp.kube.streams import TailBuffer, parse_status


def test_keep_newest_fits_text_and_json_copy() -> None:
    lines = [f'line {i} \u00e9\t"q"' for i in range(100)]
    kept, dropped = keep_newest(lines, 600)
    assert kept == lines[dropped:] and kept[-1] == lines[-1] and dropped > 0
    text = "\n".join(kept)
    assert len(text.encode()) + len(json.dumps(text)) <= 600
    assert sum(line_cost(line) for line in kept) <= 600 < sum(line_cost(line) for line in lines[dropped - 1 :])
    assert keep_newest(lines, 10**6) == (lines, 0)
    assert keep_newest(lines, 0) == ([], 100)
    huge = ["old", "x" * 5000 + "END"]
    (cut,), dropped = keep_newest(huge, 300)
    assert cut.endswith("xEND") and line_cost(cut) <= 300 and dropped == 1


def test_grep_lines() -> None:
    lines = ["GET /a 200", "GET /b 500", "POST /c 500"]
    assert grep_lines(lines, r" 5\d\d$") == lines[1:]
    assert grep_lines(lines, None) == lines


def test_parse_status() -> None:
    assert parse_status(b'{"metadata":{},"status":"Success"}') == (0, None)
    failure = {
        "status": "Failure",
        "reason": "NonZeroExitCode",
        "message": "command terminated with non-zero exit code",
        "details": {"causes": [{"reason": "ExitCode", "message": "3"}]},
    }
    assert parse_status(json.dumps(failure).encode()) == (3, None)
    not_started = {"status": "Failure", "message": 'exec: "nope": executable file not found in $PATH'}
    assert parse_status(json.dumps(not_started).encode()) == (None, not_started["message"])
    assert parse_status(b"plain words") == (None, "plain words")


def test_tail_buffer_keeps_the_end() -> None:
    buffer = TailBuffer(limit=5)
    for chunk in (b"abc", b"defg", b"h"):
        buffer.add(chunk)
    assert (buffer.text(), buffer.dropped) == ("defgh", 3)


def _pod(*names: str, default: str | None = None) -> dict[str, object]:
    annotations = {"kubectl.kubernetes.io/default-container": default} if default else {}
    return {
        "metadata": {"name": "p", "annotations": annotations},
        "spec": {"containers": [{"name": n} for n in names], "initContainers": [{"name": "init"}]},
    }


def test_pick_container() -> None:
    assert pick_container(_pod("a"), None) == "a"
    assert pick_container(_pod("a", "b"), "b") == "b"
    assert pick_container(_pod("a", "b"), "init") == "init"
    assert pick_container(_pod("a", "b", default="b"), None) == "b"
    with pytest.raises(InvalidInput, match="several containers; pass 'container', one of: a, b"):
        pick_container(_pod("a", "b"), None)
    with pytest.raises(InvalidInput, match="has no container 'c'; its containers: a, init"):
        pick_container(_pod("a"), "c")
