"""Finding a pod and the container a log, exec or port-forward call means."""

from __future__ import annotations

from typing import Any

from kubehelm_mcp.errors import InvalidInput, NotFound
from kubehelm_mcp.kube.api import KubeApi

DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"


def pod_path(namespace: str, name: str) -> str:
    return f"/api/v1/namespaces/{namespace}/pods/{name}"


async def read_pod(api: KubeApi, namespace: str, name: str) -> dict[str, Any]:
    try:
        pod: dict[str, Any] = await api.request("GET", pod_path(namespace, name), what=f"Pod '{name}'")
    except NotFound:
        raise NotFound(f"Pod '{name}' was not found in namespace '{namespace}'.") from None
    return pod


def container_names(pod: dict[str, Any]) -> list[str]:
    spec = pod.get("spec", {})
    sections = ("containers", "initContainers", "ephemeralContainers")
    return [c["name"] for section in sections for c in spec.get(section) or []]


def pick_container(pod: dict[str, Any], wanted: str | None) -> str:
    """The named container, else the pod's only or annotated default one (kubectl's rule)."""
    names = container_names(pod)
    pod_name = pod["metadata"]["name"]
    if wanted:
        if wanted not in names:
            raise InvalidInput(f"Pod '{pod_name}' has no container '{wanted}'; its containers: {', '.join(names)}.")
        return wanted
    default = (pod["metadata"].get("annotations") or {}).get(DEFAULT_CONTAINER_ANNOTATION)
    if default in names:
        return str(default)
    regular = [c["name"] for c in pod.get("spec", {}).get("containers") or []]
    if len(regular) == 1:
        return str(regular[0])
    raise InvalidInput(f"Pod '{pod_name}' has several containers; pass 'container', one of: {', '.join(regular)}.")


def require_running(pod: dict[str, Any]) -> None:
    phase = pod.get("status", {}).get("phase", "Unknown")
    if phase != "Running":
        name = pod["metadata"]["name"]
        raise InvalidInput(f"Pod '{name}' is {phase}, not Running.", hint="Wait for it to start, or pick another pod.")
