"""A broken namespace on a real node, for the agent-task benchmark: each object fails one way.

Made with kubectl and helm as an operator would make it, then waited on until every failure shows
(a crash loop has restarted, a pull has failed, the scheduler has given up, the release is failed).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from testcluster.controlplane import ControlPlane
from testcluster.images import BUSYBOX_IMAGE, UNPULLABLE_IMAGE
from testcluster.install import Binaries

from bench import seed
from bench.helmcli import helm

NAMESPACE = "bench-agent"
CRASHLOOP = "crashloop"
IMAGE_PULL = "imagepull"
PENDING = "pending"
WEB = "web"  # a Deployment whose pods carry app=web
SERVICE = "web"  # a Service selecting app=web-frontend: no pod matches
SERVICE_SELECTOR = "web-frontend"
RELEASE = "broken"
RELEASE_DEPLOYMENT = "broken-api"
ACCOUNT = "reader"  # may get and list pods in NAMESPACE, nothing else
ROLE = "pod-reader"
# The line the crashing container prints; the path is built at run time, so the pod's spec (which
# carries the script) never holds the line itself: only the log does.
CRASH_SCRIPT = 'd=/etc/app; echo "fatal: cannot open $d/config.yaml"; exit 3'
CRASH_LINE = "fatal: cannot open /etc/app/config.yaml"
CRASH_EXIT = 3
FIXED_COMMAND = ["sh", "-c", "exec sleep 3600"]
NODE_SELECTOR = {"disktype": "nvme"}  # no node has it


def fix_target(label: str) -> str:
    """Each server fixes its own crash-looping Deployment, so the first fix leaves the next one work."""
    return f"fix-{label}"


def _deployment(name: str, container: dict[str, Any], **pod: Any) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [container], "terminationGracePeriodSeconds": 0, **pod},
            },
        },
    }


def _busybox(command: list[str]) -> dict[str, Any]:
    # The node has no registry: busybox is imported, never pulled.
    return {"name": "main", "image": BUSYBOX_IMAGE, "imagePullPolicy": "Never", "command": command}


def crashing(name: str) -> dict[str, Any]:
    return _deployment(name, _busybox(["sh", "-c", CRASH_SCRIPT]))


def _rbac() -> list[dict[str, Any]]:
    meta = {"namespace": NAMESPACE}
    rbac = "rbac.authorization.k8s.io/v1"
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": ACCOUNT, **meta}},
        {
            "apiVersion": rbac,
            "kind": "Role",
            "metadata": {"name": ROLE, **meta},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
        },
        {
            "apiVersion": rbac,
            "kind": "RoleBinding",
            "metadata": {"name": f"{ACCOUNT}-pods", **meta},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": ROLE},
            "subjects": [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": NAMESPACE}],
        },
    ]


def objects(fixers: list[str]) -> list[dict[str, Any]]:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": SERVICE, "namespace": NAMESPACE},
        "spec": {"selector": {"app": SERVICE_SELECTOR}, "ports": [{"port": 80, "targetPort": 8080}]},
    }
    unpullable = {"name": "main", "image": UNPULLABLE_IMAGE, "imagePullPolicy": "Always"}
    return [
        seed.namespace(NAMESPACE),
        crashing(CRASHLOOP),
        *(crashing(fix_target(label)) for label in fixers),
        _deployment(IMAGE_PULL, unpullable),
        _deployment(PENDING, _busybox(["sh", "-c", "exec sleep 3600"]), nodeSelector=NODE_SELECTOR),
        _deployment(WEB, _busybox(["sh", "-c", "exec sleep 3600"])),
        service,
        *_rbac(),
    ]


def _chart(workdir: Path) -> Path:
    """A one-Deployment chart whose image cannot be pulled: `--wait` times out, the release fails."""
    chart = workdir / RELEASE
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: {RELEASE}\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text(f"image: {UNPULLABLE_IMAGE}\n")
    (chart / "templates" / "deployment.yaml").write_text(
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {RELEASE_DEPLOYMENT}\n"
        f"  labels: {{app: {RELEASE_DEPLOYMENT}}}\n"
        f"spec:\n  replicas: 1\n  selector: {{matchLabels: {{app: {RELEASE_DEPLOYMENT}}}}}\n"
        f"  template:\n    metadata: {{labels: {{app: {RELEASE_DEPLOYMENT}}}}}\n"
        "    spec:\n      containers:\n        - name: api\n          image: {{ .Values.image }}\n"
    )
    return chart


def _pod_status(plane: ControlPlane, app: str) -> dict[str, Any] | None:
    pods = plane.client().get(f"/api/v1/namespaces/{NAMESPACE}/pods?labelSelector=app%3D{app}")["items"]
    return pods[0].get("status", {}) if pods else None


def _container(plane: ControlPlane, app: str) -> dict[str, Any]:
    status = _pod_status(plane, app) or {}
    return next(iter(status.get("containerStatuses") or []), {})


def _waiting_reason(plane: ControlPlane, app: str) -> tuple[str | None, int]:
    container = _container(plane, app)
    return (container.get("state", {}).get("waiting") or {}).get("reason"), int(container.get("restartCount", 0))


def crash_looping(plane: ControlPlane, app: str, within: float | None = None) -> bool:
    """Waiting in CrashLoopBackOff after two restarts; with `within`, the last run ended at most that
    many seconds ago, so the rest of the back-off (40 s and more after two restarts) lies ahead: the
    previous run's log stays readable until the next start, and the pod's state stays the same."""
    reason, restarts = _waiting_reason(plane, app)
    if reason != "CrashLoopBackOff" or restarts < 2:
        return False
    if within is None:
        return True
    finished = (_container(plane, app).get("lastState", {}).get("terminated") or {}).get("finishedAt")
    ended = datetime.fromisoformat(finished.replace("Z", "+00:00")) if finished else None
    return ended is not None and (datetime.now(UTC) - ended).total_seconds() <= within


def _unschedulable(plane: ControlPlane) -> bool:
    status = _pod_status(plane, PENDING) or {}
    return any(c.get("reason") == "Unschedulable" for c in status.get("conditions") or [])


def _running(plane: ControlPlane, app: str) -> bool:
    return (_pod_status(plane, app) or {}).get("phase") == "Running"


def rolled_out(plane: ControlPlane, name: str) -> bool:
    """Every replica updated and ready, and no old pod left: what `kubectl rollout status` waits for."""
    deployment = plane.client().get(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{name}")
    status, want = deployment.get("status", {}), deployment["spec"]["replicas"]
    return bool(
        status.get("observedGeneration", 0) >= deployment["metadata"]["generation"]
        and status.get("updatedReplicas") == want
        and status.get("readyReplicas") == want
        and status.get("replicas") == want
    )


def break_cluster(plane: ControlPlane, binaries: Binaries, workdir: Path, fixers: list[str]) -> None:
    """Create every failure and wait until each one shows; `fixers` label the Deployments to fix."""
    seed.apply(plane, objects(fixers))
    try:
        helm(plane, binaries, "install", RELEASE, str(_chart(workdir)), "-n", NAMESPACE, "--wait", "--timeout", "20s")
    except RuntimeError as failed:  # expected: the release must end up failed
        if "failed" not in str(failed).lower() and "deadline" not in str(failed).lower():
            raise
    else:
        raise RuntimeError(f"release {RELEASE} installed cleanly; the scenario needs it to fail")
    seed.wait_until(lambda: _waiting_reason(plane, IMAGE_PULL)[0] in ("ErrImagePull", "ImagePullBackOff"), "a pull")
    seed.wait_until(lambda: _unschedulable(plane), f"the scheduler to give up on {PENDING}")
    seed.wait_until(lambda: _running(plane, WEB), f"{WEB} to run")
    for name in [CRASHLOOP, *(fix_target(label) for label in fixers)]:
        seed.wait_until(functools.partial(crash_looping, plane, name), f"{name} to crash-loop")
