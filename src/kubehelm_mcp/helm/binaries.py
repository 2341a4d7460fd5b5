"""Finding the helm binary for a major version: a configured path, else `helm` on PATH."""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass

from kubehelm_mcp.errors import DependencyMissing
from kubehelm_mcp.helm.models import HelmMajor

PATH_CANDIDATES = ("helm", "helm4", "helm3")


@dataclass(frozen=True)
class HelmBinary:
    path: str
    version: str  # as the binary reports it, e.g. v4.2.3

    @property
    def major(self) -> str:
        return self.version.split(".", 1)[0]


async def probe_version(path: str) -> str | None:
    """The version a binary reports, or None when it is not a working helm."""
    try:
        proc = await asyncio.create_subprocess_exec(
            path,
            "version",
            "--template",
            "{{.Version}}",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, "HELM_DEBUG": "false"},
        )
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=20)
    except (OSError, TimeoutError):
        return None
    version = out.decode().strip()
    return version if proc.returncode == 0 and version.startswith("v") else None


class HelmBinaries:
    """Resolves and caches one binary per major version."""

    def __init__(self, v3: str | None, v4: str | None) -> None:
        self._configured: dict[str, str | None] = {"v3": v3, "v4": v4}
        self._found: dict[str, HelmBinary] = {}
        self._lock = asyncio.Lock()

    async def get(self, major: HelmMajor) -> HelmBinary:
        if major in self._found:
            return self._found[major]
        async with self._lock:
            if major not in self._found:
                self._found[major] = await self._locate(major)
            return self._found[major]

    async def _locate(self, major: HelmMajor) -> HelmBinary:
        flag = f"--helm-{major}-binary"
        env = f"KUBEHELM_MCP_HELM_{major.upper()}_BINARY"
        configured = self._configured[major]
        if configured:
            version = await probe_version(configured)
            if version is None:
                raise DependencyMissing(f"The Helm {major} binary configured by {flag} ({configured}) does not run.")
            if not version.startswith(major + "."):
                raise DependencyMissing(f"{flag} points at Helm {version}, not Helm {major}.")
            return HelmBinary(configured, version)
        for name in PATH_CANDIDATES:
            path = shutil.which(name)
            version = await probe_version(path) if path else None
            if path and version and version.startswith(major + "."):
                return HelmBinary(path, version)
        raise DependencyMissing(
            f"Helm {major} is not installed.",
            hint=f"Install a Helm {major} binary and set {flag} (or {env}), or put it on PATH as 'helm'.",
        )
