"""The cross-engine scenario: one chart's whole life through the MCP tools, for Helm v3 and v4,
with every release read answered by every read engine (in-process storage, the helm CLI and the
Helm Go SDK) and by both Helm majors, which must agree with each other and with the helm binaries."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, get_args

import pytest
from mcp import Client

from kubehelm_mcp import create_client
from kubehelm_mcp.helm.manifests import split_manifest
from kubehelm_mcp.helm.models import normalize_time
from kubehelm_mcp.settings import HelmReadEngine, Settings
from tests.support.cli import run, run_json
from tests.support.mcp import call_error, call_ok, text_of

pytestmark = pytest.mark.anyio

ENGINES: tuple[str, ...] = get_args(HelmReadEngine)  # every engine; a missing SDK fails, never skips
MAJORS = ("v3", "v4")
# (major, write engine): the SDK writes Helm v4 only; the scenario's install and uninstall are ones it can carry out.
WRITES = (("v3", "cli"), ("v4", "cli"), ("v4", "sdk"))
PASSWORD = "s3cret-scenario-pw"
# The test node runs only the preloaded busybox image, never pulled.
DEPLOYMENT_TEMPLATE = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
spec:
  replicas: {{ .Values.replicaCount }}
  selector: {matchLabels: {app: {{ .Release.Name }}-web}}
  template:
    metadata: {labels: {app: {{ .Release.Name }}-web}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: main
        image: 127.0.0.1/kubehelm/busybox:1
        imagePullPolicy: Never
        command: [sleep, "3600"]
"""
SECRET_TEMPLATE = """apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-auth
stringData:
  password: {{ .Values.auth.password | quote }}
"""


@pytest.fixture
async def clients(server_settings: Settings, helm_home: Path, write_engine: str) -> AsyncIterator[dict[str, Client]]:
    """One client per read engine, writing with `write_engine`, on a server that permits destructive tools."""
    async with AsyncExitStack() as stack:
        yield {
            engine: await stack.enter_async_context(
                create_client(
                    settings=server_settings.replace(
                        helm_read_engine=engine, helm_write_engine=write_engine, allow_destructive=True
                    )
                )
            )
            for engine in ENGINES
        }


async def _reads(client: Client, major: str, release: dict[str, Any]) -> dict[str, Any]:
    """Every release read, through one engine and one Helm major."""
    args = {**release, "helm_version": major}
    return {
        "status": await call_ok(client, "helm_status", args),
        "history": await call_ok(client, "helm_history", args),
        "values": await call_ok(client, "helm_get_values", args),
        "values_r2": await call_ok(client, "helm_get_values", {**args, "revision": 2}),
        "values_all": await call_ok(client, "helm_get_values", {**args, "all": True}),
        "manifest": await call_ok(client, "helm_get_manifest", args),
        "manifest_r2": await call_ok(client, "helm_get_manifest", {**args, "revision": 2}),
        "notes": await call_ok(client, "helm_get_notes", args),
        "hooks": await call_ok(client, "helm_get_hooks", args),
        "metadata": await call_ok(client, "helm_get_metadata", args),
        "all": await call_ok(client, "helm_get_all", args),
    }


async def _author_chart(client: Client, major: str, tmp_path: Path) -> tuple[str, str]:
    """create -> lint -> template -> package, returning the chart directory and its archive."""
    chart_dir = tmp_path / f"scn-{major}"
    created = await call_ok(client, "helm_create", {"name": str(chart_dir), "helm_version": major})
    assert Path(created["path"]) == chart_dir.resolve()
    (chart_dir / "templates" / "secret.yaml").write_text(SECRET_TEMPLATE)
    (chart_dir / "templates" / "deployment.yaml").write_text(DEPLOYMENT_TEMPLATE)
    with (chart_dir / "values.yaml").open("a") as values:
        values.write("auth:\n  password: chart-default\n")
    again = await call_error(client, "helm_create", {"name": str(chart_dir), "helm_version": major})
    assert "already exists" in again

    lint = await call_ok(client, "helm_lint", {"paths": [str(chart_dir)], "helm_version": major})
    assert lint["passed"] is True and lint["charts"][0]["path"].endswith(f"scn-{major}")

    rendered = await call_ok(
        client,
        "helm_template",
        {"release_name": "preview", "chart": str(chart_dir), "helm_version": major, "values": {"replicaCount": 3}},
    )
    kinds = {d["object"]["kind"]: d for d in rendered["items"]}
    assert {"Deployment", "Service", "ServiceAccount", "Secret", "Pod"} <= set(kinds)
    assert kinds["Deployment"]["object"]["spec"]["replicas"] == 3
    assert kinds["Secret"]["object"]["stringData"] == {"password": "[REDACTED]"}  # sanitised by the pipeline

    packaged = await call_ok(client, "helm_package", {"path": str(chart_dir), "helm_version": major})
    assert packaged["path"].endswith(f"scn-{major}-0.1.0.tgz") and Path(packaged["path"]).is_file()
    return str(chart_dir), packaged["path"]


@pytest.mark.parametrize(("major", "write_engine"), WRITES)
async def test_release_lifecycle_through_every_engine(
    major: str,
    write_engine: str,
    clients: dict[str, Client],
    helm_binaries: dict[str, Path],
    kubeconfig: Path,
    tmp_path: Path,
) -> None:
    writer = clients["storage"]
    namespace = f"khm-scenario-{major}-{write_engine}"
    release = {"release_name": f"scn-{major}-{write_engine}", "namespace": namespace}
    chart_dir, archive = await _author_chart(writer, major, tmp_path)

    install = {
        **release,
        "chart": archive,
        "helm_version": major,
        "create_namespace": True,
        "values": {"auth": {"password": PASSWORD}, "replicaCount": 1},
        "description": "first install",
    }
    installed = await call_ok(writer, "helm_install", install)
    assert (installed["revision"], installed["status"], installed["chart"]) == (1, "deployed", f"scn-{major}-0.1.0")
    assert installed["description"] == "first install"
    if major == "v4":  # which engine installed: the SDK installs with client-side apply, helm v4 server-side
        where = [release["release_name"], "--namespace", namespace]
        meta = run_json(helm_binaries["v4"], "get", "metadata", *where, kubeconfig=kubeconfig)
        assert meta["applyMethod"] == ("csa" if write_engine == "sdk" else "ssa")
    assert "port-forward" in installed["notes"]
    assert "still in use" in await call_error(writer, "helm_install", install)

    upgraded = await call_ok(
        writer,
        "helm_upgrade",
        {**release, "chart": chart_dir, "helm_version": major, "set": ["replicaCount=2"], "reuse_values": True},
    )
    assert (upgraded["revision"], upgraded["status"]) == (2, "deployed")
    rolled = await call_ok(writer, "helm_rollback", {**release, "revision": 1, "helm_version": major})
    assert (rolled["revision"], rolled["status"]) == (3, "deployed")

    # Every engine x every major reads the same release the same way.
    reads = {
        (engine, reader): await _reads(clients[engine], reader, release)
        for engine, reader in itertools.product(ENGINES, MAJORS)
    }
    first = reads[("storage", major)]
    for key, got in reads.items():
        assert got == first, f"{key} disagrees with storage/{major}"

    assert [r["status"] for r in first["history"]["items"]] == ["superseded", "superseded", "deployed"]
    assert first["history"]["items"][2]["description"] == "Rollback to 1"
    assert first["values"]["values"] == {"auth": {"password": "[REDACTED]"}, "replicaCount": 1}
    assert first["values_r2"]["values"] == {"auth": {"password": "[REDACTED]"}, "replicaCount": 2}
    assert first["values_all"]["values"]["image"]["repository"] == "nginx"
    assert first["values_all"]["values"]["auth"] == {"password": "[REDACTED]"}
    secret = next(d for d in first["manifest"]["items"] if d["object"]["kind"] == "Secret")
    assert secret["object"]["stringData"] == {"password": "[REDACTED]"}
    deployment = next(d for d in first["manifest_r2"]["items"] if d["object"]["kind"] == "Deployment")
    assert deployment["object"]["spec"]["replicas"] == 2
    assert deployment["source"] == f"scn-{major}/templates/deployment.yaml"
    assert [d["object"]["kind"] for d in first["hooks"]["items"]] == ["Pod"]
    assert first["metadata"]["metadata"] == {
        "name": release["release_name"],
        "chart": f"scn-{major}",
        "version": "0.1.0",
        "app_version": "1.16.0",
        "namespace": namespace,
        "revision": 3,
        "status": "deployed",
        "deployed_at": first["status"]["last_deployed"],
        "annotations": {},
        "dependencies": [],
        "labels": {},
    }
    assert first["all"]["metadata"] == first["metadata"]["metadata"]
    assert first["all"]["items"] == first["manifest"]["items"]

    # The helm binaries themselves (both majors) read what this major wrote, and agree with the tools.
    for cli_major, helm in helm_binaries.items():
        where = [release["release_name"], "--namespace", namespace]
        values = run_json(helm, "get", "values", *where, kubeconfig=kubeconfig)
        assert values == {"auth": {"password": PASSWORD}, "replicaCount": 1}, cli_major
        history = run_json(helm, "history", *where, kubeconfig=kubeconfig)
        assert [(h["revision"], h["status"], normalize_time(h["updated"])) for h in history] == [
            (r["revision"], r["status"], r["updated"]) for r in first["history"]["items"]
        ]
        manifest = split_manifest(run(helm, "get", "manifest", *where, kubeconfig=kubeconfig))
        assert [d["source"] for d in manifest] == [d["source"] for d in first["manifest"]["items"]]
        notes = run(helm, "get", "notes", *where, kubeconfig=kubeconfig)
        assert first["notes"]["notes"] in notes

    text = text_of(await clients["cli"].call_tool("helm_get_all", {**release, "helm_version": major}))
    assert PASSWORD not in text and "MANIFEST:" in text

    uninstalled = await call_ok(writer, "helm_uninstall", {**release, "helm_version": major})
    assert uninstalled["kept_history"] is False
    assert uninstalled["message"] == f'release "{release["release_name"]}" uninstalled'
    assert "not found" in await call_error(writer, "helm_uninstall", {**release, "helm_version": major})
    for engine in ENGINES:
        missing = await call_error(clients[engine], "helm_get_values", {**release, "helm_version": major})
        assert "not found" in missing
    assert run_json(helm_binaries[major], "list", "--namespace", namespace, kubeconfig=kubeconfig) == []
