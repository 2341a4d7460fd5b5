"""CPU and memory usage from metrics.k8s.io, when the cluster serves it (metrics-server)."""

from __future__ import annotations

from typing import Any

from kubehelm_mcp.errors import DependencyMissing, NotFound
from kubehelm_mcp.kube.clients import KubeCluster

UNITS = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4, "k": 1000, "M": 1000**2, "G": 1000**3}


def cpu_millicores(quantity: str) -> int:
    """'250m', '1', '123456789n' -> millicores."""
    for suffix, scale in (("n", 1e-6), ("u", 1e-3), ("m", 1.0)):
        if quantity.endswith(suffix):
            return round(float(quantity[: -len(suffix)]) * scale)
    return round(float(quantity) * 1000)


def memory_mib(quantity: str) -> int:
    """'1024Ki', '300Mi', '1G', '12345' -> MiB."""
    for suffix, scale in UNITS.items():
        if quantity.endswith(suffix):
            return round(float(quantity[: -len(suffix)]) * scale / 1024**2)
    return round(float(quantity) / 1024**2)


async def read_metrics(cluster: KubeCluster, plural: str, namespace: str | None) -> list[dict[str, Any]]:
    try:
        rt = await cluster.discovery.resolve(f"{plural}.metrics.k8s.io")
    except NotFound:
        raise DependencyMissing(
            "The metrics API (metrics.k8s.io) is not available in this cluster.",
            hint="Install metrics-server to see CPU and memory usage.",
        ) from None
    listing = await cluster.api.request("GET", rt.collection_path(namespace), what=f"The {plural} metrics")
    items: list[dict[str, Any]] = listing.get("items", [])
    return items


def usage(entries: list[dict[str, Any]]) -> tuple[int, int]:
    """Summed (millicores, MiB) of `usage` maps (a node's, or a pod's containers')."""
    cpu = sum(cpu_millicores(str(e.get("usage", {}).get("cpu", "0"))) for e in entries)
    memory = sum(memory_mib(str(e.get("usage", {}).get("memory", "0"))) for e in entries)
    return cpu, memory
