"""Fixtures: the real test cluster (from testcluster.pytest_plugin), a sample workload and Helm
releases on it, and kubehelm-mcp servers reached through real MCP clients."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from kubehelm_mcp import create_client
from kubehelm_mcp.settings import Settings
from tests.support.cli import run
from tests.support.helm_servers import HELM_HOME_VARS
from tests.support.http import wait_until_healthy

SAMPLE_NAMESPACE = "khm-sample"


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Async tests run on anyio's runner (marked per module with pytestmark), which keeps an
    async fixture's setup and teardown in one task: MCP clients hold task groups across it."""
    return "asyncio"


SAMPLE_CONFIGMAPS = 30
HELM_NAMESPACE = "khm-helm"


@pytest.fixture(scope="session")
def kubeconfig(kube_cluster: Any) -> Path:
    return Path(kube_cluster.kubeconfig)


@pytest.fixture(scope="session")
def kubectl(test_binaries: Any, kubeconfig: Path) -> Any:
    def kubectl_run(*args: str, stdin: str | None = None) -> str:
        return run(test_binaries.kubectl, *args, kubeconfig=kubeconfig, stdin=stdin)

    return kubectl_run


WEB_NAMESPACE = "khm-web"
WEB_PAGE = "hello-from-web"
WEB_POD = f"""apiVersion: v1
kind: Namespace
metadata: {{name: {WEB_NAMESPACE}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: web, namespace: {WEB_NAMESPACE}}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: httpd
    image: 127.0.0.1/kubehelm/busybox:1
    imagePullPolicy: Never
    command: [sh, -c, 'mkdir -p /www && echo {WEB_PAGE} > /www/index.html && exec httpd -f -p 8080 -h /www']
"""


@pytest.fixture(scope="session")
def web_pod(kube_node: Any, kubectl: Any) -> str:
    """A running pod `web` serving WEB_PAGE on port 8080 (for port-forwards); its namespace."""
    kubectl("apply", "-f", "-", stdin=WEB_POD)
    kubectl("wait", "--for=condition=Ready", "pod/web", "-n", WEB_NAMESPACE, "--timeout=120s")
    return WEB_NAMESPACE


@pytest.fixture(scope="session")
def sample_objects(kubectl: Any) -> str:
    """A namespace with labelled ConfigMaps, a Deployment and a Secret whose value must never leak."""
    docs = [f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {SAMPLE_NAMESPACE}\n"]
    for i in range(SAMPLE_CONFIGMAPS):
        tier = "even" if i % 2 == 0 else "odd"
        docs.append(
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i:02d}\n  namespace: {SAMPLE_NAMESPACE}\n"
            f"  labels:\n    sample: 'yes'\n    tier: {tier}\ndata:\n  payload: '{'x' * 400}'\n"
        )
    docs.append(
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-credentials\n  namespace: {SAMPLE_NAMESPACE}\n"
        "stringData:\n  password: hunter2-sample-secret\n"
    )
    docs.append(
        f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: {SAMPLE_NAMESPACE}
  labels: {{app: web}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: 127.0.0.1/kubehelm/busybox:1
        imagePullPolicy: Never
        command: [sleep, "3600"]
"""
    )
    kubectl("apply", "-f", "-", stdin="---\n".join(docs))
    return SAMPLE_NAMESPACE


@pytest.fixture(scope="session")
def helm_releases(helm_binaries: dict[str, Path], kubeconfig: Path, tmp_path_factory: Any) -> dict[str, Any]:
    """Releases written by both Helm majors, in several states and revisions."""
    workdir = tmp_path_factory.mktemp("charts")
    v3, v4 = helm_binaries["v3"], helm_binaries["v4"]
    run(v4, "create", str(workdir / "demo"))
    chart = str(workdir / "demo")
    ns = ["--namespace", HELM_NAMESPACE]
    run(v4, "install", "alpha", chart, *ns, "--create-namespace", kubeconfig=kubeconfig)
    run(v4, "upgrade", "alpha", chart, *ns, "--set", "replicaCount=2", kubeconfig=kubeconfig)
    # Release times are compared at whole seconds (the SDK engine has no finer ones), so the
    # date-sorted listings need releases that changed in different seconds.
    time.sleep(1.1)
    run(v3, "install", "bravo", chart, *ns, kubeconfig=kubeconfig)
    time.sleep(1.1)
    run(v4, "install", "charlie", chart, *ns, kubeconfig=kubeconfig)
    run(v4, "uninstall", "charlie", *ns, "--keep-history", kubeconfig=kubeconfig)
    run(v3, "install", "delta", chart, "--namespace", "default", kubeconfig=kubeconfig)
    return {"namespace": HELM_NAMESPACE, "chart": chart}


@pytest.fixture
def helm_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """helm's config, cache, data and registry logins in tmp dirs: never the real ~/.config/helm.
    The in-memory server's helm subprocesses inherit this environment."""
    home = tmp_path / "helm-home"
    for var in HELM_HOME_VARS:
        monkeypatch.setenv(var, str(home / var.lower()))
    monkeypatch.setenv("HELM_REGISTRY_CONFIG", str(home / "registry.json"))
    monkeypatch.delenv("HELM_PLUGINS", raising=False)
    return home


@pytest.fixture(scope="session")
def server_settings(kubeconfig: Path, helm_binaries: dict[str, Path]) -> Settings:
    """Results in the `structured` form, so tests read fields, not text (tests/test_result_forms.py
    covers the default `text` form)."""
    return Settings(
        result_format="structured",
        kubeconfig=str(kubeconfig),
        helm_v3_binary=str(helm_binaries["v3"]),
        helm_v4_binary=str(helm_binaries["v4"]),
    )


@pytest.fixture
async def client(server_settings: Settings) -> AsyncIterator[Client]:
    async with create_client(settings=server_settings) as connected:
        yield connected


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Configure a server process through its environment, as a user would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBEHELM_MCP_")}
    env.update(
        KUBEHELM_MCP_KUBECONFIG=settings.kube.kubeconfig or "",
        KUBEHELM_MCP_HELM_V3_BINARY=settings.helm.helm_v3_binary or "",
        KUBEHELM_MCP_HELM_V4_BINARY=settings.helm.helm_v4_binary or "",
        KUBEHELM_MCP_RESULT_FORMAT=settings.output.result_format,
        **extra,
    )
    return env


class HttpServer:
    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path, scheme: str = "http") -> None:
        self.process = process
        self.port = port
        self.log = log
        self.base = f"{scheme}://127.0.0.1:{port}"

    @property
    def mcp_url(self) -> str:
        return f"{self.base}/mcp"


def start_http_server(
    settings: Settings,
    tmp_path: Path,
    *flags: str,
    transport: str = "http",
    tls: ssl.SSLContext | None = None,
    env: Mapping[str, str] | None = None,
) -> HttpServer:
    """tls: the client context trusting a server started with --tls-cert (its base is then https);
    env: extra environment for the server process (KUBEHELM_MCP_* settings)."""
    port = free_port()
    log = tmp_path / f"server-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "kubehelm_mcp", "serve", "--transport", transport, "--port", str(port), *flags],
            env=server_env(settings, **(env or {})),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = HttpServer(process, port, log, "https" if tls else "http")
    wait_until_healthy(process, server.base, log, "server", tls)
    return server


def stop_http_server(server: HttpServer) -> None:
    """SIGTERM must shut the server down gracefully: lifespan completes, no traceback."""
    server.process.terminate()
    try:
        code = server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        raise AssertionError("server did not stop within 20 s of SIGTERM") from None
    log = server.log.read_text()
    assert code == 0, f"exit code {code}: {log}"  # a drained shutdown is a clean exit, not death by signal
    assert "Application shutdown complete" in log and "Traceback" not in log, log


@pytest.fixture
def http_server(server_settings: Settings, tmp_path: Path) -> Iterator[HttpServer]:
    server = start_http_server(server_settings, tmp_path)
    yield server
    stop_http_server(server)
