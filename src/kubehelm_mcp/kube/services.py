"""Resolving a Service port to a Running pod behind it and the container port it targets."""

from __future__ import annotations

from typing import Any

from kubehelm_mcp.errors import InvalidInput, NotFound
from kubehelm_mcp.kube.api import KubeApi


def _ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _container_port(pod: dict[str, Any], port_name: str) -> int | None:
    for container in pod.get("spec", {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == port_name:
                return int(port["containerPort"])
    return None


def _service_port(service: dict[str, Any], port: int) -> dict[str, Any]:
    ports = service.get("spec", {}).get("ports") or []
    for entry in ports:
        if entry.get("port") == port:
            return dict(entry)
    name = service["metadata"]["name"]
    known = ", ".join(str(p.get("port")) for p in ports) or "none"
    raise InvalidInput(f"Service '{name}' has no port {port}; its ports: {known}.")


async def service_backend(api: KubeApi, namespace: str, name: str, port: int) -> tuple[str, int]:
    """The name of a Running pod behind the Service (a Ready one if any) and its target port."""
    try:
        service = await api.request("GET", f"/api/v1/namespaces/{namespace}/services/{name}", what=f"Service '{name}'")
    except NotFound:
        raise NotFound(f"Service '{name}' was not found in namespace '{namespace}'.") from None
    entry = _service_port(service, port)
    selector: dict[str, str] = service.get("spec", {}).get("selector") or {}
    if not selector:
        raise InvalidInput(f"Service '{name}' has no selector, so no pod backs it.")
    label_selector = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    listing = await api.request(
        "GET", f"/api/v1/namespaces/{namespace}/pods", query=[("labelSelector", label_selector)], what="Pods"
    )
    running = [
        p
        for p in listing.get("items", [])
        if p.get("status", {}).get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")
    ]
    if not running:
        raise InvalidInput(f"No Running pod matches Service '{name}' (selector {label_selector}).")
    pod = next((p for p in running if _ready(p)), running[0])
    target = entry.get("targetPort", port)
    if isinstance(target, str):
        resolved = _container_port(pod, target)
        if resolved is None:
            pod_name = pod["metadata"]["name"]
            raise InvalidInput(f"Pod '{pod_name}' behind Service '{name}' has no container port named '{target}'.")
        target = resolved
    return str(pod["metadata"]["name"]), int(target)
