"""A Cluster API Cluster, as the tools show it, from either API version's fields.

Both v1beta1 and v1beta2 objects are read by the fields they carry, not by the version they were
served as: a CRD without conversion serves an object stored in one version under the other one
unchanged, so either shape can arrive under either apiVersion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CAPI_GROUP = "cluster.x-k8s.io"
CLUSTER_NAME_LABEL = "cluster.x-k8s.io/cluster-name"
# Per cluster, by label or annotation: how calls reach it (pipeline/identity.py) and the audience
# its exchanged tokens are asked for.
IDENTITY_KEY = "kubehelm-mcp.io/cluster-identity"
AUDIENCE_KEY = "kubehelm-mcp.io/token-audience"


@dataclass(frozen=True)
class Replicas:
    desired: int = 0
    ready: int = 0

    def __add__(self, other: Replicas) -> Replicas:
        return Replicas(self.desired + other.desired, self.ready + other.ready)

    def __str__(self) -> str:
        return f"{self.ready}/{self.desired}"


@dataclass(frozen=True)
class Condition:
    type: str
    status: str
    reason: str = ""
    message: str = ""
    severity: str = ""  # v1beta1 only: Error, Warning, Info

    @property
    def bad(self) -> bool:
        """True for a condition saying something is wrong (Deleting/Paused being True is not health)."""
        return self.status != "True" and self.type not in ("Deleting", "Paused")


@dataclass(frozen=True)
class CapiCluster:
    namespace: str
    name: str
    api_version: str
    phase: str
    version: str | None
    control_plane_ready: bool
    infrastructure_ready: bool
    endpoint: str | None  # https://host:port from spec.controlPlaneEndpoint
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    conditions: tuple[Condition, ...] = ()
    control_plane: Replicas | None = None
    failure: str | None = None
    resource_version: str = ""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def setting(self, key: str) -> str | None:
        """A per-cluster setting, by annotation, else label."""
        return self.annotations.get(key) or self.labels.get(key)


def _bool(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _conditions(items: Any) -> tuple[Condition, ...]:
    if not isinstance(items, list):
        return ()
    return tuple(
        Condition(
            type=str(c.get("type", "")),
            status=str(c.get("status", "Unknown")),
            reason=str(c.get("reason") or ""),
            message=str(c.get("message") or ""),
            severity=str(c.get("severity") or ""),
        )
        for c in items
        if isinstance(c, dict) and c.get("type")
    )


def _condition_true(conditions: tuple[Condition, ...], *types: str) -> bool | None:
    for c in conditions:
        if c.type in types:
            return c.status == "True"
    return None


def _endpoint(spec: dict[str, Any]) -> str | None:
    endpoint = spec.get("controlPlaneEndpoint") or {}
    host, port = endpoint.get("host"), endpoint.get("port")
    if not host:
        return None
    host = f"[{host}]" if ":" in str(host) and not str(host).startswith("[") else host
    return f"https://{host}:{port or 443}"


def parse_cluster(obj: dict[str, Any]) -> CapiCluster:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    conditions = _conditions(status.get("conditions"))
    initialization = status.get("initialization")
    if isinstance(initialization, dict):  # v1beta2
        infrastructure = _bool(initialization.get("infrastructureProvisioned"))
        available = _condition_true(conditions, "ControlPlaneAvailable")
        control_plane = available if available is not None else _bool(initialization.get("controlPlaneInitialized"))
        deprecated = ((status.get("deprecated") or {}).get("v1beta1")) or {}
        failure = deprecated.get("failureMessage") or deprecated.get("failureReason")
    else:  # v1beta1
        infrastructure = _bool(status.get("infrastructureReady"))
        control_plane = _bool(status.get("controlPlaneReady"))
        failure = status.get("failureMessage") or status.get("failureReason")
    counts = status.get("controlPlane")
    control_plane_replicas = (
        Replicas(int(counts.get("desiredReplicas") or 0), int(counts.get("readyReplicas") or 0))
        if isinstance(counts, dict)
        else None
    )
    topology = spec.get("topology") or {}
    return CapiCluster(
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        api_version=str(obj.get("apiVersion", "")),
        phase=str(status.get("phase") or "Unknown"),
        version=topology.get("version") or None,
        control_plane_ready=control_plane,
        infrastructure_ready=infrastructure,
        endpoint=_endpoint(spec),
        labels=dict(meta.get("labels") or {}),
        annotations=dict(meta.get("annotations") or {}),
        conditions=conditions,
        control_plane=control_plane_replicas,
        failure=str(failure) if failure else None,
        resource_version=str(meta.get("resourceVersion", "")),
    )


def owner_cluster(obj: dict[str, Any]) -> str | None:
    """The Cluster a MachineDeployment or MachinePool belongs to (spec.clusterName, else its label)."""
    spec = obj.get("spec") or {}
    labels = (obj.get("metadata") or {}).get("labels") or {}
    name = spec.get("clusterName") or labels.get(CLUSTER_NAME_LABEL)
    return str(name) if name else None


def worker_replicas(obj: dict[str, Any]) -> Replicas:
    """Desired and ready machines of a MachineDeployment or MachinePool (both versions name them alike)."""
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    desired = spec.get("replicas")
    if desired is None:
        desired = status.get("replicas") or 0
    return Replicas(int(desired), int(status.get("readyReplicas") or 0))


def worker_version(obj: dict[str, Any]) -> str | None:
    """The Kubernetes version a MachineDeployment's (or MachinePool's) machines run."""
    template = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    version = template.get("version")
    return str(version) if version else None
