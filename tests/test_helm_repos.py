"""Chart repository, search and pull tools against a real chart repository (static HTTP on
127.0.0.1), a local Artifact-Hub-compatible search endpoint and the real helm v3 and v4."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from kubehelm_mcp import create_client
from tests.conftest import free_port
from tests.support.helm_servers import HUB_SEARCH_PATH, ChartRepo, HubServer, local_settings, make_chart
from tests.support.mcp import call_error, call_ok

pytestmark = pytest.mark.anyio
pytest_plugins = ["tests.support.helm_fixtures"]  # helm_home, chart_repo, repo_client

MAJORS = pytest.mark.parametrize("major", ["v3", "v4"])


async def _repos(client: Client, major: str) -> list[dict[str, str]]:
    items: list[dict[str, str]] = (await call_ok(client, "helm_repo_list", {"helm_version": major}))["items"]
    return items


async def _latest(client: Client, major: str, keyword: str) -> dict[str, str]:
    found = await call_ok(client, "helm_search_repo", {"helm_version": major, "keyword": keyword})
    assert len(found["items"]) == 1, found
    item: dict[str, str] = found["items"][0]
    return item


@MAJORS
async def test_repo_add_search_pull_update_remove(
    repo_client: Client, chart_repo: ChartRepo, tmp_path: Path, major: str
) -> None:
    v = {"helm_version": major}
    assert await _repos(repo_client, major) == []
    added = await call_ok(repo_client, "helm_repo_add", {**v, "name": "local", "url": chart_repo.url})
    assert added["name"] == "local"
    assert await _repos(repo_client, major) == [{"name": "local", "url": chart_repo.url}]

    alpha = await _latest(repo_client, major, "alpha")
    assert (alpha["name"], alpha["version"]) == ("local/alpha", "0.1.0")
    everything = await call_ok(repo_client, "helm_search_repo", v)
    assert {c["name"] for c in everything["items"]} == {"local/alpha", "local/bravo"}

    pulled = await call_ok(repo_client, "helm_pull", {**v, "chart": "local/alpha", "destination": str(tmp_path)})
    assert pulled["files"] == [str(tmp_path / "alpha-0.1.0.tgz")]
    assert (tmp_path / "alpha-0.1.0.tgz").stat().st_size > 0

    # a version published later is seen only after helm_repo_update
    chart_repo.publish("alpha", "0.2.0")
    assert (await _latest(repo_client, major, "alpha"))["version"] == "0.1.0"
    updated = await call_ok(repo_client, "helm_repo_update", v)
    assert updated["repositories"] == ["local"]
    assert (await _latest(repo_client, major, "alpha"))["version"] == "0.2.0"
    versions = await call_ok(repo_client, "helm_search_repo", {**v, "keyword": "alpha", "versions": True})
    assert [c["version"] for c in versions["items"]] == ["0.2.0", "0.1.0"]

    untarred = tmp_path / "untarred"
    untarred.mkdir()
    pull_args = {"chart": "alpha", "repo": chart_repo.url, "version": "0.1.0", "untar": True}
    pulled = await call_ok(repo_client, "helm_pull", {**v, **pull_args, "destination": str(untarred)})
    assert str(untarred / "alpha") in pulled["files"]
    assert "version: 0.1.0" in (untarred / "alpha" / "Chart.yaml").read_text()

    removed = await call_ok(repo_client, "helm_repo_remove", {**v, "names": ["local"]})
    assert removed["repositories"] == ["local"]
    assert await _repos(repo_client, major) == []


@MAJORS
async def test_repo_bad_input_changes_nothing(repo_client: Client, chart_repo: ChartRepo, major: str) -> None:
    v = {"helm_version": major}
    await call_ok(repo_client, "helm_repo_add", {**v, "name": "local", "url": chart_repo.url})
    # the same configuration again is a no-op, another URL under the name is refused
    await call_ok(repo_client, "helm_repo_add", {**v, "name": "local", "url": chart_repo.url})
    closed = f"http://127.0.0.1:{free_port()}"
    message = await call_error(repo_client, "helm_repo_add", {**v, "name": "local", "url": closed})
    assert "already exists" in message and "force_update" in message
    message = await call_error(repo_client, "helm_repo_add", {**v, "name": "gone", "url": closed})
    assert "cannot be reached" in message and "connection refused" in message
    # helm itself would remove 'local' and then fail on 'nope'
    message = await call_error(repo_client, "helm_repo_remove", {**v, "names": ["local", "nope"]})
    assert "No repository named nope" in message
    message = await call_error(repo_client, "helm_repo_update", {**v, "names": ["nope"]})
    assert "No repository named nope" in message
    assert await _repos(repo_client, major) == [{"name": "local", "url": chart_repo.url}]


@MAJORS
async def test_pull_missing_chart_or_version(
    repo_client: Client, chart_repo: ChartRepo, tmp_path: Path, major: str
) -> None:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    v = {"helm_version": major, "destination": str(downloads)}
    await call_ok(repo_client, "helm_repo_add", {"helm_version": major, "name": "local", "url": chart_repo.url})
    message = await call_error(repo_client, "helm_pull", {**v, "chart": "local/nochart"})
    assert message.startswith("Chart local/nochart was not found."), message
    message = await call_error(repo_client, "helm_pull", {**v, "chart": "local/alpha", "version": "9.9.9"})
    assert message.startswith("Chart local/alpha version 9.9.9 was not found."), message
    missing = downloads / "missing"
    message = await call_error(repo_client, "helm_pull", {**v, "chart": "local/alpha", "destination": str(missing)})
    assert message == f"Destination {missing} does not exist or is not a directory."
    assert list(downloads.iterdir()) == []


async def test_repo_password_goes_on_stdin_and_never_back(
    repo_client: Client, chart_repo: ChartRepo, helm_home: Path
) -> None:
    secret = "pw-for-the-chart-repo-42"
    args = {"name": "private", "url": chart_repo.url, "username": "reader", "password": secret}
    result = await repo_client.call_tool("helm_repo_add", args)
    assert not result.is_error
    assert secret not in str(result.model_dump())
    # helm stored what it read from stdin
    stored = next(helm_home.rglob("repositories.yaml")).read_text()
    assert "username: reader" in stored and secret in stored
    message = await call_error(repo_client, "helm_repo_add", {"name": "x", "url": chart_repo.url, "password": secret})
    assert message == "A repository password needs a username." and secret not in message


async def test_repo_index(repo_client: Client, helm_binaries: dict[str, Path], tmp_path: Path) -> None:
    charts = tmp_path / "charts"
    charts.mkdir()
    for version in ("1.0.0", "1.1.0"):
        make_chart(helm_binaries["v4"], tmp_path, "demo", version, charts)
    for major in ("v3", "v4"):
        url = "https://charts.example.test"
        index = await call_ok(
            repo_client, "helm_repo_index", {"helm_version": major, "directory": str(charts), "url": url}
        )
        assert index["index_file"] == str(charts / "index.yaml")
        assert index["charts"] == [{"name": "demo", "versions": ["1.1.0", "1.0.0"]}]
        assert f"{url}/demo-1.0.0.tgz" in (charts / "index.yaml").read_text()
    message = await call_error(repo_client, "helm_repo_index", {"directory": str(tmp_path / "nope")})
    assert "does not exist" in message


HUB_CHARTS = [
    {
        "name": "webapp",
        "repo": "acme",
        "repo_url": "https://charts.acme.test",
        "version": "2.3.4",
        "app_version": "1.25.0",
        "description": "A web application",
    },
    {
        "name": "database",
        "repo": "acme",
        "repo_url": "https://charts.acme.test",
        "version": "0.1.0",
        "app_version": "16",
        "description": "A database",
    },
]


@MAJORS
async def test_search_hub_uses_the_configured_endpoint(
    helm_binaries: dict[str, Path], helm_home: Path, major: str
) -> None:
    hub = HubServer(HUB_CHARTS)
    try:
        async with create_client(settings=local_settings(helm_binaries, helm_hub_url=hub.url)) as client:
            found = await call_ok(client, "helm_search_hub", {"helm_version": major, "keyword": "webapp"})
            assert found["items"] == [
                {
                    "url": f"{hub.url}/charts/acme/webapp",
                    "version": "2.3.4",
                    "app_version": "1.25.0",
                    "description": "A web application",
                }
            ]
            with_repo = await call_ok(
                client, "helm_search_hub", {"helm_version": major, "keyword": "data", "list_repo_url": True}
            )
            assert with_repo["items"][0]["repository"] == {"name": "acme", "url": "https://charts.acme.test"}
            none = await call_ok(client, "helm_search_hub", {"helm_version": major, "keyword": "zzz"})
            assert none["items"] == []
    finally:
        hub.close()
    assert hub.requests[0] == f"{HUB_SEARCH_PATH}?q=webapp"


async def test_annotations_match_behaviour(repo_client: Client) -> None:
    tools = {t.name: t.annotations for t in (await repo_client.list_tools()).tools}
    read_only = ["helm_repo_list", "helm_search_repo", "helm_search_hub", "helm_plugin_list"]
    destructive = ["helm_repo_remove", "helm_registry_logout", "helm_plugin_uninstall", "helm_push"]
    destructive += ["helm_plugin_install", "helm_plugin_update"]  # they run the plugin's code on the server
    writes = ["helm_repo_add", "helm_repo_update", "helm_repo_index", "helm_pull", "helm_registry_login"]
    for name in read_only:
        reader = tools[name]
        assert reader is not None and reader.read_only_hint is True, name
    for name in destructive + writes:
        hints = tools[name]
        assert hints is not None and hints.read_only_hint is False, name
        assert hints.destructive_hint is (name in destructive), name
