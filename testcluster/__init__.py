"""A real Kubernetes v1.20 test cluster on 127.0.0.1, plus real helm v3/v4 (tests only; not shipped).

    python -m testcluster install [--node]   # install/build into the cache (first run ~7 min)
    python -m testcluster up [--node]        # start; prints KUBECONFIG=...; Ctrl-C tears down
    python -m testcluster env                # export lines for helm v3/v4 and kubectl
    python -m pytest -p testcluster.pytest_plugin ...   # fixtures: test_binaries, kube_cluster,
                                                        # kube_node, helm_binaries

Modules: paths (cache dir), apt/kubebuild/images/install (installing), pki (openssl),
api (HTTPS client), procs (processes), controlplane, runtime/node (containerd + kubelet),
reaper (clean-up if the owner dies), pytest_plugin, __main__ (CLI).
"""

from .controlplane import ControlPlane
from .install import Binaries, NodeBinaries, ensure_all
from .node import Node

__all__ = ["Binaries", "ControlPlane", "Node", "NodeBinaries", "ensure_all"]
