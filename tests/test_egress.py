"""What helm fetches on a tool's behalf meets the URL arguments' rule (the egress proxy and the
Chart.yaml check), through a real MCP client and the real helm v3 and v4.

Stand-ins (tests/support/egress_servers.py): `allowed.localhost` (--allowed-hosts) for a host the
server may reach, and 127.0.0.3 for an internal one, whose server records that nothing reached it.
Refusals of non-loopback addresses happen before any connection is made.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from mcp import Client
from testcluster.registry import OciRegistry

from kubehelm_mcp import create_client
from tests.support.cli import run
from tests.support.egress_servers import ALLOWED_NAME, INTERNAL_ADDRESS, Internal, Origin
from tests.support.helm_servers import local_settings, make_chart
from tests.support.mcp import call_error, call_ok

pytestmark = pytest.mark.anyio
pytest_plugins = ["tests.support.egress_fixtures"]  # internal

MAJORS = pytest.mark.parametrize("major", ["v3", "v4"])
REFUSED_LOOPBACK = f"is a loopback address ({INTERNAL_ADDRESS}), refused unless --allowed-hosts permits it"
CROSS_REPO_INDEX = """apiVersion: v1
entries:
  gamma:
  - apiVersion: v2
    name: gamma
    version: 0.1.0
    created: "2024-01-01T00:00:00Z"
    urls:
    - http://100.100.100.200/charts/gamma-0.1.0.tgz
generated: "2024-01-01T00:00:00Z"
"""


@pytest.fixture
def origin(helm_binaries: dict[str, Path], tmp_path: Path) -> Iterator[Origin]:
    """The allowed repository: chart alpha, and values.yaml."""
    server = Origin(tmp_path / "origin")
    (tmp_path / "origin-src").mkdir()
    make_chart(helm_binaries["v4"], tmp_path / "origin-src", "alpha", "0.1.0", server.root)
    run(helm_binaries["v4"], "repo", "index", str(server.root), "--url", server.named_url)
    (server.root / "values.yaml").write_text("replicaCount: 3\n")
    yield server
    server.close()


@pytest.fixture
async def client(helm_binaries: dict[str, Path], helm_home: Path) -> AsyncIterator[Client]:
    settings = local_settings(helm_binaries).replace(allowed_hosts=(ALLOWED_NAME,))
    async with create_client(settings=settings) as connected:
        yield connected


def _chart(helm: Path, root: Path, dependency_repository: str | None = None) -> Path:
    chart = root / "app"
    run(helm, "create", str(chart))
    if dependency_repository is not None:
        with (chart / "Chart.yaml").open("a") as chart_yaml:
            chart_yaml.write(f"dependencies:\n- name: sub\n  version: 0.1.0\n  repository: {dependency_repository}\n")
    return chart


@MAJORS
async def test_allowed_host_is_fetched_through_the_proxy(client: Client, origin: Origin, major: str) -> None:
    """The control: a fetch from the allowed name works (it can only go through the proxy, since
    helm alone cannot resolve allowed.localhost)."""
    v = {"helm_version": major}
    await call_ok(client, "helm_repo_add", {**v, "name": "origin", "url": origin.named_url})
    found = await call_ok(client, "helm_search_repo", {**v, "keyword": "alpha"})
    assert [c["name"] for c in found["items"]] == ["origin/alpha"]


@MAJORS
async def test_a_redirect_to_an_internal_host_is_refused(
    client: Client, origin: Origin, internal: Internal, major: str
) -> None:
    origin.redirects["/moved/index.yaml"] = f"{internal.url}/index.yaml"
    message = await call_error(
        client, "helm_repo_add", {"helm_version": major, "name": "moved", "url": f"{origin.named_url}/moved"}
    )
    assert REFUSED_LOOPBACK in message, message


@MAJORS
async def test_a_values_file_url_redirecting_to_an_internal_host_is_refused(
    client: Client, origin: Origin, internal: Internal, helm_binaries: dict[str, Path], tmp_path: Path, major: str
) -> None:
    chart = _chart(helm_binaries["v4"], tmp_path)
    v = {"helm_version": major, "release_name": "web", "chart": str(chart)}
    rendered = await call_ok(client, "helm_template", {**v, "values_files": [f"{origin.named_url}/values.yaml"]})
    objects = [item["object"] for item in rendered["items"]]
    replicas = [o["spec"].get("replicas") for o in objects if o.get("kind") == "Deployment"]
    assert replicas == [3], "the allowed values file was not used"
    origin.redirects["/evil-values.yaml"] = f"{internal.url}/values.yaml"
    message = await call_error(client, "helm_template", {**v, "values_files": [f"{origin.named_url}/evil-values.yaml"]})
    assert REFUSED_LOOPBACK in message, message


@MAJORS
async def test_a_chart_dependency_on_an_internal_host_is_refused(
    client: Client, internal: Internal, helm_binaries: dict[str, Path], tmp_path: Path, major: str
) -> None:
    chart = _chart(helm_binaries["v4"], tmp_path, dependency_repository=internal.url)
    v = {"helm_version": major}
    for tool, arguments in (
        ("helm_dependency_update", {"chart_path": str(chart)}),
        ("helm_dependency_build", {"chart_path": str(chart)}),
        ("helm_package", {"path": str(chart), "dependency_update": True, "destination": str(tmp_path)}),
    ):
        message = await call_error(client, tool, {**v, **arguments})
        expected = f"the chart's Chart.yaml dependency 'sub' is refused: the URL host '{INTERNAL_ADDRESS}'"
        assert f"{expected} {REFUSED_LOOPBACK}" in message, message


@MAJORS
async def test_a_chart_url_in_another_repository_index_is_refused(
    client: Client, origin: Origin, tmp_path: Path, major: str
) -> None:
    """An index on the allowed host may point a chart anywhere: here at a metadata address, which
    the proxy refuses before connecting."""
    cross = origin.root / "cross"
    cross.mkdir()
    (cross / "index.yaml").write_text(CROSS_REPO_INDEX)
    v = {"helm_version": major}
    await call_ok(client, "helm_repo_add", {**v, "name": "cross", "url": f"{origin.named_url}/cross"})
    message = await call_error(client, "helm_pull", {**v, "chart": "cross/gamma", "destination": str(tmp_path)})
    assert "100.100.100.200 is a cloud metadata address (100.100.100.200)" in message, message


@MAJORS
async def test_a_metadata_address_is_refused_as_an_argument(client: Client, major: str) -> None:
    for url in ("http://100.100.100.200/charts", "http://[::ffff:100.100.100.200]/", "http://[64:ff9b::a9fe:a9fe]/"):
        message = await call_error(client, "helm_repo_add", {"helm_version": major, "name": "meta", "url": url})
        assert "is a cloud metadata address" in message, message
    message = await call_error(
        client, "helm_repo_add", {"helm_version": major, "name": "cgn", "url": "http://100.64.1.1/"}
    )
    assert "is a shared (carrier-grade NAT) address (100.64.1.1)" in message, message


@MAJORS
async def test_oci_registries_are_reached_through_the_proxy(
    client: Client, oci_registry: OciRegistry, helm_binaries: dict[str, Path], tmp_path: Path, major: str
) -> None:
    """helm's OCI client honours the proxy: it reaches the registry by a name only the proxy resolves."""
    packaged = make_chart(helm_binaries["v4"], tmp_path, "ocidemo", "1.2.3", tmp_path)
    remote = f"oci://{oci_registry.host.replace('127.0.0.1', ALLOWED_NAME)}/egress-{major}"
    v = {"helm_version": major, "plain_http": True}
    await call_ok(client, "helm_push", {**v, "chart_ref": str(packaged), "remote": remote})
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    pulled = await call_ok(client, "helm_pull", {**v, "chart": f"{remote}/ocidemo", "destination": str(downloads)})
    assert pulled["files"] == [str(downloads / "ocidemo-1.2.3.tgz")]
