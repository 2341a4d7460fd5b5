"""Debian packages through apt: install, or download-and-extract without running any service."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from .procs import log, run

SOURCES_DIR = Path("/etc/apt/sources.list.d")
# deb-src is enabled by copying the machine's own sources file: no mirror host is ever written.
DEB_SRC_FILE = SOURCES_DIR / "kubehelm-mcp-testcluster-src.sources"


def remove_tree(path: Path) -> None:
    """rmtree that also clears Go's read-only dirs, and ignores a path that is already gone."""

    def retry_writable(func: Callable[[str], object], target: str, _exc: object) -> None:
        os.chmod(os.path.dirname(target), stat.S_IRWXU)  # Go leaves some dirs read-only
        func(target)

    if path.exists() or path.is_symlink():
        shutil.rmtree(path, onerror=retry_writable)


class Apt:
    """apt-get with `apt-get update` run at most once, and only when something is fetched."""

    def __init__(self, log_dir: Path) -> None:
        self.log_file = log_dir / "apt.log"
        self.env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        self._updated = False

    def _update_once(self) -> None:
        if not self._updated:
            log("apt-get update (once)")
            run(["apt-get", "update"], log_file=self.log_file, env=self.env)
            self._updated = True

    def enable_deb_src(self) -> None:
        """Add deb-src lines mirroring the existing deb lines, if none exist yet."""
        existing = [p for p in SOURCES_DIR.glob("*.sources") if "deb-src" in p.read_text()]
        if existing:
            return
        template = SOURCES_DIR / "debian.sources"
        lines = [
            "Types: deb-src" if line.strip() == "Types: deb" else line for line in template.read_text().splitlines()
        ]
        DEB_SRC_FILE.write_text("\n".join(lines) + "\n")
        log(f"enabled deb-src in {DEB_SRC_FILE}")
        self._updated = False  # the new source lists must be fetched

    @staticmethod
    def installed(package: str) -> bool:
        done = subprocess.run(
            ["dpkg-query", "-W", "-f=${db:Status-Status}", package],
            capture_output=True,
            text=True,
        )
        return done.returncode == 0 and done.stdout.strip() == "installed"

    def install(self, packages: list[str]) -> None:
        missing = [p for p in packages if not self.installed(p)]
        if not missing:
            return
        self._update_once()
        log(f"apt-get install {' '.join(missing)}")
        run(["apt-get", "install", "-y", "--no-install-recommends", *missing], log_file=self.log_file, env=self.env)

    def download_extract(self, packages: list[str], dest: Path) -> None:
        """Unpack .debs into dest with dpkg-deb -x: no maintainer script, so no service starts."""
        self._update_once()
        log(f"apt-get download {' '.join(packages)}")
        with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
            os.chmod(tmp, 0o777)  # noqa: S103 - apt downloads as its unprivileged _apt user
            run(["apt-get", "download", *packages], cwd=Path(tmp), log_file=self.log_file, env=self.env)
            dest.mkdir(parents=True, exist_ok=True)
            for deb in sorted(Path(tmp).glob("*.deb")):
                run(["dpkg-deb", "-x", deb, dest], log_file=self.log_file)

    def source(self, package_version: str, dest: Path) -> None:
        """Download a source package (no unpacking, no build-deps) into dest."""
        self.enable_deb_src()
        self._update_once()
        log(f"apt-get source --download-only {package_version}")
        os.chmod(dest, 0o777)  # noqa: S103 - apt downloads as its unprivileged _apt user
        run(["apt-get", "source", "--download-only", package_version], cwd=dest, log_file=self.log_file, env=self.env)
