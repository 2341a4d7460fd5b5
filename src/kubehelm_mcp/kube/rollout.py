"""Rollouts of Deployments, StatefulSets and DaemonSets, done the way `kubectl rollout` does them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kubehelm_mcp.errors import InvalidInput, NotFound
from kubehelm_mcp.kube.clients import KubeCluster
from kubehelm_mcp.kube.discovery import ResourceType
from kubehelm_mcp.kube.mutations import patch_object
from kubehelm_mcp.kube.resources import ListQuery, list_objects

ROLLOUT_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
POD_TEMPLATE_HASH = "pod-template-hash"
# Annotations an undo keeps from the Deployment instead of copying them from the ReplicaSet (as kubectl).
_KEPT_ANNOTATIONS = {
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
}


def require_rollouts(rt: ResourceType) -> None:
    if rt.group != "apps" or rt.kind not in ROLLOUT_KINDS:
        raise InvalidInput(f"{rt.kind} has no rollouts; only Deployment, StatefulSet and DaemonSet do.")


@dataclass(frozen=True)
class RolloutStatus:
    done: bool | None  # None: the update strategy has no rollout to follow (OnDelete)
    message: str
    replicas: dict[str, int]


def _replicas(obj: dict[str, Any]) -> dict[str, int]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if obj["kind"] == "DaemonSet":
        keys = {
            "desired": "desiredNumberScheduled",
            "current": "currentNumberScheduled",
            "updated": "updatedNumberScheduled",
            "ready": "numberReady",
            "available": "numberAvailable",
        }
        return {name: int(status.get(key, 0)) for name, key in keys.items()}
    counts = {"desired": int(spec.get("replicas", 1))}
    for name in ("current", "updated", "ready", "available"):
        counts[name] = int(status.get("replicas" if name == "current" else f"{name}Replicas", 0))
    return counts


def rollout_status(obj: dict[str, Any]) -> RolloutStatus:
    """The verdict of kubectl's rollout status viewers, without waiting."""
    kind, name = obj["kind"], obj["metadata"]["name"]
    generation = int(obj["metadata"].get("generation", 0))
    status, spec = obj.get("status") or {}, obj.get("spec") or {}
    observed = int(status.get("observedGeneration", 0))
    counts = _replicas(obj)
    strategy = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate")
    if kind != "Deployment" and strategy != "RollingUpdate":
        return RolloutStatus(
            None, f"{kind} '{name}' uses the {strategy} strategy: rollout status only follows RollingUpdate.", counts
        )
    if generation > observed or (kind == "StatefulSet" and observed == 0):
        return RolloutStatus(False, f"Waiting for the {kind} spec update to be observed.", counts)
    return RolloutStatus(*_verdict(kind, name, obj, counts), counts)


def _verdict(kind: str, name: str, obj: dict[str, Any], n: dict[str, int]) -> tuple[bool, str]:
    status, spec = obj.get("status") or {}, obj.get("spec") or {}
    waiting = f"Waiting for {kind} '{name}' rollout to finish: "
    if kind == "Deployment":
        progressing: dict[str, Any] = next(
            (c for c in status.get("conditions") or [] if c.get("type") == "Progressing"), {}
        )
        if progressing.get("reason") == "ProgressDeadlineExceeded":
            return False, f"Deployment '{name}' exceeded its progress deadline."
        if n["updated"] < n["desired"]:
            return False, f"{waiting}{n['updated']} out of {n['desired']} new replicas have been updated."
        if n["current"] > n["updated"]:
            return False, f"{waiting}{n['current'] - n['updated']} old replicas are pending termination."
        if n["available"] < n["updated"]:
            return False, f"{waiting}{n['available']} of {n['updated']} updated replicas are available."
        return True, f"Deployment '{name}' successfully rolled out."
    if kind == "DaemonSet":
        if n["updated"] < n["desired"]:
            return False, f"{waiting}{n['updated']} out of {n['desired']} new pods have been updated."
        if n["available"] < n["desired"]:
            return False, f"{waiting}{n['available']} of {n['desired']} updated pods are available."
        return True, f"DaemonSet '{name}' successfully rolled out."
    if n["ready"] < n["desired"]:
        return False, f"{waiting}waiting for {n['desired'] - n['ready']} pods to be ready."
    partition = ((spec.get("updateStrategy") or {}).get("rollingUpdate") or {}).get("partition")
    if partition is not None:
        wanted = n["desired"] - int(partition)
        if n["updated"] < wanted:
            return False, f"{waiting}{n['updated']} out of {wanted} new pods have been updated (partitioned)."
        return True, f"StatefulSet '{name}' partitioned roll out complete: {n['updated']} new pods have been updated."
    if status.get("updateRevision") != status.get("currentRevision"):
        return False, f"{waiting}{n['updated']} pods at revision {status.get('updateRevision')}."
    return (
        True,
        f"StatefulSet '{name}' rolling update complete: {n['current']} pods at {status.get('currentRevision')}.",
    )


def label_selector(selector: dict[str, Any]) -> str:
    """A LabelSelector object as the labelSelector query string."""
    parts = [f"{key}={value}" for key, value in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        key, values = expr["key"], ",".join(expr.get("values") or [])
        parts.append(
            {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": key}.get(
                expr["operator"], f"!{key}"
            )
        )
    return ",".join(parts)


@dataclass
class Revision:
    number: int
    name: str  # the ReplicaSet (Deployment) or ControllerRevision holding it
    change_cause: str | None
    images: list[str]
    source: dict[str, Any] = field(repr=False)


def _template(source: dict[str, Any]) -> dict[str, Any]:
    """The pod template of a ReplicaSet, or of a ControllerRevision's recorded patch."""
    spec = source.get("spec") or (source.get("data") or {}).get("spec") or {}
    template: dict[str, Any] = spec.get("template") or {}
    return template


def _revision(source: dict[str, Any], number: int) -> Revision:
    containers = (_template(source).get("spec") or {}).get("containers") or []
    return Revision(
        number=number,
        name=source["metadata"]["name"],
        change_cause=(source["metadata"].get("annotations") or {}).get(CHANGE_CAUSE),
        images=[c.get("image", "") for c in containers],
        source=source,
    )


async def revisions(cluster: KubeCluster, obj: dict[str, Any]) -> list[Revision]:
    """Oldest first: a Deployment's from its ReplicaSets, the others' from their ControllerRevisions."""
    meta = obj["metadata"]
    holder = "ReplicaSet" if obj["kind"] == "Deployment" else "ControllerRevision"
    rt = await cluster.discovery.resolve(holder, "apps/v1")
    selector = label_selector((obj.get("spec") or {}).get("selector") or {})
    query = ListQuery(namespace=meta["namespace"], label_selector=selector or None, limit=1000)
    found = []
    for item in (await list_objects(cluster.api, rt, query)).items:
        if not any(ref.get("uid") == meta["uid"] for ref in item["metadata"].get("ownerReferences") or []):
            continue
        if holder == "ControllerRevision":
            found.append(_revision(item, int(item.get("revision", 0))))
        elif str(number := (item["metadata"].get("annotations") or {}).get(REVISION, "")).isdigit():
            found.append(_revision(item, int(number)))
    return sorted(found, key=lambda r: r.number)


async def restart(cluster: KubeCluster, rt: ResourceType, obj: dict[str, Any]) -> str:
    """Stamp the pod template as kubectl does, so the controller replaces every pod; returns the stamp."""
    _refuse_paused(obj, "restarted")
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}}
    meta = obj["metadata"]
    await patch_object(cluster.api, rt, meta["name"], meta["namespace"], patch, "strategic")
    return now


def _refuse_paused(obj: dict[str, Any], done: str) -> None:
    if (obj.get("spec") or {}).get("paused"):
        raise InvalidInput(f"Deployment '{obj['metadata']['name']}' is paused and cannot be {done}; resume it first.")


def _pick_revision(obj: dict[str, Any], history: list[Revision], to_revision: int | None) -> Revision:
    label = f"{obj['kind']} '{obj['metadata']['name']}'"
    if to_revision is None:
        if len(history) < 2:
            raise NotFound(f"{label} has no previous revision to go back to.")
        return history[-2]
    for revision in history:
        if revision.number == to_revision:
            return revision
    known = ", ".join(str(r.number) for r in history) or "none"
    raise NotFound(f"{label} has no revision {to_revision} (revisions: {known}).")


def _without_hash(template: dict[str, Any]) -> dict[str, Any]:
    meta = dict(template.get("metadata") or {})
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != POD_TEMPLATE_HASH}
    return {**template, "metadata": {**meta, "labels": labels}}


def deployment_undo_patch(deployment: dict[str, Any], replica_set: dict[str, Any]) -> list[dict[str, Any]] | None:
    """kubectl's rollback: the ReplicaSet's template (without its hash label) and annotations;
    None when the Deployment already runs that template."""
    template = _without_hash(replica_set["spec"]["template"])
    if template == _without_hash(deployment["spec"]["template"]):
        return None
    current = deployment["metadata"].get("annotations") or {}
    annotations = {k: v for k, v in current.items() if k in _KEPT_ANNOTATIONS}
    annotations |= {
        k: v for k, v in (replica_set["metadata"].get("annotations") or {}).items() if k not in _KEPT_ANNOTATIONS
    }
    return [
        {"op": "add", "path": "/spec/template", "value": template},
        {"op": "add", "path": "/metadata/annotations", "value": annotations},
    ]


async def undo(
    cluster: KubeCluster, rt: ResourceType, obj: dict[str, Any], to_revision: int | None
) -> tuple[Revision, bool]:
    """Go back to a revision (the previous one by default); returns it and whether anything changed."""
    meta = obj["metadata"]
    history = await revisions(cluster, obj)
    target = _pick_revision(obj, history, to_revision)
    if obj["kind"] == "Deployment":
        _refuse_paused(obj, "rolled back")
        patch = deployment_undo_patch(obj, target.source)
        if patch is None:
            return target, False
        await patch_object(cluster.api, rt, meta["name"], meta["namespace"], patch, "json")
        return target, True
    if target.number == history[-1].number:  # the newest ControllerRevision is the running template
        return target, False
    # A ControllerRevision records its template as the strategic merge patch that restores it.
    await patch_object(cluster.api, rt, meta["name"], meta["namespace"], target.source["data"], "strategic")
    return target, True
