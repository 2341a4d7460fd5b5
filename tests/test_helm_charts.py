"""The chart tools on the server's filesystem, for Helm v3 and v4: create, lint, show, template
(paged by document), package (signed, then verified with a throwaway GPG key), dependencies, env."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from kubehelm_mcp import create_client
from kubehelm_mcp.helm.binaries import HelmBinary
from kubehelm_mcp.helm.cli import HelmCli
from kubehelm_mcp.helm.cli_writes import CliHelmCommands
from kubehelm_mcp.helm.manifests import split_manifest
from kubehelm_mcp.helm.requests import ChartSource, TemplateRequest
from kubehelm_mcp.helm.sdk_charts import SdkHelmCommands
from kubehelm_mcp.helm.values import ValueSources
from kubehelm_mcp.settings import Settings
from tests.support.mcp import call_error, call_ok

pytestmark = pytest.mark.anyio

MAJORS = ("v3", "v4")
GPG = "/usr/bin/gpg"
SIGNER = "KubeHelm Test <signer@example.invalid>"


@pytest.fixture
async def small(server_settings: Settings, helm_home: Path) -> AsyncIterator[Client]:
    """A server with a small response budget, so renders are paged."""
    async with create_client(settings=server_settings.replace(max_response_bytes=4096)) as client:
        yield client


@pytest.fixture
async def local(server_settings: Settings, helm_home: Path) -> AsyncIterator[Client]:
    async with create_client(settings=server_settings) as client:
        yield client


@pytest.mark.parametrize("major", MAJORS)
async def test_create_show_lint_and_package(major: str, local: Client, tmp_path: Path) -> None:
    chart = str(tmp_path / "web")
    await call_ok(local, "helm_create", {"name": chart, "helm_version": major})
    args = {"chart": chart, "helm_version": major}

    meta = await call_ok(local, "helm_show_chart", args)
    assert (meta["metadata"]["name"], meta["metadata"]["version"]) == ("web", "0.1.0")
    values = await call_ok(local, "helm_show_values", args)
    assert "replicaCount: 1" in values["content"]
    everything = await call_ok(local, "helm_show_all", args)
    assert "replicaCount: 1" in everything["content"] and "name: web" in everything["content"]
    await call_ok(local, "helm_show_readme", args)
    assert (await call_ok(local, "helm_show_crds", args)).get("items", []) == []
    missing = await call_error(local, "helm_show_chart", {"chart": str(tmp_path / "nope"), "helm_version": major})
    assert "not found" in missing

    lint = await call_ok(local, "helm_lint", {"paths": [chart], "helm_version": major, "strict": True})
    assert lint["passed"] is True and lint["summary"] == "1 chart(s) linted, 0 chart(s) failed"
    (tmp_path / "web" / "templates" / "broken.yaml").write_text('{{ include "no.such.template" . }}\n')
    broken = await call_ok(local, "helm_lint", {"paths": [chart], "helm_version": major})
    assert broken["passed"] is False and broken["summary"].endswith("1 chart(s) failed")
    errors = [m for m in broken["charts"][0]["messages"] if m["severity"] == "ERROR"]
    assert errors and "no.such.template" in errors[0]["message"]
    (tmp_path / "web" / "templates" / "broken.yaml").unlink()

    packaged = await call_ok(local, "helm_package", {"path": chart, "version": "2.0.0", "helm_version": major})
    assert packaged["path"] == str(tmp_path / "web-2.0.0.tgz") and "provenance" not in packaged
    again = await call_error(local, "helm_package", {"path": chart, "version": "2.0.0", "helm_version": major})
    assert "already exists" in again
    shown = await call_ok(local, "helm_show_chart", {"chart": packaged["path"], "helm_version": major})
    assert shown["metadata"]["version"] == "2.0.0"


@pytest.mark.parametrize("major", MAJORS)
async def test_template_is_paged_by_document(major: str, small: Client, local: Client, tmp_path: Path) -> None:
    chart = str(tmp_path / "big")
    await call_ok(local, "helm_create", {"name": chart, "helm_version": major})
    args = {"release_name": "big", "chart": chart, "namespace": "apps", "helm_version": major}
    full = await call_ok(local, "helm_template", {**args, "set": ["replicaCount=4"]})
    assert full["items"][0]["object"]["metadata"]["name"] == "big"
    assert "continue_token" not in full

    pages: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = await call_ok(small, "helm_template", {**args, "set": ["replicaCount=4"], "continue_token": token})
        pages.extend(page["items"])
        token = page.get("continue_token")
        if not token:
            break
    assert pages == full["items"] and len(pages) > 1
    only = await call_ok(local, "helm_template", {**args, "show_only": ["templates/service.yaml"]})
    assert [d["object"]["kind"] for d in only["items"]] == ["Service"]
    assert only["items"][0]["source"] == "big/templates/service.yaml"
    bad = await call_error(local, "helm_template", {**args, "version": ">=1.0 <<2"})
    assert "not a valid version constraint" in bad


@pytest.fixture
def signing_keys(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A throwaway GPG key, exported as the legacy keyrings helm reads."""
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    quiet = ["--batch", "--pinentry-mode", "loopback", "--passphrase", ""]

    def gpg(*args: str) -> bytes:
        return subprocess.run([GPG, *quiet, *args], env=env, check=True, capture_output=True, timeout=60).stdout

    try:
        gpg("--quick-gen-key", SIGNER, "rsa2048", "sign", "never")
        secring, pubring = tmp_path / "secring.gpg", tmp_path / "pubring.gpg"
        secring.write_bytes(gpg("--export-secret-keys"))
        pubring.write_bytes(gpg("--export"))
        yield {"secret": str(secring), "public": str(pubring)}
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False, capture_output=True)


@pytest.mark.parametrize("major", MAJORS)
async def test_signed_package_verifies_and_tampering_fails(
    major: str, local: Client, tmp_path: Path, signing_keys: dict[str, str]
) -> None:
    chart = str(tmp_path / "signed")
    await call_ok(local, "helm_create", {"name": chart, "helm_version": major})
    dest = tmp_path / "dist"
    dest.mkdir()
    packaged = await call_ok(
        local,
        "helm_package",
        {
            "path": chart,
            "destination": str(dest),
            "sign": True,
            "key": "KubeHelm Test",
            "keyring": signing_keys["secret"],
            "helm_version": major,
        },
    )
    assert packaged["provenance"] == packaged["path"] + ".prov"
    verified = await call_ok(
        local, "helm_verify", {"chart_file": packaged["path"], "keyring": signing_keys["public"], "helm_version": major}
    )
    assert verified["verified"] is True and verified["signed_by"] == SIGNER
    assert verified["chart_hash"].startswith("sha256:")

    tampered_dir = tmp_path / "tampered"
    tampered_dir.mkdir()
    tampered = tampered_dir / Path(packaged["path"]).name
    shutil.copy(packaged["path"], tampered)
    shutil.copy(packaged["provenance"], str(tampered) + ".prov")
    with tampered.open("ab") as archive:
        archive.write(b"tampered")
    failed = await call_error(
        local, "helm_verify", {"chart_file": str(tampered), "keyring": signing_keys["public"], "helm_version": major}
    )
    assert failed.startswith("helm verify:") and "sha256" in failed.lower()


@pytest.mark.parametrize("major", MAJORS)
async def test_dependencies_from_a_local_repository(major: str, local: Client, tmp_path: Path) -> None:
    for name in ("sub", "parent"):
        await call_ok(local, "helm_create", {"name": str(tmp_path / name), "helm_version": major})
    with (tmp_path / "parent" / "Chart.yaml").open("a") as chart_yaml:
        chart_yaml.write("dependencies:\n- name: sub\n  version: 0.1.0\n  repository: file://../sub\n")
    args = {"chart_path": str(tmp_path / "parent"), "helm_version": major}

    listed = await call_ok(local, "helm_dependency_list", args)
    assert listed["dependencies"] == [
        {"name": "sub", "version": "0.1.0", "repository": "file://../sub", "status": "missing"}
    ]
    updated = await call_ok(local, "helm_dependency_update", {**args, "skip_refresh": True})
    assert updated["charts"] == ["sub-0.1.0.tgz"] and (tmp_path / "parent" / "Chart.lock").is_file()
    (tmp_path / "parent" / "charts" / "sub-0.1.0.tgz").unlink()
    built = await call_ok(local, "helm_dependency_build", {**args, "skip_refresh": True})
    assert built["charts"] == ["sub-0.1.0.tgz"]
    listed = await call_ok(local, "helm_dependency_list", args)
    assert listed["dependencies"][0]["status"] == "ok"
    missing = await call_error(local, "helm_dependency_list", {**args, "chart_path": str(tmp_path / "none")})
    assert "does not exist" in missing


async def test_env_shows_the_isolated_helm_home(local: Client, helm_home: Path) -> None:
    for major in MAJORS:
        env = (await call_ok(local, "helm_env", {"helm_version": major}))["env"]
        assert env["HELM_CONFIG_HOME"] == os.environ["HELM_CONFIG_HOME"]
        assert env["HELM_BIN"].endswith(f"helm-{major}")


READ_ONLY_TOOLS = {
    "helm_history",
    "helm_get_all",
    "helm_get_hooks",
    "helm_get_manifest",
    "helm_get_metadata",
    "helm_get_notes",
    "helm_get_values",
    "helm_lint",
    "helm_template",
    "helm_verify",
    "helm_show_all",
    "helm_show_chart",
    "helm_show_crds",
    "helm_show_readme",
    "helm_show_values",
    "helm_dependency_list",
    "helm_env",
}
DESTRUCTIVE_TOOLS = {"helm_install", "helm_upgrade", "helm_rollback", "helm_uninstall"}
WRITING_TOOLS = {"helm_create", "helm_package", "helm_dependency_update", "helm_dependency_build", "helm_test"}


async def test_annotations_match_behaviour(local: Client) -> None:
    tools = {t.name: t for t in (await local.list_tools()).tools}
    for name in READ_ONLY_TOOLS | DESTRUCTIVE_TOOLS | WRITING_TOOLS:
        hints = tools[name].annotations
        assert hints is not None, name
        assert hints.read_only_hint is (name in READ_ONLY_TOOLS), name
        assert bool(hints.destructive_hint) is (name in DESTRUCTIVE_TOOLS), name
        assert len(tools[name].description or "") <= 100, name


RICH_CHART = {
    "Chart.yaml": "apiVersion: v2\nname: rich\nversion: 1.2.3\nappVersion: '9'\n",
    "values.yaml": "replicas: 1\nlabels: {team: a}\nlist: [1, 2]\n",
    "templates/_helpers.tpl": '{{- define "rich.name" -}}{{ .Release.Name }}-rich{{- end -}}\n',
    "templates/NOTES.txt": "notes for {{ .Release.Name }}\n",
    "templates/all.yaml": """---
apiVersion: v1
kind: Service
metadata: {name: {{ include "rich.name" . }}}
spec: {ports: [{port: 80}]}
---
# only a comment
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
  annotations: {helm.sh/hook: post-install, helm.sh/hook-weight: "2"}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-cfg
  namespace: {{ .Release.Namespace }}
  labels: {{ toYaml .Values.labels | nindent 4 }}
data: {replicas: {{ .Values.replicas | quote }}, list: {{ .Values.list | toJson | quote }}}
---
apiVersion: v1
kind: Secret
metadata:
  name: odd
  annotations: {helm.sh/hook: not-a-hook}
""",
    "templates/hooks.yaml": """apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-pre
  annotations: {helm.sh/hook: "pre-install,pre-upgrade"}
spec: {template: {spec: {restartPolicy: Never, containers: [{name: x, image: y}]}}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-post
  annotations: {helm.sh/hook: post-install}
---
apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-test
  annotations: {helm.sh/hook: test}
spec: {containers: [{name: t, image: y}]}
""",
    "templates/empty.yaml": "{{- if .Values.never }}\nkind: Nothing\n{{- end }}\n",
    # capabilities and release fields, in a plain document and in a hook (rendered by another SDK call)
    "templates/caps.yaml": "".join(
        f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caps-{i}\n  annotations: {{{note}}}\ndata:\n"
        "  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n"
        '  apps: {{ .Capabilities.APIVersions.Has "apps/v1" | quote }}\n'
        '  release: {{ printf "%s %d %t" .Release.Service .Release.Revision .Release.IsInstall | quote }}\n'
        for i, note in enumerate(("a: b", "helm.sh/hook: post-install"))
    ),
    "README.md": "# Rich\nA chart with everything.\n",
    "crds/widget.yaml": "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
    "metadata:\n  name: widgets.example.com\n",
    "charts/sub/Chart.yaml": "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
    "charts/sub/values.yaml": "port: 8080\n",
    "charts/sub/templates/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: sub}\n"
    "spec: {ports: [{port: {{ .Values.port }}}]}\n",
    "charts/sub/templates/hook.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sub-hook\n"
    "  annotations: {helm.sh/hook: pre-install}\n",
}


async def test_in_process_render_matches_the_helm_cli(helm_binaries: dict[str, Path], tmp_path: Path) -> None:
    """helm_template and helm_show_* for v4 run through the Helm SDK in-process; for the same chart,
    values and options they yield the same documents, in the same order (the same text for show),
    as the helm v4 binary."""

    def read(path: str, what: str) -> bytes:
        return Path(path).read_bytes()

    root = tmp_path / "rich"
    for name, content in RICH_CHART.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    values_file = tmp_path / "more.yaml"
    values_file.write_text("labels: {tier: web}\nsub: {port: 9090}\nlist: [3]\n")
    created = tmp_path / "created"
    cli = HelmCli(HelmBinary(str(helm_binaries["v4"]), "v4"))
    engines = (CliHelmCommands(cli, "v4", read), SdkHelmCommands(cli, "v4", read))
    await engines[0].create(str(created), None)
    values = ValueSources(values={"replicas": 3, "labels": {"team": "b"}}, values_files=[str(values_file)])
    cases: list[tuple[str, dict[str, Any]]] = [
        (str(root), {}),
        (str(root), {"values": values, "namespace": "apps"}),
        (str(root), {"no_hooks": True, "namespace": "apps"}),
        (str(root), {"skip_tests": True, "namespace": "apps"}),
        (str(created), {"namespace": "apps"}),
    ]
    for chart, options in cases:
        request = TemplateRequest("demo", ChartSource(chart), **options)
        texts = [await engine.template(request) for engine in engines]
        by_cli, in_process = [split_manifest(text) for text in texts]
        assert in_process == by_cli, (chart, options)
        assert by_cli, (chart, options)
        if chart == str(created):  # rendered once and sorted here (helm/sorting.py): the CLI's very text
            assert texts[1] == texts[0], options
    for what in ("all", "chart", "values", "readme", "crds"):
        by_cli_text, in_process_text = [await engine.show(what, ChartSource(str(root))) for engine in engines]
        assert in_process_text == by_cli_text and by_cli_text, what
    full = split_manifest(await engines[1].template(TemplateRequest("demo", ChartSource(str(root)))))
    kinds = [d["object"]["kind"] for d in full]
    # plain documents first (sorted by kind), then the hooks sorted by kind, an unknown kind last
    assert kinds[-6:] == ["ServiceAccount", "ConfigMap", "ConfigMap", "Pod", "Job", "Widget"], kinds
    assert "Secret" not in kinds  # an unknown hook type: helm drops the document
