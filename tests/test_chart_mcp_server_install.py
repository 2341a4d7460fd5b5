"""The mcp-server chart installed for real on the test node, each mode answering a real MCP client
through the chart's own path.

Packages: the pods install them when they start, from an npm registry and a PyPI index this test
serves on loopback (tests/support/mcp_server_chart_registry.py), not from an image with the
packages baked in. That keeps the chart's real install path under test (the npm install and
`uv tool install` init containers, the .npmrc Secret with its token, python.indexUrl), and the
node's pods can reach it: they share the node's network (TESTCLUSTER.md), so 127.0.0.1 is this
machine and nothing leaves loopback. Only the registries' content (one npm and one PyPI MCP
server with their dependencies) and the runtimes image (our image plus node, npm and uv) are
fetched and built before the tests, by `python -m testcluster install --node`, and cached.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from testcluster.controlplane import ControlPlane
from testcluster.mcpruntimes import Runtimes, ensure_runtimes
from testcluster.node import Node
from testcluster.serverimage import ImageInputsMissing, ServerImage, import_into_node

from tests.conftest import free_port
from tests.support.cli import run
from tests.support.mcp import bearer_client, text_of
from tests.support.mcp_server_chart_registry import Registry, serve

pytestmark = pytest.mark.anyio

CHART = Path(__file__).resolve().parent.parent / "charts" / "mcp-server"
TIMEOUT = "170s"  # below tests.support.cli.run's own 180 s, so helm reports first


@pytest.fixture(scope="module")
def runtimes(kube_node: Node) -> Runtimes:
    try:
        found = ensure_runtimes(fetch=False)
    except ImageInputsMissing as error:
        pytest.fail(f"{error} (npm and PyPI are reached only before tests)", pytrace=False)
    for image in (found.server, found.image):
        import_into_node(image, kube_node.parts.ctr, kube_node.socket)
    return found


@pytest.fixture
def registry(runtimes: Runtimes) -> Iterator[Registry]:
    with serve(runtimes.npm_packages, runtimes.pypi_packages, secrets.token_hex(16)) as served:
        yield served


def _image(image: ServerImage) -> dict[str, str]:
    repository, tag = image.tag.rsplit(":", 1)
    return {"repository": repository, "tag": tag, "pullPolicy": "Never"}


class Release:
    def __init__(self, name: str, helm: Path, kubeconfig: Path, kubectl: Any) -> None:
        self.name, self.namespace, self.helm, self.kubeconfig, self.kubectl = (
            name,
            f"mcps-{name}",
            helm,
            kubeconfig,
            kubectl,
        )

    def helm_run(self, *args: str) -> str:
        return run(self.helm, *args, "--namespace", self.namespace, kubeconfig=self.kubeconfig)

    def install(self, tmp: Path, values: dict[str, Any]) -> None:
        path = tmp / f"{self.name}-{time.monotonic_ns()}.yaml"
        path.write_text(yaml.safe_dump(values))
        try:
            self.helm_run(
                "upgrade", "--install", self.name, str(CHART), "--wait", "--timeout", TIMEOUT, "-f", str(path)
            )
        except AssertionError as error:
            raise AssertionError(f"{error}\n--- pods ---\n{self.diagnosis()}") from None

    def diagnosis(self) -> str:
        out = []
        for args in (
            ["get", "pods", "-o", "wide"],
            ["describe", "pods"],
            ["logs", "--all-containers", "-l", f"app.kubernetes.io/instance={self.name}"],
        ):
            with contextlib.suppress(AssertionError):
                out.append(self.kubectl(*args, "-n", self.namespace)[-4000:])
        return "\n".join(out)

    def pods(self) -> list[dict[str, Any]]:
        selector = f"app.kubernetes.io/instance={self.name},app.kubernetes.io/component!=test"
        listed = json.loads(self.kubectl("get", "pods", "-n", self.namespace, "-l", selector, "-o", "json"))
        return [p for p in listed["items"] if not p["metadata"].get("deletionTimestamp")]

    def helm_test(self) -> str:
        tested = self.helm_run("test", self.name, "--timeout", TIMEOUT)
        assert "Succeeded" in tested, tested
        return tested

    def uninstall_cleanly(self) -> None:
        self.helm_run("uninstall", self.name, "--wait", "--timeout", TIMEOUT)
        selector = f"app.kubernetes.io/instance={self.name}"
        kinds = "deploy,rs,pods,svc,sa,configmaps,pdb,hpa,networkpolicies,ingresses"
        deadline = time.monotonic() + 60
        while (left := self.kubectl("get", kinds, "-n", self.namespace, "-l", selector, "-o", "name").split()) and (
            time.monotonic() < deadline
        ):
            time.sleep(2)
        assert left == [], f"left behind by uninstall: {left}"


@pytest.fixture
def releases(kubectl: Any) -> Iterator[list[Release]]:
    made: list[Release] = []
    yield made
    for release in made:
        with contextlib.suppress(AssertionError):
            release.helm_run("uninstall", release.name, "--wait", "--timeout", TIMEOUT)
        kubectl("delete", "namespace", release.namespace, "--ignore-not-found", "--wait=false")


def _node_network(port: int) -> dict[str, Any]:
    """Pods have no route from the host here: they share the node's network and bind loopback."""
    return {
        "hostNetwork": True,
        "probes": {"host": "127.0.0.1", "periodSeconds": 2},  # ready as soon as the children answer
        "gateway": {"host": "127.0.0.1", "port": port},
    }


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = (
            _merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
        )
    return merged


def _status(url: str, token: str) -> int:
    """The HTTP status of an MCP ping with this bearer token."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    request = urllib.request.Request(url, data=body, headers={**headers, "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


async def _tools(url: str, token: str) -> list[str]:
    async with bearer_client(url, token) as client:
        return [tool.name for tool in (await client.list_tools()).tools]


async def test_gateway_hosts_an_npm_and_a_pypi_server_with_a_combined_endpoint(
    kube_cluster: ControlPlane,
    runtimes: Runtimes,
    registry: Registry,
    helm_binaries: dict[str, Path],
    kubectl: Any,
    tmp_path: Path,
    releases: list[Release],
) -> None:
    release = Release("gw", helm_binaries["v4"], Path(kube_cluster.kubeconfig), kubectl)
    releases.append(release)
    ns = ["-n", release.namespace]
    kubectl("create", "namespace", release.namespace)
    token = secrets.token_hex(24)
    kubectl("create", "secret", "generic", "gw-token", *ns, f"--from-literal=token={token}")
    kubectl("create", "secret", "generic", "npm-credentials", *ns, f"--from-literal=.npmrc={registry.npmrc()}")
    port = free_port()
    values = _merge(
        _node_network(port),
        {
            "gateway": {
                "image": _image(runtimes.image),
                "auth": {"existingSecret": "gw-token"},
                "extraArgs": ["--shutdown-grace", "2"],  # no call to drain: the upgrade need not wait 25 s
            },
            "terminationGracePeriodSeconds": 10,
            "servers": [
                {
                    "name": "memory",
                    "mode": "node",
                    "node": {
                        "package": "@modelcontextprotocol/server-memory@2026.8.31",
                        "npmrc": {"secretName": "npm-credentials"},
                    },
                    "env": {"MEMORY_FILE_PATH": "/tmp/memory.json"},
                },
                {
                    "name": "time",
                    "mode": "python",
                    "python": {"package": "mcp-server-time==2026.10.19", "indexUrl": registry.pypi_url},
                    "args": ["--local-timezone", "UTC"],
                },
            ],
        },
    )
    started = time.monotonic()
    release.install(tmp_path, values)
    phases = {"install (npm + uv in init containers, gateway ready)": time.monotonic() - started}
    # the pod installed both packages from the loopback registries, the npm ones with the .npmrc's token
    assert any(
        r.startswith("/npm/@modelcontextprotocol%2fserver-memory")
        or r.startswith("/npm/@modelcontextprotocol/server-memory")
        for r in registry.requests
    ), registry.requests[:5]
    assert any(r.startswith("/simple/mcp-server-time") for r in registry.requests), registry.requests[:5]
    (pod,) = release.pods()
    assert [c["name"] for c in pod["spec"]["initContainers"]] == ["memory-install", "time-install"]

    base = f"http://127.0.0.1:{port}"
    memory = await _tools(f"{base}/servers/memory/mcp", token)
    assert "create_entities" in memory and "read_graph" in memory, memory
    async with bearer_client(f"{base}/servers/time/mcp", token) as client:
        result = await client.call_tool("get_current_time", {"timezone": "UTC"})
        assert not result.is_error and "UTC" in text_of(result), text_of(result)
    combined = await _tools(f"{base}/combined/mcp", token)
    assert {"memory__read_graph", "time__get_current_time"} <= set(combined), combined
    assert _status(f"{base}/combined/mcp", "wrong-token") == 401
    phases["MCP calls"] = time.monotonic() - started - sum(phases.values())

    release.helm_test()
    phases["helm test"] = time.monotonic() - started - sum(phases.values())

    # an upgrade rolls the pod with the new config; the token Secret is the user's and never changes
    release.install(tmp_path, _merge(values, {"gateway": {"default": "time"}}))
    (rolled,) = release.pods()
    assert rolled["metadata"]["uid"] != pod["metadata"]["uid"]
    assert "get_current_time" in await _tools(f"{base}/mcp", token)
    phases["upgrade"] = time.monotonic() - started - sum(phases.values())
    release.uninstall_cleanly()
    phases["uninstall"] = time.monotonic() - started - sum(phases.values())
    assert kubectl("get", "secret", "gw-token", *ns, "-o", "name").strip(), "a user's Secret is never removed"
    print("gateway release: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in phases.items()))


async def test_image_mode_serves_its_own_http(
    kube_cluster: ControlPlane,
    runtimes: Runtimes,
    helm_binaries: dict[str, Path],
    kubectl: Any,
    tmp_path: Path,
    releases: list[Release],
) -> None:
    """Our kubehelm-mcp image as any server image: its own HTTP on the chart's Service port, its
    token from a Secret by reference, checked by `helm test` (Helm v3)."""
    release = Release("img", helm_binaries["v3"], Path(kube_cluster.kubeconfig), kubectl)
    releases.append(release)
    ns = ["-n", release.namespace]
    kubectl("create", "namespace", release.namespace)
    token = secrets.token_hex(24)
    kubectl("create", "secret", "generic", "server-token", *ns, f"--from-literal=token={token}")
    port = free_port()
    apiserver_port = kube_cluster.server.rsplit(":", 1)[1]
    values = {
        "hostNetwork": True,
        "serviceAccount": {"automountToken": True},
        "server": {
            "name": "kubernetes",
            "mode": "image",
            "image": _image(runtimes.server),
            "args": ["serve", "--read-only"],
            "http": {"port": port, "path": "/mcp"},
            "env": {
                "KUBEHELM_MCP_HOST": "127.0.0.1",
                "KUBEHELM_MCP_PORT": str(port),
                "KUBERNETES_SERVICE_HOST": "127.0.0.1",
                "KUBERNETES_SERVICE_PORT": apiserver_port,
            },
            "extraEnv": [
                {
                    "name": "KUBEHELM_MCP_AUTH_TOKEN",
                    "valueFrom": {"secretKeyRef": {"name": "server-token", "key": "token"}},
                }
            ],
        },
        "serverProbes": {
            "readiness": {"httpGet": {"path": "/health", "port": "http", "host": "127.0.0.1"}, "periodSeconds": 2}
        },
        "tests": {"image": _image(runtimes.server), "tokenSecretRef": {"name": "server-token", "key": "token"}},
    }
    release.install(tmp_path, values)
    (pod,) = release.pods()
    container = pod["spec"]["containers"][0]
    assert container["args"] == ["serve", "--read-only"] and "command" not in container  # the image's entrypoint
    names = await _tools(f"http://127.0.0.1:{port}/mcp", token)
    assert "k8s_get_resource" in names and "k8s_apply_resource" not in names
    release.helm_test()
    release.uninstall_cleanly()
