"""kube/api.py settles once, per client, what aiohttp would otherwise look up in the environment on
every request: the proxy for the API server (as client-go reads HTTPS_PROXY and NO_PROXY), no netrc."""

from __future__ import annotations

import pytest

from kubehelm_mcp.kube.api import KubeApi

SERVER = "https://127.0.0.1:6443"
pytestmark = pytest.mark.anyio


async def _api() -> KubeApi:
    from kubernetes_asyncio.client import ApiClient, Configuration

    config = Configuration()
    config.host = SERVER
    return KubeApi(ApiClient(configuration=config), server=SERVER)


@pytest.fixture(autouse=True)
def _no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("no_proxy", raising=False)


async def test_the_environments_proxy_is_taken_once_and_the_session_stops_looking() -> None:
    api = await _api()
    try:
        rest = api._client.rest_client
        assert rest.pool_manager.trust_env is False and not rest.proxy
    finally:
        await api.close()


async def test_https_proxy_still_reaches_the_api_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://user:pw@127.0.0.1:3128")
    api = await _api()
    try:
        rest = api._client.rest_client
        assert rest.proxy == "http://127.0.0.1:3128" and rest.pool_manager.trust_env is False
        assert rest.proxy_headers["Proxy-Authorization"].startswith("Basic ")
    finally:
        await api.close()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    exempt = await _api()
    try:
        assert not exempt._client.rest_client.proxy
    finally:
        await exempt.close()
