"""The resilience parts on their own: breaker, token bucket, cache, retry, bulkhead, timeouts.
Each takes an injected clock (or sleep), so nothing here waits for real time to pass."""

from __future__ import annotations

import math
from typing import Any

import anyio
import pytest

from kubehelm_mcp.caller import Caller, Principal
from kubehelm_mcp.errors import (
    CircuitOpen,
    ClusterBusy,
    ClusterUnavailable,
    ClusterUnreachable,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    ServerBusy,
    ToolError,
    ToolTimeout,
)
from kubehelm_mcp.helm.cli import helm_error
from kubehelm_mcp.kube.api import api_error
from kubehelm_mcp.resilience.breaker import FIRST_INTERVAL, BreakerOpen, Breakers, BreakerState, CircuitBreaker
from kubehelm_mcp.resilience.cache import ReadCache, cache_key
from kubehelm_mcp.resilience.guard import cacheable, rate_key, retryable
from kubehelm_mcp.resilience.limits import Bulkhead, RateLimiter, TokenBucket
from kubehelm_mcp.resilience.retry import is_transient, retry_call
from kubehelm_mcp.resilience.timeouts import WAIT_MARGIN, call_timeout
from kubehelm_mcp.settings import Settings, SettingsError, load_settings
from kubehelm_mcp.tooling import touches_cluster
from kubehelm_mcp.toolsets import all_tools

pytestmark = pytest.mark.anyio  # the async tests below; plain ones are unaffected


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- circuit breaker ---------------------------------------------------------------------------


def state_of(breaker: CircuitBreaker) -> BreakerState:
    return breaker.state  # read afresh each time: the clock alone moves it


def test_breaker_opens_after_consecutive_failures_then_probes_once_and_closes() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=3, reset_seconds=30, clock=clock)
    for _ in range(2):
        breaker.failed(breaker.admit(), "refused")
    assert state_of(breaker) is BreakerState.CLOSED
    breaker.failed(breaker.admit(), "refused")
    assert state_of(breaker) is BreakerState.OPEN
    with pytest.raises(BreakerOpen) as refused:
        breaker.admit()
    assert refused.value.retry_in == FIRST_INTERVAL and not refused.value.probing  # probed soon, not in 30 s
    clock.now += FIRST_INTERVAL - 0.1
    assert state_of(breaker) is BreakerState.OPEN
    clock.now += 0.1
    assert state_of(breaker) is BreakerState.HALF_OPEN  # by the clock alone, before any call
    probe = breaker.admit()
    assert probe.probe
    with pytest.raises(BreakerOpen) as during_probe:  # only one probe at a time
        breaker.admit()
    assert during_probe.value.probing
    breaker.succeeded(probe)
    assert state_of(breaker) is BreakerState.CLOSED
    assert not breaker.admit().probe


def test_each_failed_probe_doubles_the_wait_up_to_the_reset_seconds() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=1, reset_seconds=10, clock=clock)
    breaker.failed(breaker.admit(), "refused")
    waits = []
    for _ in range(5):
        clock.now += breaker.interval
        breaker.failed(breaker.admit(), "still refused")
        waits.append(breaker.interval)
        with pytest.raises(BreakerOpen):
            breaker.admit()
    assert waits == [2, 4, 8, 10, 10]
    assert state_of(breaker) is BreakerState.OPEN and breaker.last_error == "still refused"
    clock.now += 10
    breaker.succeeded(breaker.admit())
    assert breaker.interval == FIRST_INTERVAL  # the next outage is probed soon again


def test_an_abandoned_probe_lets_the_next_call_probe() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=1, reset_seconds=1, clock=clock)
    breaker.failed(breaker.admit(), "refused")
    clock.now += 1
    breaker.abandoned(breaker.admit())
    assert breaker.admit().probe


def test_failures_of_calls_admitted_before_the_last_success_trip_nothing() -> None:
    """Calls that hung through an outage and timed out after the cluster came back are old news."""
    clock = Clock()
    breaker = CircuitBreaker(failures=2, reset_seconds=5, clock=clock)
    hung = [breaker.admit() for _ in range(5)]
    clock.now += 1
    breaker.succeeded(breaker.admit())  # e.g. a 404: the server answered
    for permit in hung:
        breaker.failed(permit, "the call timed out")
    assert state_of(breaker) is BreakerState.CLOSED
    breaker.failed(breaker.admit(), "refused")  # news: admitted after the success
    breaker.failed(breaker.admit(), "refused")
    assert state_of(breaker) is BreakerState.OPEN


def test_failures_of_calls_admitted_before_the_breaker_closed_trip_nothing() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=1, reset_seconds=5, clock=clock)
    hung = breaker.admit()
    breaker.failed(breaker.admit(), "refused")
    clock.now += FIRST_INTERVAL
    breaker.succeeded(breaker.admit())  # the probe
    breaker.failed(hung, "the call timed out")
    assert state_of(breaker) is BreakerState.CLOSED


def test_any_success_closes_an_open_breaker() -> None:
    """A call admitted before the breaker opened that then succeeds: the cluster answers now."""
    clock = Clock()
    breaker = CircuitBreaker(failures=1, reset_seconds=5, clock=clock)
    slow = breaker.admit()
    breaker.failed(breaker.admit(), "refused")
    assert state_of(breaker) is BreakerState.OPEN
    breaker.succeeded(slow)
    assert state_of(breaker) is BreakerState.CLOSED


def test_breakers_are_per_cluster_and_report_their_states() -> None:
    clock = Clock()
    breakers = Breakers(failures=1, reset_seconds=5, clock=clock)
    down = breakers.get("https://a:6443")
    down.failed(down.admit(), "refused")
    assert breakers.get("https://b:6443").state is BreakerState.CLOSED
    assert breakers.states() == {"https://a:6443": 2, "https://b:6443": 0}
    clock.now += 5
    assert breakers.states()["https://a:6443"] == 1


# -- token bucket ------------------------------------------------------------------------------


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    bucket = TokenBucket(rate=2, burst=3, now=0)
    assert [bucket.take(0) for _ in range(3)] == [0, 0, 0]
    assert bucket.take(0) == pytest.approx(0.5)
    assert bucket.take(0.5) == 0
    assert bucket.take(0.5) == pytest.approx(0.5)
    assert not bucket.full(0.5) and bucket.full(10)


def test_rate_limiter_is_per_caller_says_when_to_retry_and_can_be_off() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1, burst=2, clock=clock)
    limiter.check("alice")
    limiter.check("alice")
    with pytest.raises(RateLimited, match=r"1 calls a second \(bursts of 2\); retry in 1 seconds"):
        limiter.check("alice")
    limiter.check("bob")  # another caller has its own bucket
    clock.now += 1
    limiter.check("alice")
    off = RateLimiter(rate=0, burst=1, clock=clock)
    for _ in range(100):
        off.check("alice")


def test_callers_are_limited_by_subject_else_by_host_whatever_their_port() -> None:
    alice = Principal(subject="alice", client="cli", issuer="https://idp")
    assert rate_key(Caller(principal=alice, remote="127.0.0.1:5000")) == "https://idp|alice"
    assert rate_key(Caller(remote="127.0.0.1:5000")) == rate_key(Caller(remote="127.0.0.1:6000")) == "127.0.0.1"
    assert rate_key(Caller()) == "local"


# -- read cache --------------------------------------------------------------------------------


def test_cache_entries_expire_and_the_oldest_go_first() -> None:
    clock = Clock()
    cache: ReadCache[str] = ReadCache(ttl=5, max_entries=2, clock=clock)
    cache.put("a", "A", cache.generation)
    cache.put("b", "B", cache.generation)
    assert cache.get("a") == "A"  # now the most recently used
    cache.put("c", "C", cache.generation)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("A", None, "C")
    clock.now += 5
    assert cache.get("a") is None and len(cache) == 1


def test_cache_clear_drops_entries_and_refuses_reads_that_began_before_it() -> None:
    cache: ReadCache[str] = ReadCache(ttl=60, clock=Clock())
    cache.put("a", "A", cache.generation)
    started = cache.generation
    cache.clear()
    assert cache.get("a") is None
    cache.put("b", "stale", started)
    assert cache.get("b") is None
    off: ReadCache[str] = ReadCache(ttl=0)
    off.put("a", "A", off.generation)
    assert off.get("a") is None


def test_cache_key_depends_on_tool_arguments_target_and_caller() -> None:
    base = cache_key("k8s_get_resource", {"kind": "pods", "name": "a"}, ("cfg", "ctx", None), "alice")
    assert base == cache_key("k8s_get_resource", {"name": "a", "kind": "pods"}, ("cfg", "ctx", None), "alice")
    others = [
        cache_key("k8s_describe_resource", {"kind": "pods", "name": "a"}, ("cfg", "ctx", None), "alice"),
        cache_key("k8s_get_resource", {"kind": "pods", "name": "b"}, ("cfg", "ctx", None), "alice"),
        cache_key("k8s_get_resource", {"kind": "pods", "name": "a"}, ("cfg", "other", None), "alice"),
        cache_key("k8s_get_resource", {"kind": "pods", "name": "a"}, ("cfg", "ctx", "digest"), "alice"),
        cache_key("k8s_get_resource", {"kind": "pods", "name": "a"}, ("cfg", "ctx", None), "bob"),
    ]
    assert base not in others and len(set(others)) == len(others)
    assert "alice" not in base


# -- retry -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (ClusterUnreachable("Cannot reach the Kubernetes API server: connection refused."), True),
        (ClusterBusy("The cluster answered HTTP 503.", status=503), True),
        (ClusterBusy("The cluster answered HTTP 429.", status=429, retry_after=1), True),
        (ClusterUnavailable("The cluster rejected the credentials (401 Unauthorized)."), False),
        (CircuitOpen("The Kubernetes API server for context 'x' is unreachable."), False),
        (Forbidden("Forbidden: no."), False),
        (NotFound("pods 'x' was not found."), False),
        (InvalidInput("bad."), False),
        (ToolError("The cluster answered HTTP 501: not implemented."), False),
        (ToolTimeout("k8s_get_resource did not finish within 30 seconds."), False),
        (ServerBusy("busy."), False),
        (RateLimited("slow down."), False),
    ],
)
def test_only_transient_errors_are_retried(error: ToolError, transient: bool) -> None:
    assert is_transient(error) is transient


def test_apiserver_overload_is_transient_and_keeps_its_retry_after() -> None:
    from kubernetes_asyncio.client.exceptions import ApiException
    from multidict import CIMultiDict, CIMultiDictProxy

    throttled = ApiException(status=429, reason="Too Many Requests")
    throttled.headers = CIMultiDictProxy(CIMultiDict({"Retry-After": "3"}))
    busy = api_error(throttled, "pods")
    assert isinstance(busy, ClusterBusy) and busy.status == 429 and busy.retry_after == 3
    assert str(busy) == "The cluster answered HTTP 429: Too Many Requests."
    assert is_transient(api_error(ApiException(status=503, reason="Service Unavailable"), "pods"))
    assert not is_transient(api_error(ApiException(status=501, reason="Not Implemented"), "pods"))
    assert not is_transient(api_error(ApiException(status=404, reason="Not Found"), "pods"))


def test_helm_reports_of_an_unreachable_cluster_are_transient() -> None:
    refused = 'Error: Kubernetes cluster unreachable: Get "https://127.0.0.1:1/version": connect: connection refused'
    assert is_transient(helm_error(refused, "helm list"))
    assert not is_transient(helm_error("Error: release: not found", "helm status x"))


class Flaky:
    """Fails with the given errors in turn, then returns 'done'; records the sleeps it was given."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0
        self.sleeps: list[float] = []

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


async def test_retry_retries_transient_failures_with_growing_delays() -> None:
    unreachable = ClusterUnreachable("connection refused")
    flaky = Flaky(unreachable, unreachable)
    seen: list[BaseException] = []
    assert await retry_call(flaky, attempts=3, on_retry=seen.append, sleep=flaky.sleep) == "done"
    assert flaky.calls == 3 and seen == [unreachable, unreachable]
    assert 0.2 <= flaky.sleeps[0] <= 0.4 and 0.4 <= flaky.sleeps[1] <= 0.6


async def test_retry_gives_up_after_the_attempts_and_raises_the_last_error() -> None:
    flaky = Flaky(*(ClusterBusy(f"HTTP 503 #{i}", status=503) for i in range(5)))
    with pytest.raises(ClusterBusy, match="#2"):
        await retry_call(flaky, attempts=3, sleep=flaky.sleep)
    assert flaky.calls == 3


async def test_retry_never_retries_a_permanent_error() -> None:
    flaky = Flaky(Forbidden("Forbidden: no."))
    with pytest.raises(Forbidden):
        await retry_call(flaky, attempts=5, sleep=flaky.sleep)
    assert flaky.calls == 1 and flaky.sleeps == []


async def test_retry_stays_within_the_calls_remaining_time() -> None:
    flaky = Flaky(ClusterUnreachable("connection refused"))
    with pytest.raises(ClusterUnreachable):
        await retry_call(flaky, attempts=5, budget=0.1, sleep=flaky.sleep)  # the first wait alone is 0.2 s
    assert flaky.calls == 1


async def test_retry_waits_at_least_the_servers_retry_after() -> None:
    flaky = Flaky(ClusterBusy("HTTP 429", status=429, retry_after=7))
    assert await retry_call(flaky, attempts=2, sleep=flaky.sleep) == "done"
    assert flaky.sleeps == [7]
    too_long = Flaky(ClusterBusy("HTTP 429", status=429, retry_after=7))
    with pytest.raises(ClusterBusy):
        await retry_call(too_long, attempts=2, budget=5, sleep=too_long.sleep)


# -- bulkhead ----------------------------------------------------------------------------------


async def test_bulkhead_refuses_a_call_that_finds_no_slot_before_its_deadline() -> None:
    bulkhead = Bulkhead(1)
    async with bulkhead.slot(math.inf):
        with pytest.raises(ServerBusy, match="all 1 call slots stayed taken"):
            async with bulkhead.slot(anyio.current_time() + 0.05):
                pytest.fail("a second slot was given out")
    async with bulkhead.slot(anyio.current_time()):  # released: free at once, even with no time left
        pass


async def test_bulkhead_lets_a_waiting_call_in_when_a_slot_frees() -> None:
    bulkhead = Bulkhead(1)
    order: list[str] = []

    async def second() -> None:
        async with bulkhead.slot(math.inf):
            order.append("second")

    async with anyio.create_task_group() as tg, bulkhead.slot(math.inf):
        tg.start_soon(second)
        await anyio.sleep(0.01)
        order.append("first")
    assert order == ["first", "second"]


# -- which tools get what, and timeouts --------------------------------------------------------


def _tools() -> dict[str, Any]:
    return {tool.name: tool for tool in all_tools()}


def test_breaker_retry_and_cache_apply_to_the_right_tools() -> None:
    tools = _tools()
    assert touches_cluster(tools["k8s_get_resource"]) and touches_cluster(tools["helm_list"])
    assert touches_cluster(tools["helm_install"])
    for local in ("helm_template", "helm_lint", "helm_package", "k8s_list_contexts", "helm_repo_list"):
        assert not touches_cluster(tools[local]), local
    assert retryable(tools["k8s_list_resources"]) and retryable(tools["helm_get_values"])
    assert not retryable(tools["helm_search_hub"]) and not retryable(tools["helm_show_values"])
    for mutation in ("k8s_apply_resource", "k8s_delete_resource", "helm_install", "k8s_scale_resource"):
        assert not retryable(tools[mutation]), mutation
    assert cacheable(tools["k8s_get_resource"])
    assert not cacheable(tools["k8s_switch_context"]) and not cacheable(tools["helm_show_values"])


@pytest.mark.parametrize(
    ("variable", "value", "sentence"),
    [
        ("KUBEHELM_MCP_RETRY_ATTEMPTS", "0", "--retry-attempts must be at least 1."),
        ("KUBEHELM_MCP_MAX_CONCURRENT_CALLS", "0", "--max-concurrent-calls must be at least 1."),
        ("KUBEHELM_MCP_BREAKER_RESET_SECONDS", "0", "--breaker-reset-seconds must be more than 0."),
        ("KUBEHELM_MCP_RATE_LIMIT_PER_SECOND", "-1", "--rate-limit-per-second must be 0 (off) or more."),
    ],
)
def test_resilience_settings_refuse_values_that_cannot_work(variable: str, value: str, sentence: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(environ={variable: value})
    assert str(refused.value) == sentence
    assert load_settings(environ={"KUBEHELM_MCP_READ_CACHE_TTL": "5"}).resilience.read_cache_ttl == 5


def test_every_category_has_its_own_timeout() -> None:
    settings = Settings(query_timeout=1, mutate_timeout=2, chart_timeout=3, repo_timeout=4)
    assert [settings.resilience.timeout_for(c) for c in ("query", "mutate", "chart", "repo")] == [1, 2, 3, 4]
    assert Settings().resilience.timeout_for("mutate") == 120
    with pytest.raises(ValueError, match="unknown tool category"):
        settings.resilience.timeout_for("other")


def test_a_call_that_asks_to_wait_longer_gets_that_wait_plus_a_margin() -> None:
    tools = _tools()
    settings = Settings()

    def timeout(tool_name: str, **arguments: Any) -> float:
        tool = tools[tool_name]
        return call_timeout(settings.resilience, tool, tool.input_model.model_validate(arguments))

    assert timeout("k8s_get_resource", kind="pods", name="a") == 30
    assert timeout("k8s_delete_resource", kind="pods", name="a") == 120
    chart = {"release_name": "r", "chart": "./c"}
    assert timeout("helm_install", **chart) == 300 + WAIT_MARGIN  # helm's own default 5m
    assert timeout("helm_install", **chart, timeout="10m", wait=True) == 600 + WAIT_MARGIN
    assert timeout("helm_upgrade", **chart, timeout="10m", atomic=True) == 1200 + WAIT_MARGIN
    assert timeout("helm_uninstall", release_name="r", timeout="30s") == 120
    assert timeout("k8s_exec_pod", name="p", command=["ls"], timeout_seconds=300) == 300 + WAIT_MARGIN
