"""Install, upgrade, rollback, uninstall and test against a cluster with a real node, for Helm v3
and v4: waiting (with progress notifications), a failed atomic change that leaves nothing behind,
test hooks that pass and fail, and bad input refused in one sentence with nothing changed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from kubehelm_mcp import create_client
from kubehelm_mcp.settings import Settings
from tests.support.cli import run_json
from tests.support.mcp import call_error, call_ok

pytestmark = pytest.mark.anyio

NAMESPACE = "khm-lifecycle"
IMAGE = "127.0.0.1/kubehelm/busybox:1"

CHART = {
    "Chart.yaml": "apiVersion: v2\nname: sleeper\nversion: 1.0.0\nappVersion: '1'\n",
    "values.yaml": "ready: true\nfailTest: false\nreplicas: 1\n",
    "templates/NOTES.txt": "sleeper {{ .Release.Name }} is up\n",
    "templates/deployment.yaml": f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{{{ .Release.Name }}}}
spec:
  replicas: {{{{ .Values.replicas }}}}
  selector: {{matchLabels: {{app: {{{{ .Release.Name }}}}}}}}
  template:
    metadata: {{labels: {{app: {{{{ .Release.Name }}}}}}}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: main
        image: {IMAGE}
        imagePullPolicy: Never
        command: [sleep, "3600"]
        readinessProbe:
          exec: {{command: [{{{{ if .Values.ready }}}}"true"{{{{ else }}}}"false"{{{{ end }}}}]}}
          periodSeconds: 1
""",
    "templates/tests/check.yaml": f"""apiVersion: v1
kind: Pod
metadata:
  name: {{{{ .Release.Name }}}}-check
  annotations:
    helm.sh/hook: test
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 0
  containers:
  - name: check
    image: {IMAGE}
    imagePullPolicy: Never
    command: [sh, -c, "exit {{{{ if .Values.failTest }}}}1{{{{ else }}}}0{{{{ end }}}}"]
""",
}


@pytest.fixture(scope="module")
def sleeper_chart(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("lifecycle") / "sleeper"
    for name, content in CHART.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    return str(root)


@pytest.fixture
async def admin(server_settings: Settings, helm_home: Path, kube_node: Any) -> AsyncIterator[Client]:
    async with create_client(settings=server_settings.replace(allow_destructive=True)) as client:
        yield client


def _release_records(kubectl: Any, name: str) -> list[str]:
    out = kubectl("get", "secrets", "-n", NAMESPACE, "-l", f"owner=helm,name={name}", "-o", "name")
    return str(out).split()


@pytest.mark.parametrize("major", ["v3", "v4"])
async def test_install_waits_with_progress_then_upgrade_test_and_uninstall(
    major: str, admin: Client, sleeper_chart: str, kubectl: Any
) -> None:
    release = {"release_name": f"sleep-{major}", "namespace": NAMESPACE, "helm_version": major}
    updates: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, total, message))

    result = await admin.call_tool(
        "helm_install",
        {**release, "chart": sleeper_chart, "create_namespace": True, "wait": True, "timeout": "90s"},
        progress_callback=on_progress,
    )
    assert not result.is_error, result.content
    installed = result.structured_content or {}
    assert (installed["status"], installed["notes"]) == ("deployed", f"sleeper sleep-{major} is up")
    assert updates and updates[0][1] == 90.0 and "sleep-" in (updates[0][2] or "")
    ready = kubectl("get", "deployment", f"sleep-{major}", "-n", NAMESPACE, "-o", "jsonpath={.status.readyReplicas}")
    assert ready == "1"

    passed = await call_ok(admin, "helm_test", {**release, "timeout": "60s"})
    assert passed["tests"] == [{"name": f"sleep-{major}-check", "phase": "Succeeded"}]

    upgraded = await call_ok(
        admin, "helm_upgrade", {**release, "chart": sleeper_chart, "set": ["failTest=true"], "wait": True}
    )
    assert upgraded["revision"] == 2
    failed = await call_error(admin, "helm_test", {**release, "timeout": "60s"})
    assert f"sleep-{major}-check" in failed and "failed" in failed

    kept = await call_ok(admin, "helm_uninstall", {**release, "keep_history": True, "wait": True})
    assert kept["kept_history"] is True
    status = await call_ok(admin, "helm_status", release)
    assert status["status"] == "uninstalled"
    await call_ok(admin, "helm_uninstall", release)
    assert _release_records(kubectl, f"sleep-{major}") == []


@pytest.mark.parametrize(("major", "option"), [("v3", "atomic"), ("v4", "rollback_on_failure"), ("v4", "atomic")])
async def test_failed_atomic_install_leaves_nothing_behind(
    major: str, option: str, admin: Client, sleeper_chart: str, kubectl: Any, helm_binaries: dict[str, Path]
) -> None:
    name = f"never-{major}-{option.replace('_', '-')}"
    message = await call_error(
        admin,
        "helm_install",
        {
            "release_name": name,
            "namespace": NAMESPACE,
            "helm_version": major,
            "chart": sleeper_chart,
            "create_namespace": True,
            "set": ["ready=false"],
            "wait": True,
            "timeout": "8s",
            option: True,
        },
    )
    assert message.startswith(f"helm install {name}:"), message
    assert "uninstall" in message.lower() or "rollback" in message.lower(), message
    assert _release_records(kubectl, name) == []
    assert kubectl("get", "deployments", "-n", NAMESPACE, "-o", "name").count(f"/{name}") == 0


# take_ownership and hide_secret exist in Helm v3.17 too; server-side apply is v4's alone.
DRY_RUN_OPTIONS = {
    "v3": {"take_ownership": True, "hide_secret": True},
    "v4": {"take_ownership": True, "hide_secret": True, "server_side_apply": False},
}


async def test_dry_run_returns_documents_and_changes_nothing(admin: Client, sleeper_chart: str, kubectl: Any) -> None:
    for major, options in DRY_RUN_OPTIONS.items():
        result = await call_ok(
            admin,
            "helm_install",
            {
                "release_name": "dry",
                "namespace": "default",
                "chart": sleeper_chart,
                "dry_run": "client",
                "helm_version": major,
                **options,
            },
        )
        assert [d["object"]["kind"] for d in result["manifest"]] == ["Deployment"]
        assert result["status"] == "pending-install"
    assert kubectl("get", "secrets", "-n", "default", "-l", "owner=helm,name=dry", "-o", "name") == ""


BAD_INPUT: list[tuple[str, dict[str, Any], str]] = [
    ("helm_install", {"chart": "/nonexistent/chart"}, "not found"),
    ("helm_install", {"version": "not a version!"}, "not a valid version constraint"),
    ("helm_install", {"timeout": "soon"}, "is not a duration"),
    ("helm_install", {"values_files": ["BAD_VALUES"]}, "is not valid YAML (line"),
    ("helm_install", {"values_files": ["/nonexistent/values.yaml"]}, "does not exist"),
    ("helm_install", {"helm_version": "v3", "server_side_apply": True}, "exists only in Helm v4"),
    ("helm_upgrade", {"release_name": "ghost"}, "has no deployed releases"),
    ("helm_rollback", {"release_name": "ghost"}, "not found"),
    ("helm_uninstall", {"release_name": "ghost"}, "not found"),
    ("helm_history", {"release_name": "ghost"}, "not found"),
]


async def test_bad_input_is_one_sentence_and_changes_nothing(
    admin: Client, sleeper_chart: str, kubectl: Any, tmp_path: Path
) -> None:
    bad_values = tmp_path / "bad.yaml"
    bad_values.write_text("a: 1\nb: [unclosed\n")
    for tool, override, expected in BAD_INPUT:
        args: dict[str, Any] = {"release_name": "badinput", "namespace": NAMESPACE, "chart": sleeper_chart}
        if tool in ("helm_rollback", "helm_uninstall", "helm_history"):
            args.pop("chart")
        args.update({k: [str(bad_values)] if v == ["BAD_VALUES"] else v for k, v in override.items()})
        message = await call_error(admin, tool, args)
        assert expected in message, (tool, override, message)
        assert "\n" not in message.strip(), message
    assert _release_records(kubectl, "badinput") == [] and _release_records(kubectl, "ghost") == []


async def test_changes_are_refused_without_allow_destructive(client: Client, sleeper_chart: str) -> None:
    for tool in ("helm_install", "helm_upgrade", "helm_rollback", "helm_uninstall"):
        message = await call_error(client, tool, {"release_name": "x", "chart": sleeper_chart})
        assert "destructive" in message, message


async def test_upgrade_install_creates_the_release(
    admin: Client, sleeper_chart: str, helm_binaries: dict[str, Path], kubeconfig: Path
) -> None:
    release = {"release_name": "upinst", "namespace": NAMESPACE, "helm_version": "v4"}
    created = await call_ok(
        admin,
        "helm_upgrade",
        {**release, "chart": sleeper_chart, "install": True, "create_namespace": True, "values": {"replicas": 0}},
    )
    assert (created["revision"], created["status"]) == (1, "deployed")
    values = run_json(helm_binaries["v3"], "get", "values", "upinst", "-n", NAMESPACE, kubeconfig=kubeconfig)
    assert values == {"replicas": 0}
    await call_ok(admin, "helm_uninstall", release)


FLAGGED_CHART = {
    "Chart.yaml": "apiVersion: v2\nname: flagged\nversion: 1.0.0\n",
    "values.yaml": "replicaCount: 1\n",
    "values.schema.json": '{"type": "object", "properties": {"replicaCount": {"type": "integer"}}}',
    "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cfg\n"
    "data:\n  replicas: {{ .Values.replicaCount | quote }}\n",
    "templates/hook.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-hook\n"
    "  annotations:\n    helm.sh/hook: pre-install,pre-upgrade\ndata: {ran: 'yes'}\n",
    "templates/job.yaml": f"""apiVersion: batch/v1
kind: Job
metadata:
  name: {{{{ .Release.Name }}}}-work-{{{{ .Release.Revision }}}}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 0
      containers:
      - name: work
        image: {IMAGE}
        imagePullPolicy: Never
        command: [sh, -c, "sleep 4"]
""",
}


@pytest.mark.parametrize("major", ["v3", "v4"])
async def test_install_and_upgrade_flags_take_effect(
    major: str, admin: Client, kubectl: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """no_hooks, wait_for_jobs and skip_schema_validation (and labels, force_replace, cascade) reach
    helm, spelled for each major, and do what they say on the cluster."""
    root = tmp_path_factory.mktemp("flagged") / "flagged"
    for name, content in FLAGGED_CHART.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    name = f"flags-{major}"
    release = {"release_name": name, "namespace": NAMESPACE, "helm_version": major}
    change = {**release, "chart": str(root), "set": ["replicaCount=many"], "timeout": "90s"}

    refused = await call_error(admin, "helm_install", {**change, "create_namespace": True})
    assert "- " in refused and "replicaCount" in refused  # the schema line names what to fix

    flags = {"no_hooks": True, "wait_for_jobs": True, "skip_schema_validation": True}
    installed = await call_ok(
        admin, "helm_install", {**change, **flags, "create_namespace": True, "labels": {"team": "blue"}}
    )
    assert installed["status"] == "deployed"
    # wait_for_jobs: the Job had finished when the install returned
    done = kubectl("get", "job", f"{name}-work-1", "-n", NAMESPACE, "-o", "jsonpath={.status.succeeded}")
    assert done == "1"
    # no_hooks: the pre-install hook never ran; skip_schema_validation: the string value went through
    hooks = kubectl("get", "configmap", "-n", NAMESPACE, "-l", "", "-o", "name")
    assert f"configmap/{name}-hook" not in str(hooks)
    data = kubectl("get", "configmap", f"{name}-cfg", "-n", NAMESPACE, "-o", "jsonpath={.data.replicas}")
    assert data == "many"
    listed = await call_ok(admin, "helm_list", {"namespace": NAMESPACE, "selector": "team=blue"})
    assert [r["name"] for r in listed["items"]] == [name]

    replace = {"force_replace": True, "max_history": 5}
    if major == "v4":  # v4 refuses to replace objects under server-side apply
        replace["server_side_apply"] = False
    upgraded = await call_ok(admin, "helm_upgrade", {**change, **flags, **replace})
    assert upgraded["revision"] == 2
    done = kubectl("get", "job", f"{name}-work-2", "-n", NAMESPACE, "-o", "jsonpath={.status.succeeded}")
    assert done == "1"
    assert f"configmap/{name}-hook" not in str(kubectl("get", "configmap", "-n", NAMESPACE, "-o", "name"))

    if major == "v3":
        refused = await call_error(admin, "helm_rollback", {**release, "server_side_apply": True})
        assert "only in Helm v4" in refused
    await call_ok(admin, "helm_rollback", {**release, "revision": 1, "no_hooks": True, "wait_for_jobs": True})
    gone = await call_ok(admin, "helm_uninstall", {**release, "cascade": "foreground", "wait": True})
    assert gone["kept_history"] is False
    again = await call_ok(admin, "helm_uninstall", {**release, "ignore_not_found": True})
    assert again["release_name"] == name
