"""helm_push, helm_pull from oci:// and registry login/logout against a real OCI registry
(Debian's docker-registry on 127.0.0.1), without and with htpasswd basic auth."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client
from testcluster.registry import TEST_PASSWORD, TEST_USER, OciRegistry

from kubehelm_mcp import create_client
from kubehelm_mcp.settings import Settings
from tests.support.helm_servers import make_chart
from tests.support.mcp import call_error, call_ok, text_of

pytestmark = pytest.mark.anyio
pytest_plugins = ["tests.support.helm_fixtures"]  # helm_home, chart_repo, repo_client

MAJORS = pytest.mark.parametrize("major", ["v3", "v4"])


@pytest.fixture
def packaged(helm_binaries: dict[str, Path], helm_home: Path, tmp_path: Path) -> Path:
    out = tmp_path / "packages"
    out.mkdir()
    return make_chart(helm_binaries["v4"], tmp_path, "ocidemo", "1.2.3", out)


@MAJORS
async def test_push_then_pull_over_plain_http(
    repo_client: Client, oci_registry: OciRegistry, packaged: Path, tmp_path: Path, major: str
) -> None:
    remote = f"{oci_registry.url}/{major}"
    v = {"helm_version": major, "plain_http": True}
    pushed = await call_ok(repo_client, "helm_push", {**v, "chart_ref": str(packaged), "remote": remote})
    assert pushed["reference"] == f"{oci_registry.host}/{major}/ocidemo:1.2.3"
    assert pushed["digest"].startswith("sha256:")

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    chart = f"{remote}/ocidemo"
    pulled = await call_ok(
        repo_client, "helm_pull", {**v, "chart": chart, "version": "1.2.3", "destination": str(downloads)}
    )
    assert pulled["files"] == [str(downloads / "ocidemo-1.2.3.tgz")]
    assert pulled["digest"] == pushed["digest"]

    message = await call_error(
        repo_client, "helm_pull", {**v, "chart": chart, "version": "9.9.9", "destination": str(downloads)}
    )
    assert message.startswith(f"Chart {chart} version 9.9.9 was not found."), message


async def test_push_bad_input(repo_client: Client, packaged: Path) -> None:
    message = await call_error(repo_client, "helm_push", {"chart_ref": str(packaged), "remote": "http://x/charts"})
    assert message.endswith("'remote': the URL 'http://x/charts' must use one of the schemes oci.")
    message = await call_error(
        repo_client, "helm_push", {"chart_ref": "/nope.tgz", "remote": "oci://127.0.0.1:1/charts"}
    )
    assert message == "Chart archive /nope.tgz does not exist or is not a file."


@MAJORS
async def test_login_push_logout_with_basic_auth(
    repo_client: Client, oci_registry_auth: OciRegistry, packaged: Path, helm_home: Path, major: str
) -> None:
    host = oci_registry_auth.host
    v = {"helm_version": major}
    push = {**v, "chart_ref": str(packaged), "remote": f"{oci_registry_auth.url}/auth", "plain_http": True}
    refused = f"Access to {push['remote']} was refused. Log in with helm_registry_login first."
    assert await call_error(repo_client, "helm_push", push) == refused  # before login

    wrong = "not-the-password"
    login = {**v, "hostname": host, "username": TEST_USER, "plain_http": True}
    message = await call_error(repo_client, "helm_registry_login", {**login, "password": wrong})
    assert message == f"Registry {host} refused the username or password."
    assert not (helm_home / "registry.json").exists() or host not in (helm_home / "registry.json").read_text()

    result = await repo_client.call_tool("helm_registry_login", {**login, "password": TEST_PASSWORD})
    assert not result.is_error, result
    assert TEST_PASSWORD not in str(result.model_dump())
    assert host in (helm_home / "registry.json").read_text()

    pushed = await call_ok(repo_client, "helm_push", push)
    assert pushed["digest"].startswith("sha256:")

    await call_ok(repo_client, "helm_registry_logout", {**v, "hostname": host})
    assert host not in (helm_home / "registry.json").read_text()
    assert await call_error(repo_client, "helm_push", push) == refused


@MAJORS
async def test_install_from_oci(
    server_settings: Settings, helm_home: Path, oci_registry: OciRegistry, packaged: Path, major: str
) -> None:
    """A chart pushed to the registry installs, shows and templates straight from oci://."""
    settings = server_settings.replace(allow_destructive=True, allowed_hosts=("127.0.0.1",))
    v = {"helm_version": major, "plain_http": True}
    remote = f"{oci_registry.url}/installs-{major}"
    namespace = f"khm-oci-{major}"
    async with create_client(settings=settings) as client:
        await call_ok(client, "helm_push", {**v, "chart_ref": str(packaged), "remote": remote})
        chart = {**v, "chart": f"{remote}/ocidemo", "version": "1.2.3"}
        shown = await client.call_tool("helm_show_chart", chart)
        assert not shown.is_error and "name: ocidemo" in text_of(shown)
        rendered = await call_ok(client, "helm_template", {**chart, "release_name": "oci"})
        assert rendered["items"]
        installed = await call_ok(
            client,
            "helm_install",
            {**chart, "release_name": "oci", "namespace": namespace, "create_namespace": True},
        )
        assert installed
        status = await call_ok(
            client, "helm_status", {"release_name": "oci", "namespace": namespace, "helm_version": major}
        )
        assert (status["status"], status["chart"]) == ("deployed", "ocidemo-1.2.3")
        await call_ok(client, "helm_uninstall", {"release_name": "oci", "namespace": namespace, "helm_version": major})
