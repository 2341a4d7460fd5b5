"""Where the harness keeps what it installs: one cache outside the repo, reused across runs."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "KUBEHELM_MCP_TESTCLUSTER_CACHE"


def cache_root() -> Path:
    """The cache root; the env override lets CI or a developer point at a bigger disk."""
    override = os.environ.get(CACHE_ENV)
    root = Path(override) if override else Path.home() / ".cache" / "kubehelm-mcp" / "testcluster"
    root.mkdir(parents=True, exist_ok=True)
    return root


def bin_dir() -> Path:
    """Single-file binaries (etcd, kube-*, kubectl, helm-v3, helm-v4)."""
    path = cache_root() / "bin"
    path.mkdir(parents=True, exist_ok=True)
    return path


def kube_bin_dir(build_key: str) -> Path:
    """The Kubernetes binaries of one build recipe (see kubebuild.build_key)."""
    path = bin_dir() / f"kubernetes-{build_key}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def node_root() -> Path:
    """Extracted Debian packages for the node (containerd, runc, CNI plugins, busybox)."""
    return cache_root() / "node"


def images_dir() -> Path:
    path = cache_root() / "images"
    path.mkdir(parents=True, exist_ok=True)
    return path


def clusters_dir() -> Path:
    """Default parent of per-cluster work dirs (each cluster gets its own, removed on stop)."""
    path = cache_root() / "clusters"
    path.mkdir(parents=True, exist_ok=True)
    return path
