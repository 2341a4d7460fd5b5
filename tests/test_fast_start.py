"""A stdio server answers initialize and tools/list from the record an earlier start with the same
code and settings left, while it loads; then the real server takes over the same connection,
through a real MCP client. Other settings never get another configuration's answers."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from kubehelm_mcp.settings import Settings
from tests.conftest import server_env
from tests.support.mcp import call_ok

pytestmark = pytest.mark.anyio

MARK = "ANSWERED-FROM-THE-RECORD"


def _params(settings: Settings, cache: Path, *flags: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "kubehelm_mcp", "serve", *flags],
        env=server_env(settings, XDG_CACHE_HOME=str(cache)),
    )


async def _session(params: StdioServerParameters, mode: str = "auto") -> tuple[list[Any], dict[str, Any]]:
    """mode: `auto` (the 2026 protocol's discover) or `legacy` (the initialize handshake)."""
    async with Client(params, mode=mode) as client:
        tools = (await client.list_tools()).tools
        contexts = await call_ok(client, "k8s_list_contexts")  # the real server answers after the handover
    return tools, contexts


def _records(cache: Path) -> list[Path]:
    return sorted((cache / "kubehelm-mcp" / "handshake").glob("*.json"))


def _mark_tools_record(cache: Path) -> None:
    """Change the recorded tools/list answer, so an answer given from it can be told apart."""
    for path in _records(cache):
        answer = json.loads(path.read_text())
        if "tools" in answer:
            answer["tools"][0]["description"] = MARK
            path.write_text(json.dumps(answer))
            return
    raise AssertionError("no tools/list answer was recorded")


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_second_start_answers_from_the_record(server_settings: Settings, tmp_path: Path, mode: str) -> None:
    cache = tmp_path / "cache"
    first_tools, first_contexts = await _session(_params(server_settings, cache), mode)
    assert len(_records(cache)) == 2  # the handshake (discover or initialize) and tools/list
    second_tools, second_contexts = await _session(_params(server_settings, cache), mode)
    assert [t.model_dump() for t in second_tools] == [t.model_dump() for t in first_tools]
    assert second_contexts == first_contexts and first_contexts["items"]

    _mark_tools_record(cache)
    marked, _ = await _session(_params(server_settings, cache), mode)
    assert marked[0].description == MARK  # given early, from the record
    assert [t.name for t in marked] == [t.name for t in first_tools]


async def test_other_settings_never_get_another_configurations_answers(
    server_settings: Settings, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    everything, _ = await _session(_params(server_settings, cache))
    _mark_tools_record(cache)
    read_only, _ = await _session(_params(server_settings, cache, "--read-only"))
    assert all(t.description != MARK for t in read_only)
    assert len(read_only) < len(everything)
    assert all(t.annotations and t.annotations.read_only_hint for t in read_only)


async def test_without_fast_start_nothing_is_recorded(server_settings: Settings, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    tools, _ = await _session(_params(server_settings, cache, "--no-fast-start"))
    assert tools and not _records(cache)
