"""Build kube-apiserver, -controller-manager, -scheduler and kubelet from Debian's source.

No registry ships these binaries, but Debian bookworm's `kubernetes` source package is the
full upstream v1.20.2 tree with vendor/, which builds offline with Debian's Go 1.19.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from .apt import Apt, remove_tree
from .procs import log, run

SOURCE_PACKAGE = "kubernetes=1.20.5+really1.20.2-1.1+deb12u1"
BUILD_PACKAGES = ["golang-1.19-go", "golang-github-modern-go-reflect2-dev", "rsync", "make"]
GO_BIN = Path("/usr/lib/go-1.19/bin")
# The vendored reflect2 v1.0.1 breaks on Go >= 1.18; Debian's packaged copy is fixed.
REFLECT2 = Path("/usr/share/gocode/src/github.com/modern-go/reflect2")
TARGETS = {
    "kube-apiserver": "cmd/kube-apiserver",
    "kube-controller-manager": "cmd/kube-controller-manager",
    "kube-scheduler": "cmd/kube-scheduler",
    "kubelet": "cmd/kubelet",
}
VERSION_FILE = """\
KUBE_GIT_VERSION='v1.20.2'
KUBE_GIT_MAJOR='1'
KUBE_GIT_MINOR='20'
KUBE_GIT_TREE_STATE='clean'
KUBE_GIT_COMMIT='faecb196815e248d3ecfb03c680a4507229c2a56'
"""


# `providerless` drops the in-tree cloud providers. In v1.20 it leaves the kubelet's image
# credential providers in (cmd/kubelet/app imports them unconditionally), and the ECR one asks
# the AWS SDK for credentials, which calls the cloud metadata address: their imports are cut out
# of the source before the build (see _cut_credential_providers).
GO_BUILD_TAGS = "providerless"
LD_FLAGS = "-s -w"
CREDENTIAL_PROVIDER_IMPORTS = {
    "cmd/kubelet/app/plugins.go": ("aws", "azure", "gcp"),
    "cmd/kubelet/app/options/globalflags.go": ("azure", "gcp"),  # only for their flags, gone when providerless
}


def build_key() -> str:
    """Changes whenever what the build produces would: the cache holds one directory per key,
    so machines holding binaries built another way rebuild instead of reusing them."""
    recipe = "\n".join(
        [SOURCE_PACKAGE, VERSION_FILE, GO_BUILD_TAGS, LD_FLAGS, " ".join(TARGETS), repr(CREDENTIAL_PROVIDER_IMPORTS)]
    )
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def _go_arch() -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def _unpack_source(download_dir: Path, log_file: Path) -> Path:
    """Untar the upstream .orig tarball (Debian's patches are not needed) and return its root."""
    tarballs = sorted(download_dir.glob("kubernetes_*.orig.tar.*"))
    if not tarballs:
        raise RuntimeError(f"no kubernetes .orig tarball in {download_dir}; see {log_file}")
    tree = download_dir / "src"
    tree.mkdir()
    run(["tar", "-xf", tarballs[0], "-C", tree], log_file=log_file)
    roots = [p.parent for p in tree.glob("*/Makefile")] + [p.parent for p in tree.glob("Makefile")]
    if not roots:
        raise RuntimeError(f"no Makefile in the unpacked kubernetes source under {tree}")
    return roots[0]


def _patch_reflect2(root: Path) -> None:
    vendored = root / "vendor/github.com/modern-go/reflect2"
    remove_tree(vendored)
    shutil.copytree(REFLECT2, vendored, symlinks=False)
    (vendored / "go.mod").unlink(missing_ok=True)


def _cut_credential_providers(root: Path) -> None:
    """Remove the blank imports that link the in-tree image credential providers into the kubelet."""
    for relative, providers in CREDENTIAL_PROVIDER_IMPORTS.items():
        source = root / relative
        text = source.read_text()
        for provider in providers:
            line = f'\t_ "k8s.io/kubernetes/pkg/credentialprovider/{provider}"\n'
            if line not in text:  # another source revision: stop rather than build a kubelet that calls out
                raise RuntimeError(f"{relative} does not import the {provider} credential provider as expected")
            text = text.replace(line, "")
        source.write_text(text)


def _echo_make_line(line: str) -> bool:
    """Repeat make's own milestones and any error; the Go compiler is otherwise silent."""
    return line.startswith("+++") or "error" in line.lower() or "cannot" in line


def build_kube(apt: Apt, dest: Path, work_parent: Path) -> None:
    """Build the four binaries into dest; the 2+ GB build tree is removed afterwards."""
    apt.install(BUILD_PACKAGES)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="kube-build-", dir=work_parent))
    log_file = work_parent / "logs" / "kube-build.log"
    try:
        try:
            apt.source(SOURCE_PACKAGE, work)
        except RuntimeError:
            # A security update may have replaced the pinned revision on the mirror;
            # any bookworm revision is the same upstream v1.20 tree.
            log(f"{SOURCE_PACKAGE} unavailable; trying the current bookworm revision")
            apt.source(SOURCE_PACKAGE.split("=")[0], work)
        log("unpacking the kubernetes v1.20.2 source")
        root = _unpack_source(work, log_file)
        _patch_reflect2(root)
        _cut_credential_providers(root)
        version_file = work / "kube-version"
        version_file.write_text(VERSION_FILE)
        env = {
            **os.environ,
            "PATH": f"{GO_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "CGO_ENABLED": "0",
            "GOPROXY": "off",
            "GOFLAGS": f"-tags={GO_BUILD_TAGS}",
            "GOCACHE": str(work / "gocache"),  # inside work, so it is deleted with it
            "KUBE_GIT_VERSION_FILE": str(version_file),
        }
        log(f"building {', '.join(TARGETS)} from source (first run only, ~5 min; log: {log_file})")
        run(
            [
                "make",
                f"WHAT={' '.join(TARGETS.values())}",
                f"KUBE_BUILD_PLATFORMS=linux/{_go_arch()}",
                f"GOLDFLAGS={LD_FLAGS}",
                f"GOFLAGS=-tags={GO_BUILD_TAGS}",
            ],
            cwd=root,
            env=env,
            log_file=log_file,
            echo=_echo_make_line,
            heartbeat="still compiling kubernetes",
        )
        for name in TARGETS:
            built = root / "_output" / "bin" / name
            staged = dest / f".{name}.tmp"
            shutil.copy2(built, staged)
            os.replace(staged, dest / name)  # atomic: a half-copied binary never counts
        log(f"kubernetes binaries built in {time.monotonic() - started:.0f} s")
    finally:
        remove_tree(work)
