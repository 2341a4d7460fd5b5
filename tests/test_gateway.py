"""`kubehelm-mcp gateway` fronting real third-party MCP servers (mcp-server-time from PyPI,
server-everything and server-memory from npm) and kubehelm-mcp itself, reached through real MCP
clients over Streamable HTTP and legacy SSE."""

from __future__ import annotations

import os
import re
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp_types import (
    CreateMessageRequestParams,
    CreateMessageResult,
    ElicitRequestParams,
    ElicitResult,
    TextContent,
    ToolListChangedNotification,
)

from kubehelm_mcp.settings import Settings
from tests.conftest import start_http_server, stop_http_server
from tests.support.gateway import (
    GatewayProcess,
    child_pids,
    gateway_client,
    post_status,
    start_gateway,
    start_remote_everything,
    stop_gateway,
    ts_client_call,
    wait_for,
)
from tests.support.gateway_peers import peers
from tests.support.http import INITIALIZE, MCP_HEADERS, get
from tests.support.mcp import text_of
from tests.support.oidc import AUDIENCE, Issuer

pytestmark = pytest.mark.anyio

VALID_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LONG_SERVER = "a_server_name_long_enough_to_push_names_past_64c"  # 48 characters: the longest allowed
FAST = {"ping_interval": 0.5, "ping_timeout": 2, "backoff_initial": 0.2, "backoff_max": 1}


def _stdio(argv: list[str], **extra: Any) -> dict[str, Any]:
    return {"command": argv[0], "args": argv[1:], **extra}


@pytest.fixture(scope="module")
def gateway(server_settings: Settings, tmp_path_factory: Any) -> Iterator[GatewayProcess]:
    p = peers()
    tmp = tmp_path_factory.mktemp("gateway")
    kubehelm_env = {
        "KUBEHELM_MCP_KUBECONFIG": server_settings.kube.kubeconfig or "",
        "KUBEHELM_MCP_HELM_V4_BINARY": server_settings.helm.helm_v4_binary or "",
    }
    config = {
        "servers": {
            "time": _stdio(p.time),
            LONG_SERVER: _stdio([*p.time[:1], "--local-timezone", "Europe/Paris"]),
            "everything": _stdio(p.everything, tools={"deny": ["get-tiny-image", "gzip-*"]}),
            "memory": _stdio(
                p.memory,
                env={"MEMORY_FILE_PATH": str(tmp / "memory.jsonl")},
                tools={"allow": ["read_graph", "create_entities"]},
            ),
            "broken": {"command": str(tmp / "no-such-mcp-server"), "required": False},
            "kubehelm": _stdio([sys.executable, "-m", "kubehelm_mcp", "serve"], env=kubehelm_env),
        },
        "default": "time",
        "combined": True,
        "supervision": FAST,
    }
    audit = tmp / "audit.jsonl"
    running = start_gateway(tmp, config, "--auth-token", "gateway-test-token", "--audit-log", str(audit))
    yield running
    stop_gateway(running)


async def _wait_ready(gateway: GatewayProcess, *servers: str) -> None:
    await wait_for(lambda: all(gateway.server(s)["state"] == "ready" for s in servers), f"{servers} ready")


async def test_calls_pass_through_every_endpoint(gateway: GatewayProcess) -> None:
    await _wait_ready(gateway, "time", "everything", "kubehelm")
    async with gateway_client(f"{gateway.base}/servers/time/mcp") as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert names == {"get_current_time", "convert_time"}
        result = await client.call_tool("get_current_time", {"timezone": "UTC"})
        assert not result.is_error and '"timezone": "UTC"' in text_of(result)
    async with gateway_client(f"{gateway.base}/mcp") as client:  # the default server, mcp-proxy's layout
        result = await client.call_tool(
            "convert_time", {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}
        )
        assert not result.is_error and "Asia/Tokyo" in text_of(result)
    async with gateway_client(f"{gateway.base}/servers/everything/sse", sse=True) as client:
        result = await client.call_tool("echo", {"message": "through the gateway"})
        assert text_of(result) == "Echo: through the gateway"
        prompts = {p.name for p in (await client.list_prompts()).prompts}
        assert "simple-prompt" in prompts
        prompt = await client.get_prompt("simple-prompt")
        assert prompt.messages
    async with gateway_client(f"{gateway.base}/servers/kubehelm/mcp") as client:
        result = await client.call_tool("k8s_get_current_context", {})
        assert not result.is_error, text_of(result)
    async with gateway_client(f"{gateway.base}/combined/sse", sse=True) as client:
        result = await client.call_tool("everything__get-sum", {"a": 2, "b": 3})
        assert "5" in text_of(result)


async def test_combined_names_are_valid_unique_and_filtered(gateway: GatewayProcess) -> None:
    await _wait_ready(gateway, "time", LONG_SERVER, "everything", "memory", "kubehelm")
    async with gateway_client(f"{gateway.base}/combined/mcp") as client:
        tools = (await client.list_tools()).tools
        names = [t.name for t in tools]
        assert len(names) == len(set(names)), names
        assert all(VALID_NAME.match(n) for n in names), [n for n in names if not VALID_NAME.match(n)]
        assert {"time__get_current_time", "everything__echo", "kubehelm__k8s_get_current_context"} <= set(names)
        # filters: deny on everything, allow on memory
        assert not any(n.startswith("everything__gzip") or n == "everything__get-tiny-image" for n in names)
        assert sorted(n for n in names if n.startswith("memory__")) == ["memory__create_entities", "memory__read_graph"]
        # the long server's names were cut and hashed, and still route to it
        long_names = [n for n in names if n.startswith(LONG_SERVER[:20])]
        assert len(long_names) == 2 and all(len(n) <= 64 for n in long_names)
        paris = next(t.name for t in tools if t.name in long_names and t.title == "get_current_time")
        result = await client.call_tool(paris, {"timezone": "Europe/Paris"})
        assert not result.is_error and "Europe/Paris" in text_of(result)
        created = await client.call_tool(
            "memory__create_entities", {"entities": [{"name": "gw", "entityType": "test", "observations": ["x"]}]}
        )
        assert not created.is_error, text_of(created)
        resources = (await client.list_resources()).resources
        assert resources, "the combined endpoint lists the servers' resources"
        read = await client.read_resource(str(resources[0].uri))
        assert read.contents
        assert (await client.list_resource_templates()).resource_templates
        prompts = {p.name for p in (await client.list_prompts()).prompts}
        assert "everything__simple-prompt" in prompts
        assert (await client.get_prompt("everything__simple-prompt")).messages
    async with gateway_client(f"{gateway.base}/servers/everything/mcp") as client:
        denied = await client.call_tool("get-tiny-image", {})
        assert denied.is_error and "not offered" in text_of(denied)


async def test_a_failing_backend_fails_only_its_own_calls(gateway: GatewayProcess) -> None:
    await wait_for(lambda: gateway.server("broken")["restarts"] >= 2, "the broken server's retries")
    broken = gateway.server("broken")
    assert broken["state"] == "restarting" and "No such file" in broken["last_error"]
    assert get(f"{gateway.base}/readyz")[0] == 200  # broken is not required
    async with (
        gateway_client(f"{gateway.base}/servers/broken/mcp") as bad,
        gateway_client(f"{gateway.base}/servers/time/mcp") as good,
    ):
        assert (await bad.list_tools()).tools == []
        failed = await bad.call_tool("anything", {})
        assert failed.is_error and "'broken' is not available" in text_of(failed)
        assert "Traceback" not in text_of(failed)
        ok = await good.call_tool("get_current_time", {"timezone": "UTC"})
        assert not ok.is_error


async def test_tokens_are_checked_before_any_backend(gateway: GatewayProcess) -> None:
    for path in ("/servers/time/mcp", "/combined/mcp", "/mcp"):
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            status = post_status(f"{gateway.base}{path}", INITIALIZE, {**MCP_HEADERS, **headers})
            assert status == 401, (path, headers, status)
    assert get(f"{gateway.base}/servers/everything/sse")[0] == 401
    assert get(f"{gateway.base}/health")[0] == 200


async def test_a_killed_child_comes_back_and_clients_hear_list_changed(gateway: GatewayProcess) -> None:
    await _wait_ready(gateway, "time")
    heard: list[str] = []

    def handler(name: str) -> Any:
        async def on_message(message: Any) -> None:
            if isinstance(message, ToolListChangedNotification):
                heard.append(name)

        return on_message

    before = gateway.server("time")["restarts"]
    async with (
        gateway_client(f"{gateway.base}/servers/time/mcp", legacy=True, message_handler=handler("time")) as client,
        gateway_client(f"{gateway.base}/combined/mcp", legacy=True, message_handler=handler("combined")) as combined,
        gateway_client(f"{gateway.base}/servers/time/mcp") as modern,  # 2026-07-28: no session stream
        modern.listen(tools_list_changed=True) as subscription,
        gateway_client(f"{gateway.base}/servers/everything/mcp") as other,
        anyio.create_task_group() as tg,
    ):
        assert modern.protocol_version == "2026-07-28"

        async def hear_modern() -> None:
            async for _ in subscription:
                heard.append("modern")
                return

        tg.start_soon(hear_modern)
        await client.list_tools()
        await combined.list_tools()
        [pid] = [p for p in child_pids(gateway.process.pid, "mcp-server-time") if _timezone(p) == "UTC"]
        os.kill(pid, signal.SIGKILL)
        # the other server's calls go on while this one is down
        assert not (await other.call_tool("echo", {"message": "still here"})).is_error
        await wait_for(lambda: {"time", "combined", "modern"} <= set(heard), "tools/list_changed on every endpoint")
        assert gateway.server("time")["restarts"] > before
        result = await client.call_tool("get_current_time", {"timezone": "UTC"})  # same client, no reconnect
        assert not result.is_error, text_of(result)
        assert (await combined.call_tool("time__get_current_time", {"timezone": "UTC"})).is_error is False


def _timezone(pid: int) -> str:
    args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    return args[args.index(b"--local-timezone") + 1].decode() if b"--local-timezone" in args else ""


async def test_metrics_and_audit_name_each_server(gateway: GatewayProcess) -> None:
    async with gateway_client(f"{gateway.base}/servers/time/mcp") as client:
        await client.call_tool("get_current_time", {"timezone": "UTC"})
    code, metrics = get(f"{gateway.base}/metrics")
    assert code == 200
    assert re.search(r'kubehelm_mcp_gateway_calls_total\{outcome="ok",server="time"\} [1-9]', metrics), metrics
    assert 'kubehelm_mcp_gateway_server_up{server="broken"} 0.0' in metrics
    assert 'kubehelm_mcp_gateway_server_up{server="time"} 1.0' in metrics
    audit = (gateway.config.parent / "audit.jsonl").read_text()
    assert (
        '"server": "time"' in audit and '"tool": "get_current_time"' in audit and '"subject": "static-token"' in audit
    )


async def test_a_hung_child_is_restarted(tmp_path: Path) -> None:
    p = peers()
    config = {"servers": {"time": _stdio(p.time)}, "supervision": {**FAST, "ping_timeout": 1}}
    gateway = start_gateway(tmp_path, config)
    try:
        await _wait_ready(gateway, "time")
        [pid] = child_pids(gateway.process.pid, "mcp-server-time")
        os.kill(pid, signal.SIGSTOP)  # alive, but answers nothing
        await wait_for(lambda: gateway.server("time")["restarts"] >= 1, "the hung child's restart")
        assert "ping" in (gateway.server("time")["last_error"] or "")
        await _wait_ready(gateway, "time")
        assert child_pids(gateway.process.pid, "mcp-server-time") != [pid]
        async with gateway_client(f"{gateway.base}/servers/time/mcp") as client:
            assert not (await client.call_tool("get_current_time", {"timezone": "UTC"})).is_error
    finally:
        stop_gateway(gateway)


async def test_readyz_waits_for_every_required_server(tmp_path: Path) -> None:
    p = peers()
    config = {
        "servers": {"time": _stdio(p.time), "missing": {"command": str(tmp_path / "absent")}},
        "supervision": FAST,
    }
    gateway = start_gateway(tmp_path, config)
    try:
        await _wait_ready(gateway, "time")
        code, body = get(f"{gateway.base}/readyz")
        assert code == 503 and "missing" in body
    finally:
        stop_gateway(gateway)


async def test_sighup_reloads_changed_servers_only(tmp_path: Path) -> None:
    p = peers()
    config: dict[str, Any] = {"servers": {"time": _stdio(p.time)}, "supervision": FAST}
    gateway = start_gateway(tmp_path, config)
    try:
        await _wait_ready(gateway, "time")
        [pid] = child_pids(gateway.process.pid, "mcp-server-time")
        gateway.reload({**config, "servers": {**config["servers"], "everything": _stdio(p.everything)}})
        await wait_for(lambda: "everything" in gateway.status()["servers"], "the added server")
        await _wait_ready(gateway, "everything")
        async with gateway_client(f"{gateway.base}/servers/everything/mcp") as client:
            assert text_of(await client.call_tool("echo", {"message": "new"})) == "Echo: new"
        assert child_pids(gateway.process.pid, "mcp-server-time") == [pid]  # untouched
        gateway.reload({"servers": {"time": _stdio(p.time)}, "supervision": FAST, "bogus": 1})
        await anyio.sleep(1)
        assert "everything" in gateway.status()["servers"]  # a bad file keeps the running configuration
        assert "not reloaded" in gateway.log.read_text()
    finally:
        stop_gateway(gateway)


async def test_per_user_children_carry_only_their_own_identity(tmp_path: Path) -> None:
    p = peers()
    config = {
        "servers": {
            "everything": _stdio(p.everything, mode="per-user", user_env={"GATEWAY_USER": "sub"}, max_children=2),
            "time": _stdio(p.time, required_roles=["gateway-admin"]),
        },
        "combined": True,
        "supervision": FAST,
    }
    with Issuer() as issuer:
        env = {"KUBEHELM_MCP_OIDC_ISSUER": issuer.url, "KUBEHELM_MCP_OIDC_AUDIENCE": AUDIENCE}
        gateway = start_gateway(tmp_path, config, env=env)
        try:
            url = f"{gateway.base}/servers/everything/mcp"
            for token in (None, "not-a-jwt", issuer.token(sub="mallory", aud="another-audience")):
                assert post_status(url, INITIALIZE, {**MCP_HEADERS, **_bearer(token)}) == 401
            assert gateway.server("everything")["children"] == 0  # refused before any child was spawned
            seen: dict[str, str] = {}
            for user in ("alice", "bob"):
                async with gateway_client(url, issuer.token(sub=user)) as client:
                    seen[user] = text_of(await client.call_tool("get-env", {}))
            assert '"GATEWAY_USER": "alice"' in seen["alice"] and "bob" not in seen["alice"]
            assert '"GATEWAY_USER": "bob"' in seen["bob"] and "alice" not in seen["bob"]
            assert gateway.server("everything")["children"] == 2
            async with gateway_client(url, issuer.token(sub="carol")) as client:  # past max_children
                refused = await client.call_tool("get-env", {})
                assert refused.is_error and "limit of 2 children" in text_of(refused)
            # a server's own required roles: refused on its endpoint, left out of the combined one
            time_url = f"{gateway.base}/servers/time/mcp"
            assert post_status(time_url, INITIALIZE, {**MCP_HEADERS, **_bearer(issuer.token(sub="alice"))}) == 403
            async with gateway_client(f"{gateway.base}/combined/mcp", issuer.token(sub="alice")) as client:
                names = {t.name for t in (await client.list_tools()).tools}
                assert "everything__echo" in names and not any(n.startswith("time__") for n in names)
                denied = await client.call_tool("time__get_current_time", {"timezone": "UTC"})
                assert denied.is_error
            admin = issuer.token(sub="alice", roles=["gateway-admin"])
            async with gateway_client(time_url, admin) as client:
                assert not (await client.call_tool("get_current_time", {"timezone": "UTC"})).is_error
        finally:
            stop_gateway(gateway)


def _bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


async def test_per_session_children_end_with_their_session(tmp_path: Path) -> None:
    p = peers()
    config = {"servers": {"time": _stdio(p.time, mode="per-session")}, "supervision": FAST}
    gateway = start_gateway(tmp_path, config)
    try:
        url = f"{gateway.base}/servers/time/mcp"
        async with gateway_client(url, legacy=True) as first, gateway_client(url, legacy=True) as second:
            for client in (first, second):
                assert not (await client.call_tool("get_current_time", {"timezone": "UTC"})).is_error
            assert gateway.server("time")["children"] == 2
            assert len(child_pids(gateway.process.pid, "mcp-server-time")) == 2
        await wait_for(lambda: gateway.server("time")["children"] == 0, "the sessions' children to stop")
        await wait_for(lambda: not child_pids(gateway.process.pid, "mcp-server-time"), "the child processes to exit")
    finally:
        stop_gateway(gateway)


async def test_progress_from_the_child_reaches_the_client(gateway: GatewayProcess) -> None:
    await _wait_ready(gateway, "everything")
    steps: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        steps.append(progress)

    async with gateway_client(f"{gateway.base}/servers/everything/mcp", legacy=True) as client:
        result = await client.call_tool(
            "trigger-long-running-operation", {"duration": 0.6, "steps": 3}, progress_callback=on_progress
        )
    assert not result.is_error and "completed" in text_of(result)
    assert steps == [1, 2, 3]


async def test_typescript_sdk_clients_work_too(gateway: GatewayProcess, tmp_path: Path) -> None:
    await _wait_ready(gateway, "time", "everything")
    answer = ts_client_call(tmp_path, f"{gateway.base}/combined/mcp", "time__get_current_time", {"timezone": "UTC"})
    assert "everything__echo" in answer["tools"] and not answer["result"].get("isError")
    assert "UTC" in answer["result"]["content"][0]["text"]
    answer = ts_client_call(tmp_path, f"{gateway.base}/servers/everything/sse", "echo", {"message": "ts"}, sse=True)
    assert answer["result"]["content"][0]["text"] == "Echo: ts"


async def test_a_config_mixing_stdio_and_remote_backends(server_settings: Settings, tmp_path: Path) -> None:
    p = peers()
    streamable, streamable_url = start_remote_everything("streamableHttp")
    legacy, legacy_url = start_remote_everything("sse")
    backend = start_http_server(server_settings, tmp_path, "--auth-token", "backend-secret")
    config = {
        "servers": {
            "time": _stdio(p.time),
            "remote": {"url": streamable_url},
            "legacy": {"url": legacy_url},  # .../sse: a legacy SSE server
            "kubehelm": {"url": backend.mcp_url, "headers": {"Authorization": "Bearer ${BACKEND_TOKEN}"}},
        },
        "combined": True,
        "supervision": FAST,
    }
    gateway = start_gateway(tmp_path, config, env={"BACKEND_TOKEN": "backend-secret"})
    try:
        await _wait_ready(gateway, "time", "remote", "legacy", "kubehelm")
        assert gateway.server("legacy")["transport"] == "sse"
        async with gateway_client(f"{gateway.base}/combined/mcp") as client:
            for name, arguments in (
                ("remote__echo", {"message": "streamable"}),
                ("legacy__echo", {"message": "sse"}),
                ("time__get_current_time", {"timezone": "UTC"}),
                ("kubehelm__k8s_get_current_context", {}),
            ):
                result = await client.call_tool(name, arguments)
                assert not result.is_error, (name, text_of(result))
        # the remote server goes away: only its calls fail, and it is reconnected when it is back
        streamable.kill()
        streamable.wait()
        await wait_for(lambda: gateway.server("remote")["state"] != "ready", "the remote server's loss")
        async with gateway_client(f"{gateway.base}/combined/mcp") as client:
            assert not (await client.call_tool("legacy__echo", {"message": "still"})).is_error
    finally:
        stop_gateway(gateway)
        for process in (streamable, legacy):
            process.kill()
            process.wait()
        stop_http_server(backend)


async def test_a_childs_sampling_and_elicitation_reach_the_calling_client(gateway: GatewayProcess) -> None:
    await _wait_ready(gateway, "everything")

    async def sample(context: Any, params: CreateMessageRequestParams) -> CreateMessageResult:
        return CreateMessageResult(
            role="assistant", content=TextContent(type="text", text="sampled-by-the-client"), model="test-model"
        )

    async def elicit(context: Any, params: ElicitRequestParams) -> ElicitResult:
        return ElicitResult(action="decline")

    url = f"{gateway.base}/servers/everything/mcp"
    async with gateway_client(url, legacy=True, sampling_callback=sample, elicitation_callback=elicit) as client:
        sampled = await client.call_tool("trigger-sampling-request", {"prompt": "hello", "maxTokens": 5})
        assert not sampled.is_error and "sampled-by-the-client" in text_of(sampled)
        elicited = await client.call_tool("trigger-elicitation-request", {})
        assert "User declined" in text_of(elicited)
    async with gateway_client(url, legacy=True) as plain:  # a client that cannot sample is never asked
        refused = await plain.call_tool("trigger-sampling-request", {"prompt": "hello", "maxTokens": 5})
        assert refused.is_error and "does not support sampling" in text_of(refused)


async def test_a_child_killed_mid_call_fails_that_call_only(gateway: GatewayProcess) -> None:
    await _wait_ready(gateway, "everything", "time")
    results: list[Any] = []
    async with (
        gateway_client(f"{gateway.base}/servers/everything/mcp") as client,
        gateway_client(f"{gateway.base}/servers/time/mcp") as other,
    ):

        async def long_call() -> None:
            results.append(await client.call_tool("trigger-long-running-operation", {"duration": 20, "steps": 2}))

        async with anyio.create_task_group() as tg:
            tg.start_soon(long_call)
            await anyio.sleep(1)
            [pid] = child_pids(gateway.process.pid, "server-everything/dist/index.js")
            os.kill(pid, signal.SIGKILL)
            with anyio.fail_after(10):  # the call ends now, not when the 20 s were up
                await wait_for(lambda: bool(results), "the interrupted call's answer")
        [result] = results
        assert result.is_error and "'everything' went away during the call" in text_of(result), text_of(result)
        assert not (await other.call_tool("get_current_time", {"timezone": "UTC"})).is_error
        await _wait_ready(gateway, "everything")
        assert text_of(await client.call_tool("echo", {"message": "back"})) == "Echo: back"


async def test_sigterm_lets_relayed_calls_finish(tmp_path: Path) -> None:
    p = peers()
    gateway = start_gateway(tmp_path, {"servers": {"everything": _stdio(p.everything)}, "supervision": FAST})
    await _wait_ready(gateway, "everything")
    results: list[Any] = []
    async with gateway_client(f"{gateway.base}/servers/everything/mcp") as client:
        await client.list_tools()  # the client checks results against the listing: no request after the drain begins

        async def long_call() -> None:
            results.append(await client.call_tool("trigger-long-running-operation", {"duration": 2, "steps": 2}))

        async with anyio.create_task_group() as tg:
            tg.start_soon(long_call)
            await anyio.sleep(0.5)
            gateway.process.terminate()  # drains: the running call is answered before the gateway exits
        [result] = results
        assert not result.is_error and "completed" in text_of(result)
    log = stop_gateway(gateway)  # exit code 0
    assert "draining 1 running tool call" in log


async def test_a_call_past_the_servers_timeout_fails_alone(tmp_path: Path) -> None:
    p = peers()
    config = {"servers": {"everything": _stdio(p.everything, timeout=1)}, "supervision": FAST}
    gateway = start_gateway(tmp_path, config)
    try:
        await _wait_ready(gateway, "everything")
        async with gateway_client(f"{gateway.base}/servers/everything/mcp") as client:
            slow = await client.call_tool("trigger-long-running-operation", {"duration": 5, "steps": 1})
            assert slow.is_error and "did not answer within 1 s" in text_of(slow)
            assert text_of(await client.call_tool("echo", {"message": "fast"})) == "Echo: fast"
        assert gateway.server("everything")["restarts"] == 0  # slow is not dead: its pings were answered
    finally:
        stop_gateway(gateway)
