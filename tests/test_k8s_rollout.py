"""k8s_rollout against real running pods on the test node: status, restart, history and undo."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from mcp import Client

from kubehelm_mcp import create_client
from kubehelm_mcp.settings import Settings
from tests.support.mcp import call_error, call_ok

pytestmark = pytest.mark.anyio

NS = "khm-rollout"

WORKLOADS = f"""apiVersion: v1
kind: Namespace
metadata: {{name: {NS}}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: {NS}
  annotations: {{kubernetes.io/change-cause: first}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - {{name: web, image: 127.0.0.1/kubehelm/busybox:1, imagePullPolicy: Never, command: [sleep, "3600"]}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: db, namespace: {NS}}}
spec:
  replicas: 1
  serviceName: db
  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata: {{labels: {{app: db}}}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - {{name: db, image: 127.0.0.1/kubehelm/busybox:1, imagePullPolicy: Never, command: [sleep, "3600"]}}
"""


@pytest.fixture(scope="module")
def workloads(kube_node: Any, kubectl: Any) -> str:
    kubectl("apply", "-f", "-", stdin=WORKLOADS)
    wait_rolled_out(kubectl, "deployment/web", "statefulset/db")
    return NS


@pytest.fixture
async def client(server_settings: Settings) -> AsyncIterator[Client]:
    async with create_client(settings=server_settings.replace(allow_destructive=True)) as connected:
        yield connected


def wait_rolled_out(kubectl: Any, *targets: str) -> None:
    for target in targets:
        kubectl("rollout", "status", target, "-n", NS, "--timeout=120s")


def template(kubectl: Any, target: str) -> dict[str, Any]:
    return dict(json.loads(kubectl("get", target, "-n", NS, "-o", "json"))["spec"]["template"])


def pod_names(kubectl: Any, app: str) -> set[str]:
    return set(kubectl("get", "pods", "-n", NS, "-l", f"app={app}", "-o", "name").split())


async def test_status_of_a_finished_rollout(client: Client, workloads: str) -> None:
    status = await call_ok(client, "k8s_rollout", {"name": "web", "namespace": workloads})
    assert status["done"] is True and status["verdict"] == "Deployment 'web' successfully rolled out."
    assert status["replicas"] == {"desired": 1, "current": 1, "updated": 1, "ready": 1, "available": 1}
    assert status["observed_generation"] == status["generation"]
    assert {c["type"] for c in status["conditions"]} >= {"Available", "Progressing"}

    sts = await call_ok(client, "k8s_rollout", {"kind": "sts", "name": "db", "namespace": workloads})
    assert sts["done"] is True and sts["verdict"].startswith("StatefulSet 'db'")


async def test_deployment_restart_history_and_undo(client: Client, kubectl: Any, workloads: str) -> None:
    target = {"kind": "deploy", "name": "web", "namespace": workloads}
    first = template(kubectl, "deployment/web")
    old_pods = pod_names(kubectl, "web")

    kubectl("set", "env", "deployment/web", "-n", NS, "CHANGE=2")
    kubectl("annotate", "deployment/web", "-n", NS, "--overwrite", "kubernetes.io/change-cause=set CHANGE=2")
    wait_rolled_out(kubectl, "deployment/web")
    second = template(kubectl, "deployment/web")

    restarted = await call_ok(client, "k8s_rollout", {**target, "action": "restart"})
    assert restarted["verdict"].startswith("Deployment 'web' restarted at ")
    wait_rolled_out(kubectl, "deployment/web")
    stamp = template(kubectl, "deployment/web")["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
    assert stamp in restarted["verdict"]
    assert pod_names(kubectl, "web").isdisjoint(old_pods)

    history = await call_ok(client, "k8s_rollout", {**target, "action": "history"})
    assert [r["revision"] for r in history["revisions"]] == [1, 2, 3]
    assert history["revisions"][0]["change_cause"] == "first"
    assert history["revisions"][1]["change_cause"] == "set CHANGE=2"
    assert history["revisions"][0]["images"] == ["127.0.0.1/kubehelm/busybox:1"]
    owners = kubectl("get", "rs", "-n", NS, "-l", "app=web", "-o", "name")
    assert {f"replicaset.apps/{r['name']}" for r in history["revisions"]} == set(owners.split())

    back = await call_ok(client, "k8s_rollout", {**target, "action": "undo"})  # the previous: revision 2
    assert back["verdict"].startswith("Deployment 'web' rolled back to revision 2")
    wait_rolled_out(kubectl, "deployment/web")
    assert template(kubectl, "deployment/web") == second

    again = await call_ok(client, "k8s_rollout", {**target, "action": "undo", "to_revision": 4})
    assert again["verdict"] == "Deployment 'web' already runs the template of revision 4; nothing changed."

    await call_ok(client, "k8s_rollout", {**target, "action": "undo", "to_revision": 1})
    wait_rolled_out(kubectl, "deployment/web")
    assert template(kubectl, "deployment/web") == first


async def test_statefulset_restart_history_and_undo(client: Client, kubectl: Any, workloads: str) -> None:
    target = {"kind": "StatefulSet", "name": "db", "namespace": workloads}
    first = template(kubectl, "statefulset/db")
    await call_ok(client, "k8s_rollout", {**target, "action": "restart"})
    wait_rolled_out(kubectl, "statefulset/db")
    assert "kubectl.kubernetes.io/restartedAt" in template(kubectl, "statefulset/db")["metadata"]["annotations"]

    history = await call_ok(client, "k8s_rollout", {**target, "action": "history"})
    assert [r["revision"] for r in history["revisions"]] == [1, 2]
    assert all(r["name"].startswith("db-") for r in history["revisions"])

    back = await call_ok(client, "k8s_rollout", {**target, "action": "undo"})
    assert back["verdict"].startswith("StatefulSet 'db' rolled back to revision 1")
    wait_rolled_out(kubectl, "statefulset/db")
    assert template(kubectl, "statefulset/db") == first


async def test_bad_input_gets_one_sentence(client: Client, workloads: str) -> None:
    base = {"name": "web", "namespace": workloads}
    action = await call_error(client, "k8s_rollout", {**base, "action": "pause"})
    assert action.startswith("Invalid arguments for k8s_rollout: 'action':"), action
    kind = await call_error(client, "k8s_rollout", {**base, "kind": "configmap"})
    assert kind == "ConfigMap has no rollouts; only Deployment, StatefulSet and DaemonSet do."
    revision = await call_error(client, "k8s_rollout", {**base, "action": "undo", "to_revision": 99})
    assert revision.startswith("Deployment 'web' has no revision 99 (revisions: "), revision
    misplaced = await call_error(client, "k8s_rollout", {**base, "to_revision": 1})
    assert misplaced == "to_revision applies only to action undo."
    missing = await call_error(client, "k8s_rollout", {**base, "name": "nope"})
    assert "'nope'" in missing and "not found" in missing


async def test_reads_need_no_allow_destructive_but_restart_does(
    server_settings: Settings, kubectl: Any, workloads: str
) -> None:
    target = {"kind": "deploy", "name": "web", "namespace": workloads}
    async with create_client(settings=server_settings) as default_client:
        assert (await call_ok(default_client, "k8s_rollout", target))["done"] is True
        assert (await call_ok(default_client, "k8s_rollout", {**target, "action": "history"}))["revisions"]
        before = template(kubectl, "deployment/web")
        for action in ("restart", "undo"):
            refused = await call_error(default_client, "k8s_rollout", {**target, "action": action})
            assert "--allow-destructive" in refused
        assert template(kubectl, "deployment/web") == before


async def test_read_only_servers_offer_rollout_status_and_history(server_settings: Settings, workloads: str) -> None:
    target = {"kind": "deploy", "name": "web", "namespace": workloads}
    for settings in (server_settings.replace(read_only=True), server_settings.replace(dry_run=True)):
        async with create_client(settings=settings) as reader:
            listed = {t.name for t in (await reader.list_tools()).tools}
            assert "k8s_rollout_status" in listed
            status = await call_ok(reader, "k8s_rollout_status", target)
            assert status["done"] is True and status["verdict"] == "Deployment 'web' successfully rolled out."
            history = await call_ok(reader, "k8s_rollout_status", {**target, "action": "history"})
            assert history["action"] == "history" and history["revisions"]
            refused = await call_error(reader, "k8s_rollout_status", {**target, "action": "restart"})
            assert refused.startswith("Invalid arguments for k8s_rollout_status: 'action':"), refused
