"""The gateway's configuration (YAML and Claude Desktop / mcp-proxy `mcpServers` JSON) and its
combined tool names: pure functions, plain tests."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from kubehelm_mcp.cli import main
from kubehelm_mcp.gateway.config import GatewayConfigError, load_config, parse_config
from kubehelm_mcp.gateway.names import MAX_NAME, NameMap, combined_name

VALID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def test_yaml_with_every_kind_of_backend(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(
        """
servers:
  time: {command: mcp-server-time, args: [--local-timezone, UTC], env: {TZ: UTC}, timeout: 10}
  remote: {url: "https://mcp.example/mcp", headers: {Authorization: "Bearer ${TOKEN}"}}
  legacy: {url: "http://127.0.0.1:9000/sse"}
  github:
    command: gh-mcp
    mode: per-user
    user_env: {GITHUB_USER: sub}
    tools: {allow: ["get_*"], deny: [get_secret]}
default: time
combined: true
supervision: {ping_interval: 2}
"""
    )
    config = load_config(path)
    assert [s.transport for s in config.servers.values()] == ["stdio", "streamable-http", "sse", "stdio"]
    assert config.default == "time" and config.combined and config.supervision.ping_interval == 2
    github = config.servers["github"]
    assert github.mode == "per-user" and dict(github.user_env) == {"GITHUB_USER": "sub"}
    assert github.tools.admits("get_issue") and not github.tools.admits("get_secret")
    assert not github.tools.admits("create_issue")
    assert config.servers["time"].timeout == 10


def test_claude_desktop_and_mcp_proxy_json_work_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    document = {
        "mcpServers": {
            "fetch": {"command": "uvx", "args": ["mcp-server-fetch"], "autoApprove": ["fetch"], "timeout": 60},
            "off": {"command": "x", "disabled": True},
            "remote": {"url": "http://127.0.0.1:8000/mcp", "transportType": "streamablehttp"},
            "typed": {"type": "sse", "url": "http://127.0.0.1:8001/events"},
        }
    }
    path.write_text(json.dumps(document))
    config = load_config(path)
    assert list(config.servers) == ["fetch", "remote", "typed"]  # disabled servers are left out
    assert config.servers["remote"].transport == "streamable-http"
    assert config.servers["typed"].transport == "sse"


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({}, "must be a non-empty mapping"),
        ({"servers": {"a": {"command": "x"}}, "extra": 1}, "unknown key 'extra'"),
        ({"servers": {"a": {"command": "x", "comand": "y"}}}, "servers.a: unknown key 'comand'"),
        ({"servers": {"a": {}}}, "servers.a: a stdio server needs a `command`"),
        ({"servers": {"a": {"command": "x", "url": "http://h/mcp"}}}, "either `command`"),
        ({"servers": {"a": {"url": "ftp://h"}}}, "needs a `url` starting with http"),
        ({"servers": {"a": {"url": "http://h", "type": "grpc"}}}, "unknown transport 'grpc'"),
        ({"servers": {"a b": {"command": "x"}}}, "a server name must be"),
        ({"servers": {"a": {"command": "x", "mode": "pooled"}}}, "servers.a.mode: must be one of"),
        ({"servers": {"a": {"command": "x", "user_env": {"U": "sub"}}}}, "need `mode: per-user`"),
        ({"servers": {"a": {"command": "x", "timeout": -1}}}, "servers.a.timeout: must be a number"),
        ({"servers": {"a": {"command": "x", "args": "--flag"}}}, "servers.a.args: must be a list"),
        ({"servers": {"a": {"command": "x"}}, "default": "b"}, "default: names no enabled server"),
        ({"servers": {"a": {"command": "x", "disabled": True}}}, "every server is disabled"),
        ({"servers": {"a": {"command": "x"}}, "supervision": {"ping": 1}}, "unknown key 'ping'"),
    ],
)
def test_bad_configurations_are_refused_in_one_sentence(document: Any, expected: str) -> None:
    with pytest.raises(GatewayConfigError) as caught:
        parse_config(document, "gw.yaml")
    message = str(caught.value)
    assert expected in message and message.startswith("gw.yaml") and "\n" not in message


def test_the_cli_refuses_a_bad_file_before_starting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("servers:\n  a: [unclosed\n")
    assert main(["gateway", "--config", str(path)]) == 2
    assert "is neither valid JSON nor valid YAML at line" in capsys.readouterr().err
    assert main(["gateway", "--config", str(tmp_path / "absent.yaml")]) == 2
    assert "cannot be read" in capsys.readouterr().err


def test_combined_names_are_valid_and_unique_whatever_the_servers_call_their_tools() -> None:
    pairs = [
        ("a", "b__c"),
        ("a__b", "c"),  # both would be a__b__c
        ("srv", "tool.with.dots"),
        ("srv", "tool_with_dots"),  # what the dots would be cleaned to
        ("srv", "tool with spaces/and/slashes"),
        ("srv", "ünïcödé"),
        ("x" * 48, "y" * 64),
        ("x" * 48, "y" * 63 + "z"),  # the same after cutting
        ("s", "get_time"),
    ]
    names = NameMap(pairs)
    combined = [names.name(*pair) for pair in pairs]
    assert len(set(combined)) == len(pairs), combined
    assert all(VALID.match(name) and len(name) <= MAX_NAME for name in combined), combined
    assert all(names.pair(names.name(*pair)) == pair for pair in pairs)
    assert combined_name("s", "get_time") == "s__get_time"  # valid names stay readable
    assert NameMap(reversed(pairs)).to_name == names.to_name  # the same whatever order tools come in
