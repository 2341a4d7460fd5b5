"""The kubehelm-mcp container image, built from the repo's Containerfile without any registry.

Three cached inputs, each keyed by what makes it (so a change rebuilds only what it touches):
- the base: a Debian bookworm root with python3, made by mmdebstrap from the machine's apt
  sources, committed into buildah's own storage (vfs, under the cache);
- the wheelhouse: every dependency of `kubehelm-mcp[otel,sdk]` plus pip and setuptools;
- helm v3 and v4: the test cluster's cached binaries.
Fetching the first two needs the Debian and PyPI registries, so it belongs to install steps
(`scripts/build-image`, `python -m testcluster install --node`); the image build itself is
offline (`--pull-never`, `pip --no-index`), so a test may rebuild when the sources changed.
The result is a docker-archive under ~/.cache/kubehelm-mcp/image/, keyed by every input,
importable with `ctr images import`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import paths
from .apt import Apt, remove_tree
from .install import ensure_helm
from .procs import capture, log, run

REPO = Path(__file__).resolve().parent.parent
IMAGE_REPO = "127.0.0.1/kubehelm/kubehelm-mcp"  # loopback "registry": a pull could never leave the host
BASE_REPO = "127.0.0.1/kubehelm/debian-python"
EXTRAS = "otel,sdk"
SUITE = "bookworm"
# usr-is-merged (with the merged-usr hook) satisfies init-system-helpers, which would otherwise
# pull usrmerge and with it perl: 50 MB of the base.
BASE_PACKAGES = ["python3", "ca-certificates", "usr-is-merged"]
MERGED_USR_HOOK = "/usr/share/mmdebstrap/hooks/merged-usr"
# Documentation, manuals and translations are dead weight in a server image.
DPKG_EXCLUDES = [
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/info/*",
]
APT_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
BUILD_TOOLS = {"mmdebstrap": "mmdebstrap", "buildah": "buildah"}  # command -> Debian package
CONTEXT_FILES = ["Containerfile", "pyproject.toml", "README.md", "image/kubehelm-mcp-health"]


class ImageInputsMissing(RuntimeError):
    """An input that only a registry can provide is not cached, and fetching is not allowed."""


@dataclass(frozen=True)
class ServerImage:
    tag: str
    archive: Path

    @property
    def size(self) -> int:
        return self.archive.stat().st_size


def image_dir() -> Path:
    """~/.cache/kubehelm-mcp/image, or inside an overridden test-cluster cache."""
    root = paths.cache_root()
    path = root / "server-image" if os.environ.get(paths.CACHE_ENV) else root.parent / "image"
    path.mkdir(parents=True, exist_ok=True)
    return path


def digest(parts: Iterable[bytes]) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(hashlib.sha256(part).digest())
    return hasher.hexdigest()[:16]


def file_sha(path: Path) -> bytes:
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return hasher.digest()


@contextlib.contextmanager
def build_lock() -> Iterator[None]:
    """One build at a time across test sessions and scripts/build-image (blocking)."""
    with open(image_dir() / "build.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def buildah(*args: str | os.PathLike[str]) -> list[str | os.PathLike[str]]:
    root = image_dir() / "buildah"
    return [
        "buildah",
        "--storage-driver=vfs",
        f"--root={root / 'storage'}",
        f"--runroot={root / 'run'}",
        *args,
    ]


def _log_file() -> Path:
    return paths.cache_root() / "logs" / "image.log"


# --- the base -------------------------------------------------------------------------------


def base_key() -> str:
    recipe = [SUITE, "essential", *BASE_PACKAGES, MERGED_USR_HOOK, *DPKG_EXCLUDES]
    return digest([" ".join(recipe).encode(), APT_SOURCES.read_bytes()])


def base_tag() -> str:
    return f"{BASE_REPO}:{SUITE}-{base_key()}"


def image_exists(tag: str) -> bool:
    return subprocess.run(buildah("inspect", "--type", "image", tag), capture_output=True).returncode == 0


def _ensure_base(fetch: bool) -> str:
    tag = base_tag()
    if image_exists(tag):
        return tag
    rootfs = image_dir() / f"base-{base_key()}.tar"
    if not rootfs.exists():
        if not fetch:
            raise ImageInputsMissing(f"the image's Debian base is not cached ({rootfs}): run scripts/build-image")
        log(f"mmdebstrap {SUITE} with {', '.join(BASE_PACKAGES)}")
        staged = rootfs.with_suffix(".tmp")
        run(
            [
                "mmdebstrap",
                "--variant=essential",
                f"--include={','.join(BASE_PACKAGES)}",
                f"--hook-dir={MERGED_USR_HOOK}",
                *(f"--dpkgopt={option}" for option in DPKG_EXCLUDES),
                "--format=tar",
                SUITE,
                staged,
                APT_SOURCES,
            ],
            log_file=_log_file(),
            heartbeat="still bootstrapping the image base",
        )
        os.replace(staged, rootfs)
    log(f"committing the base {tag}")
    container = capture(buildah("from", "--pull-never", "scratch")).strip()
    try:
        run(buildah("add", container, rootfs, "/"), log_file=_log_file())
        run(buildah("config", "--env", "LANG=C.UTF-8", "--cmd", "python3", container), log_file=_log_file())
        run(buildah("commit", "--rm", container, tag), log_file=_log_file())
    except BaseException:
        subprocess.run(buildah("rm", container), capture_output=True)
        raise
    for stale in image_dir().glob("base-*.tar"):
        if stale != rootfs:
            stale.unlink()  # an older recipe's root
    return tag


# --- the wheelhouse -------------------------------------------------------------------------


def wheels_key() -> str:
    return digest([(REPO / "pyproject.toml").read_bytes(), EXTRAS.encode(), f"{sys.version_info[:2]}".encode()])


def _ensure_wheels(fetch: bool) -> Path:
    wheels = image_dir() / f"wheels-{wheels_key()}"
    if wheels.is_dir():
        return wheels
    if not fetch:
        raise ImageInputsMissing(f"the image's wheelhouse is not cached ({wheels}): run scripts/build-image")
    log(f"pip wheel kubehelm-mcp[{EXTRAS}] into the image wheelhouse")
    for stale in image_dir().glob("wheels-*"):
        remove_tree(stale)  # older dependency sets (and any half-written one)
    staged = wheels.with_name(wheels.name + ".tmp")
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--disable-pip-version-check",
            "--wheel-dir",
            staged,
            f"{REPO}[{EXTRAS}]",
            "pip",
            "setuptools",
            "wheel",
        ],
        log_file=_log_file(),
        heartbeat="still collecting wheels",
    )
    for own in staged.glob("kubehelm_mcp-*.whl"):
        own.unlink()  # the project itself is built inside the image, from the sources
    os.replace(staged, wheels)
    return wheels


# --- the image ------------------------------------------------------------------------------


def _sources() -> list[Path]:
    files = [REPO / name for name in CONTEXT_FILES]
    files += sorted(p for p in (REPO / "src").rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return files


def image_key(base: str, wheels: Path, helm: dict[str, Path]) -> str:
    parts = [base.encode(), EXTRAS.encode()]
    for path in _sources():
        parts += [str(path.relative_to(REPO)).encode(), file_sha(path)]
    parts += [name.encode() for name in sorted(p.name for p in wheels.iterdir())]
    parts += [file_sha(helm[major]) for major in ("v3", "v4")]
    return digest(parts)


def _stage_context(dest: Path, wheels: Path, helm: dict[str, Path]) -> None:
    """The build context: the repo's own files plus .image/{wheels,helm}."""
    for path in _sources():
        target = dest / path.relative_to(REPO)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    shutil.copytree(wheels, dest / ".image" / "wheels")
    (dest / ".image" / "helm").mkdir(parents=True)
    for major, binary in helm.items():
        target = dest / ".image" / "helm" / f"helm-{major}"
        shutil.copyfile(binary, target)
        os.chmod(target, 0o755)  # noqa: S103 - the cache keeps them 0700 for root; the image runs as 65532


def _revision() -> str:
    done = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def _version() -> str:
    for line in (REPO / "src/kubehelm_mcp/__init__.py").read_text().splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("\"'")
    return "0.0.0"


def _ensure_tools(fetch: bool) -> None:
    missing = [package for command, package in BUILD_TOOLS.items() if shutil.which(command) is None]
    if not missing:
        return
    if not fetch:
        raise ImageInputsMissing(f"{', '.join(missing)} not installed: run scripts/build-image")
    Apt(paths.cache_root() / "logs").install(missing)


def ensure_image(fetch: bool = False) -> ServerImage:
    """The cached archive of the current sources, built (offline) when missing.

    fetch=True may reach Debian and PyPI for the base and the wheelhouse; tests call it with
    fetch=False and fail with ImageInputsMissing rather than touch a registry.
    """
    with build_lock():
        _ensure_tools(fetch)
        helm = ensure_helm_paths()
        base = _ensure_base(fetch)
        wheels = _ensure_wheels(fetch)
        key = image_key(base, wheels, helm)
        tag = f"{IMAGE_REPO}:{_version()}-{key}"
        archive = image_dir() / f"kubehelm-mcp-{key}.tar"
        if archive.exists():
            return ServerImage(tag, archive)
        _build(tag, archive, wheels, helm)
        return ServerImage(tag, archive)


def ensure_helm_paths() -> dict[str, Path]:
    bins = paths.bin_dir()
    found = {"v3": bins / "helm-v3", "v4": bins / "helm-v4"}
    if all(p.is_file() for p in found.values()):
        return found
    return ensure_helm()


def _build(tag: str, archive: Path, wheels: Path, helm: dict[str, Path]) -> None:
    base = base_tag()
    with tempfile.TemporaryDirectory(dir=image_dir()) as tmp:
        context = Path(tmp) / "context"
        _stage_context(context, wheels, helm)
        log(f"buildah bud {tag} (offline)")
        created = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        run(
            buildah(
                "bud",
                "--isolation=chroot",
                "--pull-never",
                f"--build-arg=BASE={base}",
                f"--build-arg=EXTRAS={EXTRAS}",
                f"--build-arg=VERSION={_version()}",
                f"--build-arg=REVISION={_revision()}",
                f"--build-arg=CREATED={created}",
                "-f",
                context / "Containerfile",
                "-t",
                tag,
                context,
            ),
            log_file=_log_file(),
            heartbeat="still building the image",
        )
    staged = archive.with_suffix(".tmp")
    staged.unlink(missing_ok=True)
    run(buildah("push", tag, f"docker-archive:{staged}:{tag}"), log_file=_log_file())
    os.replace(staged, archive)
    _prune(keep_tag=tag, keep_archive=archive)


def _prune(keep_tag: str, keep_archive: Path) -> None:
    """One image archive and one built image are kept: vfs copies every layer in full."""
    for stale in image_dir().glob("kubehelm-mcp-*.tar"):
        if stale != keep_archive:
            stale.unlink()
    listed = capture(buildah("images", "--format", "{{.Name}}:{{.Tag}}", "--filter", f"reference={IMAGE_REPO}"))
    listed += capture(buildah("images", "--format", "{{.Name}}:{{.Tag}}", "--filter", f"reference={BASE_REPO}"))
    for name in listed.split():
        if name not in (keep_tag, base_tag()):
            subprocess.run(buildah("rmi", "-f", name), capture_output=True)
    subprocess.run(buildah("rmi", "--prune"), capture_output=True)  # dangling build stages


def import_into_node(image: ServerImage, ctr: Path, socket: Path) -> None:
    """Load the archive into a node's containerd (namespace k8s.io), where the kubelet looks."""
    capture([ctr, "--address", socket, "-n", "k8s.io", "images", "import", image.archive], timeout=600)


def node_values(image: ServerImage, port: int, apiserver_port: int) -> dict[str, Any]:
    """Chart values that run the image on a test node: pods have no route from the host here
    (TESTCLUSTER.md), so the pod shares the node's network and binds 127.0.0.1 only, and
    in-cluster config finds the API server on loopback (explicit env wins over the kubelet's)."""
    repository, tag = image.tag.rsplit(":", 1)
    return {
        "image": {"repository": repository, "tag": tag, "pullPolicy": "Never"},
        "hostNetwork": True,
        "server": {"host": "127.0.0.1", "port": port},
        "probes": {"host": "127.0.0.1"},
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "768Mi"}},
        "extraEnv": [
            {"name": "KUBERNETES_SERVICE_HOST", "value": "127.0.0.1"},
            {"name": "KUBERNETES_SERVICE_PORT", "value": str(apiserver_port)},
        ],
    }


def human_size(size: int) -> str:
    return f"{size / 1e6:.0f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/build-image", description="Build the kubehelm-mcp image from the Containerfile, registry-free."
    )
    parser.add_argument("--offline", action="store_true", help="fail instead of fetching a missing base or wheelhouse")
    args = parser.parse_args(argv)
    try:
        image = ensure_image(fetch=not args.offline)
    except ImageInputsMissing as error:
        print(f"build-image: {error}", file=sys.stderr)
        return 1
    print(f"image    {image.tag}\narchive  {image.archive}\nsize     {human_size(image.size)} (uncompressed archive)")
    print(f"import   ctr -n k8s.io images import {image.archive}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
