"""Choosing an engine per call: by the requested Helm major version and the read/write engine settings."""

from __future__ import annotations

from functools import partial

from kubehelm_mcp.egress.proxy import EgressProxy
from kubehelm_mcp.errors import ToolError
from kubehelm_mcp.helm.binaries import HelmBinaries, HelmBinary
from kubehelm_mcp.helm.cli import CliReleaseReader, HelmCli
from kubehelm_mcp.helm.cli_writes import CliHelmCommands, CliReleaseWriter
from kubehelm_mcp.helm.engine import HelmCommands, ReleaseReader, ReleaseWriter
from kubehelm_mcp.helm.models import HelmMajor, HelmTarget
from kubehelm_mcp.helm.sdk import SdkReleaseReader, load_sdk, sdk_installed
from kubehelm_mcp.helm.sdk_charts import SdkHelmCommands
from kubehelm_mcp.helm.sdk_writes import SdkReleaseWriter
from kubehelm_mcp.helm.storage import ApiForTarget, StorageReleaseReader
from kubehelm_mcp.localfiles import FileReader
from kubehelm_mcp.telemetry.hooks import NULL_OBSERVER, Observer


class HelmService:
    def __init__(
        self,
        binaries: HelmBinaries,
        api_for: ApiForTarget,
        read_engine: str = "storage",
        write_engine: str = "cli",
        observer: Observer = NULL_OBSERVER,
        egress: EgressProxy | None = None,
    ) -> None:
        self.binaries = binaries
        self.egress = egress  # every helm subprocess fetches through it
        self._observer = observer  # each helm subprocess and SDK call reports to it
        self.read_engine = read_engine
        self.write_engine = write_engine
        self._storage = StorageReleaseReader(api_for)
        self._sdk = SdkReleaseReader(self._storage, observer)

    async def explain_failure(self, target: HelmTarget, release_name: str, error: ToolError) -> ToolError:
        """A failed release change's error, with the failing hooks and their pods when a hook failed."""
        return await self._storage.explain_hook_failure(target, release_name, error)

    async def binary(self, major: HelmMajor) -> HelmBinary:
        return await self.binaries.get(major)

    async def cli(self, major: HelmMajor) -> HelmCli:
        return HelmCli(await self.binaries.get(major), self._observer, self.egress)

    async def reader(self, major: HelmMajor, engine: str | None = None) -> ReleaseReader:
        """Both Helm majors share the release.v1 storage format, so the storage engine serves either;
        the SDK is Helm v4, so a v3 read with the sdk engine is answered from storage too."""
        chosen = engine or self.read_engine
        if chosen == "storage" or (chosen == "sdk" and major == "v3"):
            return self._storage
        if chosen == "sdk":
            await load_sdk()  # a missing extra fails here, in one sentence
            return self._sdk
        return CliReleaseReader(await self.cli(major))

    def writes_with_sdk(self, major: HelmMajor) -> bool:
        """Whether release changes go to the SDK writer: the write engine is sdk and the call is for
        Helm v4 (the SDK's major). It still hands the CLI what the SDK cannot express."""
        return self.write_engine == "sdk" and major == "v4"

    async def writer(self, major: HelmMajor, read_file: FileReader) -> ReleaseWriter:
        """Release changes; `read_file` checks and reads the local values files a change names."""
        if self.writes_with_sdk(major):
            await load_sdk()  # a missing extra fails here, in one sentence
            return SdkReleaseWriter(partial(self.cli_writer, major, read_file), self._observer)
        return await self.cli_writer(major, read_file)

    async def cli_writer(self, major: HelmMajor, read_file: FileReader) -> ReleaseWriter:
        return CliReleaseWriter(await self.cli(major), major, read_file)

    async def commands(self, major: HelmMajor, read_file: FileReader) -> HelmCommands:
        """The helm commands that need no cluster (charts, repositories, registries, plugins): the
        CLI engine's, except that v4 charts render in-process when the sdk extra is installed."""
        if major == "v4" and sdk_installed():
            return SdkHelmCommands(await self.cli(major), major, read_file, self._observer)
        return CliHelmCommands(await self.cli(major), major, read_file)
