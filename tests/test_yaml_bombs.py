"""YAML the server did not write is read with bounded memory: a billion-laughs kubeconfig,
Chart.yaml or repository index.yaml is refused with one clear sentence, and the server keeps
answering. The kubeconfig goes through the project's bounded loader on both paths: the server's
own reading and kubernetes-asyncio's (which would use yaml.safe_load)."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes_asyncio.client import Configuration
from mcp import Client

from kubehelm_mcp import create_client
from kubehelm_mcp.errors import InvalidInput
from kubehelm_mcp.kube.config_loader import load_kubeconfig
from kubehelm_mcp.kube.kubeconfig import read_kubeconfig
from tests.support.helm_servers import QuietFiles, local_settings
from tests.support.loopback import LocalHttpServer
from tests.support.mcp import call_error, call_ok

pytestmark = pytest.mark.anyio
pytest_plugins = ["tests.support.helm_fixtures"]  # helm_home

# nine levels of nine aliases: 9**9 (387 million) strings once expanded
BILLION_LAUGHS = 'lol0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"lol{i + 1}: &a{i + 1} [{','.join([f'*a{i}'] * 9)}]\n" for i in range(8)
)
EXPANDS = "is refused because its aliases expand to more than 100000 nodes."


@pytest.fixture
def bomb_kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text("apiVersion: v1\nkind: Config\ncurrent-context: x\n" + BILLION_LAUGHS)
    return path


async def test_a_bomb_kubeconfig_is_refused(
    bomb_kubeconfig: Path, helm_binaries: dict[str, Path], helm_home: Path
) -> None:
    settings = local_settings(helm_binaries, kubeconfig=str(bomb_kubeconfig))
    async with create_client(settings=settings) as client:
        for tool, args in (("k8s_list_contexts", {}), ("k8s_list_resources", {"kind": "pods"}), ("helm_list", {})):
            message = await call_error(client, tool, args)
            assert message == f"Kubeconfig file {bomb_kubeconfig} {EXPANDS}", (tool, message)
        await call_ok(client, "helm_env")  # still serving


async def test_kubernetes_asyncio_reads_through_the_bounded_loader(bomb_kubeconfig: Path, kubeconfig: Path) -> None:
    with pytest.raises(InvalidInput, match=EXPANDS):
        await load_kubeconfig((str(kubeconfig), str(bomb_kubeconfig)), "default", Configuration())
    configuration = Configuration()  # the real cluster's kubeconfig still loads
    context = read_kubeconfig((str(kubeconfig),)).current_context or ""
    await load_kubeconfig((str(kubeconfig),), context, configuration)
    assert str(configuration.host).startswith("https://127.0.0.1:")


async def test_a_bomb_chart_yaml_is_refused(helm_binaries: dict[str, Path], helm_home: Path, tmp_path: Path) -> None:
    chart = tmp_path / "bomb"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: bomb\nversion: 0.1.0\n" + BILLION_LAUGHS)
    async with create_client(settings=local_settings(helm_binaries, allowed_paths=(str(tmp_path),))) as client:
        message = await call_error(client, "helm_package", {"path": str(chart), "destination": str(tmp_path)})
        assert message == f"File {chart / 'Chart.yaml'} {EXPANDS}"
        for major in ("v3", "v4"):  # helm reads it first here, and refuses it itself
            v = {"helm_version": major}
            message = await call_error(client, "helm_show_chart", {**v, "chart": str(chart)})
            assert "excessive aliasing" in message, message
            linted = await call_ok(client, "helm_lint", {**v, "paths": [str(chart)]})
            assert not linted["passed"] and "excessive aliasing" in str(linted["charts"]), linted
        await call_ok(client, "helm_env")


async def test_a_bomb_index_yaml_is_refused(helm_binaries: dict[str, Path], helm_home: Path, tmp_path: Path) -> None:
    served = tmp_path / "repo"
    served.mkdir()
    (served / "index.yaml").write_text("apiVersion: v1\nentries: {}\n" + BILLION_LAUGHS)
    repo = LocalHttpServer(QuietFiles.serving(served))
    try:
        async with create_client(settings=local_settings(helm_binaries, allowed_paths=(str(tmp_path),))) as client:
            for major in ("v3", "v4"):
                v = {"helm_version": major}
                message = await call_error(client, "helm_repo_add", {**v, "name": "bomb", "url": repo.url})
                assert message.endswith("yaml: document contains excessive aliasing."), message
                message = await call_error(
                    client, "helm_repo_index", {**v, "directory": str(served), "merge": str(served / "index.yaml")}
                )
                assert "excessive aliasing" in message, message
            await call_ok(client, "helm_env")
    finally:
        repo.close()


NOT_JSON = {
    "!!binary": ("data: {blob: !!binary aGVsbG8=}", "uses the YAML tag !!binary, which has no JSON form"),
    "!!set": ("data: !!set {a, b}", "uses the YAML tag !!set, which has no JSON form"),
    "!!omap": ("data: !!omap [{a: '1'}]", "uses the YAML tag !!omap, which has no JSON form"),
    "5000 digits": ("data: {n: " + "9" * 5000 + "}", "holds an integer of 5000 digits (at most 40)"),
    ".inf": ("data: {n: .inf}", "holds the number .inf, which has no JSON form"),
}


@pytest.mark.parametrize("case", sorted(NOT_JSON))
async def test_values_without_a_json_form_are_refused_by_name(client: Client, case: str) -> None:
    """Kubernetes objects are JSON: YAML-only values get one sentence naming them, not "Internal error"."""
    body, reason = NOT_JSON[case]
    manifest = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: not-json, namespace: default}}\n{body}\n"
    for tool, extra in (("k8s_apply_resource", {"dry_run": True}), ("k8s_diff_resource", {})):
        message = await call_error(client, tool, {"manifest": manifest, **extra})
        assert message == f"The manifest is refused because it {reason}.", (tool, message)
    await call_ok(client, "k8s_list_resources", {"kind": "configmaps", "namespace": "default"})  # still serving
