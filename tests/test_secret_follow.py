"""Redaction follows the data and no log line carries a secret, against the real cluster through
real MCP clients.

- Secret data a patch (JSON copy/move, merge), an apply or a create puts into an annotation or a
  label never comes back in clear: not in the echo, the diff, nor the cluster's refusal.
- Helm values under the key names of popular charts are redacted in helm_get_values and
  helm_get_all; reference keys (existingSecretPasswordKey, passwordLength) stay visible.
- A real `serve` process at --log-level debug, driven over Streamable HTTP and SSE with seeded
  Secret data, Helm values, a kubeconfig token in a ConfigMap, the static auth token and query
  tokens, plus slow clients and a 1 MB tool name: no seed in its whole log, one slow-client line at
  most, no traceback, and a short unknown-tool error.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.shared.exceptions import MCPError

from kubehelm_mcp import create_client
from kubehelm_mcp.settings import Settings
from tests.conftest import start_http_server, stop_http_server
from tests.support.cli import run
from tests.support.http import get
from tests.support.mcp import bearer_client, call_error, call_ok, text_of
from tests.support.rawhttp import connect

pytestmark = pytest.mark.anyio
pytest_plugins = ["tests.support.helm_fixtures"]


def _seed(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:16]}"


def forms(value: str) -> set[str]:
    return {value, base64.b64encode(value.encode()).decode().rstrip("=")}


def leaked(text: str, seeds: dict[str, str]) -> list[str]:
    return [label for label, value in seeds.items() if any(form in text for form in forms(value))]


@pytest.fixture
def namespace(kube_node: Any, kubectl: Any) -> Any:
    name = f"khm-follow-{uuid.uuid4().hex[:6]}"
    kubectl("create", "namespace", name)
    yield name
    kubectl("delete", "namespace", name, "--wait=false")


def _secret(name: str, value: str, namespace: str) -> str:
    meta = f"{{name: {name}, namespace: {namespace}}}"
    return f"apiVersion: v1\nkind: Secret\nmetadata: {meta}\nstringData: {{password: {value}}}\n"


async def test_secret_data_moved_into_metadata_is_redacted(client: Client, namespace: str, kubectl: Any) -> None:
    seeds = {name: _seed(name) for name in ("stored", "merged", "applied", "created")}
    kubectl("apply", "-f", "-", stdin=_secret("moved", seeds["stored"], namespace))
    target = {"kind": "secrets", "name": "moved", "namespace": namespace}
    outputs: list[str] = []
    for patch in (
        [{"op": "copy", "from": "/data/password", "path": "/metadata/annotations"}],  # the whole value as an object
        [{"op": "add", "path": "/metadata/annotations", "value": {}},
         {"op": "copy", "from": "/data/password", "path": "/metadata/annotations/copied"}],
        [{"op": "add", "path": "/metadata/annotations", "value": {}},
         {"op": "move", "from": "/data/password", "path": "/metadata/annotations/moved"}],
    ):  # fmt: skip
        result = await client.call_tool("k8s_patch_resource", {**target, "patch": patch, "dry_run": True})
        outputs.append(result.model_dump_json())
    # a label: the cluster refuses the base64 value, and its refusal must not quote it
    label_copy = [
        {"op": "add", "path": "/metadata/labels", "value": {}},
        {"op": "copy", "from": "/data/password", "path": "/metadata/labels/copied"},
    ]
    refusal = await call_error(client, "k8s_patch_resource", {**target, "patch": label_copy, "dry_run": True})
    outputs.append(refusal)
    merged = {"stringData": {"password": seeds["merged"]}, "metadata": {"annotations": {"note": seeds["merged"]}}}
    for patch_type in ("merge", "strategic"):
        result = await client.call_tool(
            "k8s_patch_resource", {**target, "patch": merged, "patch_type": patch_type, "dry_run": True}
        )
        outputs.append(result.model_dump_json())
    annotated = (
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: echo, namespace: {namespace}, "
        f"annotations: {{note: {seeds['applied']}}}, labels: {{copy: {seeds['applied']}}}}}\n"
        f"stringData: {{password: {seeds['applied']}}}\n"
    )
    changed = annotated.replace("note:", "other:")
    for tool, manifest in (
        ("k8s_apply_resource", annotated),
        ("k8s_diff_resource", changed),  # a diff of the annotations: shown changed, values hidden
        ("k8s_apply_resource", changed),
        (
            "k8s_create_resource",
            annotated.replace("name: echo", "name: fresh").replace(seeds["applied"], seeds["created"]),
        ),
    ):
        result = await client.call_tool(tool, {"manifest": manifest, "namespace": namespace})
        assert not result.is_error, text_of(result)
        outputs.append(result.model_dump_json())
    redacted = [0, 1, 2, 3, 4, 5, 7, 8]  # every answer that shows the Secret's values (the others show none)
    assert "\n".join(outputs[i][:1500] for i in redacted if "[REDACTED]" not in outputs[i]) == ""
    found = [f"call {i}: {label}" for i, out in enumerate(outputs) for label in leaked(out, seeds)]
    assert found == [], found
    assert "dry run" in outputs[2] and "moved" in outputs[2]  # the diff still says which annotation changed


CHART_VALUES_TABLE = {
    "auth": {"postgresPassword": "S", "password": "S", "username": "app", "existingSecret": "pg-auth"},
    "externalDatabase": {"existingSecretPasswordKey": "db-password", "password": "S", "url": "postgres://u:S@h/db"},
    "adminPassword": "S",
    "smtp": {"password": "S", "user": "mailer"},
    "s3": {"secretAccessKey": "S", "bucket": "backups"},
    "oauth": {"clientSecret": "S", "clientId": "web-client"},
    "sentry": {"dsn": "https://S@o1.ingest.sentry.io/42"},
    "tls": {"key": "S", "crt": "public-cert"},
    "db": {"pass": "S"},
    "pwd": "S",
    "apikey": "S",
    "privateKeyPem": "S",
    "bearer": "S",
    "passwordLength": 24,
}
SHOWN = ["app", "pg-auth", "db-password", "mailer", "backups", "web-client", "public-cert"]


def _with_seed(tree: Any, seed: str) -> Any:
    if isinstance(tree, dict):
        return {k: _with_seed(v, seed) for k, v in tree.items()}
    return tree.replace("S", seed) if isinstance(tree, str) and "S" in tree else tree


async def test_helm_values_under_real_chart_names(
    server_settings: Settings, namespace: str, helm_binaries: dict[str, Path], helm_home: Path, tmp_path: Path
) -> None:
    seed = _seed("chartvalue")
    run(helm_binaries["v4"], "create", str(tmp_path / "plain"))
    values = _with_seed(CHART_VALUES_TABLE, seed)
    rel = {"release_name": "names", "namespace": namespace}
    async with create_client(settings=server_settings.replace(allow_destructive=True)) as client:
        await call_ok(client, "helm_install", {**rel, "chart": str(tmp_path / "plain"), "values": values})
        results = [await client.call_tool(tool, args) for tool, args in (
            ("helm_get_values", rel), ("helm_get_values", {**rel, "all": True}), ("helm_get_all", rel)
        )]  # fmt: skip
    for result in results:
        tool = "helm_get_all" if "metadata" in (result.structured_content or {}) else "helm_get_values"
        dumped = result.model_dump_json()
        assert not result.is_error, text_of(result)
        assert seed not in dumped, f"{tool}: {text_of(result)}"
        assert all(shown in dumped for shown in SHOWN), f"{tool}: {text_of(result)}"
        got = result.structured_content or {}
        assert got["values"]["passwordLength"] == 24 and got["values"]["externalDatabase"]["url"] == (
            "postgres://u:[REDACTED]@h/db"
        )


SLOW_CLIENTS = 12


def _slow_client(port: int) -> None:
    with connect(port) as sock:
        body = b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list"'
        head = (
            f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Accept: application/json, text/event-stream\r\nContent-Length: {len(body) + 50}\r\n\r\n"
        )
        sock.sendall(head.encode() + body)  # and the rest never comes
        try:
            while sock.recv(4096):
                pass
        except OSError:
            pass


async def test_nothing_secret_reaches_the_debug_log(
    server_settings: Settings,
    tmp_path: Path,
    namespace: str,
    kubectl: Any,
    helm_binaries: dict[str, Path],
    helm_home: Path,
) -> None:
    seeds = {
        "static token": _seed("static-token"),
        "secret data": _seed("secret-data"),
        "kubeconfig token in a ConfigMap": _seed("cm-kubeconfig-token"),
        "helm value": _seed("helm-value"),
        **{f"?{param}=": _seed(param) for param in ("access_token", "api_token", "id_token", "token", "client_secret")},
    }
    kubectl("apply", "-f", "-", stdin=_secret("logged", seeds["secret data"], namespace))
    # JSON inside JSON: the token's quotes arrive escaped, so no `token: x` pattern finds it in a body
    kubeconfig_text = json.dumps(
        {"users": [{"name": "u", "user": {"token": seeds["kubeconfig token in a ConfigMap"]}}]}
    )
    kubectl("create", "configmap", "kubeconfig", "-n", namespace, f"--from-literal=config={kubeconfig_text}")
    run(helm_binaries["v4"], "create", str(tmp_path / "plain"))
    server = start_http_server(
        server_settings, tmp_path, "--log-level", "debug", "--read-timeout", "5", "--allow-destructive",
        "--max-body-bytes", "4000000",
        env={"KUBEHELM_MCP_AUTH_TOKEN": seeds["static token"]},
    )  # fmt: skip
    try:
        for param in ("access_token", "api_token", "id_token", "token", "client_secret"):
            get(f"{server.base}/health?{param}={seeds[f'?{param}=']}&page=1")
        get(f"{server.base}/mcp?access_token={seeds['?access_token=']}")
        rel = {"release_name": "logged", "namespace": namespace}
        async with bearer_client(server.mcp_url, seeds["static token"]) as client:
            await call_ok(client, "k8s_get_resource", {"kind": "secrets", "name": "logged", "namespace": namespace})
            await call_ok(
                client, "k8s_get_resource", {"kind": "configmaps", "name": "kubeconfig", "namespace": namespace}
            )
            values = {"db": {"password": seeds["helm value"]}, "plain": seeds["helm value"]}
            await call_ok(client, "helm_install", {**rel, "chart": str(tmp_path / "plain"), "values": values})
            await call_ok(client, "helm_get_values", rel)
        async with Client(
            sse_client(f"{server.base}/sse", headers={"Authorization": f"Bearer {seeds['static token']}"})
        ) as sse:
            await call_ok(sse, "k8s_get_resource", {"kind": "secrets", "name": "logged", "namespace": namespace})
            await call_ok(sse, "k8s_get_resource", {"kind": "configmaps", "name": "kubeconfig", "namespace": namespace})
            # over SSE: Streamable HTTP clients send the tool name in a header, which the header limit caps
            await call_ok(sse, "helm_get_values", rel)  # "plain" is no credential: shown, never logged
            with pytest.raises(MCPError) as refused:  # unknown tools get a JSON-RPC error (-32602)
                await sse.call_tool("x" * 1_000_000, {})
            unknown = refused.value.error.message
            assert len(unknown) < 300 and "more characters" in unknown, unknown[:400]
        slow = [threading.Thread(target=_slow_client, args=(server.port,)) for _ in range(SLOW_CLIENTS)]
        for thread in slow:
            thread.start()
        for thread in slow:
            thread.join(timeout=30)
        assert _healthy(server.port)
    finally:
        stop_http_server(server)
    log = server.log.read_text()
    assert "DEBUG mcp.server.lowlevel.server" in log  # debug logging really was on
    found = [f"{label}: {line[:200]}" for line in log.splitlines() for label in leaked(line, seeds)]
    assert found == [], "\n".join(found)
    assert log.count("no whole request within") <= 1, log
    assert "ClientDisconnect" not in log and "Traceback" not in log, log
    assert max(len(line) for line in log.splitlines()) < 10_000


def _healthy(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        return sock.recv(100).startswith(b"HTTP/1.1 200")


def test_forms() -> None:
    assert forms("ab") == {"ab", "YWI"} and json.dumps(leaked("x YWI y", {"l": "ab"})) == '["l"]'
