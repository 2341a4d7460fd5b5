"""The audit log (--audit-log): one JSON line per HTTP auth decision and per tool call, from real
server processes and real MCP clients on loopback; never a token or a secret."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from kubehelm_mcp import create_client
from kubehelm_mcp.settings import Settings
from tests.conftest import start_http_server, stop_http_server
from tests.support.mcp import bearer_client, call_error, call_ok
from tests.support.oidc import AUDIENCE, CLIENT, SCOPE, Issuer

pytestmark = pytest.mark.anyio

FIELDS = {
    "time",
    "event",
    "subject",
    "client",
    "scopes",
    "tool",
    "cluster",
    "namespace",
    "outcome",
    "duration_ms",
    "remote",
    "identity",
    "reason",
}
SCOPE_FIELDS = {"kinds", "namespaces"}  # only on calls of tools that reach a cluster, both or neither
CLIENT_SECRET = "audit-test-client-secret-0123456789"


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with Issuer() as running:
        yield running


def entries(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text().splitlines()
    assert lines, "the audit log is empty"
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    for record in records:
        assert set(record) in (FIELDS, FIELDS | SCOPE_FIELDS), record
    return records


async def test_auth_decisions_and_calls_are_audited(
    server_settings: Settings, issuer: Issuer, sample_objects: str, tmp_path: Path
) -> None:
    log = tmp_path / "audit" / "audit.jsonl"
    log.parent.mkdir()
    env = {
        "KUBEHELM_MCP_OIDC_ISSUER": issuer.url,
        "KUBEHELM_MCP_OIDC_AUDIENCE": AUDIENCE,
        "KUBEHELM_MCP_REQUIRED_SCOPES": SCOPE,
        "KUBEHELM_MCP_AUDIT_LOG": str(log),
        "KUBEHELM_MCP_OBO_CLIENT_SECRET": CLIENT_SECRET,  # configured, so it could leak: it must not
    }
    server = start_http_server(server_settings, tmp_path, env=env)
    good, unscoped, forged = issuer.token(), issuer.token(scp="other"), issuer.token()[:-8] + "AAAAAAAA"
    try:
        async with bearer_client(server.mcp_url, good) as client:
            await call_ok(client, "k8s_list_resources", {"kind": "configmaps", "namespace": sample_objects})
            await call_error(client, "k8s_get_resource", {"kind": "configmap", "name": "nope", "namespace": "default"})
        async with httpx2.AsyncClient(timeout=10) as http:
            for headers in ({}, {"Authorization": f"Bearer {forged}"}, {"Authorization": f"Bearer {unscoped}"}):
                assert (await http.post(server.mcp_url, json={}, headers=headers)).status_code in (401, 403)
    finally:
        stop_http_server(server)

    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
    records = entries(log)
    auth = [r for r in records if r["event"] == "auth"]
    calls = [r for r in records if r["event"] == "call"]
    assert {r["outcome"] for r in auth} == {"ok", "missing", "invalid", "forbidden"}
    for record in auth:
        assert record["remote"].startswith("127.0.0.1:") and record["identity"] == "server"
        if record["outcome"] == "ok":
            assert (record["subject"], record["client"], record["reason"]) == ("user-1", CLIENT, None)
            assert SCOPE in record["scopes"]
        else:
            assert record["subject"] is None and record["reason"]
    forbidden = next(r for r in auth if r["outcome"] == "forbidden")
    assert SCOPE in forbidden["reason"]

    # the caller reached the pipeline: each call carries the HTTP principal and peer
    by_tool = {r["tool"]: r for r in calls}
    assert set(by_tool) == {"k8s_list_resources", "k8s_get_resource"}
    listed, missing = by_tool["k8s_list_resources"], by_tool["k8s_get_resource"]
    assert (listed["outcome"], listed["namespace"], listed["cluster"]) == ("ok", sample_objects, "kubehelm-test")
    assert (missing["outcome"], missing["namespace"]) == ("not_found", "default")
    for record in calls:
        assert (record["subject"], record["client"], record["identity"]) == ("user-1", CLIENT, "server")
        assert record["remote"].startswith("127.0.0.1:")
        assert isinstance(record["duration_ms"], float) and record["duration_ms"] >= 0

    written = log.read_text() + server.log.read_text()
    for secret in (good, unscoped, forged, CLIENT_SECRET):
        assert secret not in written


async def test_stdio_calls_are_audited_as_the_server(server_settings: Settings, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    async with create_client(settings=server_settings.replace(audit_log=str(log))) as client:
        await call_ok(client, "k8s_get_current_context")
        await call_error(client, "k8s_list_resources", {"kind": "pods", "context": "no-such-context"})
    first, second = entries(log)
    assert (first["event"], first["tool"], first["outcome"], first["cluster"]) == (
        "call",
        "k8s_get_current_context",
        "ok",
        "kubehelm-test",
    )
    assert (first["subject"], first["remote"], first["identity"]) == (None, None, "server")
    assert (second["outcome"], second["cluster"]) == ("not_found", "no-such-context")


async def test_audit_to_stderr(server_settings: Settings, issuer: Issuer, tmp_path: Path) -> None:
    env = {"KUBEHELM_MCP_OIDC_ISSUER": issuer.url, "KUBEHELM_MCP_OIDC_AUDIENCE": AUDIENCE}
    server = start_http_server(server_settings, tmp_path, "--audit-log", "-", env=env)
    try:
        async with httpx2.AsyncClient(timeout=10) as http:
            assert (await http.post(server.mcp_url, json={})).status_code == 401
    finally:
        stop_http_server(server)
    lines = [line for line in server.log.read_text().splitlines() if line.startswith('{"time"')]
    assert [json.loads(line)["outcome"] for line in lines] == ["missing"]


async def test_calls_record_the_kinds_and_namespaces_they_touch(
    server_settings: Settings, sample_objects: str, tmp_path: Path
) -> None:
    log = tmp_path / "audit.jsonl"
    nowhere = "khm-audit-nowhere"  # never created: the log call fails, its scope is recorded all the same
    manifest = (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: audit-cm, namespace: {sample_objects}}}\n"
        "---\napiVersion: v1\nkind: Secret\nmetadata: {name: audit-secret}\nstringData: {k: v}\n"
    )
    async with create_client(settings=server_settings.replace(audit_log=str(log))) as client:
        await call_error(client, "k8s_get_pod_logs", {"name": "absent", "namespace": nowhere})
        await call_ok(client, "k8s_apply_resource", {"manifest": manifest, "namespace": "default", "dry_run": True})
        await call_ok(client, "k8s_list_resources", {"kind": "configmaps", "all_namespaces": True, "limit": 1})
        await call_ok(client, "k8s_get_current_context")
    logs, applied, listed, local = entries(log)

    assert (logs["tool"], logs["outcome"], logs["namespace"]) == ("k8s_get_pod_logs", "not_found", nowhere)
    assert (logs["kinds"], logs["namespaces"]) == (["pods/log"], [nowhere])
    # a manifest of two kinds: each object's kind, and its namespace (the call's for the one naming none)
    assert (applied["tool"], applied["outcome"]) == ("k8s_apply_resource", "ok")
    assert (applied["kinds"], applied["namespaces"]) == (["ConfigMap", "Secret"], sorted([sample_objects, "default"]))
    assert (listed["kinds"], listed["namespaces"]) == (["ConfigMap"], ["*"])
    assert local["tool"] == "k8s_get_current_context" and not SCOPE_FIELDS & set(local)  # no cluster reached
