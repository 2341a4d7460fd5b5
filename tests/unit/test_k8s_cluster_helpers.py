"""Pure helpers behind the cluster tools: health check parsing, node conditions, metric units."""

from __future__ import annotations

from kubehelm_mcp.kube.health import node_health, parse_checks
from kubehelm_mcp.kube.top import cpu_millicores, memory_mib, usage

READYZ = """[+]ping ok
[+]log ok
[-]etcd failed: reason withheld
[+]poststarthook/start-kube-apiserver-admission-initializer ok
[-]shutdown failed: reason withheld
readyz check failed
"""


def test_parse_checks() -> None:
    assert parse_checks(READYZ) == (5, ["etcd", "shutdown"])
    assert parse_checks("ok") == (0, [])


def test_node_health() -> None:
    node = {
        "metadata": {"name": "n1"},
        "spec": {"unschedulable": True},
        "status": {
            "conditions": [
                {"type": "Ready", "status": "False", "message": "kubelet stopped posting"},
                {"type": "DiskPressure", "status": "True"},
                {"type": "MemoryPressure", "status": "False"},
            ],
            "nodeInfo": {"kubeletVersion": "v1.20.15"},
        },
    }
    health = node_health(node)
    assert health.ready is False and health.kubelet_version == "v1.20.15"
    assert health.problems == ["NotReady: kubelet stopped posting", "DiskPressure", "SchedulingDisabled"]
    healthy = node_health({"metadata": {"name": "n2"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    assert healthy.ready and healthy.problems == []


def test_metric_units() -> None:
    assert [cpu_millicores(q) for q in ("250m", "2", "123456789n", "1500u")] == [250, 2000, 123, 2]
    assert [memory_mib(q) for q in ("1024Ki", "300Mi", "1Gi", "1048576", "1G")] == [1, 300, 1024, 1, 954]
    containers = [{"usage": {"cpu": "100m", "memory": "10Mi"}}, {"usage": {"cpu": "50m", "memory": "6Mi"}}]
    assert usage(containers) == (150, 16)
