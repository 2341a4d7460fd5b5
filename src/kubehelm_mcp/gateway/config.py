"""The gateway's configuration file: which MCP servers it fronts and how.

Two shapes are read, so existing files work unchanged:
- YAML (or JSON) with `servers:` and the gateway's own keys;
- the `mcpServers` JSON of Claude Desktop and sparfenyuk/mcp-proxy's named servers
  (`command`/`args`/`env`, `url`, `type`/`transportType`, `headers`, `disabled`, `timeout`).
Every problem is reported as one sentence naming the file and the key, never a traceback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal

import yaml

Transport = Literal["stdio", "streamable-http", "sse"]
Mode = Literal["shared", "per-session", "per-user"]

SERVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$")
TRANSPORT_ALIASES: dict[str, Transport] = {
    "stdio": "stdio",
    "streamable-http": "streamable-http",
    "streamablehttp": "streamable-http",
    "streamable_http": "streamable-http",
    "http": "streamable-http",
    "sse": "sse",
}
MODES: tuple[Mode, ...] = ("shared", "per-session", "per-user")
# Keys Claude Desktop or mcp-proxy files carry that mean nothing to a gateway: accepted and ignored.
IGNORED_KEYS = frozenset({"autoApprove", "alwaysAllow", "description", "icon"})


class GatewayConfigError(ValueError):
    """A configuration that cannot be served; the message says where and why in one sentence."""


@dataclass(frozen=True)
class ToolFilter:
    """Which of a server's tools clients see: allow (if given) then deny, exact names or globs."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()

    def admits(self, name: str) -> bool:
        if self.allow and not any(fnmatchcase(name, p) for p in self.allow):
            return False
        return not any(fnmatchcase(name, p) for p in self.deny)


@dataclass(frozen=True)
class ServerConfig:
    name: str
    transport: Transport
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    mode: Mode = "shared"
    required: bool = True  # /readyz waits for it
    timeout: float = 60.0  # one call's limit, seconds
    tools: ToolFilter = ToolFilter()
    # per-user children: environment variable (stdio) or header (remote) -> token claim
    user_env: Mapping[str, str] = field(default_factory=dict)
    user_headers: Mapping[str, str] = field(default_factory=dict)
    max_children: int = 16  # per-session and per-user pools
    idle_timeout: float = 300.0  # a pooled child unused this long is stopped
    # what a caller's token must carry for this server, beyond the gateway-wide --required-scopes/roles
    required_scopes: tuple[str, ...] = ()
    required_roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Supervision:
    ping_interval: float = 5.0  # a ready child is pinged this often
    ping_timeout: float = 5.0  # no answer in time: the child is hung and is restarted
    start_timeout: float = 30.0  # spawn to first answered ping
    backoff_initial: float = 0.5
    backoff_max: float = 30.0


@dataclass(frozen=True)
class GatewayConfig:
    servers: Mapping[str, ServerConfig]
    default: str | None = None  # served at /mcp and /sse too
    combined: bool = False  # every server's tools at /combined/mcp and /combined/sse
    supervision: Supervision = Supervision()


_SERVER_KEYS = {
    "command",
    "args",
    "env",
    "cwd",
    "url",
    "headers",
    "type",
    "transport",
    "transportType",
    "disabled",
    "enabled",
    "mode",
    "required",
    "timeout",
    "tools",
    "user_env",
    "user_headers",
    "max_children",
    "idle_timeout",
    "required_scopes",
    "required_roles",
}
_TOP_KEYS = {"servers", "mcpServers", "default", "combined", "supervision"}


def _fail(where: str, problem: str) -> GatewayConfigError:
    return GatewayConfigError(f"{where}: {problem}")


def _str_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise _fail(where, "must be a mapping of names to strings")
    bad = [k for k, v in value.items() if not isinstance(v, str | int | float | bool)]
    if bad:
        raise _fail(where, f"the value of {bad[0]!r} must be a string")
    return {k: str(v) for k, v in value.items()}


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise _fail(where, "must be a list of strings")
    return tuple(str(v) for v in value)


def _number(value: Any, where: str, default: float, minimum: float = 0.0) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= minimum:
        raise _fail(where, f"must be a number greater than {minimum:g}")
    return float(value)


def _bool(value: Any, where: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _fail(where, "must be true or false")
    return value


def _transport(raw: Mapping[str, Any], where: str) -> Transport:
    declared = raw.get("transport", raw.get("type", raw.get("transportType")))
    if declared is not None:
        found = TRANSPORT_ALIASES.get(str(declared).lower())
        if found is None:
            raise _fail(where, f"unknown transport {declared!r} (use stdio, streamable-http or sse)")
        return found
    if raw.get("url"):
        # mcp-proxy's and Claude's convention: a URL ending in /sse is a legacy SSE server.
        return "sse" if str(raw["url"]).rstrip("/").endswith("/sse") else "streamable-http"
    return "stdio"


def _tools(value: Any, where: str) -> ToolFilter:
    if value is None:
        return ToolFilter()
    if not isinstance(value, Mapping) or set(value) - {"allow", "deny"}:
        raise _fail(where, "must be a mapping with `allow` and/or `deny` lists")
    return ToolFilter(_str_list(value.get("allow"), f"{where}.allow"), _str_list(value.get("deny"), f"{where}.deny"))


def _server(name: str, raw: Any, where: str) -> ServerConfig | None:
    """One server's entry; None for a disabled one."""
    if not SERVER_NAME.match(name):
        raise _fail(where, "a server name must be 1-48 letters, digits, '_' or '-', starting with a letter or digit")
    if not isinstance(raw, Mapping):
        raise _fail(where, "must be a mapping")
    unknown = sorted(set(raw) - _SERVER_KEYS - IGNORED_KEYS)
    if unknown:
        raise _fail(where, f"unknown key {unknown[0]!r} (known: {', '.join(sorted(_SERVER_KEYS))})")
    if raw.get("disabled") is True or raw.get("enabled") is False:
        return None
    transport = _transport(raw, where)
    command, url = raw.get("command"), raw.get("url")
    if transport == "stdio":
        if not isinstance(command, str) or not command.strip():
            raise _fail(where, "a stdio server needs a `command` (or a `url` for a remote one)")
        if url is not None:
            raise _fail(where, "give either `command` (stdio) or `url` (remote), not both")
    else:
        if not isinstance(url, str) or not re.match(r"^https?://", url):
            raise _fail(where, f"a {transport} server needs a `url` starting with http:// or https://")
        if command is not None:
            raise _fail(where, "give either `command` (stdio) or `url` (remote), not both")
    mode = raw.get("mode", "shared")
    if mode not in MODES:
        raise _fail(f"{where}.mode", f"must be one of {', '.join(MODES)}")
    user_env = _str_map(raw.get("user_env"), f"{where}.user_env")
    user_headers = _str_map(raw.get("user_headers"), f"{where}.user_headers")
    if (user_env or user_headers) and mode != "per-user":
        raise _fail(where, "`user_env` and `user_headers` need `mode: per-user` (a shared child has no one user)")
    if user_env and transport != "stdio":
        raise _fail(where, "`user_env` is for stdio servers; use `user_headers` for remote ones")
    if user_headers and transport == "stdio":
        raise _fail(where, "`user_headers` is for remote servers; use `user_env` for stdio ones")
    max_children = raw.get("max_children", 16)
    if isinstance(max_children, bool) or not isinstance(max_children, int) or max_children < 1:
        raise _fail(f"{where}.max_children", "must be a whole number of at least 1")
    cwd = raw.get("cwd")
    if cwd is not None and not isinstance(cwd, str):
        raise _fail(f"{where}.cwd", "must be a directory path")
    return ServerConfig(
        name=name,
        transport=transport,
        command=command if transport == "stdio" else None,
        args=_str_list(raw.get("args"), f"{where}.args"),
        env=_str_map(raw.get("env"), f"{where}.env"),
        cwd=cwd,
        url=url if transport != "stdio" else None,
        headers=_str_map(raw.get("headers"), f"{where}.headers"),
        mode=mode,
        required=_bool(raw.get("required"), f"{where}.required", True),
        timeout=_number(raw.get("timeout"), f"{where}.timeout", 60.0),
        tools=_tools(raw.get("tools"), f"{where}.tools"),
        user_env=user_env,
        user_headers=user_headers,
        max_children=max_children,
        idle_timeout=_number(raw.get("idle_timeout"), f"{where}.idle_timeout", 300.0),
        required_scopes=_str_list(raw.get("required_scopes"), f"{where}.required_scopes"),
        required_roles=_str_list(raw.get("required_roles"), f"{where}.required_roles"),
    )


def _supervision(raw: Any, where: str) -> Supervision:
    if raw is None:
        return Supervision()
    if not isinstance(raw, Mapping):
        raise _fail(where, "must be a mapping")
    defaults = Supervision()
    known = set(Supervision.__dataclass_fields__)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise _fail(where, f"unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")
    values = {k: _number(raw.get(k), f"{where}.{k}", getattr(defaults, k)) for k in known}
    return Supervision(**values)


def parse_config(document: Any, source: str = "the configuration") -> GatewayConfig:
    """A validated GatewayConfig from a parsed YAML/JSON document."""
    if not isinstance(document, Mapping):
        raise _fail(source, "must be a mapping with `servers` (or Claude Desktop's `mcpServers`)")
    unknown = sorted(set(document) - _TOP_KEYS)
    if unknown:
        raise _fail(source, f"unknown key {unknown[0]!r} (known: {', '.join(sorted(_TOP_KEYS))})")
    if "servers" in document and "mcpServers" in document:
        raise _fail(source, "give `servers` or `mcpServers`, not both")
    key = "servers" if "servers" in document else "mcpServers"
    entries = document.get(key)
    if not isinstance(entries, Mapping) or not entries:
        raise _fail(source, f"`{key}` must be a non-empty mapping of server names to their settings")
    servers: dict[str, ServerConfig] = {}
    for name, raw in entries.items():
        server = _server(str(name), raw, f"{source}: {key}.{name}")
        if server is not None:
            servers[server.name] = server
    if not servers:
        raise _fail(source, "every server is disabled: nothing to serve")
    default = document.get("default")
    if default is not None and default not in servers:
        raise _fail(f"{source}: default", f"names no enabled server ({default!r}; known: {', '.join(servers)})")
    return GatewayConfig(
        servers=servers,
        default=default,
        combined=_bool(document.get("combined"), f"{source}: combined", False),
        supervision=_supervision(document.get("supervision"), f"{source}: supervision"),
    )


def load_config(path: str | Path) -> GatewayConfig:
    """Read and validate the file at path: JSON when it parses as JSON, else YAML."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise _fail(source, f"cannot be read ({exc.strerror or exc})") from None
    try:
        document = json.loads(text)
    except ValueError:
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            raise _fail(source, f"is neither valid JSON nor valid YAML{at}") from None
    return parse_config(document, source)
