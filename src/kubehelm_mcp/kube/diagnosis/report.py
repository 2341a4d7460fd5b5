"""One entry point per kind a diagnosis can be asked about."""

from __future__ import annotations

from kubehelm_mcp.kube.diagnosis.facts import Subject
from kubehelm_mcp.kube.diagnosis.namespace_report import diagnose_namespace
from kubehelm_mcp.kube.diagnosis.scene import Scene
from kubehelm_mcp.kube.diagnosis.service_report import diagnose_service
from kubehelm_mcp.kube.diagnosis.volume_report import diagnose_claim
from kubehelm_mcp.kube.diagnosis.workload_report import diagnose_pod, diagnose_workload
from kubehelm_mcp.kube.diagnosis.workloads import WORKLOAD_KINDS

OBJECT_KINDS = (*WORKLOAD_KINDS, "Pod", "Service", "PersistentVolumeClaim")


async def diagnose(scene: Scene, kind: str, name: str) -> list[Subject]:
    """The subjects that explain `kind/name`, the asked-about object first."""
    if kind == "Namespace":
        return await diagnose_namespace(scene)
    if kind == "Pod":
        return [await diagnose_pod(scene, name)]
    if kind == "Service":
        return [await diagnose_service(scene, name)]
    if kind == "PersistentVolumeClaim":
        return [await diagnose_claim(scene, name)]
    if kind in WORKLOAD_KINDS:
        return [await diagnose_workload(scene, kind, name)]
    raise ValueError(f"cannot diagnose kind {kind}")
