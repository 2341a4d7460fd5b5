"""The parts of multi-cluster support that need no cluster: Cluster API objects of both versions,
kubeconfig Secrets made safe, name resolution, fleet answers merged, and the bounded client pool.
(tests/test_capi_federation.py runs all of it on real control planes.)"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubehelm_mcp.clusters.capi.access import endpoint_kubeconfig, secret_kubeconfig
from kubehelm_mcp.clusters.capi.model import Replicas, parse_cluster, worker_replicas
from kubehelm_mcp.clusters.names import cluster_allowed, matching, pick
from kubehelm_mcp.errors import ClusterUnavailable, InvalidInput, NotFound
from kubehelm_mcp.kube.target import ClusterTarget
from kubehelm_mcp.pipeline.fleet import ClusterAnswer, merge
from kubehelm_mcp.server import build_parts
from kubehelm_mcp.settings import Settings
from kubehelm_mcp.toolsets.helm.releases import ReleaseList
from kubehelm_mcp.toolsets.kubernetes.cluster import ClusterHealth

pytestmark = pytest.mark.anyio

V1BETA1 = {
    "apiVersion": "cluster.x-k8s.io/v1beta1",
    "metadata": {"namespace": "ns", "name": "old-shape", "labels": {"env": "prod"}},
    "spec": {"controlPlaneEndpoint": {"host": "10.0.0.1", "port": 6443}, "topology": {"version": "v1.31.4"}},
    "status": {
        "phase": "Provisioned",
        "infrastructureReady": True,
        "controlPlaneReady": False,
        "failureMessage": "quota",
        "conditions": [{"type": "Ready", "status": "False", "severity": "Warning", "reason": "Scaling"}],
    },
}
V1BETA2 = {
    "apiVersion": "cluster.x-k8s.io/v1beta2",
    "metadata": {"namespace": "ns", "name": "new-shape"},
    "spec": {"controlPlaneEndpoint": {"host": "fd00::1", "port": 443}},
    "status": {
        "phase": "Provisioning",
        "initialization": {"infrastructureProvisioned": True, "controlPlaneInitialized": True},
        "conditions": [{"type": "ControlPlaneAvailable", "status": "False", "reason": "Waiting"}],
        "controlPlane": {"desiredReplicas": 3, "readyReplicas": 2},
    },
}


def test_both_cluster_api_versions_are_read_by_their_fields() -> None:
    old, new = parse_cluster(V1BETA1), parse_cluster(V1BETA2)
    assert (old.key, old.phase, old.version, old.infrastructure_ready, old.control_plane_ready) == (
        "ns/old-shape",
        "Provisioned",
        "v1.31.4",
        True,
        False,
    )
    assert (old.endpoint, old.failure, old.conditions[0].severity) == ("https://10.0.0.1:6443", "quota", "Warning")
    # v1beta2: initialized, but the ControlPlaneAvailable condition says it is not available
    assert (new.control_plane_ready, new.infrastructure_ready, str(new.control_plane)) == (False, True, "2/3")
    assert new.endpoint == "https://[fd00::1]:443" and new.version is None
    served_as_other = {**V1BETA1, "apiVersion": "cluster.x-k8s.io/v1beta2"}  # no conversion: same fields
    assert parse_cluster(served_as_other).control_plane_ready is False
    md = {"spec": {"replicas": 3}, "status": {"readyReplicas": 2}}
    assert worker_replicas(md) + worker_replicas({"status": {"replicas": 1}}) == Replicas(4, 2)


def _secret(config: dict[str, Any]) -> dict[str, Any]:
    encoded = base64.b64encode(yaml.safe_dump(config).encode()).decode()
    return {"metadata": {"name": "x-kubeconfig"}, "data": {"value": encoded}}


def _kubeconfig(user: dict[str, Any], cluster: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "clusters": [{"name": "c", "cluster": cluster or {"server": "https://10.0.0.1:6443"}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "u@c", "context": {"cluster": "c", "user": "u"}}],
    }


def test_a_kubeconfig_secret_may_run_nothing_and_read_no_file() -> None:
    cluster = parse_cluster(V1BETA1)
    usable = secret_kubeconfig(cluster, _secret(_kubeconfig({"token": "t"})))
    assert usable["current-context"] == "u@c"  # the first context when none is current
    refused = [
        _kubeconfig({"exec": {"command": "/bin/sh"}}),
        _kubeconfig({"auth-provider": {"name": "gcp"}}),
        _kubeconfig({"client-key": "/etc/kubehelm/key.pem"}),
        _kubeconfig({"tokenFile": "/var/run/secrets/token"}),
        _kubeconfig({"token": "t"}, {"server": "https://x", "certificate-authority": "/etc/ca.pem"}),
    ]
    for config in refused:
        with pytest.raises(ClusterUnavailable, match="is refused"):
            secret_kubeconfig(cluster, _secret(config))
    with pytest.raises(ClusterUnavailable, match="has no 'value' key"):
        secret_kubeconfig(cluster, {"metadata": {"name": "x"}, "data": {}})
    made = endpoint_kubeconfig(cluster, "-----BEGIN CERTIFICATE-----\n")
    assert made["clusters"][0]["cluster"]["server"] == "https://10.0.0.1:6443" and made["users"][0]["user"] == {}


def test_names_resolve_exactly_or_not_at_all() -> None:
    known = ["a/alpha", "a/alpha-old", "b/beta", "c/beta"]
    assert (pick("a/alpha", known), pick("alpha", known)) == ("a/alpha", "a/alpha")
    with pytest.raises(InvalidInput, match="'beta' is ambiguous: b/beta, c/beta"):
        pick("beta", known)
    with pytest.raises(NotFound, match="No cluster 'alph'"):
        pick("alph", known)
    assert matching("alph", known) == ["a/alpha", "a/alpha-old"] and matching("ALPHA", known) == ["a/alpha"]
    assert cluster_allowed("a/alpha", ("a/*",), ()) and not cluster_allowed("a/alpha", ("a/*",), ("*/alpha",))


def _releases(*names: str) -> ReleaseList:
    rows = [
        {
            "name": n,
            "namespace": "ns",
            "revision": 1,
            "updated": "",
            "status": "deployed",
            "chart": "c",
            "app_version": "",
        }
        for n in names
    ]
    return ReleaseList.model_validate({"items": rows})


def test_fleet_answers_merge_into_one_table_with_failures_beside_them() -> None:
    answers = [
        ClusterAnswer("a/alpha", _releases("web", "db")),
        ClusterAnswer("b/beta", error="Cannot reach the Kubernetes API server", outcome="unavailable"),
        ClusterAnswer("c/gamma", _releases("web")),
    ]
    merged = merge(answers)
    assert merged.columns is not None and merged.columns[:2] == ["cluster", "name"]
    assert [(i["cluster"], i["name"]) for i in merged.items] == [
        ("a/alpha", "web"),
        ("a/alpha", "db"),
        ("c/gamma", "web"),
    ]
    text = merged.to_text().splitlines()
    assert text[0] == "2 of 3 cluster(s) answered." and text[1].startswith("CLUSTER")
    assert text[-1] == "b/beta: ERROR Cannot reach the Kubernetes API server"
    assert [i["name"] for i in merge(answers, skip=2).items] == ["web"]  # a continue_token resumes after rows sent
    health = ClusterHealth(healthy=True, version="v1.33.1", probes=[])
    sections = merge([ClusterAnswer("a/alpha", health), ClusterAnswer("b/beta", health)])
    assert sections.columns is None and "== b/beta ==\nCluster healthy (server v1.33.1)" in sections.to_text()


async def test_the_client_pool_is_bounded_and_forgets_a_rotated_kubeconfig(tmp_path: Path) -> None:
    kubeconfigs = []
    for name in ("one", "two"):
        path = tmp_path / f"{name}.yaml"
        config = _kubeconfig({"token": name}, {"server": "https://127.0.0.1:9"})
        path.write_text(yaml.safe_dump({**config, "current-context": "u@c"}))
        kubeconfigs.append(str(path))
    pool = build_parts(Settings(max_clients=1)).clients  # --max-clients, as the server builds its pool
    first = await pool.get(ClusterTarget(kubeconfig=kubeconfigs[0]))
    assert await pool.get(ClusterTarget(kubeconfig=kubeconfigs[0])) is first and len(pool) == 1
    await pool.get(ClusterTarget(kubeconfig=kubeconfigs[1]))
    assert len(pool) == 1  # the least recently used went
    assert await pool.discard(kubeconfigs[1]) == 1 and len(pool) == 0
    await pool.close()
