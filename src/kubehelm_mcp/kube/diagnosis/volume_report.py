"""Diagnosing a PersistentVolumeClaim: bound or not, its storage class, its provisioning events."""

from __future__ import annotations

from kubehelm_mcp.errors import Forbidden, NotFound
from kubehelm_mcp.kube.diagnosis.facts import Subject
from kubehelm_mcp.kube.diagnosis.scene import Covered, Scene
from kubehelm_mcp.kube.diagnosis.workload_report import finish, label

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"


async def _class_problem(scene: Scene, storage_class: str | None) -> tuple[str | None, str | None]:
    """Why the claim's class cannot provision it, and the event message that says the same."""
    try:
        if storage_class:
            await scene.get("StorageClass", storage_class)
            return None, None
        classes = await scene.list_of("StorageClass")
    except NotFound:
        missing = f'storageclass.storage.k8s.io "{storage_class}" not found'
        return f"StorageClass '{storage_class}' does not exist", missing
    except Forbidden:  # storage classes are cluster-wide; a namespaced identity may not read them
        return None, None
    if not any((c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true" for c in classes):
        return (
            "no storageClassName and no default StorageClass: only a matching existing PersistentVolume can bind it",
            None,
        )
    return None, None


async def diagnose_claim(scene: Scene, name: str) -> Subject:
    claim = await scene.get("PersistentVolumeClaim", name)
    spec, status = claim.get("spec") or {}, claim.get("status") or {}
    phase = str(status.get("phase") or "Pending")
    storage_class = spec.get("storageClassName")
    size = (status.get("capacity") or {}).get("storage") or ((spec.get("resources") or {}).get("requests") or {}).get(
        "storage"
    )
    parts = [phase, f"class {storage_class}" if storage_class else "no class", str(size or "")]
    if spec.get("volumeName"):
        parts.append(f"volume {spec['volumeName']}")
    problems, covered = [], Covered()
    if phase == "Lost":
        problems.append(f"its PersistentVolume {spec.get('volumeName')} is gone")
    elif phase != "Bound":
        problem, event_message = await _class_problem(scene, storage_class)
        problems += filter(None, [problem])
        covered.messages.update(filter(None, [event_message]))
    subject = Subject(
        object=label("PersistentVolumeClaim", name, scene.namespace),
        status=", ".join(filter(None, parts)),
        healthy=phase == "Bound",
        problems=problems,
    )
    return finish(scene, subject, {f"persistentvolumeclaim/{name}"}, covered)
