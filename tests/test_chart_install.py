"""The kubehelm-mcp chart installed for real: the image built from ./Containerfile (offline, cached),
imported into the test node, installed with Helm v3, Helm v4 and our own helm_install tool, then
reached by a real MCP client. The pod runs on the node's network and binds 127.0.0.1 only (pods
have no route from the host here, see TESTCLUSTER.md), so nothing leaves loopback."""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from mcp import Client
from testcluster.controlplane import ControlPlane
from testcluster.node import Node
from testcluster.serverimage import ImageInputsMissing, ServerImage, ensure_image, import_into_node, node_values

from kubehelm_mcp import create_client
from kubehelm_mcp.settings import Settings
from tests.conftest import free_port
from tests.support.cli import run
from tests.support.mcp import bearer_client, call_error, call_ok, text_of
from tests.support.oidc import AUDIENCE, Issuer

pytestmark = pytest.mark.anyio

CHART = Path(__file__).resolve().parent.parent / "charts" / "kubehelm-mcp"
INSTALL_TIMEOUT = "150s"  # below tests.support.cli.run's own 180 s, so helm reports first


@pytest.fixture(scope="module")
def server_image(kube_node: Node) -> ServerImage:
    """Built offline from the cached base and wheelhouse (scripts/build-image fetched them), then
    imported into the node's containerd."""
    try:
        image = ensure_image(fetch=False)
    except ImageInputsMissing as error:
        pytest.fail(f"{error} (the image inputs come from Debian and PyPI, before any test)", pytrace=False)
    import_into_node(image, kube_node.parts.ctr, kube_node.socket)
    return image


@dataclass
class Release:
    """One install of the chart, driven by one helm binary, on the node's loopback."""

    name: str
    namespace: str
    helm: Path
    kubeconfig: Path
    image: ServerImage
    apiserver_port: int
    port: int = field(default_factory=free_port)
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def values_file(self, tmp: Path, extra: dict[str, Any]) -> Path:
        merged = _merge(node_values(self.image, self.port, self.apiserver_port), extra)
        path = tmp / f"{self.name}-values-{time.monotonic_ns()}.yaml"
        path.write_text(yaml.safe_dump(merged))
        return path

    def helm_run(self, *args: str) -> str:
        return run(self.helm, *args, "--namespace", self.namespace, kubeconfig=self.kubeconfig)

    def install(self, tmp: Path, extra: dict[str, Any] | None = None) -> str:
        try:
            return self._install(tmp, extra)
        except AssertionError as error:
            raise AssertionError(f"{error}\n--- pods and server log ---\n{self.diagnosis()}") from None

    def diagnosis(self) -> str:
        """What a reader needs when the pod never became Ready: its status and the server's log."""
        kubectl = [str(self.helm.parent / "kubectl"), "--kubeconfig", str(self.kubeconfig), "-n", self.namespace]
        selector = f"app.kubernetes.io/instance={self.name}"
        out = []
        for args in (["get", "pods", "-o", "wide"], ["describe", "pods", "-l", selector], ["logs", "-l", selector]):
            done = subprocess.run([*kubectl, *args], capture_output=True, text=True, timeout=30, check=False)
            out.append((done.stdout + done.stderr)[-3000:])
        return "\n".join(out)

    def _install(self, tmp: Path, extra: dict[str, Any] | None = None) -> str:
        return self.helm_run(
            "upgrade",
            "--install",
            self.name,
            str(CHART),
            "--create-namespace",
            "--wait",
            "--timeout",
            INSTALL_TIMEOUT,
            "-f",
            str(self.values_file(tmp, extra or {})),
        )

    def uninstall(self) -> None:
        self.helm_run("uninstall", self.name, "--wait", "--timeout", INSTALL_TIMEOUT)

    def token(self, kubectl: Any) -> str:
        secret = json.loads(kubectl("get", "secret", f"{self.name}-kubehelm-mcp", "-n", self.namespace, "-o", "json"))
        return base64.b64decode(secret["data"]["auth-token"]).decode()

    def pods(self, kubectl: Any) -> list[dict[str, Any]]:
        selector = f"app.kubernetes.io/instance={self.name},app.kubernetes.io/component=mcp-server"
        listed = json.loads(kubectl("get", "pods", "-n", self.namespace, "-l", selector, "-o", "json"))
        return [p for p in listed["items"] if not p["metadata"].get("deletionTimestamp")]


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        elif isinstance(value, list) and isinstance(merged.get(key), list):
            merged[key] = [*merged[key], *value]
        else:
            merged[key] = value
    return merged


def _apiserver_port(plane: ControlPlane) -> int:
    return int(plane.server.rsplit(":", 1)[1])


def _release(name: str, helm: Path, plane: ControlPlane, image: ServerImage) -> Release:
    return Release(name, f"khm-chart-{name}", helm, Path(plane.kubeconfig), image, _apiserver_port(plane))


def _assert_nothing_left(kubectl: Any, release: Release, timeout: float = 90.0) -> None:
    """After uninstall nothing of the release remains; ReplicaSets and pods go through the
    garbage collector (background cascade), so they get a little time."""
    deadline = time.monotonic() + timeout
    while (left := _leftovers(kubectl, release)) and time.monotonic() < deadline:
        time.sleep(2)
    assert left == [], f"left behind by uninstall: {left}"


def _leftovers(kubectl: Any, release: Release) -> list[str]:
    """Everything labelled with the release, cluster-wide, namespaced and cluster-scoped."""
    selector = f"app.kubernetes.io/instance={release.name}"
    kinds = "deploy,rs,pods,svc,sa,secrets,configmaps,roles,rolebindings,pdb,hpa,networkpolicies,ingresses"
    found: list[str] = kubectl("get", kinds, "-A", "-l", selector, "-o", "name").split()
    found += kubectl("get", "clusterroles,clusterrolebindings", "-l", selector, "-o", "name").split()
    return found


async def call_text(client: Client, name: str, arguments: dict[str, Any]) -> str:
    """The in-cluster server answers in its default text form (what a model reads)."""
    result = await client.call_tool(name, arguments)
    text = text_of(result)
    assert not result.is_error, f"{name} failed: {text}"
    assert text.strip(), f"{name} returned no text"
    return text


def _ready(pod: dict[str, Any]) -> bool:
    conditions = {c["type"]: c["status"] for c in pod.get("status", {}).get("conditions", [])}
    return conditions.get("Ready") == "True"


def _env(pod: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in pod["spec"]["containers"][0]["env"]}


def _clean(kubectl: Any, release: Release) -> None:
    with contextlib.suppress(AssertionError):
        release.uninstall()
    kubectl("delete", "namespace", release.namespace, "--ignore-not-found", "--wait=false")


@pytest.fixture
def cleanup(kubectl: Any) -> Iterator[list[Release]]:
    releases: list[Release] = []
    yield releases
    for release in releases:
        _clean(kubectl, release)


async def test_readonly_profile_with_helm_v4_serves_tests_upgrades_and_uninstalls(
    kube_cluster: ControlPlane,
    server_image: ServerImage,
    helm_binaries: dict[str, Path],
    kubectl: Any,
    tmp_path: Path,
    cleanup: list[Release],
) -> None:
    release = _release("ro", helm_binaries["v4"], kube_cluster, server_image)
    cleanup.append(release)
    release.install(tmp_path)
    (pod,) = release.pods(kubectl)
    assert _ready(pod), pod["status"]
    assert pod["spec"]["securityContext"]["runAsUser"] == 65532
    token = release.token(kubectl)

    async with bearer_client(release.url, token) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "k8s_get_resource" in names and "helm_list" in names
        assert "k8s_apply_resource" not in names, "the readonly profile turns on --read-only"
        # the server acts as its ServiceAccount: it reads pods ...
        listed = await call_text(client, "k8s_list_resources", {"kind": "pods", "namespace": release.namespace})
        assert pod["metadata"]["name"] in listed
        # ... is refused Secrets by RBAC, in one sentence naming its identity ...
        refused = await call_error(
            client,
            "k8s_get_resource",
            {"kind": "Secret", "name": f"{release.name}-kubehelm-mcp", "namespace": release.namespace},
        )
        assert refused.startswith("Forbidden"), refused
        assert f"system:serviceaccount:{release.namespace}:{release.name}-kubehelm-mcp" in refused, refused
        # ... and a change is refused by read-only mode before it reaches the cluster
        change = await call_error(
            client,
            "k8s_apply_resource",
            {"manifest": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: nope}\n", "namespace": release.namespace},
        )
        assert "read-only mode" in change, change

    tested = release.helm_run("test", release.name, "--timeout", "180s")
    assert "Succeeded" in tested, tested

    # an upgrade that changes a setting rolls the pod; the generated token survives it
    release.install(tmp_path, {"config": {"query-timeout": 45}})
    (rolled,) = release.pods(kubectl)
    assert rolled["metadata"]["uid"] != pod["metadata"]["uid"]
    assert _env(rolled)["KUBEHELM_MCP_QUERY_TIMEOUT"] == "45"
    assert _ready(rolled)
    assert release.token(kubectl) == token, "the generated token must not rotate on upgrade"
    async with bearer_client(release.url, token) as client:
        await call_text(client, "k8s_get_resource", {"kind": "Namespace", "name": release.namespace})

    release.uninstall()
    _assert_nothing_left(kubectl, release)


def test_api_versions_follow_the_clusters_capabilities(
    kube_cluster: ControlPlane, helm_binaries: dict[str, Path], kubeconfig: Path
) -> None:
    """Rendered against the real 1.20 API server: the PDB and HPA versions it serves."""
    for major in ("v3", "v4"):
        rendered = run(
            helm_binaries[major],
            "template",
            "caps",
            str(CHART),
            "--validate",
            "-f",
            str(CHART / "ci" / "scaled-exposed-values.yaml"),
            kubeconfig=kubeconfig,
        )
        kinds = {d["kind"]: d["apiVersion"] for d in yaml.safe_load_all(rendered) if d}
        assert kinds["PodDisruptionBudget"] == "policy/v1beta1", major
        assert kinds["HorizontalPodAutoscaler"] == "autoscaling/v2beta2", major
        assert "HTTPRoute" not in kinds and "ServiceMonitor" not in kinds, major


async def test_operator_profile_limited_to_one_namespace_with_helm_v3(
    kube_cluster: ControlPlane,
    server_image: ServerImage,
    helm_binaries: dict[str, Path],
    kubectl: Any,
    tmp_path: Path,
    cleanup: list[Release],
) -> None:
    release = _release("op", helm_binaries["v3"], kube_cluster, server_image)
    cleanup.append(release)
    allowed, other = "khm-chart-op-allowed", "khm-chart-op-other"
    for namespace in (allowed, other):
        kubectl("create", "namespace", namespace)
    try:
        release.install(tmp_path, {"rbac": {"profile": "operator", "namespaces": [allowed]}})
        (pod,) = release.pods(kubectl)
        assert _env(pod).get("KUBEHELM_MCP_READ_ONLY") is None
        async with bearer_client(release.url, release.token(kubectl)) as client:
            manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: made-in-cluster}\ndata: {a: b}\n"
            await call_text(client, "k8s_apply_resource", {"manifest": manifest, "namespace": allowed})
            assert kubectl("get", "configmap", "made-in-cluster", "-n", allowed, "-o", "name").strip()
            refused = await call_error(client, "k8s_apply_resource", {"manifest": manifest, "namespace": other})
            assert "Forbidden" in refused and f'in the namespace "{other}"' in refused, refused
            # reads stay cluster-wide
            await call_text(client, "k8s_list_resources", {"kind": "configmaps", "namespace": other})
        tested = release.helm_run("test", release.name, "--timeout", "180s")
        assert "Succeeded" in tested, tested
        release.uninstall()
        _assert_nothing_left(kubectl, release)
        assert not kubectl(
            "get", "roles", "-n", allowed, "-l", f"app.kubernetes.io/instance={release.name}", "-o", "name"
        )
    finally:
        for namespace in (allowed, other):
            kubectl("delete", "namespace", namespace, "--ignore-not-found", "--wait=false")


def _alice_rbac(namespace: str) -> str:
    return f"""apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: alice-reads, namespace: {namespace}}}
rules:
- apiGroups: [""]
  resources: [pods, serviceaccounts]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: alice-reads, namespace: {namespace}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: alice-reads}}
subjects:
- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}}
"""


def _status_without_token(url: str) -> int:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode()
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


async def test_oidc_from_an_existing_secret_impersonates_the_caller(
    kube_cluster: ControlPlane,
    server_image: ServerImage,
    helm_binaries: dict[str, Path],
    kubectl: Any,
    tmp_path: Path,
    cleanup: list[Release],
) -> None:
    release = _release("oidc", helm_binaries["v4"], kube_cluster, server_image)
    cleanup.append(release)
    with Issuer() as issuer:  # on loopback: the pod shares the node's network
        kubectl("create", "namespace", release.namespace)
        kubectl("apply", "-f", "-", stdin=_alice_rbac(release.namespace))
        ns = ["-n", release.namespace]
        state_keys = f"--from-literal=request-state-keys={secrets.token_hex(32)}"
        kubectl("create", "secret", "generic", "oidc-creds", *ns, state_keys)
        good = issuer.token(sub="alice", groups=["devs"])
        kubectl("create", "secret", "generic", "mcp-test-token", *ns, f"--from-literal=token={good}")
        release.install(
            tmp_path,
            {
                "auth": {"mode": "oidc", "oidc": {"issuer": issuer.url, "audience": AUDIENCE}},
                "identity": {"mode": "impersonate"},
                "server": {"stateless": True},
                "secrets": {"existingSecret": "oidc-creds"},
                "tests": {"tokenSecretRef": {"name": "mcp-test-token", "key": "token"}},
            },
        )
        assert not kubectl("get", "secret", f"{release.name}-kubehelm-mcp", *ns, "--ignore-not-found", "-o", "name")
        assert _status_without_token(release.url) == 401
        async with bearer_client(release.url, good) as client:
            listed = await call_text(client, "k8s_list_resources", {"kind": "pods", "namespace": release.namespace})
            assert f"{release.name}-kubehelm-mcp" in listed
            # the cluster sees alice, not the ServiceAccount: her Role has no Secrets
            denied = await call_error(client, "k8s_list_resources", {"kind": "secrets", "namespace": release.namespace})
            assert 'User "alice" cannot list resource "secrets"' in denied, denied
        tested = release.helm_run("test", release.name, "--timeout", "180s")
        assert "Succeeded" in tested, tested
        release.uninstall()
        _assert_nothing_left(kubectl, release)
        assert kubectl("get", "secret", "oidc-creds", *ns, "-o", "name").strip(), "a user's Secret is never removed"


@pytest.fixture
async def local_client(kubeconfig: Path, helm_binaries: dict[str, Path], helm_home: Path) -> AsyncIterator[Client]:
    """Our own server, as a local process would run it: the one that installs the chart."""
    settings = Settings(
        result_format="structured",
        kubeconfig=str(kubeconfig),
        helm_v3_binary=str(helm_binaries["v3"]),
        helm_v4_binary=str(helm_binaries["v4"]),
        allow_destructive=True,
    )
    async with create_client(settings=settings) as connected:
        yield connected


async def test_installed_through_our_own_helm_install_tool(
    kube_cluster: ControlPlane,
    server_image: ServerImage,
    helm_binaries: dict[str, Path],
    kubectl: Any,
    tmp_path: Path,
    local_client: Client,
    cleanup: list[Release],
) -> None:
    release = _release("tool", helm_binaries["v4"], kube_cluster, server_image)
    cleanup.append(release)
    installed = await call_ok(
        local_client,
        "helm_install",
        {
            "release_name": release.name,
            "chart": str(CHART),
            "namespace": release.namespace,
            "create_namespace": True,
            "values_files": [str(release.values_file(tmp_path, {}))],
            "wait": True,
            "timeout": INSTALL_TIMEOUT,
            "helm_version": "v4",
        },
    )
    assert "deployed" in json.dumps(installed).lower(), installed
    (pod,) = release.pods(kubectl)
    assert _ready(pod)
    async with bearer_client(release.url, release.token(kubectl)) as client:
        listed = await call_text(client, "k8s_list_resources", {"kind": "pods", "namespace": release.namespace})
        assert pod["metadata"]["name"] in listed
    await call_ok(
        local_client,
        "helm_uninstall",
        {"release_name": release.name, "namespace": release.namespace, "wait": True, "helm_version": "v4"},
    )
    _assert_nothing_left(kubectl, release)
