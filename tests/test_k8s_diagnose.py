"""k8s_diagnose on broken objects set up on the real node: each fact that explains the failure is
there once, and the noise (routine events, healthy pods) is not. Also describe's event folding."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from testcluster.images import BUSYBOX_IMAGE, UNPULLABLE_IMAGE

from kubehelm_mcp import create_client
from kubehelm_mcp.settings import Settings
from tests.support.mcp import call_error, text_of

pytestmark = pytest.mark.anyio

NS = "khm-diag"
RELEASE = "broken"
CRASH_LINE = "fatal: DATABASE_URL is not set"
JOB_LINE = "migration 42 failed: relation users already exists"
HOOKED = "hooked"
HOOK_LINE = "pre-install check failed: no license"
NOISE = ("Scheduled", "Pulled", "Created", "Started", "SuccessfulCreate")


def _pod(name: str, extra: str = "", labels: str = "{}", image: str = BUSYBOX_IMAGE, command: str = "") -> str:
    return f"""apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {NS}, labels: {labels}}}
spec:
  terminationGracePeriodSeconds: 0
  {extra}
  containers:
  - name: main
    image: {image}
    imagePullPolicy: IfNotPresent
    command: {command or '[sleep, "3600"]'}
    ports: [{{name: http, containerPort: 8080}}]
"""


PICKY_AFFINITY = (
    "affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: "
    "{nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [mars]}]}]}}}"
)
GHOST = "khm-diag-ghost"  # a Node object no kubelet runs: labelled disk=ghost, tainted
GHOST_TAINT = "khm-diag/dedicated=db:NoSchedule"
GHOST_NODE = f"""apiVersion: v1
kind: Node
metadata: {{name: {GHOST}, labels: {{disk: ghost, kubernetes.io/hostname: {GHOST}}}}}
spec:
  taints: [{{key: khm-diag/dedicated, value: db, effect: NoSchedule}}]
"""

SCENES = f"""apiVersion: v1
kind: Namespace
metadata: {{name: {NS}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: crash, namespace: {NS}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: crash}}}}
  template:
    metadata: {{labels: {{app: crash}}}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: main
        image: {BUSYBOX_IMAGE}
        imagePullPolicy: Never
        command: [sh, -c, 'echo "loading /etc/app.conf"; echo "{CRASH_LINE}"; exit 3']
---
{_pod("pull", image=UNPULLABLE_IMAGE)}---
{_pod("stuck", extra="nodeSelector: {disk: nowhere}")}---
{_pod("picky", extra=PICKY_AFFINITY)}---
{_pod("web", labels="{app: web}")}---
apiVersion: v1
kind: Service
metadata: {{name: orphan, namespace: {NS}}}
spec:
  selector: {{app: webb}}
  ports: [{{port: 80, targetPort: 8080}}]
---
apiVersion: v1
kind: Service
metadata: {{name: partial, namespace: {NS}}}
spec:
  selector: {{app: web, tier: front}}
  ports: [{{port: 80, targetPort: 8080}}]
---
apiVersion: v1
kind: Service
metadata: {{name: misport, namespace: {NS}}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8081}}]
---
apiVersion: batch/v1
kind: Job
metadata: {{name: migrate, namespace: {NS}}}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 0
      containers:
      - name: migrate
        image: {BUSYBOX_IMAGE}
        imagePullPolicy: Never
        command: [sh, -c, 'echo "{JOB_LINE}"; exit 2']
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: claim, namespace: {NS}}}
spec:
  storageClassName: absent-class
  accessModes: [ReadWriteOnce]
  resources: {{requests: {{storage: 1Gi}}}}
"""

CHART = {
    "Chart.yaml": "apiVersion: v2\nname: broken\nversion: 0.1.0\n",
    "templates/deployment.yaml": f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: {{{{ .Release.Name }}}}-app}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {{{{ .Release.Name }}}}}}}}
  template:
    metadata: {{labels: {{app: {{{{ .Release.Name }}}}}}}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: app
        image: {UNPULLABLE_IMAGE}
""",
    "templates/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '{{ .Release.Name }}-config'}\n",
}
HOOK_CHART = {
    "Chart.yaml": "apiVersion: v2\nname: hooked\nversion: 0.2.0\n",
    "templates/check.yaml": f"""apiVersion: batch/v1
kind: Job
metadata:
  name: '{{{{ .Release.Name }}}}-check'
  annotations: {{helm.sh/hook: pre-install}}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 0
      containers:
      - name: check
        image: {BUSYBOX_IMAGE}
        imagePullPolicy: Never
        command: [sh, -c, 'echo "{HOOK_LINE}"; exit 1']
""",
    "templates/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '{{ .Release.Name }}-config'}\n",
}


def _wait(kubectl: Callable[..., str], what: str, ready: Callable[[], bool], timeout: float = 150) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def _pod_json(kubectl: Callable[..., str], selector: list[str]) -> dict[str, Any]:
    doc = json.loads(kubectl("get", "pods", "-n", NS, *selector, "-o", "json"))
    items = doc.get("items", [doc]) if doc.get("kind") == "List" else [doc]
    return items[0] if items else {}


def _waiting(pod: dict[str, Any]) -> str:
    statuses = (pod.get("status") or {}).get("containerStatuses") or [{}]
    return str(((statuses[0].get("state") or {}).get("waiting") or {}).get("reason"))


def _crash_looping(kubectl: Callable[..., str]) -> bool:
    pod = _pod_json(kubectl, ["-l", "app=crash"])
    status = ((pod.get("status") or {}).get("containerStatuses") or [{}])[0]
    return status.get("restartCount", 0) >= 1 and _waiting(pod) == "CrashLoopBackOff"


def _has_event(kubectl: Callable[..., str], name: str, reason: str) -> bool:
    out = kubectl("get", "events", "-n", NS, "--field-selector", f"involvedObject.name={name}", "-o", "json")
    return any(e.get("reason") == reason for e in json.loads(out)["items"])


def _install_failing_release(
    helm: Path, kubeconfig: Path, chart_dir: Path, name: str, chart: dict[str, str], *flags: str
) -> str:
    for path, text in chart.items():
        (chart_dir / path).parent.mkdir(parents=True, exist_ok=True)
        (chart_dir / path).write_text(text)
    argv = [str(helm), "--kubeconfig", str(kubeconfig), "install", name, str(chart_dir), "-n", NS, *flags]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode != 0, f"the release should have failed: {proc.stdout}"
    return proc.stderr


@pytest.fixture(scope="module")
def scenes(
    kube_node: Any, kubectl: Any, helm_binaries: dict[str, Path], kubeconfig: Path, tmp_path_factory: Any
) -> str:
    kubectl("apply", "-f", "-", stdin=SCENES)
    helm, charts = helm_binaries["v4"], tmp_path_factory.mktemp("charts")
    _install_failing_release(helm, kubeconfig, charts / RELEASE, RELEASE, CHART, "--wait", "--timeout", "8s")
    _install_failing_release(helm, kubeconfig, charts / HOOKED, HOOKED, HOOK_CHART, "--timeout", "60s")
    kubectl("wait", "--for=condition=Ready", "pod/web", "-n", NS, "--timeout=120s")
    _wait(kubectl, "pod crash to crash-loop", lambda: _crash_looping(kubectl))
    pulling = ("ErrImagePull", "ImagePullBackOff")
    _wait(kubectl, "pod pull to fail its pull", lambda: _waiting(_pod_json(kubectl, ["pull"])) in pulling)
    _wait(
        kubectl,
        "the release's pod to fail its pull",
        lambda: _waiting(_pod_json(kubectl, [f"-l=app={RELEASE}"])) in pulling,
    )
    _wait(kubectl, "pod stuck's FailedScheduling", lambda: _has_event(kubectl, "stuck", "FailedScheduling"))
    _wait(kubectl, "pod picky's FailedScheduling", lambda: _has_event(kubectl, "picky", "FailedScheduling"))
    _wait(kubectl, "claim's ProvisioningFailed", lambda: _has_event(kubectl, "claim", "ProvisioningFailed"))
    _wait(kubectl, "job migrate to fail", lambda: _has_event(kubectl, "migrate", "BackoffLimitExceeded"))
    return NS


@pytest.fixture
async def client(server_settings: Settings) -> AsyncIterator[Client]:
    async with create_client(settings=server_settings) as connected:
        yield connected


SIZES: dict[str, int] = {}


async def diagnose(client: Client, kind: str, name: str, scenario: str) -> tuple[dict[str, Any], str]:
    result = await client.call_tool("k8s_diagnose", {"kind": kind, "name": name, "namespace": NS})
    text = text_of(result)
    assert not result.is_error, text
    assert result.structured_content is not None
    SIZES[scenario] = len(text.encode())
    print(f"\n[k8s_diagnose {scenario}: {SIZES[scenario]} bytes of text]\n{text}")
    assert_each_fact_once(text)
    return result.structured_content, text


def assert_each_fact_once(text: str) -> None:
    """No line repeats another (pod summary, events, conditions), and node noise is never shown."""
    lines = [line.strip() for line in text.splitlines()]
    assert len(lines) == len(set(lines)), text
    assert "MissingClusterDNS" not in text, text


def assert_no_noise(text: str) -> None:
    for reason in NOISE:
        assert f"event {reason}" not in text, text


async def test_crash_loop(client: Client, scenes: str) -> None:
    found, text = await diagnose(client, "deploy", "crash", "crash loop")
    assert found["healthy"] is False and text.startswith(f"Deployment {NS}/crash: 0/1 ready")
    [pod] = found["subjects"][0]["pods"]
    [main] = pod["containers"]
    assert main["reason"] == "CrashLoopBackOff" and main["exit_code"] == 3 and main["last_reason"] == "Error"
    assert main["restarts"] >= 1
    assert pod["log_of"] == "main, previous run" and pod["log"][-1] == CRASH_LINE
    assert "last exit 3 (Error)" in text and text.count(CRASH_LINE) == 1
    assert_no_noise(text)
    # the kubelet's "Back-off restarting failed container" only repeats CrashLoopBackOff
    assert "Back-off restarting" not in text

    as_pod, pod_text = await diagnose(client, "PO", pod["name"], "crash loop, the pod")
    assert as_pod["subjects"][0]["pods"][0]["containers"][0]["exit_code"] == 3 and CRASH_LINE in pod_text


async def test_image_pull_failure(client: Client, scenes: str) -> None:
    found, text = await diagnose(client, "pod", "pull", "image pull")
    [pod] = found["subjects"][0]["pods"]
    [main] = pod["containers"]
    assert main["reason"] in ("ErrImagePull", "ImagePullBackOff") and main["restarts"] == 0
    assert UNPULLABLE_IMAGE in text and "log of" not in text  # a container that never ran has no log
    assert_no_noise(text)
    assert "Error: ErrImagePull" not in text and "Error: ImagePullBackOff" not in text


async def test_unschedulable_pod(client: Client, scenes: str) -> None:
    found, text = await diagnose(client, "Pod", "stuck", "unschedulable")
    [pod] = found["subjects"][0]["pods"]
    # what fails, from the pod's spec and the node's labels; the scheduler's count adds nothing
    assert pod["phase"] == "Pending" and pod["unschedulable"] == "nodeSelector disk=nowhere matches no node"
    assert "nodes are available" not in text and "FailedScheduling" not in text, text
    assert_no_noise(text)

    found, text = await diagnose(client, "Pod", "picky", "unschedulable, node affinity")
    [pod] = found["subjects"][0]["pods"]
    assert pod["unschedulable"] == "required node affinity zone in (mars) matches no node", text
    assert "nodes are available" not in text and "FailedScheduling" not in text, text


@pytest.fixture
def ghost_node(scenes: str, kubectl: Any) -> Iterator[str]:
    """A tainted node for one test, and a pod selecting it that does not tolerate the taint."""
    kubectl("apply", "-f", "-", stdin=GHOST_NODE)
    try:
        kubectl("apply", "-f", "-", stdin=_pod("tainted", extra="nodeSelector: {disk: ghost}"))
        _wait(kubectl, "pod tainted's FailedScheduling", lambda: _has_event(kubectl, "tainted", "FailedScheduling"))
        yield "tainted"
    finally:
        kubectl("delete", "pod", "tainted", "-n", NS, "--ignore-not-found", "--wait=false")
        kubectl("delete", "node", GHOST, "--ignore-not-found")


async def test_unschedulable_for_a_taint(client: Client, ghost_node: str) -> None:
    found, text = await diagnose(client, "Pod", ghost_node, "unschedulable, taint")
    [pod] = found["subjects"][0]["pods"]
    # each node fails differently: the real one its labels, the ghost its taint
    assert pod["unschedulable"].startswith("no node fits; "), text
    assert "localhost: nodeSelector disk=ghost" in pod["unschedulable"], text
    assert f"{GHOST}: untolerated taint {GHOST_TAINT}" in pod["unschedulable"], text
    assert "FailedScheduling" not in text, text


async def test_service_selecting_no_pods(client: Client, scenes: str) -> None:
    found, text = await diagnose(client, "svc", "orphan", "service, no pods")
    [problem] = found["subjects"][0]["problems"]
    # only the pod whose label is one typo away, not every app of the namespace
    assert problem == "selector app=webb matches no pods in the namespace; nearest: app=web (pod web)"
    assert "crash" not in text and "broken" not in text

    assert "endpoints 0 ready" in text and "  pod web" not in text  # the healthy pod is no failing pod

    found, text = await diagnose(client, "svc", "partial", "service, subset of labels")
    [problem] = found["subjects"][0]["problems"]
    nearest = "nearest: app=web, no tier (pod web)"
    assert problem == f"selector app=web,tier=front matches no pods in the namespace; {nearest}"

    mismatch, text = await diagnose(client, "Service", "misport", "service, port mismatch")
    problems = mismatch["subjects"][0]["problems"]
    assert "port 80 targets 8081, which no selected pod declares (they declare 8080, http)" in problems, problems
    assert "pod web" not in text


async def test_claim_with_missing_storage_class(client: Client, scenes: str) -> None:
    found, text = await diagnose(client, "pvc", "claim", "pvc, missing class")
    subject = found["subjects"][0]
    assert subject["status"].startswith("Pending, class absent-class, 1Gi")
    assert subject["problems"] == ["StorageClass 'absent-class' does not exist"]
    assert text.count("absent-class") == 2, text  # the status and the problem; the event repeats it, dropped


async def test_failed_release(client: Client, scenes: str, kubectl: Any) -> None:
    found, text = await diagnose(client, "release", RELEASE, "failed release")
    head, *failing = found["subjects"]
    assert (
        head["status"].startswith("failed, revision 1, chart broken-0.1.0") and "0 of 1 object(s) OK" in head["status"]
    )
    assert 'last change: Release "broken" failed' in head["problems"][0]
    [app] = failing
    assert app["object"] == f"Deployment {NS}/{RELEASE}-app"
    assert app["pods"][0]["containers"][0]["reason"] in ("ErrImagePull", "ImagePullBackOff")
    assert "ConfigMap" not in text and UNPULLABLE_IMAGE in text
    # the kubelet warns each of the release's pods that the node has no cluster DNS: never a cause
    pod = app["pods"][0]["name"]
    assert _has_event(kubectl, pod, "MissingClusterDNS") and "MissingClusterDNS" not in text


async def test_failed_job(client: Client, scenes: str) -> None:
    found, text = await diagnose(client, "job", "migrate", "failed job")
    subject = found["subjects"][0]
    assert subject["problems"] == ["Failed: BackoffLimitExceeded: Job has reached the specified backoff limit"]
    [pod] = subject["pods"]
    assert pod["phase"] == "Failed" and pod["containers"][0]["exit_code"] == 2
    assert pod["log_of"] == "migrate" and pod["log"] == [JOB_LINE]
    assert "BackoffLimitExceeded" in text and text.count(JOB_LINE) == 1


async def test_release_with_a_failed_hook(client: Client, scenes: str) -> None:
    found, text = await diagnose(client, "HelmRelease", HOOKED, "release, failed hook")
    head, *failing = found["subjects"]
    assert head["status"].startswith("failed, revision 1, chart hooked-0.2.0") and "pre-install" in head["problems"][0]
    [check] = failing
    assert check["object"] == f"Job {NS}/{HOOKED}-check" and check["pods"][0]["log"] == [HOOK_LINE]
    assert "ConfigMap" not in text


async def test_namespace(client: Client, scenes: str) -> None:
    found, text = await diagnose(client, "ns", NS, "namespace")
    head = found["subjects"][0]
    failing = {pod["name"] for pod in head["pods"]} | {n for pod in head["pods"] for n in pod["like"]}
    assert {"pull", "stuck"} <= failing and "web" not in failing
    objects = {s["object"] for s in found["subjects"][1:]}
    assert {f"Deployment {NS}/crash", f"Deployment {NS}/{RELEASE}-app", f"PersistentVolumeClaim {NS}/claim"} <= objects
    # two Jobs past their backoff limit are one fact naming both
    assert f"Job {NS}/{HOOKED}-check (and 1 alike: migrate)" in objects, objects
    assert text.count("BackoffLimitExceeded") == 1, text
    assert_no_noise(text)
    contradicting = await call_error(client, "k8s_diagnose", {"kind": "ns", "name": NS, "namespace": "default"})
    assert "contradicts Namespace" in contradicting


async def test_healthy_is_one_line(client: Client, scenes: str) -> None:
    found, text = await diagnose(client, "Pod", "web", "healthy pod")
    assert found["healthy"] is True and text == f"Pod {NS}/web is healthy: Running, 1/1 containers ready, on localhost."


async def test_refusals(client: Client, scenes: str) -> None:
    unknown = await call_error(client, "k8s_diagnose", {"kind": "ConfigMap", "name": "x", "namespace": NS})
    assert "cannot be diagnosed" in unknown and "HelmRelease" in unknown
    missing = await call_error(client, "k8s_diagnose", {"kind": "deploy", "name": "nope", "namespace": NS})
    assert "nope" in missing and "not found" in missing
    no_ns = await call_error(client, "k8s_diagnose", {"kind": "deploy", "name": "x", "namespace": "khm-absent"})
    assert no_ns == "Namespace 'khm-absent' does not exist."
    no_release = await call_error(client, "k8s_diagnose", {"kind": "HelmRelease", "name": "nope", "namespace": NS})
    assert "Release 'nope'" in no_release


async def test_describe_folds_events(client: Client, scenes: str, kubectl: Any) -> None:
    pod = _pod_json(kubectl, ["-l", "app=crash"])["metadata"]["name"]
    result = await client.call_tool("k8s_describe_resource", {"kind": "pod", "name": pod, "namespace": NS})
    described = result.structured_content or {}
    reasons = [e["reason"] for e in described["events"]]
    assert "BackOff" in reasons and not set(reasons) & set(NOISE), reasons
    keys = [(e["type"], e["reason"], e["message"]) for e in described["events"]]
    assert len(keys) == len(set(keys)), keys  # each event once, with its count
