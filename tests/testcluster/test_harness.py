"""The test-cluster harness itself, against real processes (no mocks)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from testcluster.api import ApiClient
from testcluster.controlplane import ControlPlane
from testcluster.install import Binaries, ensure_all
from testcluster.node import Node

from testcluster import runtime


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_control_plane_answers(kube_cluster: ControlPlane, test_binaries: Binaries) -> None:
    assert kube_cluster.client().ok("/readyz")
    names = kube_cluster.kubectl("get", "ns", "-o", "name").split()
    assert {"namespace/default", "namespace/kube-system"} <= set(names)
    context = kube_cluster.kubectl("config", "current-context").strip()
    assert context == "kubehelm-test"
    assert kube_cluster.server.startswith("https://127.0.0.1:")


def test_service_account_token_authenticates(kube_cluster: ControlPlane, test_binaries: Binaries) -> None:
    kube_cluster.kubectl("create", "serviceaccount", "harness-reader")
    token = kube_cluster.service_account_token("default", "harness-reader")
    as_sa = ApiClient(kube_cluster.server, kube_cluster.ca_file, token=token)
    status, body = as_sa.request("GET", "/api/v1/namespaces/default/secrets")
    assert status == 403, body  # authenticated (not 401), but RBAC grants nothing
    assert "system:serviceaccount:default:harness-reader" in body


def test_two_control_planes_side_by_side(kube_cluster: ControlPlane, test_binaries: Binaries) -> None:
    second = ControlPlane.start(None, test_binaries)
    assert second.reaper is not None and second.reaper.daemon is not None
    pids, workdir = [*second.pids, second.reaper.daemon.pid], second.workdir
    try:
        assert second.server != kube_cluster.server
        second.kubectl("create", "namespace", "only-in-second")
        assert "only-in-second" in second.kubectl("get", "ns")
        assert "only-in-second" not in kube_cluster.kubectl("get", "ns")
        assert all(alive(pid) for pid in pids)
    finally:
        second.stop()
    assert not any(alive(pid) for pid in pids)
    assert not workdir.exists()
    assert kube_cluster.client().ok("/readyz")  # the first one is untouched


def test_reaper_cleans_up_after_a_killed_owner(test_binaries: Binaries) -> None:
    """An owner killed without stop() (SIGKILL, or SIGTERM under `timeout`) leaves nothing."""
    script = (
        "import json, sys, time\n"
        "from testcluster.controlplane import ControlPlane\n"
        "from testcluster.install import ensure_all\n"
        "plane = ControlPlane.start(None, ensure_all())\n"
        "print(json.dumps([str(plane.workdir), plane.pids]), flush=True)\n"
        "time.sleep(600)\n"
    )
    repo_root = Path(__file__).resolve().parents[2]
    owner = subprocess.Popen([sys.executable, "-c", script], cwd=repo_root, stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        workdir, pids = json.loads(owner.stdout.readline())
        assert pids and all(alive(pid) for pid in pids)
    finally:
        owner.kill()
        owner.wait()
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in pids) or Path(workdir).exists():
        assert time.monotonic() < deadline, "the reaper did not clean up"
        time.sleep(0.2)


def busybox_pod(name: str, image: str) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {
                "terminationGracePeriodSeconds": 1,
                "containers": [
                    {
                        "name": "main",
                        "image": image,
                        "imagePullPolicy": "Never",
                        "command": ["sh", "-c", "echo hello; sleep 3600"],
                    }
                ],
            },
        }
    )


def run_busybox(plane: ControlPlane, node: Node, name: str) -> None:
    """A pod reaches Running, its log says hello, and exec works."""
    plane.kubectl("apply", "-f", "-", stdin=busybox_pod(name, node.busybox_image))
    plane.kubectl("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=90s", timeout=120)
    phase = plane.kubectl("get", "pod", name, "-o", "jsonpath={.status.phase}")
    assert phase == "Running"
    deadline = time.monotonic() + 30
    while "hello" not in plane.kubectl("logs", name):
        assert time.monotonic() < deadline, "no 'hello' in the pod log"
        time.sleep(0.5)
    assert plane.kubectl("exec", name, "--", "echo", "hi").strip() == "hi"


def test_node_runs_a_busybox_pod(kube_cluster: ControlPlane, kube_node: Node, test_binaries: Binaries) -> None:
    run_busybox(kube_cluster, kube_node, "harness-busybox")
    kube_cluster.kubectl("delete", "pod", "harness-busybox", "--wait=true")


def cgroup_exists(name: str) -> bool:
    return any((hierarchy / name).exists() for hierarchy in runtime.CGROUP_ROOT.iterdir())


def test_second_cluster_with_node_and_clean_stop(test_binaries: Binaries) -> None:
    """A whole second cluster with its own node (beside the session's), then stop() it:
    no process, work dir, cgroup, bridge or mount namespace of it may be left."""
    binaries = ensure_all(node=True)
    plane = ControlPlane.start(None, binaries)
    node = None
    try:
        node = Node.start(plane, binaries)
        run_busybox(plane, node, "second-busybox")
        namespace = node.namespace
        assert namespace is not None
        in_namespace = runtime.namespace_processes(namespace)
        assert len(in_namespace) > 2  # containerd, kubelet, shims, containers
        pids = plane.pids + node.pids + in_namespace
        bridge, cgroup, workdir = node.bridge, node.cgroup_root, plane.workdir
        assert Path(f"/sys/class/net/{bridge}").exists() and cgroup_exists(cgroup)
    finally:
        if node is not None:
            node.stop()
        plane.stop()
    assert not any(alive(pid) for pid in pids)
    assert not workdir.exists()
    assert not Path(f"/sys/class/net/{bridge}").exists()
    assert not cgroup_exists(cgroup)
    assert not [p for p in os.listdir("/proc") if p.isdigit() and runtime.mount_namespace(int(p)) == namespace]


def test_helm_major_versions(helm_binaries: dict[str, Path]) -> None:
    for major, binary in helm_binaries.items():
        out = subprocess.run(
            [str(binary), "version", "--short"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()
        assert out.startswith(f"{major}."), out
