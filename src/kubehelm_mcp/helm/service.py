"""Choosing an engine per call: by the requested Helm major version and the read engine setting."""

from __future__ import annotations

from kubehelm_mcp.helm.binaries import HelmBinaries, HelmBinary
from kubehelm_mcp.helm.cli import CliReleaseReader, HelmCli
from kubehelm_mcp.helm.engine import ReleaseReader
from kubehelm_mcp.helm.models import HelmMajor
from kubehelm_mcp.helm.storage import ApiForTarget, StorageReleaseReader


class HelmService:
    def __init__(self, binaries: HelmBinaries, api_for: ApiForTarget, read_engine: str = "storage") -> None:
        self.binaries = binaries
        self.read_engine = read_engine
        self._storage = StorageReleaseReader(api_for)

    async def binary(self, major: HelmMajor) -> HelmBinary:
        return await self.binaries.get(major)

    async def cli(self, major: HelmMajor) -> HelmCli:
        return HelmCli(await self.binaries.get(major))

    async def reader(self, major: HelmMajor, engine: str | None = None) -> ReleaseReader:
        """Both Helm majors share the release.v1 storage format, so the storage engine serves either."""
        if (engine or self.read_engine) == "storage":
            return self._storage
        return CliReleaseReader(await self.cli(major))
