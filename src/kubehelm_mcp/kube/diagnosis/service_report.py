"""Diagnosing a Service: does its selector match pods, are they ready endpoints, do its target
ports exist on them."""

from __future__ import annotations

from difflib import SequenceMatcher
from typing import Any

from kubehelm_mcp.errors import NotFound
from kubehelm_mcp.kube.diagnosis.facts import Subject
from kubehelm_mcp.kube.diagnosis.scene import Scene
from kubehelm_mcp.kube.diagnosis.workload_report import failing_pods, finish, label

MAX_NEAREST = 2
MIN_ALIKE = 0.75  # two values this alike are a typo, not two apps
MIN_ALIKE_CHARS = 3  # shorter values are alike by chance


def _endpoint_counts(endpoints: dict[str, Any] | None) -> tuple[int, list[str]]:
    """Ready addresses, and the pods (or IPs) behind the not-ready ones."""
    ready, not_ready = 0, []
    for subset in (endpoints or {}).get("subsets") or []:
        ready += len(subset.get("addresses") or [])
        for address in subset.get("notReadyAddresses") or []:
            not_ready.append(str((address.get("targetRef") or {}).get("name") or address.get("ip")))
    return ready, not_ready


def _port_problems(service: dict[str, Any], pods: list[dict[str, Any]]) -> list[str]:
    """Target ports no selected pod declares. Pods that declare no ports at all are not judged:
    a container may listen on a port it never declared."""
    numbers: set[int] = set()
    names: set[str] = set()
    for pod in pods:
        for container in (pod.get("spec") or {}).get("containers") or []:
            for port in container.get("ports") or []:
                numbers.add(int(port["containerPort"]))
                names.update(filter(None, [port.get("name")]))
    if not numbers:
        return []
    declared = ", ".join(sorted({str(n) for n in numbers} | names))
    problems = []
    for entry in (service.get("spec") or {}).get("ports") or []:
        target = entry.get("targetPort", entry.get("port"))
        missing = target not in names if isinstance(target, str) else int(target) not in numbers
        if missing:
            problems.append(
                f"port {entry.get('port')} targets {target!r}, which no selected pod declares (they declare {declared})"
            )
    return problems


def _closeness(selector: dict[str, str], labels: dict[str, str]) -> float:
    """How nearly a pod's labels match a selector that does not match them: the pairs it has, plus
    for a key it has with another value, how alike the values are (one inside the other, a typo).
    0 when the pod is not a likely intended target."""
    exact = sum(1 for k, v in selector.items() if labels.get(k) == v)
    alike = 0.0
    for key, want in selector.items():
        have = labels.get(key)
        if have is None or have == want:
            continue
        if min(len(want), len(have)) >= MIN_ALIKE_CHARS and (want in have or have in want):
            alike = max(alike, 0.9)
        else:
            alike = max(alike, SequenceMatcher(None, want, have).ratio() if len(want) >= MIN_ALIKE_CHARS else 0.0)
    alike = alike if alike >= MIN_ALIKE else 0.0
    return exact + alike if exact or alike else 0.0


async def _nearest(scene: Scene, selector: dict[str, str]) -> str | None:
    """The pods most likely meant (at most two), by the selector's keys as they carry them."""
    ranked: dict[str, tuple[float, str]] = {}
    for pod in await scene.list_of("Pod"):
        labels = pod["metadata"].get("labels") or {}
        score = _closeness(selector, labels)
        if score:
            shown = ", ".join(f"{k}={labels[k]}" if k in labels else f"no {k}" for k in sorted(selector))
            best = ranked.get(shown)
            if best is None or score > best[0]:
                ranked[shown] = (score, str(pod["metadata"]["name"]))
    top = sorted(ranked.items(), key=lambda item: -item[1][0])[:MAX_NEAREST]
    return " or ".join(f"{shown} (pod {name})" for shown, (_, name) in top) or None


async def diagnose_service(scene: Scene, name: str) -> Subject:
    service = await scene.get("Service", name)
    spec = service.get("spec") or {}
    kind_of = spec.get("type", "ClusterIP")
    if kind_of == "ExternalName":
        line = f"ExternalName {spec.get('externalName')}"
        return finish(
            scene,
            Subject(object=label("Service", name, scene.namespace), status=line, healthy=True),
            {f"service/{name}"},
        )
    try:
        endpoints: dict[str, Any] | None = await scene.get("Endpoints", name)
    except NotFound:
        endpoints = None
    ready, not_ready = _endpoint_counts(endpoints)
    ports = ", ".join(
        f"{p.get('port')}->{p.get('targetPort', p.get('port'))}/{p.get('protocol', 'TCP')}"
        for p in spec.get("ports") or []
    )
    problems: list[str] = []
    selector: dict[str, str] = spec.get("selector") or {}
    pods: list[dict[str, Any]] = []
    if selector:
        selector_text = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
        pods = await scene.list_of("Pod", selector_text)
        if not pods:
            near = await _nearest(scene, selector)
            problems.append(
                f"selector {selector_text} matches no pods in the namespace" + (f"; nearest: {near}" if near else "")
            )
        problems += _port_problems(service, pods)
    elif not ready:
        problems.append("no selector and no ready endpoint addresses (endpoints are managed outside Kubernetes)")
    if pods and not ready:
        problems.append(f"none of the {len(pods)} selected pod(s) is a ready endpoint")
    line = f"{kind_of}, ports {ports or 'none'}; endpoints {ready} ready" + (
        f", {len(not_ready)} not ready" if not_ready else ""
    )
    failing, pod_refs = await failing_pods(scene, pods)
    subject = Subject(
        object=label("Service", name, scene.namespace), status=line, healthy=ready > 0, problems=problems, pods=failing
    )
    return finish(scene, subject, pod_refs | {f"service/{name}", f"endpoints/{name}"})
