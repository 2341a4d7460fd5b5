"""HTTPS from `serve` itself (--tls-cert, --tls-key): a real MCP client over TLS on 127.0.0.1
with a certificate made for the test, and the refusals to start with an unusable pair."""

from __future__ import annotations

import ssl
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from kubehelm_mcp.settings import Settings
from tests.conftest import server_env, start_http_server, stop_http_server
from tests.support.mcp import call_ok
from tests.support.tls import write_pair

pytestmark = pytest.mark.anyio


async def test_an_mcp_client_over_https(server_settings: Settings, tmp_path: Path) -> None:
    cert, key = write_pair(tmp_path, "server")
    trusted = ssl.create_default_context(cafile=str(cert))
    server = start_http_server(server_settings, tmp_path, "--tls-cert", str(cert), "--tls-key", str(key), tls=trusted)
    try:
        assert server.mcp_url.startswith("https://127.0.0.1:")
        http = httpx2.AsyncClient(verify=trusted, timeout=30)
        async with Client(streamable_http_client(server.mcp_url, http_client=http)) as client:
            assert (await call_ok(client, "k8s_get_current_context"))["name"] == "kubehelm-test"
        await http.aclose()
        async with httpx2.AsyncClient(timeout=10) as plain:  # the port speaks TLS only
            with pytest.raises(httpx2.HTTPError):
                await plain.get(f"http://127.0.0.1:{server.port}/health")
        async with httpx2.AsyncClient(timeout=10) as untrusting:  # the system trust store knows no such CA
            with pytest.raises(httpx2.ConnectError):
                await untrusting.get(f"{server.base}/health")
    finally:
        stop_http_server(server)
    assert f"serving MCP on https://127.0.0.1:{server.port}/mcp" in server.log.read_text()


def refusal(*flags: str) -> str:
    """`serve` with these flags must refuse to start (before it needs a cluster): exit code 2 and
    one line saying why."""
    done = subprocess.run(
        [sys.executable, "-m", "kubehelm_mcp", "serve", "--transport", "http", *flags],
        env=server_env(Settings()),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return done.stderr.strip()


def test_serve_refuses_an_unusable_pair(tmp_path: Path) -> None:
    cert, key = write_pair(tmp_path, "one")
    _, other_key = write_pair(tmp_path, "two")
    assert "--tls-cert needs --tls-key" in refusal("--tls-cert", str(cert))
    assert "--tls-key needs --tls-cert" in refusal("--tls-key", str(key))
    absent = tmp_path / "absent.key"
    assert f"--tls-key {absent} cannot be read" in refusal("--tls-cert", str(cert), "--tls-key", str(absent))
    mismatched = refusal("--tls-cert", str(cert), "--tls-key", str(other_key))
    assert "not a PEM certificate and its matching, unencrypted private key" in mismatched
