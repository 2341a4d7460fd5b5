"""What the gateway relays besides calls: a child's log messages and the clients' logging/setLevel,
cancellation, a child's own list_changed; per-session children for 2026-07-28 clients (which have
no session); and per-user identity handed to remote backends as headers. Real children (the npm
everything server, the SDK probe in tests/support/gateway_probe.py), real SDK clients."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp_types import LoggingMessageNotificationParams, ToolListChangedNotification

from tests.conftest import free_port
from tests.support.gateway import GatewayProcess, gateway_client, start_gateway, stop_gateway, wait_for
from tests.support.gateway_peers import peers
from tests.support.gateway_probe import PROBE_ARGV
from tests.support.mcp import text_of
from tests.support.oidc import AUDIENCE, Issuer

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore:The logging capability is deprecated"),  # it is what this tests
]

FAST = {"ping_interval": 0.5, "ping_timeout": 2, "backoff_initial": 0.2, "backoff_max": 1}
SEVERE = ("error", "critical", "alert", "emergency")
LOG_LINE = re.compile(r"^\w+[- ]level[- ]message", re.IGNORECASE)  # what server-everything logs


def _stdio(argv: list[str], **extra: Any) -> dict[str, Any]:
    return {"command": argv[0], "args": argv[1:], **extra}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: Any) -> Iterator[GatewayProcess]:
    config = {
        "servers": {"everything": _stdio(peers().everything), "probe": _stdio([*PROBE_ARGV, "stdio"])},
        "combined": True,
        "supervision": FAST,
    }
    running = start_gateway(tmp_path_factory.mktemp("relay"), config)
    yield running
    stop_gateway(running)


async def _ready(gateway: GatewayProcess, *servers: str) -> None:
    await wait_for(lambda: all(gateway.server(s)["state"] == "ready" for s in servers), f"{servers} ready")


class Heard:
    """The log messages one client received."""

    def __init__(self) -> None:
        self.lines: list[LoggingMessageNotificationParams] = []

    async def __call__(self, params: LoggingMessageNotificationParams) -> None:
        self.lines.append(params)

    def text(self) -> list[str]:
        return [str(line.data) for line in self.lines]


@pytest.mark.parametrize("sse", [False, True], ids=["streamable-http", "sse"])
async def test_a_childs_log_messages_reach_its_clients(gateway: GatewayProcess, sse: bool) -> None:
    await _ready(gateway, "everything")
    url = f"{gateway.base}/servers/everything/{'sse' if sse else 'mcp'}"
    caller, bystander = Heard(), Heard()
    async with (
        gateway_client(url, legacy=True, sse=sse, logging_callback=caller) as client,
        gateway_client(url, legacy=True, sse=sse, logging_callback=bystander) as other,
    ):
        assert client.server_capabilities is not None and client.server_capabilities.logging is not None
        await other.call_tool("echo", {"message": "I use this server too"})
        started = await client.call_tool("toggle-simulated-logging", {})
        try:
            assert "Started simulated" in text_of(started), text_of(started)
            # The everything server logs once during the call (it goes to the caller, on the call's
            # stream) and then every 5 s outside any call: a shared child's log reaches all its sessions.
            assert caller.lines and LOG_LINE.search(caller.text()[0]), caller.text()
            await wait_for(lambda: len(caller.lines) >= 2 and bystander.lines, "a log line outside the call", 15)
            assert all(LOG_LINE.search(line) for line in caller.text() + bystander.text())
            assert all(line.level in ("debug", "info", "notice", "warning", *SEVERE) for line in caller.lines)
        finally:
            stopped = await client.call_tool("toggle-simulated-logging", {})
            assert "Stopped simulated" in text_of(stopped)


async def test_set_level_reaches_the_child_and_filters_each_session(gateway: GatewayProcess) -> None:
    await _ready(gateway, "probe")
    url = f"{gateway.base}/servers/probe/mcp"
    quiet, loud = Heard(), Heard()
    async with (
        gateway_client(url, legacy=True, logging_callback=quiet) as client,
        gateway_client(url, legacy=True, logging_callback=loud) as other,
    ):
        await client.set_logging_level("error")
        # the child was set to error: even a session that set no level gets nothing below it
        assert text_of(await other.call_tool("log", {})) == "error"
        await wait_for(lambda: len(loud.lines) == len(SEVERE), "the probe's severe lines")
        assert [line.level for line in loud.lines] == list(SEVERE)
        # a more verbose session moves the child down; the quiet one still gets only what it asked for
        await other.set_logging_level("debug")
        assert text_of(await client.call_tool("log", {})) == "debug"
        assert [line.level for line in quiet.lines] == list(SEVERE)
        assert text_of(await other.call_tool("log", {})) == "debug"
        await wait_for(lambda: len(loud.lines) == len(SEVERE) + 8, "every level for the verbose session")


async def test_set_level_on_the_combined_endpoint_reaches_every_child(gateway: GatewayProcess) -> None:
    await _ready(gateway, "probe", "everything")
    heard = Heard()
    async with gateway_client(f"{gateway.base}/combined/mcp", legacy=True, logging_callback=heard) as client:
        await client.set_logging_level("critical")
        assert text_of(await client.call_tool("probe__log", {})) == "critical"
        await wait_for(lambda: len(heard.lines) == 3, "the probe's lines from critical up")
        assert [line.level for line in heard.lines] == ["critical", "alert", "emergency"]
        await client.set_logging_level("debug")  # leave the shared child verbose for the other tests


async def test_a_stateless_client_gets_the_log_lines_of_its_own_calls(gateway: GatewayProcess) -> None:
    await _ready(gateway, "probe")
    heard = Heard()
    url = f"{gateway.base}/servers/probe/mcp"
    async with gateway_client(url, logging_callback=heard, log_level="error") as client:  # opts in per request
        assert client.protocol_version == "2026-07-28"
        await client.call_tool("log", {})
    levels = [line.level for line in heard.lines]
    assert "emergency" in levels and set(levels) <= set(SEVERE), levels


@pytest.mark.parametrize("kind", ["2026-07-28", "sse"])
async def test_progress_reaches_every_kind_of_client(gateway: GatewayProcess, kind: str) -> None:
    await _ready(gateway, "everything")
    steps: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        steps.append(progress)

    url = f"{gateway.base}/servers/everything/{'sse' if kind == 'sse' else 'mcp'}"
    async with gateway_client(url, sse=kind == "sse") as client:
        if kind != "sse":
            assert client.protocol_version == "2026-07-28"
        result = await client.call_tool(
            "trigger-long-running-operation", {"duration": 0.6, "steps": 3}, progress_callback=on_progress
        )
    assert not result.is_error and "completed" in text_of(result)
    assert steps == [1, 2, 3]


async def test_a_cancelled_call_is_cancelled_on_the_child(gateway: GatewayProcess) -> None:
    await _ready(gateway, "probe")
    async with gateway_client(f"{gateway.base}/servers/probe/mcp", legacy=True) as client:
        before = int(text_of(await client.call_tool("cancelled", {})))
        with anyio.move_on_after(1):
            await client.call_tool("sleep", {"seconds": 30})

        async def counted() -> int:
            return int(text_of(await client.call_tool("cancelled", {})))

        deadline = anyio.current_time() + 10
        while await counted() == before:
            assert anyio.current_time() < deadline, "the child's sleep was not cancelled"
            await anyio.sleep(0.2)
        assert await counted() == before + 1


async def test_a_childs_own_list_changed_reaches_every_endpoint(gateway: GatewayProcess) -> None:
    await _ready(gateway, "probe")
    heard: list[str] = []

    def on(name: str) -> Any:
        async def handler(message: Any) -> None:
            if isinstance(message, ToolListChangedNotification):
                heard.append(name)

        return handler

    async with (
        gateway_client(f"{gateway.base}/servers/probe/mcp", legacy=True, message_handler=on("server")) as client,
        gateway_client(f"{gateway.base}/combined/sse", sse=True, message_handler=on("combined")) as combined,
    ):
        await combined.list_tools()
        assert text_of(await client.call_tool("add_tool", {"name": "added_later"})) == "added"
        await wait_for(lambda: {"server", "combined"} <= set(heard), "tools/list_changed on both endpoints", 10)
        assert "added_later" in {t.name for t in (await client.list_tools()).tools}
        assert "probe__added_later" in {t.name for t in (await combined.list_tools()).tools}
        assert text_of(await combined.call_tool("probe__added_later", {})) == "added_later"


def _pid(result: Any) -> int:
    return int(json.loads(text_of(result))["pid"])


async def test_stateless_clients_keep_one_per_session_child_per_caller(tmp_path: Path) -> None:
    config = {"servers": {"probe": _stdio([*PROBE_ARGV, "stdio"], mode="per-session")}, "supervision": FAST}
    with Issuer() as issuer:
        env = {"KUBEHELM_MCP_OIDC_ISSUER": issuer.url, "KUBEHELM_MCP_OIDC_AUDIENCE": AUDIENCE}
        gateway = start_gateway(tmp_path, config, env=env)
        try:
            url = f"{gateway.base}/servers/probe/mcp"
            pids: dict[str, set[int]] = {}
            for user in ("alice", "bob", "alice"):
                async with gateway_client(url, issuer.token(sub=user)) as client:
                    assert client.protocol_version == "2026-07-28"
                    for _ in range(3):
                        pids.setdefault(user, set()).add(_pid(await client.call_tool("whoami", {})))
            # one child per caller, kept across calls and clients, never shared between callers
            assert len(pids["alice"]) == 1 and len(pids["bob"]) == 1 and pids["alice"] != pids["bob"]
            assert gateway.server("probe")["children"] == 2
            # a handshake-era session of the same user still gets a child of its own, ended with it
            async with gateway_client(url, issuer.token(sub="alice"), legacy=True) as session:
                assert _pid(await session.call_tool("whoami", {})) not in pids["alice"] | pids["bob"]
                assert gateway.server("probe")["children"] == 3
            await wait_for(lambda: gateway.server("probe")["children"] == 2, "the session's child to stop")
        finally:
            stop_gateway(gateway)


def _start_probe(transport: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [*PROBE_ARGV, transport, str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return process, f"http://127.0.0.1:{port}/{'sse' if transport == 'sse' else 'mcp'}"


async def test_per_user_remote_backends_get_each_users_headers(tmp_path: Path) -> None:
    headers = {"X-Gateway-User": "sub", "X-Gateway-Groups": "groups"}
    backends = {"streamable-http": _start_probe("streamable-http"), "sse": _start_probe("sse")}
    config = {
        "servers": {
            name.replace("-", "_"): {"url": url, "mode": "per-user", "user_headers": headers}
            for name, (_, url) in backends.items()
        },
        "supervision": FAST,
    }
    with Issuer() as issuer:
        env = {"KUBEHELM_MCP_OIDC_ISSUER": issuer.url, "KUBEHELM_MCP_OIDC_AUDIENCE": AUDIENCE}
        gateway = start_gateway(tmp_path, config, env=env)
        try:
            for server in ("streamable_http", "sse"):
                url = f"{gateway.base}/servers/{server}/mcp"
                seen: dict[str, dict[str, str]] = {}
                for user, groups in (("alice", ["dev"]), ("bob", ["ops", "dev"])):
                    async with gateway_client(url, issuer.token(sub=user, groups=groups)) as client:
                        answer = await client.call_tool("whoami", {})
                        assert not answer.is_error, text_of(answer)
                        seen[user] = json.loads(text_of(answer))["headers"]
                assert seen["alice"] == {"x-gateway-user": "alice", "x-gateway-groups": "dev"}, (server, seen)
                assert seen["bob"] == {"x-gateway-user": "bob", "x-gateway-groups": "ops,dev"}, (server, seen)
                assert gateway.server(server)["children"] == 2
                async with gateway_client(url, issuer.token(sub="carol")) as client:  # no groups claim
                    refused = await client.call_tool("whoami", {})
                    assert refused.is_error and "claim 'groups'" in text_of(refused), text_of(refused)
        finally:
            stop_gateway(gateway)
            for process, _ in backends.values():
                process.kill()
                process.wait()
