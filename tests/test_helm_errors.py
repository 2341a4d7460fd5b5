"""Helm failures and lint results carry every line that tells the user what to fix, in order, for
Helm v3 and v4 through a real MCP client: schema violations, missing CRDs, failing hooks (with the
hook, its pod's state and last log lines), several failing objects, and lint warnings helm logs."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from kubehelm_mcp import create_client
from kubehelm_mcp.settings import Settings
from tests.support.mcp import TRACEBACK_MARKERS, text_of

pytestmark = pytest.mark.anyio

MAJORS = ("v3", "v4")
NAMESPACE = "khm-errors"
IMAGE = "127.0.0.1/kubehelm/busybox:1"

SCHEMA_CHART = {
    "Chart.yaml": "apiVersion: v2\nname: typed\nversion: 0.1.0\n",
    "values.yaml": "replicaCount: 1\nname: x\n",
    "values.schema.json": '{"type": "object", "properties": {"replicaCount": {"type": "integer"},'
    ' "name": {"type": "string"}}}',
    "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"
    'data:\n  r: {{ .Values.replicaCount | quote }}\n  req: {{ required "missing required values: foo"'
    " .Values.foo | quote }}\n",
}
CRD_CHART = {
    "Chart.yaml": "apiVersion: v2\nname: widgets\nversion: 0.1.0\n",
    "templates/w.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n---\n"
    "apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g\n",
}
BAD_OBJECTS = 6  # each refusal is a ~350-character line: together past the old 2000-character error bound
MULTI_CHART = {
    "Chart.yaml": "apiVersion: v2\nname: multi\nversion: 0.1.0\n",
    "templates/bad.yaml": "".join(
        f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name_{i}\ndata: {{a: b}}\n"
        for i in range(BAD_OBJECTS)
    ),
}


def _hook_chart(command: str) -> dict[str, str]:
    job = f"""apiVersion: batch/v1
kind: Job
metadata:
  name: {{{{ .Release.Name }}}}-migrate
  annotations:
    helm.sh/hook: post-install
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 0
      containers:
      - name: migrate
        image: {IMAGE}
        imagePullPolicy: Never
        command: [sh, -c, "{command}"]
"""
    return {"Chart.yaml": "apiVersion: v2\nname: hooked\nversion: 0.1.0\n", "templates/job.yaml": job}


def write_chart(root: Path, files: dict[str, str]) -> str:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    return str(root)


@pytest.fixture
async def admin(server_settings: Settings, helm_home: Path, kube_node: Any) -> AsyncIterator[Client]:
    async with create_client(settings=server_settings.replace(allow_destructive=True)) as client:
        yield client


async def failure(client: Client, name: str, arguments: dict[str, Any]) -> str:
    """The error text of a call that must fail cleanly (no traceback), whatever its length."""
    result = await client.call_tool(name, arguments)
    message = text_of(result)
    assert result.is_error, f"{name} should have failed but returned: {message[:300]}"
    assert not any(marker in message for marker in TRACEBACK_MARKERS), message
    return message


def helm_lines(binary: Path, *args: str) -> list[str]:
    """What the helm binary itself prints after 'Error:' for the same command: the lines we must keep."""
    err = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=60).stderr
    lines = [line.strip() for line in err.splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if line.startswith("Error:"))
    return [lines[start].removeprefix("Error:").strip(), *lines[start + 1 :]]


@pytest.mark.parametrize("major", MAJORS)
async def test_schema_violations_keep_every_line(
    major: str, admin: Client, helm_binaries: dict[str, Path], tmp_path: Path
) -> None:
    chart = write_chart(tmp_path / "typed", SCHEMA_CHART)
    args = {"release_name": "typed", "chart": chart, "helm_version": major, "namespace": NAMESPACE}
    bad = {**args, "values": {"replicaCount": "abc", "name": 1, "foo": "x"}}
    rendered = await failure(admin, "helm_template", bad)
    installed = await failure(admin, "helm_install", {**bad, "create_namespace": True})
    expected = helm_lines(helm_binaries[major], "template", "typed", chart, "--set", "replicaCount=abc,name=1,foo=x")
    violations = [line for line in expected if line.startswith("- ")]
    assert len(violations) == 2, expected
    if major == "v4":
        assert "- at '/replicaCount': got string, want integer" in violations
    for message in (rendered, installed):
        lines = message.splitlines()
        assert "values don't meet the specifications of the schema(s)" in lines[0]
        assert sorted(line for line in lines if line.startswith("- ")) == sorted(violations), message
        assert "typed:" in lines  # the chart the violations belong to


@pytest.mark.parametrize("major", MAJORS)
async def test_missing_crds_and_every_failing_object_are_named(major: str, admin: Client, tmp_path: Path) -> None:
    base = {"helm_version": major, "namespace": NAMESPACE, "create_namespace": True}
    crds = write_chart(tmp_path / "widgets", CRD_CHART)
    message = await failure(admin, "helm_install", {**base, "release_name": f"widgets-{major}", "chart": crds})
    assert message.count("ensure CRDs are installed first") == 2, message
    assert 'kind "Widget"' in message and 'kind "Gadget"' in message

    multi = write_chart(tmp_path / "multi", MULTI_CHART)
    message = await failure(admin, "helm_install", {**base, "release_name": f"multi-{major}", "chart": multi})
    assert all(f'"Bad_Name_{i}"' in message for i in range(BAD_OBJECTS)), message
    assert message.count("a lowercase RFC 1123 subdomain") == BAD_OBJECTS, message
    assert "more characters)" not in message  # nothing cut


@pytest.mark.parametrize("major", MAJORS)
async def test_a_failing_hook_is_named_with_its_reason(major: str, admin: Client, tmp_path: Path) -> None:
    base = {"helm_version": major, "namespace": NAMESPACE, "create_namespace": True}
    failing = write_chart(tmp_path / "failing", _hook_chart("echo migration 42 failed; exit 3"))
    release = f"hookfail-{major}"
    message = await failure(admin, "helm_install", {**base, "release_name": release, "chart": failing})
    assert "failed post-install" in message, message
    assert f"hook Job {release}-migrate (post-install" in message, message
    assert "exit code 3" in message and "migration 42 failed" in message, message

    # a hook that outlives the timeout: helm v3 says only 'timed out waiting for the condition'
    slow = write_chart(tmp_path / "slow", _hook_chart("sleep 600"))
    release = f"hookslow-{major}"
    args = {**base, "release_name": release, "chart": slow, "timeout": "10s"}
    message = await failure(admin, "helm_install", args)
    assert "failed post-install" in message, message
    assert f"hook Job {release}-migrate (post-install" in message, message
    assert f"pod {release}-migrate-" in message and ("migrate still running" in message or "waiting" in message)


@pytest.mark.parametrize("major", MAJORS)
async def test_lint_reports_what_helm_warned(major: str, admin: Client, tmp_path: Path) -> None:
    chart = write_chart(tmp_path / "typed", SCHEMA_CHART)
    linted = await admin.call_tool("helm_lint", {"paths": [chart], "helm_version": major})
    assert not linted.is_error, text_of(linted)
    report = linted.structured_content or {}
    assert report["passed"] is True
    assert any("missing required values: foo" in w for w in report["warnings"]), report
    assert "missing required values: foo" in text_of(linted)

    failed = await admin.call_tool("helm_lint", {"paths": [chart], "helm_version": major, "set": ["replicaCount=x"]})
    report = failed.structured_content or {}
    assert report["passed"] is False
    errors = [m["message"] for c in report["charts"] for m in c["messages"] if m["severity"] == "ERROR"]
    assert any("replicaCount" in e and ("want integer" in e or "Expected: integer" in e) for e in errors), errors


async def test_sdk_engine_reports_the_same_lines(
    server_settings: Settings, helm_home: Path, kube_node: Any, tmp_path: Path
) -> None:
    """The Helm SDK write engine (v4, a local chart with inline values) keeps every line too."""
    chart = write_chart(tmp_path / "typed", SCHEMA_CHART)
    args = {"release_name": "typed-sdk", "chart": chart, "namespace": NAMESPACE, "create_namespace": True}
    bad = {**args, "values": {"replicaCount": "abc", "name": 1, "foo": "x"}}
    messages = []
    for engine in ("cli", "sdk"):
        settings = server_settings.replace(allow_destructive=True, helm_write_engine=engine)
        async with create_client(settings=settings) as client:
            messages.append(await failure(client, "helm_install", bad))
    by_cli, by_sdk = [sorted(line for line in m.splitlines() if line.startswith("- ")) for m in messages]
    assert (
        by_sdk == by_cli == ["- at '/name': got number, want string", "- at '/replicaCount': got string, want integer"]
    )


@pytest.mark.parametrize("major", MAJORS)
async def test_credentials_in_helm_errors_are_scrubbed(
    major: str, server_settings: Settings, helm_home: Path, tmp_path: Path
) -> None:
    """Helm quotes the URL it failed to fetch; a credential in it never reaches the client."""
    settings = server_settings.replace(allowed_hosts=("127.0.0.1",))
    async with create_client(settings=settings) as client:
        for chart, secret in (
            ("https://127.0.0.1:9/c.tgz?access_token=tok3n-abcdef123456", "tok3n-abcdef123456"),
            ("https://user:hunter2-secret@127.0.0.1:9/c.tgz", "hunter2-secret"),
        ):
            message = await failure(
                client, "helm_template", {"release_name": "x", "chart": chart, "helm_version": major}
            )
            assert "connection refused" in message and "127.0.0.1:9" in message, message
            assert secret not in message and "[REDACTED]" in message, message
