"""Pure parts of k8s_rollout: selectors, status verdicts and the Deployment undo patch."""

from __future__ import annotations

from typing import Any

from kubehelm_mcp.kube.rollout import deployment_undo_patch, label_selector, rollout_status


def test_label_selector() -> None:
    selector = {
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["a", "b"]},
            {"key": "env", "operator": "NotIn", "values": ["dev"]},
            {"key": "owned", "operator": "Exists"},
            {"key": "legacy", "operator": "DoesNotExist"},
        ],
    }
    assert label_selector(selector) == "app=web,tier in (a,b),env notin (dev),owned,!legacy"


def _deployment(status: dict[str, Any], generation: int = 2) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"name": "web", "generation": generation},
        "spec": {"replicas": 3},
        "status": status,
    }


def test_deployment_verdicts() -> None:
    done = {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3}
    assert rollout_status(_deployment(done)).done is True
    assert (
        rollout_status(_deployment(done, generation=3)).message
        == "Waiting for the Deployment spec update to be observed."
    )
    updating = rollout_status(_deployment({**done, "updatedReplicas": 1}))
    assert not updating.done and updating.message.endswith("1 out of 3 new replicas have been updated.")
    old = rollout_status(_deployment({**done, "replicas": 4}))
    assert old.message.endswith("1 old replicas are pending termination.")
    stuck = {**done, "conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]}
    assert rollout_status(_deployment(stuck)).message == "Deployment 'web' exceeded its progress deadline."


def test_on_delete_strategy_has_no_rollout_to_follow() -> None:
    daemon = {"kind": "DaemonSet", "metadata": {"name": "agent"}, "spec": {"updateStrategy": {"type": "OnDelete"}}}
    status = rollout_status(daemon)
    assert status.done is None and "OnDelete" in status.message


def test_deployment_undo_patch_like_kubectl() -> None:
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "v1"}]}}
    deployment = {
        "metadata": {"annotations": {"deployment.kubernetes.io/revision": "3", "kubernetes.io/change-cause": "now"}},
        "spec": {"template": {**template, "spec": {"containers": [{"name": "c", "image": "v2"}]}}},
    }
    replica_set = {
        "metadata": {"annotations": {"deployment.kubernetes.io/revision": "1", "kubernetes.io/change-cause": "then"}},
        "spec": {"template": {**template, "metadata": {"labels": {"app": "web", "pod-template-hash": "abc"}}}},
    }
    assert deployment_undo_patch(deployment, replica_set) == [
        {"op": "add", "path": "/spec/template", "value": template},
        {
            "op": "add",
            "path": "/metadata/annotations",
            "value": {"deployment.kubernetes.io/revision": "3", "kubernetes.io/change-cause": "then"},
        },
    ]
    same = {**deployment, "spec": {"template": template}}
    assert deployment_undo_patch(same, replica_set) is None
