"""Objects read again are answered from a watch (kube/watched.py), on the real apiserver: the GETs
it receives are counted from its own /metrics, and every change is seen, whoever made it."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest
from prometheus_client.parser import text_string_to_metric_families

from kubehelm_mcp import create_client, create_server
from kubehelm_mcp.api import server_parts
from kubehelm_mcp.settings import Settings
from tests.support.mcp import call_error, call_ok

pytestmark = pytest.mark.anyio

NAMESPACE = "default"
HANG_GUARD = 60  # seconds; only so that a hang fails the test instead of stalling the run
Kubectl = Callable[..., str]


def apiserver_gets(kubectl: Kubectl, resource: str) -> float:
    """GET requests the apiserver has answered for `resource` (single objects: lists are LIST)."""
    total = 0.0
    for family in text_string_to_metric_families(kubectl("get", "--raw", "/metrics")):
        for sample in family.samples:
            if sample.name == "apiserver_request_total" and sample.labels.get("verb") == "GET":
                total += sample.value if sample.labels.get("resource") == resource else 0
    return total


def our_metric(server: Any, name: str, labels: dict[str, str] | None = None, unseen: float | None = None) -> float:
    """One sample of the server's /metrics; `unseen`: the value of a labelled sample not counted yet."""
    for family in text_string_to_metric_families(server_parts(server).metrics.exposition().decode()):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in (labels or {}).items()):
                return float(sample.value)
    if unseen is None:
        raise AssertionError(f"{name} {labels} not exposed")
    return unseen


def podtemplate(name: str, label: str) -> str:
    """A PodTemplate: no controller reads these, so every GET the apiserver counts is ours."""
    return f"""apiVersion: v1
kind: PodTemplate
metadata: {{name: {name}, namespace: {NAMESPACE}, labels: {{step: {label}}}}}
template:
  spec:
    containers: [{{name: main, image: 127.0.0.1/kubehelm/busybox:1}}]
"""


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    with anyio.fail_after(HANG_GUARD):
        while not await check():  # noqa: ASYNC110 (polling the server: no event to wait on)
            await anyio.sleep(0.05)


async def each_read_is_a_get(server: Any, kubectl: Kubectl, get: dict[str, str], resource: str) -> None:
    async with create_client(server) as client:
        before = apiserver_gets(kubectl, resource)
        for _ in range(4):
            await call_ok(client, "k8s_get_resource", get)
        assert apiserver_gets(kubectl, resource) - before == 4
        assert our_metric(server, "kubehelm_mcp_read_watches") == 0
    await server_parts(server).close()


async def test_repeated_reads_come_from_a_watch_that_sees_every_change(
    server_settings: Settings, kubectl: Kubectl
) -> None:
    name = f"watched-{uuid.uuid4().hex[:8]}"
    kubectl("apply", "-f", "-", stdin=podtemplate(name, "one"))
    get = {"kind": "PodTemplate", "name": name, "namespace": NAMESPACE, "output": "json"}
    server = create_server(server_settings)
    async with create_client(server) as client:

        async def step() -> str:
            return str((await call_ok(client, "k8s_get_resource", get))["object"]["metadata"]["labels"]["step"])

        before = apiserver_gets(kubectl, "podtemplates")
        assert [await step() for _ in range(10)] == ["one"] * 10
        assert (
            apiserver_gets(kubectl, "podtemplates") - before == 2
        )  # the first read, and the one that opened the watch
        assert our_metric(server, "kubehelm_mcp_watched_reads_total", {"result": "hit"}) == 8
        assert our_metric(server, "kubehelm_mcp_read_watches") == 1

        # A change made elsewhere reaches the server through the watch, with no GET of ours.
        kubectl(
            "patch",
            "podtemplate",
            name,
            "-n",
            NAMESPACE,
            "--type=merge",
            "-p",
            '{"metadata":{"labels":{"step":"two"}}}',
        )
        before = apiserver_gets(kubectl, "podtemplates")  # after any GET kubectl made

        async def seen_two() -> bool:
            return await step() == "two"

        await eventually(seen_two)
        assert apiserver_gets(kubectl, "podtemplates") == before

        # A change through the server: the very next read asks the apiserver.
        patch = {
            "kind": "PodTemplate",
            "name": name,
            "namespace": NAMESPACE,
            "patch": {"metadata": {"labels": {"step": "three"}}},
        }
        await call_ok(client, "k8s_patch_resource", patch)
        assert our_metric(server, "kubehelm_mcp_read_watches") == 0
        assert await step() == "three"

        # Opened again by the next read; a deletion elsewhere ends it, and reads say NotFound.
        assert await step() == "three"
        assert our_metric(server, "kubehelm_mcp_read_watches") == 1
        kubectl("delete", "podtemplate", name, "-n", NAMESPACE)

        async def gone() -> bool:
            result = await client.call_tool("k8s_get_resource", get)
            return bool(result.is_error)

        await eventually(gone)
        assert "not found" in (await call_error(client, "k8s_get_resource", get)).lower()
        assert our_metric(server, "kubehelm_mcp_read_watches") == 0
    await server_parts(server).close()


async def test_secrets_are_never_watched_and_zero_turns_watching_off(
    server_settings: Settings, kubectl: Kubectl
) -> None:
    name = f"watched-{uuid.uuid4().hex[:8]}"
    kubectl("create", "secret", "generic", name, "-n", NAMESPACE, "--from-literal=k=v")
    kubectl("apply", "-f", "-", stdin=podtemplate(name, "one"))
    secret = {"kind": "Secret", "name": name, "namespace": NAMESPACE}
    template = {"kind": "PodTemplate", "name": name, "namespace": NAMESPACE}
    try:
        await each_read_is_a_get(create_server(server_settings), kubectl, secret, "secrets")
        await each_read_is_a_get(create_server(server_settings, watch_reads=0), kubectl, template, "podtemplates")
    finally:
        kubectl("delete", "secret,podtemplate", name, "-n", NAMESPACE, "--ignore-not-found")


async def test_the_least_recently_read_watch_goes_when_the_bound_is_reached(
    server_settings: Settings, kubectl: Kubectl
) -> None:
    names = [f"watched-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    for name in names:
        kubectl("apply", "-f", "-", stdin=podtemplate(name, "one"))
    server = create_server(server_settings, watch_reads=2)
    try:
        async with create_client(server) as client:
            for name in names:
                for _ in range(3):
                    await call_ok(
                        client, "k8s_get_resource", {"kind": "PodTemplate", "name": name, "namespace": NAMESPACE}
                    )
            assert our_metric(server, "kubehelm_mcp_read_watches") == 2
            # names[0] lost its watch to names[2]: reading it is a GET again.
            before = apiserver_gets(kubectl, "podtemplates")
            await call_ok(client, "k8s_get_resource", {"kind": "PodTemplate", "name": names[0], "namespace": NAMESPACE})
            assert apiserver_gets(kubectl, "podtemplates") - before == 1
        await server_parts(server).close()
    finally:
        kubectl("delete", "podtemplate", *names, "-n", NAMESPACE, "--ignore-not-found")


GET_ONLY = f"""apiVersion: v1
kind: ServiceAccount
metadata: {{name: watch-getter, namespace: {NAMESPACE}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: watch-getter, namespace: {NAMESPACE}}}
rules: [{{apiGroups: [""], resources: [podtemplates], verbs: [get]}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: watch-getter, namespace: {NAMESPACE}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: watch-getter}}
subjects: [{{kind: ServiceAccount, name: watch-getter, namespace: {NAMESPACE}}}]
"""


async def test_a_caller_who_may_get_but_not_watch_reads_by_get_alone(
    server_settings: Settings, kubectl: Kubectl, kube_cluster: Any
) -> None:
    name = f"watched-{uuid.uuid4().hex[:8]}"
    kubectl("apply", "-f", "-", stdin=GET_ONLY + "---\n" + podtemplate(name, "one"))
    token = kube_cluster.service_account_token(NAMESPACE, "watch-getter")
    get = {
        "kind": "PodTemplate",
        "name": name,
        "namespace": NAMESPACE,
        "kube_apiserver": kube_cluster.server,
        "kube_token": token,
        "kube_insecure_tls": True,
    }
    server = create_server(server_settings, per_call_credentials=True)
    try:
        async with create_client(server) as client:
            for _ in range(2):  # the second read asks for a watch, which the apiserver refuses
                await call_ok(client, "k8s_get_resource", get)

            def watches_refused() -> float:
                refusals = {"verb": "watch", "status": "4xx"}
                return our_metric(server, "kubehelm_mcp_kube_requests_total", refusals, unseen=0)

            async def refused() -> bool:
                return watches_refused() == 1

            await eventually(refused)
            before = apiserver_gets(kubectl, "podtemplates")
            for _ in range(4):  # each a GET: the refused watch is not asked for again
                await call_ok(client, "k8s_get_resource", get)
            assert apiserver_gets(kubectl, "podtemplates") - before == 4
            assert our_metric(server, "kubehelm_mcp_read_watches") == 0
            assert watches_refused() == 1
        await server_parts(server).close()
    finally:
        kubectl("delete", "podtemplate", name, "-n", NAMESPACE, "--ignore-not-found")
