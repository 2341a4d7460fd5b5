"""Pure pieces of the Helm SDK engine: cluster options, error mapping, record shapes, which inputs the
SDK writer takes, and engine selection (with the SDK present and hidden)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

import kubehelm_mcp.helm.sdk as sdk_engine
from kubehelm_mcp.errors import ClusterUnavailable, DependencyMissing, Forbidden, InvalidInput, NotFound, ToolError
from kubehelm_mcp.helm.binaries import HelmBinaries
from kubehelm_mcp.helm.models import HelmTarget, ReleaseSummary
from kubehelm_mcp.helm.requests import InstallRequest
from kubehelm_mcp.helm.sdk import (
    SdkReleaseReader,
    config_options,
    record_from_get_all,
    sdk_error,
    summary_from_row,
)
from kubehelm_mcp.helm.sdk_writes import SdkReleaseWriter, sdk_install
from kubehelm_mcp.helm.service import HelmService
from kubehelm_mcp.helm.storage import StorageReleaseReader
from kubehelm_mcp.kube.api import KubeApi
from kubehelm_mcp.kube.target import ClusterTarget
from kubehelm_mcp.toolsets.helm.lifecycle import InstallInput, install_request


def test_the_sdk_is_installed_for_the_tests() -> None:
    """The dev extra carries helm-python-sdk: without it the engine tests must fail, not skip."""
    import helm_python

    assert helm_python.helm_sdk_version().startswith("v4.")


def test_config_options_follow_the_kubeconfig() -> None:
    target = HelmTarget(ClusterTarget(kubeconfig="/k/config", context="dev", tls_server_name="api"), "apps")
    assert config_options(target) == {
        "namespace": "apps",
        "kubeconfig_path": "/k/config",
        "kube_context": "dev",
        "kube_tls_server_name": "api",
    }


def test_a_per_call_identity_replaces_the_kubeconfig() -> None:
    cluster = ClusterTarget(
        kubeconfig="/k/config", context="dev", apiserver="https://a:6443", token="t0k", insecure_tls=True
    )
    options = config_options(HelmTarget(cluster, "ns"))
    assert options == {
        "namespace": "ns",
        "kubeconfig_path": os.devnull,
        "kube_apiserver": "https://a:6443",
        "kube_token": "t0k",
        "kube_insecure_skip_tls_verify": True,
    }


@pytest.mark.parametrize(
    ("code", "detail", "kind"),
    [
        (-7, "release: not found", NotFound),
        (-60, "kubernetes cluster unreachable: connection refused", ClusterUnavailable),
        (-61, 'secrets is forbidden: User "x" cannot list resource "secrets"', Forbidden),
        (-2, "invalid filter regex: missing closing )", InvalidInput),
        (-62, "cannot reuse a name that is still in use.", ToolError),
    ],
)
def test_sdk_errors_become_one_sentence(code: int, detail: str, kind: type[ToolError]) -> None:
    error = sdk_error(code, detail, "helm list", "Release 'x' was not found in namespace 'y'.")
    assert type(error) is kind
    assert str(error).count(".") >= 1 and not str(error).endswith("..")
    if kind is NotFound:
        assert str(error) == "Release 'x' was not found in namespace 'y'."
    else:
        assert str(error).startswith("helm list: ")


ROW = {
    "name": "web",
    "namespace": "apps",
    "revision": 3,
    "status": "deployed",
    "notes": "hello\n",
    "deployed_at": "2026-01-02T03:04:05Z",
    "chart_name": "demo",
    "chart_version": "0.1.0",
    "app_version": "1.16.0",
    "labels": {"owner": "helm", "team": "a"},
}


def test_summary_from_an_sdk_row() -> None:
    assert summary_from_row(ROW) == ReleaseSummary(
        "web", "apps", 3, "2026-01-02T03:04:05Z", "deployed", "demo-0.1.0", "1.16.0"
    )


def test_get_all_becomes_a_release_record() -> None:
    info = {"first_deployed": "2026-01-01T00:00:00.5Z", "last_deployed": "2026-01-02T03:04:05.9Z"}
    hooks = [{"path": "demo/templates/t.yaml", "manifest": "kind: Pod"}]
    record = record_from_get_all(
        {"summary": {**ROW, "manifest": "kind: X"}, "info": info, "hooks": hooks, "config": {"a": 1}}
    )
    assert record["chart"]["metadata"] == {"name": "demo", "version": "0.1.0", "appVersion": "1.16.0"}
    assert (record["version"], record["manifest"], record["hooks"], record["config"]) == (3, "kind: X", hooks, {"a": 1})


def _install(tmp_path: Path, **extra: Any) -> InstallRequest:
    """The request helm_install makes of these inputs."""
    return install_request(InstallInput(release_name="web", chart=str(tmp_path), **extra))


def test_sdk_install_takes_a_local_chart_with_inline_values(tmp_path: Path) -> None:
    request = sdk_install(
        _install(tmp_path, values={"a": 1}, create_namespace=True, description="d", atomic=True, timeout="90s")
    )
    assert request is not None
    assert (request.chart, request.values, request.timeout_seconds) == (str(tmp_path), {"a": 1}, 90)
    assert request.create_namespace and request.rollback_on_failure and request.description == "d"


@pytest.mark.parametrize(
    "extra",
    [
        {"set": ["a=1"]},
        {"values_files": ["v.yaml"]},
        {"dry_run": "client"},
        {"take_ownership": True},
        {"server_side_apply": False},
        {"version": "1.2.3"},
    ],
)
def test_sdk_install_leaves_the_rest_to_the_cli(tmp_path: Path, extra: dict[str, Any]) -> None:
    assert sdk_install(_install(tmp_path, **extra)) is None


def test_sdk_install_leaves_remote_charts_to_the_cli(tmp_path: Path) -> None:
    assert sdk_install(install_request(InstallInput(release_name="web", chart="bitnami/nginx"))) is None
    assert sdk_install(install_request(InstallInput(release_name="web", chart=str(tmp_path / "missing")))) is None


async def _no_api(target: ClusterTarget) -> KubeApi:
    raise AssertionError("engine selection must not call the cluster")


def _read(path: str, what: str) -> bytes:
    raise AssertionError("engine selection must not read files")


def _service(read: str, write: str = "cli") -> HelmService:
    return HelmService(HelmBinaries(None, None), _no_api, read, write)


@pytest.mark.anyio
async def test_the_sdk_engine_serves_v4_and_leaves_v3_to_storage() -> None:
    service = _service("sdk", "sdk")
    assert isinstance(await service.reader("v4"), SdkReleaseReader)
    assert isinstance(await service.reader("v3"), StorageReleaseReader)
    assert isinstance(await service.writer("v4", _read), SdkReleaseWriter)
    assert service.writes_with_sdk("v4")
    assert not service.writes_with_sdk("v3")
    assert not _service("storage").writes_with_sdk("v4")


@pytest.mark.anyio
async def test_a_missing_sdk_is_one_clear_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sdk_engine, "_sdk", None)
    monkeypatch.setitem(sys.modules, "helm_python", None)  # makes `import helm_python` fail
    for call in (_service("sdk").reader("v4"), _service("storage", "sdk").writer("v4", _read)):
        with pytest.raises(DependencyMissing) as caught:
            await call
        assert "pip install 'kubehelm-mcp[sdk]'" in str(caught.value)
    assert isinstance(await _service("sdk").reader("v3"), StorageReleaseReader)  # v3 never needs it
