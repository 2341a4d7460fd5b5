"""What the mcp-server chart's in-cluster tests need, fetched before any test and cached:

- the runtimes image: the kubehelm-mcp image (testcluster.serverimage) plus node and npm (this
  machine's own install, the one the harness already uses) and uv (from its PyPI wheel), so
  one image runs the gateway and its npm and PyPI children, and the install init containers;
- the packages of one npm MCP server and one PyPI MCP server with every dependency: npm
  tarballs (`npm pack` of each package of a real install's lock) and wheels (`pip download`).
  The tests serve them from a registry on loopback (tests/support/mcp_server_chart_registry.py),
  so the pods install them at start exactly as they would from npm and PyPI, and no pod ever
  reaches the internet.

Fetching needs npm and PyPI, so it belongs to `python -m testcluster install --node`; tests call
ensure_runtimes(fetch=False) and fail with ImageInputsMissing rather than touch a registry. The
image build itself is offline (buildah from the cached kubehelm-mcp image).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import paths
from .apt import remove_tree
from .procs import capture, log, run
from .serverimage import (
    ImageInputsMissing,
    ServerImage,
    build_lock,
    buildah,
    digest,
    ensure_image,
    file_sha,
    image_exists,
)

NPM_SERVER = "@modelcontextprotocol/server-memory@2026.8.31"
PYPI_SERVER = "mcp-server-time==2026.10.19"
UV_VERSION = "0.13.9"
IMAGE_REPO = "127.0.0.1/kubehelm/mcp-runtimes"
NODE_BINARY = Path("/usr/bin/node")
NPM_DIR = Path("/usr/lib/node_modules/npm")
LIBSTDCXX = Path("/usr/lib/x86_64-linux-gnu/libstdc++.so.6")  # node needs it; the python base lacks it


@dataclass(frozen=True)
class Runtimes:
    server: ServerImage  # the kubehelm-mcp image (mode image)
    image: ServerImage  # the same plus node, npm and uv
    npm_packages: Path  # tarballs + index.json
    pypi_packages: Path  # wheels


def cache_dir() -> Path:
    root = paths.cache_root()
    path = root / "mcp-runtimes" if os.environ.get(paths.CACHE_ENV) else root.parent / "mcp-runtimes"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _log_file() -> Path:
    return paths.cache_root() / "logs" / "mcp-runtimes.log"


def _stamped(directory: Path, recipe: str) -> bool:
    stamp = directory / ".complete"
    return stamp.is_file() and stamp.read_text() == recipe


def _publish(staged: Path, final: Path, recipe: str) -> None:
    (staged / ".complete").write_text(recipe)
    remove_tree(final)
    os.replace(staged, final)


# --- uv -------------------------------------------------------------------------------------


def _ensure_uv(fetch: bool) -> Path:
    home = cache_dir() / f"uv-{UV_VERSION}"
    if _stamped(home, UV_VERSION):
        return home / "uv"
    if not fetch:
        raise ImageInputsMissing(f"uv {UV_VERSION} is not cached ({home}): run `python -m testcluster install --node`")
    log(f"pip download uv=={UV_VERSION}")
    staged = home.with_name(home.name + ".tmp")
    remove_tree(staged)
    staged.mkdir(parents=True)
    pip = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-deps"]
    run([*pip, "--only-binary=:all:", "-d", staged, f"uv=={UV_VERSION}"], log_file=_log_file())
    wheel = next(staged.glob("uv-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        member = next(n for n in archive.namelist() if n.endswith(".data/scripts/uv"))
        (staged / "uv").write_bytes(archive.read(member))
    wheel.unlink()
    os.chmod(staged / "uv", 0o755)  # noqa: S103 - copied into an image whose user is 65532
    _publish(staged, home, UV_VERSION)
    return home / "uv"


# --- the packages ---------------------------------------------------------------------------


def _ensure_npm_packages(fetch: bool) -> Path:
    home = cache_dir() / "npm-packages"
    if _stamped(home, NPM_SERVER):
        return home
    if not fetch:
        raise ImageInputsMissing(
            f"the npm packages of {NPM_SERVER} are not cached: run `python -m testcluster install --node`"
        )
    log(f"npm install {NPM_SERVER}, then npm pack of every package in its lock")
    staged = home.with_name(home.name + ".tmp")
    remove_tree(staged)
    work = staged / "work"
    work.mkdir(parents=True)
    npm_cache = ["--cache", str(work / "npm-cache")]
    quiet = ["--no-audit", "--no-fund", "--ignore-scripts", "--no-update-notifier"]
    run(["npm", "install", "--prefix", work / "install", *quiet, *npm_cache, NPM_SERVER], log_file=_log_file())
    lock = json.loads((work / "install" / "package-lock.json").read_text())
    specs = sorted(
        {
            f"{key.rsplit('node_modules/', 1)[1]}@{entry['version']}"
            for key, entry in lock["packages"].items()
            if key and "version" in entry and not entry.get("link")
        }
    )
    tarballs = staged / "tarballs"
    tarballs.mkdir()
    packed = capture(["npm", "pack", "--json", "--pack-destination", tarballs, *quiet, *npm_cache, *specs], timeout=600)
    index: dict[str, dict[str, dict[str, Any]]] = {}
    for item in json.loads(packed):
        manifest = _package_json(tarballs / item["filename"])
        index.setdefault(manifest["name"], {})[manifest["version"]] = {"file": item["filename"], "manifest": manifest}
    (staged / "index.json").write_text(json.dumps(index, indent=1, sort_keys=True))
    remove_tree(work)
    _publish(staged, home, NPM_SERVER)
    return home


def _package_json(tarball: Path) -> dict[str, Any]:
    with tarfile.open(tarball) as archive:
        member = next(m for m in archive.getmembers() if m.name.count("/") == 1 and m.name.endswith("/package.json"))
        handle = archive.extractfile(member)
        assert handle is not None
        loaded: dict[str, Any] = json.loads(handle.read())
        return loaded


def _ensure_pypi_packages(fetch: bool) -> Path:
    home = cache_dir() / "pypi-packages"
    if _stamped(home, PYPI_SERVER):
        return home
    if not fetch:
        raise ImageInputsMissing(
            f"the wheels of {PYPI_SERVER} are not cached: run `python -m testcluster install --node`"
        )
    log(f"pip download {PYPI_SERVER} with its dependencies")
    staged = home.with_name(home.name + ".tmp")
    remove_tree(staged)
    staged.mkdir(parents=True)
    # The image's python is Debian bookworm's 3.11, as is this machine's: wheels for this interpreter fit.
    pip = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--only-binary=:all:"]
    run([*pip, "-d", staged, PYPI_SERVER], log_file=_log_file())
    _publish(staged, home, PYPI_SERVER)
    return home


# --- the image ------------------------------------------------------------------------------


def _node_version() -> str:
    return capture([NODE_BINARY, "--version"]).strip()


def image_key(server: ServerImage, uv: Path) -> str:
    npm_manifest = (NPM_DIR / "package.json").read_bytes()
    parts = [server.tag.encode(), _node_version().encode(), npm_manifest, file_sha(uv), file_sha(LIBSTDCXX)]
    return digest(parts)


def _layer(uv: Path) -> bytes:
    """A tar of what the runtimes add, owned by root and readable by the image's user."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as layer:

        def add(source: Path, name: str) -> None:
            def owned(info: tarfile.TarInfo) -> tarfile.TarInfo:
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                return info

            layer.add(source, arcname=name, filter=owned)

        def link(name: str, target: str) -> None:
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            layer.addfile(info)

        add(NODE_BINARY, "usr/local/bin/node")
        add(NPM_DIR, "usr/local/lib/node_modules/npm")
        link("usr/local/bin/npm", "../lib/node_modules/npm/bin/npm-cli.js")
        link("usr/local/bin/npx", "../lib/node_modules/npm/bin/npx-cli.js")
        add(uv, "usr/local/bin/uv")
        add(LIBSTDCXX.resolve(), f"usr/lib/x86_64-linux-gnu/{LIBSTDCXX.resolve().name}")
        link(f"usr/lib/x86_64-linux-gnu/{LIBSTDCXX.name}", LIBSTDCXX.resolve().name)
    return buffer.getvalue()


def _build(server: ServerImage, uv: Path, tag: str, archive: Path) -> None:
    log(f"building {tag} from {server.tag} (offline)")
    if not image_exists(server.tag):  # pruned from buildah's storage: the archive has it
        run(buildah("pull", f"docker-archive:{server.archive}"), log_file=_log_file())
    container = capture(buildah("from", "--pull-never", server.tag)).strip()
    try:
        with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
            layer = Path(tmp) / "runtimes.tar"
            layer.write_bytes(_layer(uv))
            run(buildah("add", container, layer, "/"), log_file=_log_file())
        run(
            buildah("config", "--label", "org.opencontainers.image.title=mcp-runtimes", container),
            log_file=_log_file(),
        )
        run(buildah("commit", "--rm", container, tag), log_file=_log_file())
    except BaseException:
        subprocess.run(buildah("rm", container), capture_output=True)
        raise
    staged = archive.with_suffix(".tmp")
    staged.unlink(missing_ok=True)
    run(buildah("push", tag, f"docker-archive:{staged}:{tag}"), log_file=_log_file())
    os.replace(staged, archive)
    for stale in cache_dir().glob("mcp-runtimes-*.tar"):
        if stale != archive:
            stale.unlink()
    subprocess.run(buildah("rmi", tag), capture_output=True)  # the archive is what tests import


def ensure_runtimes(fetch: bool = False) -> Runtimes:
    """The cached image and packages; fetch=True may reach npm and PyPI (install steps only)."""
    server = ensure_image(fetch=fetch)
    uv = _ensure_uv(fetch)
    npm_packages = _ensure_npm_packages(fetch)
    pypi_packages = _ensure_pypi_packages(fetch)
    for tool in (NODE_BINARY, NPM_DIR, LIBSTDCXX):
        if not tool.exists():
            raise ImageInputsMissing(f"{tool} is missing: the runtimes image copies this machine's node and npm")
    with build_lock():
        key = image_key(server, uv)
        tag = f"{IMAGE_REPO}:{key}"
        archive = cache_dir() / f"mcp-runtimes-{key}.tar"
        if not archive.exists():
            _build(server, uv, tag, archive)
    return Runtimes(server, ServerImage(tag, archive), npm_packages, pypi_packages)


def main() -> int:
    runtimes = ensure_runtimes(fetch=True)
    print(f"image    {runtimes.image.tag}\narchive  {runtimes.image.archive}")
    print(f"npm      {runtimes.npm_packages}\npypi     {runtimes.pypi_packages}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
