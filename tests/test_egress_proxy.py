"""The egress proxy on the wire, as Go and curl speak to it: CONNECT tunnels (https, OCI) and
absolute-URI requests, each checked by the egress rule before any connection is made."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from kubehelm_mcp.egress.proxy import EgressProxy
from tests.support.egress_servers import ALLOWED_NAME, Internal, Origin

pytestmark = pytest.mark.anyio
pytest_plugins = ["tests.support.egress_fixtures"]  # internal


@pytest.fixture
async def proxy() -> AsyncIterator[EgressProxy]:
    egress = EgressProxy((ALLOWED_NAME,))
    yield egress
    await egress.close()


@pytest.fixture
def origin(tmp_path: Path) -> Iterator[Origin]:
    server = Origin(tmp_path / "origin")
    (server.root / "values.yaml").write_text("replicaCount: 3\n")
    yield server
    server.close()


async def _exchange(proxy_url: str, request: str, then: str | None = None) -> str:
    """Send `request` (a head; credentials added) to the proxy; after a 200 to CONNECT, `then`."""
    parts = urlsplit(proxy_url)
    assert parts.hostname is not None and parts.port is not None
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    if parts.username:
        token = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
        request = request.replace("\r\n\r\n", f"\r\nProxy-Authorization: Basic {token}\r\n\r\n", 1)
    writer.write(request.encode())
    answer = (await reader.readuntil(b"\r\n\r\n")).decode()
    if then is not None and answer.startswith("HTTP/1.1 200"):
        writer.write(then.encode())
    answer += (await reader.read()).decode()
    writer.close()
    return answer


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


async def test_a_tunnel_reaches_an_allowed_host_at_its_checked_address(proxy: EgressProxy, origin: Origin) -> None:
    target = f"{ALLOWED_NAME}:{_port(origin.url)}"
    answer = await _exchange(
        await proxy.url(),
        f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n",
        then=f"GET /values.yaml HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n",
    )
    assert answer.startswith("HTTP/1.1 200 Connection established"), answer
    assert answer.endswith("replicaCount: 3\n"), answer


async def test_refused_hosts_get_403_with_the_reason(proxy: EgressProxy, internal: Internal) -> None:
    url = await proxy.url()
    for target, reason in (
        ("100.100.100.200:443", "the host 100.100.100.200 is a cloud metadata address (100.100.100.200)"),
        (f"127.0.0.3:{_port(internal.url)}", "the host 127.0.0.3 is a loopback address (127.0.0.3)"),
        ("[::ffff:a9fe:a9fe]:80", "the host ::ffff:a9fe:a9fe is a cloud metadata address (::ffff:a9fe:a9fe)"),
    ):
        answer = await _exchange(url, f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n")
        assert answer.startswith(f"HTTP/1.1 403 egress refused: {reason}"), answer
    answer = await _exchange(url, f"GET {internal.url}/ HTTP/1.1\r\nHost: 127.0.0.3\r\n\r\n")
    assert answer.startswith("HTTP/1.1 403 egress refused: the host 127.0.0.3 is a loopback address"), answer


async def test_a_plain_http_redirect_to_a_refused_host_is_answered_403(
    proxy: EgressProxy, origin: Origin, internal: Internal
) -> None:
    origin.redirects["/moved"] = f"{internal.url}/secret"
    named = f"{origin.named_url}/moved"
    answer = await _exchange(await proxy.url(), f"GET {named} HTTP/1.1\r\nHost: {ALLOWED_NAME}\r\n\r\n")
    assert answer.startswith("HTTP/1.1 403 egress refused: the redirect target 127.0.0.3 is a loopback"), answer


async def test_only_this_servers_helm_may_use_it(proxy: EgressProxy, origin: Origin) -> None:
    url = await proxy.url()
    bare = url.replace(f"{urlsplit(url).username}:{urlsplit(url).password}@", "")
    target = f"{ALLOWED_NAME}:{_port(origin.url)}"
    answer = await _exchange(bare, f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n")
    assert answer.startswith("HTTP/1.1 407 "), answer
