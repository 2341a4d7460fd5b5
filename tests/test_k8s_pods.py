"""Pod tools against real pods on the test node: logs, exec and port-forwards."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from kubehelm_mcp import create_client
from kubehelm_mcp.settings import Settings
from tests.conftest import start_http_server, stop_http_server
from tests.support.mcp import call_error, call_ok, text_of
from tests.support.rbac import reader_account

pytestmark = pytest.mark.anyio

NS = "khm-pods"
PAGE = "hello-from-pod"

WORKLOAD = f"""apiVersion: v1
kind: Namespace
metadata: {{name: {NS}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: talker, namespace: {NS}}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: main
    image: 127.0.0.1/kubehelm/busybox:1
    imagePullPolicy: Never
    command: [sh, -c, 'for i in $(seq 1 500); do echo "line $i"; done; echo "ERROR boom"; exec sleep 3600']
---
apiVersion: v1
kind: Pod
metadata: {{name: web, namespace: {NS}, labels: {{app: khm-web}}}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: httpd
    image: 127.0.0.1/kubehelm/busybox:1
    imagePullPolicy: Never
    command: [sh, -c, 'mkdir -p /www && echo {PAGE} > /www/index.html && exec httpd -f -p 8080 -h /www']
    ports: [{{name: http, containerPort: 8080}}]
  - name: sidecar
    image: 127.0.0.1/kubehelm/busybox:1
    imagePullPolicy: Never
    command: [sleep, "3600"]
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {NS}}}
spec:
  selector: {{app: khm-web}}
  ports: [{{name: web, port: 80, targetPort: http}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: crasher, namespace: {NS}}}
spec:
  terminationGracePeriodSeconds: 0
  volumes: [{{name: state, emptyDir: {{}}}}]
  containers:
  - name: main
    image: 127.0.0.1/kubehelm/busybox:1
    imagePullPolicy: Never
    volumeMounts: [{{name: state, mountPath: /state}}]
    # The first run exits; the restarted one stays up, so its previous log is known.
    command: [sh, -c, 'n=$(($(cat /state/n 2>/dev/null || echo 0) + 1)); echo $n > /state/n; echo "run $n";
              if [ $n -lt 2 ]; then exit 3; fi; exec sleep 3600']
---
{reader_account(NS, "watcher", ["pods"])}"""


@pytest.fixture(scope="module")
def pods(kube_node: Any, kubectl: Any) -> str:
    kubectl("apply", "-f", "-", stdin=WORKLOAD)
    kubectl("wait", "--for=condition=Ready", "pod/talker", "pod/web", "-n", NS, "--timeout=120s")
    deadline = time.monotonic() + 90
    while not kubectl("logs", "talker", "-n", NS).endswith("ERROR boom\n"):  # all 501 lines written
        assert time.monotonic() < deadline, "pod talker did not write its log"
        time.sleep(0.2)
    while time.monotonic() < deadline:
        pod = json.loads(kubectl("get", "pod", "crasher", "-n", NS, "-o", "json"))
        statuses = pod["status"].get("containerStatuses") or [{}]
        if statuses[0].get("restartCount", 0) >= 1 and statuses[0].get("ready"):
            return NS
        time.sleep(0.5)
    raise AssertionError(f"pod crasher did not restart: {pod['status']}")


@pytest.fixture
async def client(server_settings: Settings) -> AsyncIterator[Client]:
    async with create_client(settings=server_settings.replace(allow_destructive=True)) as connected:
        yield connected


def http_get(address: str) -> str:
    with urllib.request.urlopen(f"http://{address}/index.html", timeout=10) as response:
        return str(response.read().decode())


def half_closed_get(address: str) -> str:
    """A client that stops sending before the answer comes (like `nc -N`)."""
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
        conn.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


async def test_logs_tail_and_grep(client: Client, pods: str) -> None:
    tail = await call_ok(client, "k8s_get_pod_logs", {"name": "talker", "namespace": pods, "tail_lines": 3})
    assert tail["container"] == "main" and tail["log"].splitlines() == ["line 499", "line 500", "ERROR boom"]
    found = await call_ok(
        client, "k8s_get_pod_logs", {"name": "talker", "namespace": pods, "tail_lines": 1000, "grep": r"^line 4\d$"}
    )
    assert found["lines"] == 10 and found["log"].splitlines()[0] == "line 40"
    none = await client.call_tool("k8s_get_pod_logs", {"name": "talker", "namespace": pods, "grep": "no such line"})
    assert not none.is_error and "match" in text_of(none)


async def test_logs_over_budget_keep_newest(server_settings: Settings, pods: str) -> None:
    budget = 2048
    async with create_client(settings=server_settings.replace(max_response_bytes=budget)) as small:
        result = await small.call_tool("k8s_get_pod_logs", {"name": "talker", "namespace": pods, "tail_lines": 500})
    text, structured = text_of(result), result.structured_content
    assert not result.is_error and structured is not None
    assert len(text.encode()) + len(json.dumps(structured, separators=(",", ":")).encode()) <= budget
    assert structured["dropped_lines"] == 500 - structured["lines"] and structured["lines"] > 10
    assert "line 500\nERROR boom\ncontinue_token: " in text and "older line(s) not shown" in text
    pages = [structured["log"]]
    async with create_client(settings=server_settings.replace(max_response_bytes=budget)) as small:
        while structured.get("continue_token"):
            token = structured["continue_token"]
            back = {"name": "talker", "namespace": pods, "tail_lines": 500, "continue_token": token}
            structured = await call_ok(small, "k8s_get_pod_logs", back)
            pages.insert(0, structured["log"])
    assert "\n".join(pages).splitlines()[-500:] == [f"line {i}" for i in range(2, 501)] + ["ERROR boom"]


async def test_logs_previous_instance(client: Client, pods: str) -> None:
    previous = await call_ok(client, "k8s_get_pod_logs", {"name": "crasher", "namespace": pods, "previous": True})
    current = await call_ok(client, "k8s_get_pod_logs", {"name": "crasher", "namespace": pods})
    assert previous["log"] == "run 1" and current["log"] == "run 2"
    stamped = await call_ok(client, "k8s_get_pod_logs", {"name": "crasher", "namespace": pods, "timestamps": True})
    assert stamped["log"].endswith(" run 2") and stamped["log"][:4].isdigit()


async def test_logs_errors(client: Client, pods: str) -> None:
    missing = await call_error(client, "k8s_get_pod_logs", {"name": "ghost", "namespace": pods})
    assert missing == f"Pod 'ghost' was not found in namespace '{pods}'."
    several = await call_error(client, "k8s_get_pod_logs", {"name": "web", "namespace": pods})
    assert "several containers" in several and "httpd, sidecar" in several
    bad = await call_error(client, "k8s_get_pod_logs", {"name": "talker", "namespace": pods, "grep": "(unclosed"})
    assert "'grep'" in bad and "regular expression" in bad


async def test_exec_exit_code_and_streams(client: Client, pods: str) -> None:
    ran = await call_ok(
        client,
        "k8s_exec_pod",
        {"name": "talker", "namespace": pods, "command": ["sh", "-c", "echo out; echo err >&2; exit 3"]},
    )
    assert (ran["exit_code"], ran["stdout"], ran["stderr"]) == (3, "out\n", "err\n")
    page = await call_ok(
        client,
        "k8s_exec_pod",
        {"name": "web", "namespace": pods, "container": "httpd", "command": ["cat", "/www/index.html"]},
    )
    assert page["exit_code"] == 0 and page["stdout"] == f"{PAGE}\n" and "stderr" not in page


async def test_exec_bounded_output_and_timeout(server_settings: Settings, pods: str) -> None:
    settings = server_settings.replace(allow_destructive=True, max_response_bytes=4096)
    async with create_client(settings=settings) as small:
        big = await call_ok(
            small, "k8s_exec_pod", {"name": "talker", "namespace": pods, "command": ["seq", "1", "5000"]}
        )
        assert big["stdout"].endswith("4999\n5000\n") and big["stdout_dropped_bytes"] > 0 and big["exit_code"] == 0
        slow = await call_ok(
            small,
            "k8s_exec_pod",
            {"name": "talker", "namespace": pods, "command": ["sleep", "30"], "timeout_seconds": 1},
        )
        assert slow["timed_out"] is True and slow.get("exit_code") is None


async def test_exec_errors(client: Client, server_settings: Settings, pods: str) -> None:
    missing = await call_error(
        client, "k8s_exec_pod", {"name": "talker", "namespace": pods, "container": "nope", "command": ["true"]}
    )
    assert missing == "Pod 'talker' has no container 'nope'; its containers: main."
    unknown = await call_error(client, "k8s_exec_pod", {"name": "talker", "namespace": pods, "command": ["no-such"]})
    assert unknown.startswith("The command could not run in container 'main'") and "no-such" in unknown
    shell_string = await call_error(client, "k8s_exec_pod", {"name": "talker", "namespace": pods, "command": "ls -l"})
    assert "'command'" in shell_string
    async with create_client(settings=server_settings) as default:
        refused = await call_error(default, "k8s_exec_pod", {"name": "talker", "namespace": pods, "command": ["true"]})
    assert "destructive" in refused


async def test_exec_forbidden_for_a_reader(server_settings: Settings, kube_cluster: Any, pods: str) -> None:
    token = kube_cluster.service_account_token(pods, "watcher")
    creds = {"kube_apiserver": kube_cluster.server, "kube_token": token, "kube_insecure_tls": True}
    settings = server_settings.replace(allow_destructive=True, per_call_credentials=True)
    async with create_client(settings=settings) as client:
        args = {"name": "talker", "namespace": pods, "command": ["true"], **creds}
        denied = await call_error(client, "k8s_exec_pod", args)
    assert denied == "Forbidden: the API server refused to open the stream." and token not in denied


async def test_port_forward_pod(client: Client, pods: str) -> None:
    started = await call_ok(client, "k8s_port_forward_pod", {"name": "web", "namespace": pods, "port": 8080})
    forward = started["forward"]
    assert forward["address"].startswith("127.0.0.1:")
    for _ in range(3):  # each connection gets its own stream
        assert (await anyio.to_thread.run_sync(http_get, forward["address"])).strip() == PAGE

    assert PAGE in await anyio.to_thread.run_sync(half_closed_get, forward["address"])

    listed = await call_ok(client, "k8s_list_port_forwards")
    assert [f["id"] for f in listed["items"]] == [forward["id"]] and listed["items"][0]["connections"] == 4

    stopped = await call_ok(client, "k8s_stop_port_forward", {"id": forward["id"]})
    assert stopped["state"] == "stopped"
    with pytest.raises(OSError):
        await anyio.to_thread.run_sync(http_get, forward["address"])
    assert (await call_ok(client, "k8s_list_port_forwards")).get("items", []) == []
    again = await call_error(client, "k8s_stop_port_forward", {"id": forward["id"]})
    assert again.startswith(f"No port-forward has id '{forward['id']}'")


async def test_port_forward_local_port_taken(client: Client, pods: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        message = await call_error(
            client, "k8s_port_forward_pod", {"name": "web", "namespace": pods, "port": 8080, "local_port": port}
        )
    assert message.startswith(f"Local port {port} is already in use on 127.0.0.1.")
    assert (await call_ok(client, "k8s_list_port_forwards")).get("items", []) == []


async def test_port_forward_service_and_shutdown(server_settings: Settings, pods: str) -> None:
    async with create_client(settings=server_settings) as client:
        started = await call_ok(client, "k8s_port_forward_service", {"name": "web", "namespace": pods, "port": 80})
        forward = started["forward"]
        assert (forward["pod"], forward["port"], forward["via"]) == ("web", 8080, "service/web:80")
        assert (await anyio.to_thread.run_sync(http_get, forward["address"])).strip() == PAGE
        wrong_port = await call_error(
            client, "k8s_port_forward_service", {"name": "web", "namespace": pods, "port": 81}
        )
        assert wrong_port == "Service 'web' has no port 81; its ports: 80."
        not_running = await call_error(client, "k8s_port_forward_pod", {"name": "ghost", "namespace": pods, "port": 1})
        assert "was not found" in not_running
    # The client's exit shut the server down, and its forwards with it.
    with pytest.raises(OSError):
        await anyio.to_thread.run_sync(http_get, forward["address"])


async def test_port_forwards_close_with_http_server(server_settings: Settings, pods: str, tmp_path: Path) -> None:
    server = start_http_server(server_settings, tmp_path)
    try:
        async with Client(server.mcp_url) as client:
            started = await call_ok(client, "k8s_port_forward_pod", {"name": "web", "namespace": pods, "port": 8080})
            address = started["forward"]["address"]
            assert (await anyio.to_thread.run_sync(http_get, address)).strip() == PAGE
    finally:
        stop_http_server(server)  # a clean lifespan shutdown, no traceback in the log
    with pytest.raises(OSError):
        await anyio.to_thread.run_sync(http_get, address)
