"""Scale-out: two `serve` processes on loopback against the real cluster, behind a round-robin
proxy that sends each request to the next replica. One client drives many calls (in sequence
and concurrently) through the proxy; both replicas must serve calls and every call succeed.

The 2026-07-28 protocol keeps no session, so any replica answers; a handshake-era client needs
--stateless, without which the replica that did not see its handshake refuses it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client
from mcp.client import ClientRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from kubehelm_mcp.settings import Settings
from tests.conftest import HttpServer, free_port, start_http_server, stop_http_server
from tests.support.mcp import call_error, call_ok
from tests.support.proxy import RoundRobinProxy

pytestmark = pytest.mark.anyio

ROUNDS = 6  # each round makes len(CALLS) calls
TASKS = 4  # concurrent clients' worth of calls in the concurrent round
CONFIRM_NS = "khm-scale-confirm"


def calls(namespace: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("k8s_get_resource", {"kind": "ConfigMap", "name": "cm-01", "namespace": namespace}),
        ("k8s_list_resources", {"kind": "configmaps", "namespace": namespace, "label_selector": "tier=even"}),
        ("k8s_describe_resource", {"kind": "Deployment", "name": "web", "namespace": namespace}),
        ("helm_list", {"namespace": "khm-helm"}),
        ("k8s_get_current_context", {}),
    ]


@pytest.fixture(scope="module")
def stateless_replicas(server_settings: Settings, tmp_path_factory: Any) -> Iterator[list[HttpServer]]:
    replicas = [start_http_server(server_settings, tmp_path_factory.mktemp(f"r{i}"), "--stateless") for i in range(2)]
    yield replicas
    stop_all(replicas)


def stop_all(replicas: list[HttpServer]) -> None:
    """Stop every replica, even when an earlier one fails its clean-shutdown check."""
    failures = []
    for replica in replicas:
        try:
            stop_http_server(replica)
        except AssertionError as failure:
            failures.append(failure)
    if failures:
        raise failures[0]


def proxy_for(replicas: list[HttpServer]) -> RoundRobinProxy:
    return RoundRobinProxy([replica.base for replica in replicas], free_port())


async def drive(client: Client, namespace: str) -> int:
    """Every call in sequence, ROUNDS times, then TASKS rounds at once; returns the calls made."""
    made = 0
    for _ in range(ROUNDS):
        for name, arguments in calls(namespace):
            await call_ok(client, name, arguments)
            made += 1

    async def one_round() -> None:
        for name, arguments in calls(namespace):
            await call_ok(client, name, arguments)

    async with anyio.create_task_group() as tg:
        for _ in range(TASKS):
            tg.start_soon(one_round)
    return made + TASKS * len(calls(namespace))


def leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in leaves(inner)]
    return [error]


def assert_both_served(proxy: RoundRobinProxy, made: int) -> None:
    counts = [proxy.tool_calls[backend] for backend in proxy.backends]
    assert sum(counts) == made, counts
    assert all(count >= made // 4 for count in counts), f"one replica served (almost) nothing: {counts}"


async def test_modern_protocol_client_across_two_replicas(
    stateless_replicas: list[HttpServer], sample_objects: str, helm_releases: Any
) -> None:
    with proxy_for(stateless_replicas) as proxy:
        async with Client(proxy.url + "/mcp") as client:
            assert client.protocol_version in MODERN_PROTOCOL_VERSIONS
            made = await drive(client, sample_objects)
    assert_both_served(proxy, made)


async def test_handshake_client_across_stateless_replicas(
    stateless_replicas: list[HttpServer], sample_objects: str, helm_releases: Any
) -> None:
    with proxy_for(stateless_replicas) as proxy:
        async with Client(proxy.url + "/mcp", mode="legacy") as client:
            assert client.protocol_version not in MODERN_PROTOCOL_VERSIONS
            made = await drive(client, sample_objects)
            # No session outlives a request, so there is none whose context could be switched.
            message = await call_error(client, "k8s_switch_context", {"name": "kubehelm-test"})
            assert "stateless" in message
    assert_both_served(proxy, made + 1)


async def test_handshake_client_needs_stateless_replicas(
    server_settings: Settings, tmp_path_factory: Any, sample_objects: str
) -> None:
    """The control: the same client across replicas that keep sessions fails on the second one."""
    replicas = [start_http_server(server_settings, tmp_path_factory.mktemp(f"s{i}")) for i in range(2)]
    try:
        with proxy_for(replicas) as proxy, pytest.raises(Exception) as refused:
            async with Client(proxy.url + "/mcp", mode="legacy") as client:
                await call_ok(client, "k8s_get_current_context")
                await call_ok(client, "k8s_get_current_context")
        # Raised by the call, or by the client's transport task (then inside an exception group).
        assert any(isinstance(e, MCPError) and "Session not found" in str(e) for e in leaves(refused.value))
    finally:
        stop_all(replicas)


class Accepting:
    """A user who says yes to every confirmation question, and counts them."""

    def __init__(self) -> None:
        self.questions = 0

    async def __call__(self, context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.questions += 1
        return types.ElicitResult.model_validate({"action": "accept"})


@pytest.mark.parametrize("shared_key", [True, False], ids=["shared-key", "key-per-process"])
async def test_confirmations_cross_replicas_only_with_a_shared_state_key(
    server_settings: Settings, tmp_path_factory: Any, kubectl: Any, shared_key: bool
) -> None:
    """On the stateless protocol the user's answer comes back in a retry that the proxy sends to
    the other replica: it unseals the question's state only with the key the first one sealed it with."""
    names = [f"doomed-{i}" for i in range(4)]
    docs = [f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {CONFIRM_NS}}}\n"]
    docs += [f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {n}, namespace: {CONFIRM_NS}}}\n" for n in names]
    kubectl("apply", "-f", "-", stdin="---\n".join(docs))
    env = {"KUBEHELM_MCP_REQUEST_STATE_KEYS": secrets.token_hex(32)} if shared_key else {}
    flags = ("--allow-destructive", "--confirm", "k8s_delete_resource")
    replicas = [start_http_server(server_settings, tmp_path_factory.mktemp(f"c{i}"), *flags, env=env) for i in range(2)]
    user, refused = Accepting(), 0
    try:
        with proxy_for(replicas) as proxy:
            async with Client(proxy.url + "/mcp", elicitation_callback=user) as client:
                assert client.protocol_version in MODERN_PROTOCOL_VERSIONS
                for name in names:
                    arguments = {"kind": "ConfigMap", "name": name, "namespace": CONFIRM_NS}
                    try:
                        result = await client.call_tool("k8s_delete_resource", arguments)
                        refused += bool(result.is_error)
                    except MCPError:
                        refused += 1
    finally:
        stop_all(replicas)
    left = set(kubectl("get", "configmaps", "-n", CONFIRM_NS, "-o", "name").split()) - {"configmap/kube-root-ca.crt"}
    assert all(proxy.tool_calls[backend] > 0 for backend in proxy.backends)
    if shared_key:
        assert (user.questions, refused, left) == (len(names), 0, set())
    else:  # every retry that reached the other replica was refused, and nothing it asked about was deleted
        assert refused > 0 and len(left) == refused, (refused, left)
