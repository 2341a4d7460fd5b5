"""The Cluster API fleet harness itself (tests/support/capi.py): what the federation tests
stand on must hold, checked with kubectl on the real planes."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from tests.support.capi import (
    ALPHA_VERSION,
    BETA_VERSION,
    CLUSTER_NAME_LABEL,
    IDENTITY_CONFIGMAP,
    KUBECONFIG_KEY,
    WORKLOAD_NAMESPACE,
    CapiFleet,
    kubectl_with,
    restrict_user,
    rotate_kubeconfig,
    secret_kubeconfig,
    start_workload,
    stop_workload,
)

pytest_plugins = ["tests.support.capi_fixtures"]  # capi_fleet


def get_json(fleet: CapiFleet, *args: str) -> Any:
    return json.loads(fleet.management.kubectl("get", *args, "-o", "json"))


def by_ref(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f"{i['metadata']['namespace']}/{i['metadata']['name']}": i for i in items}


def identity(fleet: CapiFleet, kubeconfig: str) -> str:
    """Which workload apiserver a kubeconfig reaches: its default/fleet-identity ConfigMap."""
    done = kubectl_with(fleet, kubeconfig, "get", "configmap", IDENTITY_CONFIGMAP, "-n", "default", "-o", "json")
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout)["data"]["cluster"])


def test_clusters_read_back_in_both_versions_with_their_own_status_shape(capi_fleet: CapiFleet) -> None:
    for version in ("v1beta1", "v1beta2"):
        clusters = by_ref(get_json(capi_fleet, f"clusters.{version}.cluster.x-k8s.io", "-A")["items"])
        assert set(clusters) == {"fleet-a/alpha", "fleet-a/alpha-old", "fleet-b/beta"}
        assert {c["apiVersion"] for c in clusters.values()} == {f"cluster.x-k8s.io/{version}"}
        alpha, beta, old = clusters["fleet-a/alpha"], clusters["fleet-b/beta"], clusters["fleet-a/alpha-old"]
        # No conversion webhook: each object keeps the shape it was written with.
        assert alpha["status"]["phase"] == "Provisioned"
        assert alpha["status"]["infrastructureReady"] is True and alpha["status"]["controlPlaneReady"] is True
        topology = alpha["spec"]["topology"]
        assert (topology["class"], topology["version"]) == ("quick-start", ALPHA_VERSION)
        assert any(c.get("severity") == "Info" for c in alpha["status"]["conditions"])
        assert beta["status"]["initialization"] == {"infrastructureProvisioned": True, "controlPlaneInitialized": True}
        assert beta["spec"]["topology"]["classRef"]["name"] == "quick-start"
        assert beta["spec"]["topology"]["version"] == BETA_VERSION
        available = [c for c in beta["status"]["conditions"] if c["type"] == "Available"]
        assert available and available[0]["status"] == "True" and "severity" not in available[0]
        assert beta["status"]["workers"]["readyReplicas"] == 3
        assert old["status"]["phase"] == "Deleting" and old["metadata"].get("deletionTimestamp")
        assert alpha["spec"]["controlPlaneEndpoint"] == {"host": "127.0.0.1", "port": capi_fleet.alpha.port}
        assert beta["spec"]["controlPlaneEndpoint"] == {"host": "127.0.0.1", "port": capi_fleet.beta.port}

    prod = get_json(capi_fleet, "clusters.cluster.x-k8s.io", "-A", "-l", "env=prod")["items"]
    assert sorted(c["metadata"]["name"] for c in prod) == ["alpha", "alpha-old"]

    machines = get_json(capi_fleet, "machinedeployments.cluster.x-k8s.io,machinepools.cluster.x-k8s.io", "-A")
    counts = {
        (m["kind"], m["metadata"]["labels"][CLUSTER_NAME_LABEL], m["metadata"]["name"]): (
            m["spec"]["replicas"],
            m["status"]["readyReplicas"],
        )
        for m in machines["items"]
    }
    assert counts == {
        ("MachineDeployment", "alpha", "alpha-md-0"): (3, 3),
        ("MachineDeployment", "alpha", "alpha-md-1"): (2, 1),
        ("MachineDeployment", "beta", "beta-md-0"): (2, 2),
        ("MachinePool", "beta", "beta-mp-0"): (2, 1),
    }


def test_kubeconfig_secrets_reach_their_own_workload_apiservers(capi_fleet: CapiFleet) -> None:
    assert identity(capi_fleet, secret_kubeconfig(capi_fleet, "alpha")) == "alpha"
    # beta's Secret has a provider's name: only its label finds it (the CA Secret has the label too).
    labelled = get_json(capi_fleet, "secrets", "-n", "fleet-b", "-l", f"{CLUSTER_NAME_LABEL}=beta")["items"]
    kubeconfigs = [s for s in labelled if KUBECONFIG_KEY in s["data"]]
    assert [s["metadata"]["name"] for s in kubeconfigs] == ["beta-user-kubeconfig"]
    assert len(labelled) == 2
    beta = base64.b64decode(kubeconfigs[0]["data"][KUBECONFIG_KEY]).decode()
    assert identity(capi_fleet, beta) == "beta"
    for each in capi_fleet.workloads.values():
        ca = get_json(capi_fleet, "secret", each.ca_secret_name, "-n", each.namespace)
        assert base64.b64decode(ca["data"]["tls.crt"]) == each.plane.ca_file.read_bytes()
        images = kubectl_with(
            capi_fleet, secret_kubeconfig(capi_fleet, each.ref), "get", "deploy", "web", "-n", WORKLOAD_NAMESPACE,
            "-o", "jsonpath={.spec.template.spec.containers[0].image}",
        )  # fmt: skip
        assert images.stdout == each.image
    stale = kubectl_with(capi_fleet, capi_fleet.server_kubeconfig, "get", "secret", "alpha-old-kubeconfig", "-n",
                         "fleet-a", "-o", "jsonpath={.data.value}")  # fmt: skip
    dead = kubectl_with(capi_fleet, base64.b64decode(stale.stdout).decode(), "get", "ns")
    assert dead.returncode != 0 and "refused" in dead.stderr


def test_the_discovery_identity_reads_capi_objects_and_writes_nothing(capi_fleet: CapiFleet) -> None:
    def can(*args: str) -> str:
        return kubectl_with(capi_fleet, capi_fleet.server_kubeconfig, "auth", "can-i", *args).stdout.strip()

    assert can("list", "clusters.cluster.x-k8s.io", "-A") == "yes"
    assert can("list", "secrets", "-n", "fleet-b") == "yes"
    assert can("delete", "clusters.cluster.x-k8s.io", "-n", "fleet-a") == "no"
    assert can("update", "secrets", "-n", "fleet-a") == "no"


def test_rotation_changes_who_the_secret_signs_in_as(capi_fleet: CapiFleet) -> None:
    user = "rotated-reader"
    try:
        config = rotate_kubeconfig(capi_fleet, "fleet-a/alpha", user=user, groups=())
        assert secret_kubeconfig(capi_fleet, "alpha") == config
        denied = kubectl_with(capi_fleet, config, "get", "ns")
        assert denied.returncode != 0 and f'User "{user}" cannot list resource "namespaces"' in denied.stderr
        restrict_user(capi_fleet.alpha.plane, user, WORKLOAD_NAMESPACE, ["get", "list"], resources=["deployments"],
                      api_groups=["apps"])  # fmt: skip
        allowed = kubectl_with(capi_fleet, config, "get", "deploy", "-n", WORKLOAD_NAMESPACE, "-o", "name")
        assert allowed.returncode == 0 and allowed.stdout.strip() == "deployment.apps/web", allowed.stderr
        assert kubectl_with(capi_fleet, config, "get", "deploy", "-n", "default").returncode != 0
    finally:
        admin = rotate_kubeconfig(capi_fleet, "alpha", user="kubernetes-admin", groups=("system:masters",))
    assert identity(capi_fleet, admin) == "alpha"


def test_a_stopped_workload_refuses_fast_and_comes_back(capi_fleet: CapiFleet) -> None:
    beta = secret_kubeconfig(capi_fleet, "beta")
    stop_workload(capi_fleet, "beta")
    try:
        started = time.monotonic()
        down = kubectl_with(capi_fleet, beta, "get", "ns")
        assert down.returncode != 0 and "refused" in down.stderr
        assert time.monotonic() - started < 5
        assert identity(capi_fleet, secret_kubeconfig(capi_fleet, "alpha")) == "alpha"
    finally:
        start_workload(capi_fleet, "beta")
    assert identity(capi_fleet, beta) == "beta"
