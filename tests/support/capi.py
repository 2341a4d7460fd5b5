"""A Cluster API fleet on real control planes: one management cluster and two workload clusters.

The management cluster carries minimal CAPI CRDs (tests/data/capi), Cluster objects written
as v1beta1 and as v1beta2 (each with that version's status shape), MachineDeployments, a
MachinePool, kubeconfig and CA Secrets as CAPI providers write them, and a ServiceAccount a
server can discover with. Use the module-scoped `capi_fleet` fixture
(`pytest_plugins = ["tests.support.capi_fixtures"]`) or call start_fleet/stop_fleet yourself.

Fleet (the ref is `namespace/name`):
- fleet-a/alpha      v1beta1, Provisioned, env=prod; workload plane `fleet.alpha.plane`;
                     kubeconfig Secret `alpha-kubeconfig` (found by the `<name>-kubeconfig` name)
- fleet-b/beta       v1beta2, Provisioned, env=dev; workload plane `fleet.beta.plane`;
                     kubeconfig Secret `beta-user-kubeconfig` (found only by its cluster-name label)
- fleet-a/alpha-old  v1beta1, Deleting (a real deletionTimestamp); its Secret points at a closed
                     loopback port: no cluster answers there. `alph` matches alpha and alpha-old.
"""

from __future__ import annotations

import base64
import itertools
import json
import signal
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testcluster.api import ApiError
from testcluster.controlplane import ControlPlane
from testcluster.install import Binaries
from testcluster.procs import free_ports, signal_group

from testcluster import pki
from tests.support.rbac import bound_role

CRD_DIR = Path(__file__).resolve().parent.parent / "data" / "capi"
CRDS = ("clusters", "machinedeployments", "machinepools")
GROUP = "cluster.x-k8s.io"
CLUSTER_NAME_LABEL = "cluster.x-k8s.io/cluster-name"
SECRET_TYPE = "cluster.x-k8s.io/secret"
KUBECONFIG_KEY = "value"

DISCOVERY_NAMESPACE = "kubehelm-system"
DISCOVERY_ACCOUNT = "kubehelm-mcp"  # the server's own identity on the management cluster
WORKLOAD_NAMESPACE = "shop"  # exists on both workload clusters, with different images
IDENTITY_CONFIGMAP = "fleet-identity"  # default/fleet-identity data.cluster = the cluster's name

ALPHA_VERSION = "v1.31.4"
BETA_VERSION = "v1.33.1"
STAMP = "2026-12-01T10:00:00Z"
_serial = itertools.count(1)


@dataclass
class WorkloadCluster:
    """A Cluster object on the management cluster and the real control plane it stands for."""

    namespace: str
    name: str
    plane: ControlPlane
    secret_name: str  # the kubeconfig Secret, in `namespace`
    written_as: str  # the apiVersion its Cluster object was written with (its status shape)
    image: str  # the image of Deployment shop/web on this cluster

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def port(self) -> int:
        return int(self.plane.server.rsplit(":", 1)[1])

    @property
    def ca_secret_name(self) -> str:
        return f"{self.name}-ca"


@dataclass
class CapiFleet:
    management: ControlPlane
    alpha: WorkloadCluster
    beta: WorkloadCluster
    server_kubeconfig: Path  # ServiceAccount kubehelm-system/kubehelm-mcp: discovery rights only
    unreachable_port: int  # alpha-old's endpoint: nothing listens there
    started_in: float = 0.0  # seconds from start_fleet() to a populated fleet

    @property
    def management_kubeconfig(self) -> Path:
        """The management cluster's admin kubeconfig (system:masters)."""
        return self.management.kubeconfig

    @property
    def kubectl_binary(self) -> Path:
        return self.management.binaries.kubectl

    @property
    def workloads(self) -> dict[str, WorkloadCluster]:
        return {w.ref: w for w in (self.alpha, self.beta)}

    def workload(self, cluster: str) -> WorkloadCluster:
        """By `namespace/name` or bare name."""
        for each in (self.alpha, self.beta):
            if cluster in (each.ref, each.name):
                return each
        raise KeyError(f"no workload cluster {cluster!r} in the fleet (have {sorted(self.workloads)})")

    @property
    def workdir(self) -> Path:
        path = self.management.workdir / "fleet"
        path.mkdir(exist_ok=True)
        return path


# ---- object builders (plain dicts; JSON is YAML, so kubectl takes them as they are) ----


def _condition(kind: str, status: str, reason: str = "", message: str = "", **extra: Any) -> dict[str, Any]:
    condition: dict[str, Any] = {"type": kind, "status": status, "lastTransitionTime": STAMP, **extra}
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition


def _meta(namespace: str, name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": dict(labels or {})}


def _network() -> dict[str, Any]:
    return {
        "pods": {"cidrBlocks": ["192.168.0.0/16"]},
        "services": {"cidrBlocks": ["10.128.0.0/12"]},
        "serviceDomain": "cluster.local",
    }


def cluster_v1beta1(
    namespace: str, name: str, port: int, labels: dict[str, str], *, phase: str = "Provisioned"
) -> dict[str, Any]:
    """A Cluster as CAPI v1beta1 writes it: refs with apiVersion, topology.class, bool readiness
    flags and conditions with severity (set only when a condition is not True)."""
    ready = phase == "Provisioned"
    # v1beta1 sets severity (Error, Warning, Info) only on conditions that are not True.
    summary = _condition("Ready", "True") if ready else _condition("Ready", "False", phase, severity="Info")
    conditions = [
        summary,
        _condition("ControlPlaneInitialized", "True"),
        _condition("ControlPlaneReady", "True"),
        _condition("InfrastructureReady", "True"),
        _condition(
            "TopologyReconciled",
            "False",
            "MachineDeploymentsUpgradePending",
            "MachineDeployment(s) md-1 upgrade to version v1.31.4 on hold",
            severity="Info",
        ),
    ]
    return {
        "apiVersion": f"{GROUP}/v1beta1",
        "kind": "Cluster",
        "metadata": _meta(namespace, name, labels),
        "spec": {
            "clusterNetwork": _network(),
            "controlPlaneEndpoint": {"host": "127.0.0.1", "port": port},
            "controlPlaneRef": {
                "apiVersion": "controlplane.cluster.x-k8s.io/v1beta1",
                "kind": "KubeadmControlPlane",
                "name": f"{name}-control-plane",
                "namespace": namespace,
            },
            "infrastructureRef": {
                "apiVersion": "infrastructure.cluster.x-k8s.io/v1beta1",
                "kind": "DockerCluster",
                "name": name,
                "namespace": namespace,
            },
            "topology": {
                "class": "quick-start",
                "version": ALPHA_VERSION,
                "controlPlane": {"replicas": 3},
                "workers": {
                    "machineDeployments": [
                        {"class": "default-worker", "name": "md-0", "replicas": 3},
                        {"class": "default-worker", "name": "md-1", "replicas": 2},
                    ]
                },
            },
        },
        "status": {
            "phase": phase,
            "infrastructureReady": True,
            "controlPlaneReady": True,  # set once at provisioning, never cleared
            "observedGeneration": 1,
            "failureDomains": {"fd-1": {"controlPlane": True}, "fd-2": {"controlPlane": True}},
            "conditions": conditions,
        },
    }


def cluster_v1beta2(namespace: str, name: str, port: int, labels: dict[str, str]) -> dict[str, Any]:
    """A Cluster as CAPI v1beta2 writes it: refs with apiGroup, topology.classRef, the
    `initialization` booleans, metav1 conditions (reason always, no severity), replica
    summaries under controlPlane/workers, and the old conditions under deprecated.v1beta1."""
    conditions = [
        _condition("Available", "True", "Available", observedGeneration=1),
        _condition("InfrastructureReady", "True", "Ready", observedGeneration=1),
        _condition("ControlPlaneInitialized", "True", "Initialized", observedGeneration=1),
        _condition("ControlPlaneAvailable", "True", "Available", observedGeneration=1),
        _condition("WorkersAvailable", "True", "Available", observedGeneration=1),
        _condition(
            "WorkerMachinesReady",
            "False",
            "NotReady",
            "* Machine beta-mp-0-x2kqp:\n  * NodeHealthy: Node not ready",
            observedGeneration=1,
        ),
        _condition("RemoteConnectionProbe", "True", "ProbeSucceeded", observedGeneration=1),
        _condition("TopologyReconciled", "True", "ReconcileSucceeded", observedGeneration=1),
    ]
    return {
        "apiVersion": f"{GROUP}/v1beta2",
        "kind": "Cluster",
        "metadata": _meta(namespace, name, labels),
        "spec": {
            "clusterNetwork": _network(),
            "controlPlaneEndpoint": {"host": "127.0.0.1", "port": port},
            "controlPlaneRef": {
                "apiGroup": "controlplane.cluster.x-k8s.io",
                "kind": "KubeadmControlPlane",
                "name": f"{name}-control-plane",
            },
            "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DockerCluster", "name": name},
            "topology": {
                "classRef": {"name": "quick-start"},
                "version": BETA_VERSION,
                "controlPlane": {"replicas": 1},
                "workers": {
                    "machineDeployments": [{"class": "default-worker", "name": "md-0", "replicas": 2}],
                    "machinePools": [{"class": "default-pool", "name": "mp-0", "replicas": 2}],
                },
            },
        },
        "status": {
            "phase": "Provisioned",
            "observedGeneration": 1,
            "initialization": {"infrastructureProvisioned": True, "controlPlaneInitialized": True},
            "controlPlane": {
                "desiredReplicas": 1,
                "replicas": 1,
                "upToDateReplicas": 1,
                "readyReplicas": 1,
                "availableReplicas": 1,
            },
            "workers": {
                "desiredReplicas": 4,
                "replicas": 4,
                "upToDateReplicas": 4,
                "readyReplicas": 3,
                "availableReplicas": 3,
            },
            "conditions": conditions,
            "deprecated": {"v1beta1": {"conditions": [_condition("Ready", "True")]}},
        },
    }


def machine_deployment_v1beta1(
    namespace: str, cluster: str, name: str, version: str, *, desired: int, ready: int
) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/v1beta1",
        "kind": "MachineDeployment",
        "metadata": _meta(namespace, name, {CLUSTER_NAME_LABEL: cluster}),
        "spec": {
            "clusterName": cluster,
            "replicas": desired,
            "selector": {"matchLabels": {CLUSTER_NAME_LABEL: cluster}},
            "template": {"spec": {"clusterName": cluster, "version": version, "bootstrap": {}}},
        },
        "status": {
            "observedGeneration": 1,
            "selector": f"{CLUSTER_NAME_LABEL}={cluster}",
            "phase": "Running" if ready == desired else "ScalingUp",
            "replicas": desired,
            "updatedReplicas": desired,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "unavailableReplicas": desired - ready,
            "conditions": [_condition("Ready", "True"), _condition("Available", "True")],
        },
    }


def machine_deployment_v1beta2(
    namespace: str, cluster: str, name: str, version: str, *, desired: int, ready: int
) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/v1beta2",
        "kind": "MachineDeployment",
        "metadata": _meta(namespace, name, {CLUSTER_NAME_LABEL: cluster}),
        "spec": {
            "clusterName": cluster,
            "replicas": desired,
            "selector": {"matchLabels": {CLUSTER_NAME_LABEL: cluster}},
            "template": {"spec": {"clusterName": cluster, "version": version, "bootstrap": {}}},
        },
        "status": {
            "observedGeneration": 1,
            "selector": f"{CLUSTER_NAME_LABEL}={cluster}",
            "phase": "Running" if ready == desired else "ScalingUp",
            "replicas": desired,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "upToDateReplicas": desired,
            "conditions": [_condition("Available", "True", "Available", observedGeneration=1)],
        },
    }


def machine_pool_v1beta2(
    namespace: str, cluster: str, name: str, version: str, *, desired: int, ready: int
) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/v1beta2",
        "kind": "MachinePool",
        "metadata": _meta(namespace, name, {CLUSTER_NAME_LABEL: cluster}),
        "spec": {
            "clusterName": cluster,
            "replicas": desired,
            "template": {"spec": {"clusterName": cluster, "version": version, "bootstrap": {}}},
        },
        "status": {
            "observedGeneration": 1,
            "phase": "Running" if ready == desired else "ScalingUp",
            "initialization": {"infrastructureProvisioned": True, "bootstrapDataSecretCreated": True},
            "replicas": desired,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "upToDateReplicas": desired,
            "conditions": [_condition("Available", "True", "Available", observedGeneration=1)],
        },
    }


def _b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def capi_secret(namespace: str, cluster: str, name: str, data: dict[str, bytes | str]) -> dict[str, Any]:
    """A Secret as CAPI writes them: its type, labelled with the cluster's name."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(namespace, name, {CLUSTER_NAME_LABEL: cluster}),
        "type": SECRET_TYPE,
        "data": {key: _b64(value) for key, value in data.items()},
    }


def capi_kubeconfig(path: Path, cluster: str, server: str, ca_file: Path, client: pki.KeyPair, user: str) -> str:
    """A self-contained kubeconfig in the names CAPI's kubeconfig Secret uses."""
    pki.write_kubeconfig(
        path,
        server=server,
        ca_file=ca_file,
        client=client,
        context_name=f"{user}@{cluster}",
        cluster_name=cluster,
        user_name=user,
    )
    return path.read_text()


def _issue(plane: ControlPlane, user: str, groups: Sequence[str]) -> pki.KeyPair:
    """A client certificate from the plane's own CA (what the apiserver trusts)."""
    safe = "".join(c if c.isalnum() or c in "-." else "-" for c in user)
    return pki.issue(plane.ca, plane.pki_dir, f"user-{safe}-{next(_serial)}", common_name=user, organizations=groups)


def user_kubeconfig(plane: ControlPlane, user: str, groups: Sequence[str] = ()) -> Path:
    """A kubeconfig with a fresh client certificate for `user` (and groups) on any plane."""
    pair = _issue(plane, user, groups)
    return pki.write_kubeconfig(
        pair.cert.with_suffix(".kubeconfig"), server=plane.server, ca_file=plane.ca_file, client=pair, user_name=user
    )


def _list(items: Sequence[dict[str, Any]]) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": list(items)})


# ---- starting and populating ----


def start_planes(binaries: Binaries, names: Sequence[str]) -> list[ControlPlane]:
    """Start one control plane per name, side by side (each picks free ports); all or none."""
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        futures = [pool.submit(ControlPlane.start, None, binaries, context_name=name) for name in names]
    planes, errors = [], []
    for future in futures:
        try:
            planes.append(future.result())
        except Exception as error:
            errors.append(error)
    if errors:
        for plane in planes:
            plane.stop()
        raise errors[0]
    return planes


def install_crds(plane: ControlPlane) -> None:
    plane.kubectl("apply", "-f", str(CRD_DIR))
    plane.kubectl("wait", "--for=condition=established", "--timeout=60s", *(f"crd/{c}.{GROUP}" for c in CRDS))


DISCOVERY_RBAC = f"""apiVersion: v1
kind: Namespace
metadata: {{name: {DISCOVERY_NAMESPACE}}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: {DISCOVERY_ACCOUNT}, namespace: {DISCOVERY_NAMESPACE}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: kubehelm-mcp-capi-discovery}}
rules:
- apiGroups: [{GROUP}]
  resources: [clusters, machinedeployments, machinepools]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [secrets, configmaps]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [namespaces]
  verbs: [get, list]
- apiGroups: [authorization.k8s.io]
  resources: [subjectaccessreviews]
  verbs: [create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: kubehelm-mcp-capi-discovery}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kubehelm-mcp-capi-discovery}}
subjects: [{{kind: ServiceAccount, name: {DISCOVERY_ACCOUNT}, namespace: {DISCOVERY_NAMESPACE}}}]
"""


def _workload_objects(name: str, image: str) -> str:
    """What each workload cluster holds, so an answer shows which cluster gave it."""
    items = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": WORKLOAD_NAMESPACE}},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": IDENTITY_CONFIGMAP, "namespace": "default"},
            "data": {"cluster": name},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": WORKLOAD_NAMESPACE, "labels": {"app": "web"}},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": image, "imagePullPolicy": "Never"}]},
                },
            },
        },
    ]
    return _list(items)


def _management_objects(fleet: CapiFleet) -> list[dict[str, Any]]:
    alpha, beta = fleet.alpha, fleet.beta
    alpha_old = cluster_v1beta1("fleet-a", "alpha-old", fleet.unreachable_port, {"env": "prod"}, phase="Deleting")
    alpha_old["metadata"]["finalizers"] = [f"cluster.{GROUP}"]  # deleted below; CAPI's finalizer keeps it
    items: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in ("fleet-a", "fleet-b")
    ]
    items += [
        cluster_v1beta1(alpha.namespace, alpha.name, alpha.port, {"env": "prod", "team": "payments"}),
        cluster_v1beta2(beta.namespace, beta.name, beta.port, {"env": "dev", "team": "search"}),
        alpha_old,
        machine_deployment_v1beta1("fleet-a", "alpha", "alpha-md-0", ALPHA_VERSION, desired=3, ready=3),
        machine_deployment_v1beta1("fleet-a", "alpha", "alpha-md-1", ALPHA_VERSION, desired=2, ready=1),
        machine_deployment_v1beta2("fleet-b", "beta", "beta-md-0", BETA_VERSION, desired=2, ready=2),
        machine_pool_v1beta2("fleet-b", "beta", "beta-mp-0", BETA_VERSION, desired=2, ready=1),
    ]
    for each in (alpha, beta):
        admin = _issue(each.plane, "kubernetes-admin", ["system:masters"])  # kubeadm's admin identity
        config = capi_kubeconfig(
            fleet.workdir / f"{each.name}.kubeconfig",
            each.name,
            each.plane.server,
            each.plane.ca_file,
            admin,
            f"{each.name}-admin",
        )
        items.append(capi_secret(each.namespace, each.name, each.secret_name, {KUBECONFIG_KEY: config}))
        items.append(
            capi_secret(
                each.namespace,
                each.name,
                each.ca_secret_name,
                {"tls.crt": each.plane.ca.cert.read_bytes(), "tls.key": each.plane.ca.key.read_bytes()},
            )
        )
    # alpha-old's kubeconfig names a loopback port nothing listens on (alpha's CA and credentials).
    stale = fleet.alpha.plane.admin
    stale_config = capi_kubeconfig(
        fleet.workdir / "alpha-old.kubeconfig",
        "alpha-old",
        f"https://127.0.0.1:{fleet.unreachable_port}",
        fleet.alpha.plane.ca_file,
        stale,
        "alpha-old-admin",
    )
    items.append(capi_secret("fleet-a", "alpha-old", "alpha-old-kubeconfig", {KUBECONFIG_KEY: stale_config}))
    return items


def populate(fleet: CapiFleet) -> None:
    """CRDs, Clusters, machines and Secrets on the management cluster; marker objects on each
    workload cluster; the discovery ServiceAccount and its kubeconfig."""
    management = fleet.management
    install_crds(management)
    management.kubectl("create", "-f", "-", stdin=_list(_management_objects(fleet)))
    management.kubectl("delete", f"clusters.v1beta1.{GROUP}/alpha-old", "-n", "fleet-a", "--wait=false")
    management.kubectl("apply", "-f", "-", stdin=DISCOVERY_RBAC)
    for each in (fleet.alpha, fleet.beta):
        each.plane.kubectl("create", "-f", "-", stdin=_workload_objects(each.name, each.image))
    token = management.service_account_token(DISCOVERY_NAMESPACE, DISCOVERY_ACCOUNT)
    pki.write_kubeconfig(
        fleet.server_kubeconfig,
        server=management.server,
        ca_file=management.ca_file,
        token=token,
        context_name="management",
        user_name=DISCOVERY_ACCOUNT,
    )


def start_fleet(binaries: Binaries) -> CapiFleet:
    started = time.monotonic()
    management, alpha_plane, beta_plane = start_planes(binaries, ["management", "alpha", "beta"])
    (unreachable,) = free_ports(1)
    fleet = CapiFleet(
        management=management,
        alpha=WorkloadCluster(
            "fleet-a", "alpha", alpha_plane, "alpha-kubeconfig", f"{GROUP}/v1beta1", "127.0.0.1/kubehelm/web:1.0"
        ),
        beta=WorkloadCluster(
            "fleet-b", "beta", beta_plane, "beta-user-kubeconfig", f"{GROUP}/v1beta2", "127.0.0.1/kubehelm/web:2.0"
        ),
        server_kubeconfig=management.workdir / "fleet" / "discovery.kubeconfig",
        unreachable_port=unreachable,
    )
    try:
        populate(fleet)
    except BaseException:
        stop_fleet(fleet)
        raise
    fleet.started_in = time.monotonic() - started
    return fleet


def _crash_apiserver(plane: ControlPlane) -> None:
    """SIGKILL the apiserver. On SIGTERM a 1.20 apiserver waits for open watches (the
    controllers') and is killed only after the plane's 10 s grace; a crash ends it at once."""
    for daemon in plane.daemons:
        if daemon.name == "kube-apiserver":
            signal_group(daemon.pid, signal.SIGKILL)
            daemon.proc.wait()


def _stop_plane(plane: ControlPlane) -> None:
    _crash_apiserver(plane)  # nothing of a plane outlives stop(), so its state need not be saved
    plane.stop()


def stop_fleet(fleet: CapiFleet) -> None:
    """Stop every plane, side by side; each is stopped even when another fails to."""
    planes = (fleet.alpha.plane, fleet.beta.plane, fleet.management)
    with ThreadPoolExecutor(max_workers=len(planes)) as pool:
        futures = [pool.submit(_stop_plane, plane) for plane in planes]
    for future in futures:
        future.result()


# ---- changing the fleet during a test ----


def read_secret(fleet: CapiFleet, namespace: str, name: str) -> dict[str, Any]:
    return fleet.management.client().get(f"/api/v1/namespaces/{namespace}/secrets/{name}")


def secret_kubeconfig(fleet: CapiFleet, cluster: str) -> str:
    """The decoded kubeconfig in a workload cluster's Secret, as it is now."""
    each = fleet.workload(cluster)
    secret = read_secret(fleet, each.namespace, each.secret_name)
    return base64.b64decode(secret["data"][KUBECONFIG_KEY]).decode()


def rotate_kubeconfig(
    fleet: CapiFleet, cluster: str, user: str = "rotated-admin", groups: Sequence[str] = ("system:masters",)
) -> str:
    """Rewrite the cluster's kubeconfig Secret in place (an update, as a provider rotating
    credentials does) with a freshly issued client certificate for `user`; returns the new
    kubeconfig. groups=() gives a user with no rights until RBAC grants some."""
    each = fleet.workload(cluster)
    config = capi_kubeconfig(
        fleet.workdir / f"{each.name}-{next(_serial)}.kubeconfig",
        each.name,
        each.plane.server,
        each.plane.ca_file,
        _issue(each.plane, user, groups),
        user,
    )
    secret = read_secret(fleet, each.namespace, each.secret_name)
    secret["data"][KUBECONFIG_KEY] = _b64(config)
    path = f"/api/v1/namespaces/{each.namespace}/secrets/{each.secret_name}"
    status, body = fleet.management.client().request("PUT", path, secret)
    if not 200 <= status < 300:
        raise ApiError(status, path, body)
    return config


def _flow(values: Sequence[str]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def restrict_user(
    plane: ControlPlane,
    user: str,
    namespace: str,
    verbs: Sequence[str],
    resources: Sequence[str] = ("configmaps", "pods"),
    api_groups: Sequence[str] = ("",),
    groups: Sequence[str] = (),
) -> str:
    """Grant `user` (and groups) exactly `verbs` on `resources` in one namespace of `plane`, and
    nothing else: the Role and RoleBinding are named after the user. Returns that name."""
    name = "restricted-" + "".join(c if c.isalnum() else "-" for c in user.lower())
    rules = f"[{{apiGroups: {_flow(api_groups)}, resources: {_flow(resources)}, verbs: {_flow(verbs)}}}]"
    users = (user,) if user else ()
    plane.kubectl("apply", "-f", "-", stdin=bound_role(namespace, name, rules, users=users, groups=tuple(groups)))
    return name


def stop_workload(fleet: CapiFleet, cluster: str, *, graceful: bool = False) -> None:
    """An outage: the workload's apiserver goes away and connections are refused at once. By
    default it is killed (instant); graceful=True sends SIGTERM first, which takes ~10 s."""
    plane = fleet.workload(cluster).plane
    if not graceful:
        _crash_apiserver(plane)
    plane.stop_apiserver()  # the plane's own bookkeeping: start_apiserver() can follow


def start_workload(fleet: CapiFleet, cluster: str) -> None:
    """The same apiserver again (same port, certificates and data); returns once ready."""
    fleet.workload(cluster).plane.start_apiserver()


def hang_workload(fleet: CapiFleet, cluster: str) -> None:
    """A hung apiserver: it accepts connections but never answers (SIGSTOP). Pair with resume_workload."""
    fleet.workload(cluster).plane.pause("kube-apiserver")


def resume_workload(fleet: CapiFleet, cluster: str) -> None:
    fleet.workload(cluster).plane.resume("kube-apiserver")


def kubectl_with(
    fleet: CapiFleet, kubeconfig: str | Path, *args: str, timeout: float = 30.0
) -> subprocess.CompletedProcess[str]:
    """Run kubectl with a kubeconfig (text or path) and return the result, failing or not."""
    path = Path(kubeconfig) if isinstance(kubeconfig, Path) else None
    if path is None:
        path = fleet.workdir / f"kubectl-{next(_serial)}.kubeconfig"
        path.write_text(str(kubeconfig))
        path.chmod(0o600)
    return subprocess.run(
        [str(fleet.kubectl_binary), f"--kubeconfig={path}", "--request-timeout=10s", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
