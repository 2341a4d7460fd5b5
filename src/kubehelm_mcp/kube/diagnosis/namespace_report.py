"""Diagnosing a namespace: its unhealthy workloads and claims in a line each, its failing pods
(alike ones once, short logs), and its warning events."""

from __future__ import annotations

from typing import Any

from kubehelm_mcp.concurrency import gather
from kubehelm_mcp.errors import Forbidden, NotFound
from kubehelm_mcp.kube.diagnosis.facts import Subject
from kubehelm_mcp.kube.diagnosis.scene import Covered, Scene
from kubehelm_mcp.kube.diagnosis.workload_report import failing_pods, finish, label
from kubehelm_mcp.kube.diagnosis.workloads import workload_state

# CronJobs are judged by the Jobs they start, which are listed themselves.
LISTED_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "PersistentVolumeClaim", "Pod")
NAMESPACE_LOG_LINES = 5  # many pods may fail at once: a few lines each


async def _listed(scene: Scene, kind: str) -> list[dict[str, Any]]:
    try:
        return await scene.list_of(kind)
    except (Forbidden, NotFound) as exc:  # one kind refused (or not served) must not hide the rest
        scene.notes.append(f"{kind}s not checked: {exc.message}")
        return []


def _unhealthy(obj: dict[str, Any], namespace: str) -> Subject | None:
    kind, name = str(obj["kind"]), obj["metadata"]["name"]
    if kind == "PersistentVolumeClaim":
        phase = str((obj.get("status") or {}).get("phase") or "Pending")
        return None if phase == "Bound" else Subject(object=label(kind, name, namespace), status=phase, healthy=False)
    line, healthy, problems = workload_state(kind, obj)
    return (
        None if healthy else Subject(object=label(kind, name, namespace), status=line, healthy=False, problems=problems)
    )


def _alike_once(subjects: list[Subject]) -> list[Subject]:
    """Objects of one kind in the same state with the same problems are one fact: the first,
    naming the others (two Jobs past their backoff limit)."""
    groups: dict[tuple[str, str, tuple[str, ...]], list[Subject]] = {}
    for s in subjects:
        if not s.problems:  # a bare status line names its own object: nothing is repeated
            groups[(s.object, "", ())] = [s]
            continue
        groups.setdefault((s.object.split(" ", 1)[0], s.status, tuple(s.problems)), []).append(s)
    merged = []
    for first, *others in groups.values():
        if others:
            names = ", ".join(o.object.rsplit("/", 1)[-1] for o in others)
            first.object += f" (and {len(others)} alike: {names})"
        merged.append(first)
    return merged


async def diagnose_namespace(scene: Scene) -> list[Subject]:
    namespace = await scene.get("Namespace", scene.namespace)
    scene.log_lines = NAMESPACE_LOG_LINES
    listed = await gather(*(_listed(scene, kind) for kind in LISTED_KINDS))
    *owners, pods = listed
    unhealthy = [s for objects in owners for obj in objects if (s := _unhealthy(obj, scene.namespace)) is not None]
    failing, pod_refs = await failing_pods(scene, pods)
    phase = str((namespace.get("status") or {}).get("phase") or "Active")
    counted = sum(len(objects) for objects in owners)
    line = f"{phase}; {len(pods)} pod(s), {len(pod_refs)} failing; {counted} workload(s)/claim(s)"
    line += f", {len(unhealthy)} unhealthy"
    head = Subject(
        object=label("Namespace", scene.namespace, None),
        status=line,
        healthy=phase == "Active" and not unhealthy,
        problems=["it is being deleted"] if phase == "Terminating" else [],
        pods=failing,
    )
    # every warning of the namespace but those about pods that are fine now (or gone)
    refs = pod_refs | {row["object"] for row in scene.warnings if not row["object"].startswith("pod/")}
    covered = Covered(problems=[p for subject in unhealthy for p in subject.problems])
    return [finish(scene, head, refs, covered), *_alike_once(unhealthy)]
