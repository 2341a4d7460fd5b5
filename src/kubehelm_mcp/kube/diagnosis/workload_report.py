"""Diagnosing a pod or a workload: its own state, its failing pods (alike ones once), their logs
and the warning events about all of them."""

from __future__ import annotations

from typing import Any

from kubehelm_mcp.kube.diagnosis.facts import PodFacts, Subject
from kubehelm_mcp.kube.diagnosis.placement import restate
from kubehelm_mcp.kube.diagnosis.pods import add_logs, group_alike, pod_facts
from kubehelm_mcp.kube.diagnosis.scene import Covered, Scene
from kubehelm_mcp.kube.diagnosis.workloads import label_selector, owned_by, workload_state


def ref(obj: dict[str, Any]) -> str:
    """`kind/name` as event rows name the object an event is about."""
    return f"{str(obj.get('kind', '')).lower()}/{obj['metadata']['name']}"


def label(kind: str, name: str, namespace: str | None) -> str:
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


async def failing_pods(scene: Scene, pods: list[dict[str, Any]]) -> tuple[list[PodFacts], set[str]]:
    """The failing pods, alike ones grouped, with the logs that explain them; and every failing pod's ref."""
    judged = [(pod, facts) for pod in pods if (facts := pod_facts(pod)) is not None]
    stuck = [(pod, facts) for pod, facts in judged if facts.unschedulable]
    if stuck and (nodes := await scene.nodes()) is not None:
        for pod, facts in stuck:
            restate(facts, pod, nodes)
    failing = [facts for _, facts in judged]
    groups = group_alike(failing)
    await add_logs(scene.api, scene.namespace, groups, scene.log_lines)
    return groups, {f"pod/{facts.name}" for facts in failing}


def finish(scene: Scene, subject: Subject, objects: set[str], covered: Covered | None = None) -> Subject:
    """Add the warning events about `objects` that say something new; healthy only when nothing is wrong."""
    covered = covered or Covered()
    covered.add_pods(subject.pods)
    covered.problems += subject.problems
    subject.events = scene.events(objects, covered)
    subject.healthy = subject.healthy and not subject.problems and not subject.pods
    return subject


async def diagnose_pod(scene: Scene, name: str) -> Subject:
    pod = await scene.get("Pod", name)
    pods, objects = await failing_pods(scene, [pod])
    status = pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    ready = sum(1 for s in statuses if s.get("ready"))
    line = (
        f"{status.get('phase', 'Unknown')}, {ready}/{len(pod.get('spec', {}).get('containers') or [])} containers ready"
    )
    node = (pod.get("spec") or {}).get("nodeName")
    subject = Subject(
        object=label("Pod", name, scene.namespace),
        status=line + (f", on {node}" if node else ""),
        healthy=True,
        pods=pods,
    )
    return finish(scene, subject, objects | {f"pod/{name}"})


async def _owned_pods(
    scene: Scene, selecting: dict[str, Any] | None, owners: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The pods `selecting`'s selector matches that one of `owners` controls (one list call)."""
    selector = label_selector(((selecting or {}).get("spec") or {}).get("selector"))
    if selector is None or not owners:
        return []
    uids = {owner["metadata"]["uid"] for owner in owners}
    return [pod for pod in await scene.list_of("Pod", selector) if any(owned_by(pod, uid) for uid in uids)]


async def diagnose_workload(scene: Scene, kind: str, name: str) -> Subject:
    obj = await scene.get(kind, name)
    line, healthy, problems = workload_state(kind, obj)
    owners, objects = [obj], {ref(obj)}
    selecting: dict[str, Any] | None = obj
    if kind == "Deployment":  # pods belong to its ReplicaSets, whose events say why pods are not created
        selector = label_selector((obj.get("spec") or {}).get("selector"))
        sets = [rs for rs in await scene.list_of("ReplicaSet", selector) if owned_by(rs, obj["metadata"]["uid"])]
        owners, objects = sets, objects | {ref(rs) for rs in sets}
    elif kind == "CronJob":  # the newest Job it started speaks for it
        jobs = sorted(
            (job for job in await scene.list_of("Job") if owned_by(job, obj["metadata"]["uid"])),
            key=lambda job: str(job["metadata"].get("creationTimestamp")),
        )
        owners, selecting = jobs[-1:], (jobs[-1] if jobs else None)
        for job in owners:
            job_line, job_ok, job_problems = workload_state("Job", job)
            line += f"; last Job {job['metadata']['name']}: {job_line}"
            healthy, problems = healthy and job_ok, [*problems, *job_problems]
            objects.add(ref(job))
    failing, pod_refs = await failing_pods(scene, await _owned_pods(scene, selecting, owners))
    subject = Subject(
        object=label(kind, name, scene.namespace), status=line, healthy=healthy, problems=problems, pods=failing
    )
    return finish(scene, subject, objects | pod_refs)
