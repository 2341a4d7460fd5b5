"""Resilience against a real outage: a dedicated control plane whose kube-apiserver process is
stopped and started again while a server keeps taking calls through a real MCP client.

The shared session cluster is never touched: other tests use it. anyio.fail_after here only
guards against hangs (generously); no test asserts how long anything took."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from prometheus_client.parser import text_string_to_metric_families
from testcluster.controlplane import ControlPlane
from testcluster.install import Binaries

from kubehelm_mcp import create_client, create_server
from kubehelm_mcp.api import server_parts
from kubehelm_mcp.caller import ANONYMOUS
from kubehelm_mcp.context import CallContext, SessionState
from kubehelm_mcp.kube.target import ClusterTarget
from kubehelm_mcp.server import ServerParts, build_parts
from kubehelm_mcp.settings import Settings
from kubehelm_mcp.tooling import NAMESPACE, Annotations, Category, Tool, ToolInput, ToolResult
from tests.conftest import start_http_server, stop_http_server
from tests.support.cli import run
from tests.support.http import get
from tests.support.mcp import call_error, call_ok

pytestmark = pytest.mark.anyio

CONTEXT = "resilience"
HANG_GUARD = 120  # seconds; only so that a hang fails the test instead of stalling the run
RESET = 2.0  # breaker_reset_seconds: short, so the test sees half-open without a long wait
FAILURES = 3
NAMESPACES = {"kind": "namespaces"}


@pytest.fixture(scope="module")
def plane(test_binaries: Binaries) -> Iterator[ControlPlane]:
    """A control plane of this module's own: its apiserver is stopped, which the shared one must never be."""
    plane = ControlPlane.start(None, test_binaries, context_name=CONTEXT)
    yield plane
    plane.stop()


@pytest.fixture
def settings(plane: ControlPlane, helm_binaries: dict[str, Path]) -> Settings:
    return Settings(
        result_format="structured",
        kubeconfig=str(plane.kubeconfig),
        helm_v3_binary=str(helm_binaries["v3"]),
        helm_v4_binary=str(helm_binaries["v4"]),
    )


@pytest.fixture
async def outage_server(settings: Settings) -> AsyncIterator[tuple[Client, ServerParts]]:
    server = create_server(settings, breaker_failures=FAILURES, breaker_reset_seconds=RESET, retry_attempts=2)
    async with create_client(server) as client:
        yield client, server_parts(server)
    await server_parts(server).close()


def sample(parts: ServerParts, name: str, labels: dict[str, str]) -> float | None:
    """One sample of the server's /metrics exposition, as a scraper would read it."""
    for family in text_string_to_metric_families(parts.metrics.exposition().decode()):
        for each in family.samples:
            if each.name == name and all(each.labels.get(k) == v for k, v in labels.items()):
                return float(each.value)
    return None


def breaker_state(parts: ServerParts, plane: ControlPlane) -> float | None:
    return sample(parts, "kubehelm_mcp_circuit_breaker_state", {"cluster": plane.server})


async def until(check: Callable[[], object]) -> None:
    """Poll state that no event signals (a scrape, /proc) until check() holds."""
    with anyio.fail_after(HANG_GUARD):
        while not check():  # noqa: ASYNC110
            await anyio.sleep(0.1)


async def wait_for_half_open(parts: ServerParts, plane: ControlPlane) -> None:
    await until(lambda: breaker_state(parts, plane) == 1)


async def test_breaker_opens_while_the_apiserver_is_down_and_closes_when_it_is_back(
    plane: ControlPlane, outage_server: tuple[Client, ServerParts]
) -> None:
    client, parts = outage_server
    with anyio.fail_after(HANG_GUARD):
        assert (await call_ok(client, "k8s_list_resources", NAMESPACES))["items"]
        await call_ok(client, "helm_list", {"all_namespaces": True})
    assert breaker_state(parts, plane) == 0

    plane.stop_apiserver()
    try:
        # Each call fails with the real reason, after one retry (reads are idempotent) ...
        for _ in range(FAILURES):
            with anyio.fail_after(HANG_GUARD):
                message = await call_error(client, "k8s_list_resources", NAMESPACES)
            assert message.startswith(f"Cannot reach the Kubernetes API server at {plane.server}: "), message
        assert sample(parts, "kubehelm_mcp_retries_total", {"tool": "k8s_list_resources"}) == FAILURES
        # ... and after FAILURES of them the breaker is open: calls to that cluster fail fast, helm's too.
        assert breaker_state(parts, plane) == 2
        with anyio.fail_after(HANG_GUARD):
            fast = await call_error(client, "k8s_get_resource", {"kind": "namespaces", "name": "default"})
            helm = await call_error(client, "helm_list", {"all_namespaces": True})
        expected = f"The Kubernetes API server for context '{CONTEXT}' is unreachable; calls fail fast until "
        assert fast.startswith(expected), fast
        assert "UTC, when it is checked again." in fast and "Last error: Cannot reach" in fast
        assert helm.startswith(expected), helm
        assert sample(parts, "kubehelm_mcp_calls_refused_total", {"reason": "circuit_open"}) == 2
        assert sample(parts, "kubehelm_mcp_tool_calls_total", {"tool": "helm_list", "outcome": "circuit_open"}) == 1
        # Tools that touch no cluster are not gated.
        with anyio.fail_after(HANG_GUARD):
            assert (await call_ok(client, "k8s_list_contexts"))["items"]

        # Half-open while the server is still down: one probe (of /readyz) goes out, fails, and reopens.
        await wait_for_half_open(parts, plane)
        with anyio.fail_after(HANG_GUARD):
            probe = await call_error(client, "k8s_list_resources", NAMESPACES)
        assert probe.startswith("Cannot reach the Kubernetes API server"), probe
        assert breaker_state(parts, plane) == 2
        with anyio.fail_after(HANG_GUARD):
            assert (await call_error(client, "k8s_list_resources", NAMESPACES)).startswith(expected)
    finally:
        await anyio.to_thread.run_sync(plane.start_apiserver)

    # Back: once half-open, the probe succeeds and closes the breaker; everything works again.
    await wait_for_half_open(parts, plane)
    with anyio.fail_after(HANG_GUARD):
        assert (await call_ok(client, "k8s_list_resources", NAMESPACES))["items"]
    assert breaker_state(parts, plane) == 0
    with anyio.fail_after(HANG_GUARD):
        await call_ok(client, "helm_list", {"all_namespaces": True})
        await call_ok(client, "k8s_get_resource", {"kind": "namespaces", "name": "default"})
    assert breaker_state(parts, plane) == 0


def helm_install_pids(release: str) -> list[int]:
    """Live helm processes installing this release (zombies have no command line, so they drop out)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"install" in argv and release.encode() in argv:
            pids.append(int(entry.name))
    return pids


async def test_a_cancelled_call_kills_its_helm_process_and_frees_its_slot(
    settings: Settings, helm_binaries: dict[str, Path], helm_home: Path, tmp_path: Path
) -> None:
    chart = tmp_path / "stuck"
    run(helm_binaries["v4"], "create", str(chart))
    release = f"stuck-{uuid.uuid4().hex[:8]}"
    # One slot, and a query waits a second for it: the install holds the slot until cancelled.
    busy_settings = settings.replace(allow_destructive=True, max_concurrent_calls=1, query_timeout=1)
    async with create_client(settings=busy_settings) as client:
        arguments: dict[str, Any] = {
            "release_name": release,
            "chart": str(chart),
            "namespace": "default",
            "wait": True,  # this cluster has no node: the pods stay Pending and helm waits
            "timeout": "10m",
        }
        async with anyio.create_task_group() as tg:
            tg.start_soon(client.call_tool, "helm_install", arguments)
            await until(lambda: helm_install_pids(release))
            pids = helm_install_pids(release)
            with anyio.fail_after(HANG_GUARD):
                busy = await call_error(client, "k8s_list_contexts")
            assert busy.startswith("The server is busy: all 1 call slots stayed taken for 1 seconds"), busy
            tg.cancel_scope.cancel()  # the client abandons the call: MCP notifications/cancelled
        await until(lambda: not helm_install_pids(release))
        with anyio.fail_after(HANG_GUARD):
            assert (await call_ok(client, "k8s_list_contexts"))["items"]  # the slot is free again
    assert pids


async def test_a_caller_over_its_rate_limit_is_told_when_to_retry(settings: Settings) -> None:
    async with create_client(settings=settings.replace(rate_limit_per_second=0.01, rate_limit_burst=2)) as client:
        with anyio.fail_after(HANG_GUARD):
            for _ in range(2):
                await call_ok(client, "k8s_list_contexts")
            message = await call_error(client, "k8s_list_contexts")
    # The wait counts down from 100 s while the two allowed calls run, so read the number back.
    prefix = "Rate limit reached: each caller may make 0.01 calls a second (bursts of 2); retry in "
    assert message.startswith(prefix) and message.endswith(" seconds."), message
    retry_in = float(message.removeprefix(prefix).removesuffix(" seconds."))
    assert 90 < retry_in <= 100, message


async def test_read_cache_answers_repeats_until_a_change_goes_through_the_server(
    plane: ControlPlane, settings: Settings
) -> None:
    name = f"cached-{uuid.uuid4().hex[:8]}"
    plane.kubectl("create", "configmap", name, "--namespace", "default", "--from-literal=v=one")
    get = {"kind": "configmaps", "name": name, "namespace": "default", "output": "json"}

    def value(result: dict[str, Any]) -> str:
        return str(result["object"]["data"]["v"])

    server = create_server(settings, read_cache_ttl=600)
    parts = server_parts(server)
    async with create_client(server) as client:
        with anyio.fail_after(HANG_GUARD):
            assert value(await call_ok(client, "k8s_get_resource", get)) == "one"
            plane.kubectl("patch", "configmap", name, "--namespace", "default", "-p", '{"data":{"v":"two"}}')
            assert value(await call_ok(client, "k8s_get_resource", get)) == "one"  # cached: the server did not ask
            assert sample(parts, "kubehelm_mcp_read_cache_lookups_total", {"result": "hit"}) == 1
            patch = {"kind": "configmaps", "name": name, "namespace": "default", "patch": {"data": {"v": "three"}}}
            await call_ok(client, "k8s_patch_resource", patch)  # any change through the server clears the cache
            assert value(await call_ok(client, "k8s_get_resource", get)) == "three"
    await parts.close()


async def test_the_breaker_counts_a_call_that_timed_out_but_not_one_the_client_cancelled(
    plane: ControlPlane, settings: Settings
) -> None:
    """A handler that never returns, on a cluster-bound tool: cancelled by the client it says
    nothing about the cluster; cut off by its deadline it counts as a failure."""
    parts = build_parts(settings.replace(breaker_failures=1))
    entered = anyio.Event()

    async def hang(args: ToolInput, ctx: CallContext) -> ToolResult:
        entered.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    tool: Tool[ToolInput, ToolResult] = Tool(
        name="test_hang",
        description="Never returns.",
        input_model=ToolInput,
        output_model=ToolResult,
        annotations=Annotations(read_only=False),
        category=Category.MUTATE,
        handler=hang,
        touches=NAMESPACE,
    )
    ctx = CallContext(
        settings=parts.settings,
        target=ClusterTarget(kubeconfig=str(plane.kubeconfig)),
        namespace_arg=None,
        session=SessionState(),
        caller=ANONYMOUS,
        clients=parts.clients,
        helm=parts.pipeline.helm,
        forwards=parts.forwards,
    )
    guard = parts.pipeline.resilience
    try:
        with anyio.fail_after(HANG_GUARD):
            async with anyio.create_task_group() as tg:
                tg.start_soon(guard.run, tool, ToolInput(), ctx)
                await entered.wait()
                tg.cancel_scope.cancel()
        assert guard.breakers.states() == {plane.server: 0}
        with anyio.move_on_after(0.2):  # the call's own deadline
            await guard.run(tool, ToolInput(), ctx)
        assert guard.breakers.states() == {plane.server: 2}
        assert guard.breakers.get(plane.server).last_error == "the call timed out"
    finally:
        await parts.close()


# -- recovery: calls succeed soon after the cluster is back, not one breaker period later -----

QUERY_TIMEOUT = 6.0  # short, so that calls hung by a frozen server run out of time within the outage
CALLERS = 8  # enough calls hung at once to trip the breaker at its default (5 failures)
# Seconds from the apiserver answering /readyz again to a call succeeding: generous. It took 16 to
# 30 s (the default breaker period), and 60 s after a freeze as long as the query timeout.
RECOVERED_WITHIN = 8.0


def apiserver_ready(plane: ControlPlane) -> bool:
    with contextlib.suppress(Exception):
        return plane.client().ok("/readyz")
    return False


OUTAGES: dict[str, tuple[Callable[[ControlPlane], None], Callable[[ControlPlane], None]]] = {
    "apiserver-frozen": (lambda p: p.pause("kube-apiserver"), lambda p: p.resume("kube-apiserver")),
    "apiserver-restarted": (ControlPlane.stop_apiserver, lambda p: p.start_apiserver()),
    "etcd-frozen": (lambda p: p.pause("etcd"), lambda p: p.resume("etcd")),
}


async def keep_calling(client: Client, successes: list[tuple[float, float]], stop: anyio.Event) -> None:
    """Calls one after another; successes gets each good one's (start, end) times."""
    while not stop.is_set():
        started = anyio.current_time()
        result = await client.call_tool("k8s_list_resources", NAMESPACES)
        if result.is_error:
            await anyio.sleep(0.05)
        else:
            successes.append((started, anyio.current_time()))


@pytest.mark.parametrize("outage", OUTAGES)
async def test_calls_succeed_within_seconds_of_the_cluster_coming_back(
    plane: ControlPlane, settings: Settings, outage: str
) -> None:
    """Callers keep calling through an outage longer than their timeout (default breaker)."""
    begin, end = OUTAGES[outage]
    server = create_server(settings, query_timeout=QUERY_TIMEOUT)
    successes: list[tuple[float, float]] = []
    stop = anyio.Event()
    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(create_client(server)) for _ in range(CALLERS)]
        async with anyio.create_task_group() as tg:
            for client in clients:
                tg.start_soon(keep_calling, client, successes, stop)
            await until(lambda: successes)
            await anyio.to_thread.run_sync(begin, plane)
            try:
                await anyio.sleep(QUERY_TIMEOUT + 1)  # the calls in flight run out of time: the breaker opens
            finally:
                await anyio.to_thread.run_sync(end, plane)
            with anyio.fail_after(HANG_GUARD):
                while not await anyio.to_thread.run_sync(apiserver_ready, plane):  # noqa: ASYNC110
                    await anyio.sleep(0.05)
            ready = anyio.current_time()
            # A call that hung through the outage and was answered when it ended does not count.
            await until(lambda: any(start >= ready for start, _ in successes))
            stop.set()
    await server_parts(server).close()
    recovered = min(end for start, end in successes if start >= ready) - ready
    assert recovered < RECOVERED_WITHIN, f"the first call succeeded {recovered:.1f} s after the cluster was back"


async def test_readyz_reports_an_etcd_outage_and_an_open_breaker(
    plane: ControlPlane, settings: Settings, tmp_path: Path
) -> None:
    server = start_http_server(settings, tmp_path, "--query-timeout", str(QUERY_TIMEOUT))
    readyz = f"{server.base}/readyz"
    try:
        status, body = await anyio.to_thread.run_sync(get, readyz)
        assert status == 200 and '"ready"' in body
        plane.pause("etcd")  # the API server still answers /version, but serves nothing
        try:
            status, body = await anyio.to_thread.run_sync(get, readyz)
        finally:
            plane.resume("etcd")
        assert status == 503 and "etcd" in body, body
        await until(lambda: get(readyz)[0] == 200)

        plane.stop_apiserver()
        try:
            async with Client(server.mcp_url) as client:
                for _ in range(5):  # the default breaker opens after five failed calls
                    await call_error(client, "k8s_list_resources", NAMESPACES)
                status, body = await anyio.to_thread.run_sync(get, readyz)
            assert status == 503 and "calls fail fast until" in body, body
        finally:
            await anyio.to_thread.run_sync(plane.start_apiserver)
        await until(lambda: get(readyz)[0] == 200)  # /readyz itself probes: no call needs to come
    finally:
        stop_http_server(server)
