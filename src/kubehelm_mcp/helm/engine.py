"""The Helm engine protocols: every Helm tool goes through one of these (reads, release changes,
and the local chart/repository commands), chosen per call by `service.HelmService`."""

from __future__ import annotations

from typing import Any, Literal, Protocol

from kubehelm_mcp.helm.models import (
    HelmTarget,
    ReleaseListQuery,
    ReleaseMetadata,
    ReleaseRevision,
    ReleaseStatus,
    ReleaseSummary,
)
from kubehelm_mcp.helm.requests import (
    ChartSource,
    DependencyFetchRequest,
    HelmVersionInfo,
    InstallRequest,
    LintReport,
    LintRequest,
    PackageRequest,
    PluginInstallRequest,
    PullRequest,
    PushRequest,
    RegistryLoginRequest,
    ReleaseChanged,
    RepoAddRequest,
    RepoEntry,
    RepoIndexRequest,
    RollbackRequest,
    SearchRepoRequest,
    ShowWhat,
    TemplateRequest,
    TestRequest,
    TestRun,
    Transfer,
    UninstallRequest,
    UpgradeRequest,
    Verification,
)


class ReleaseReader(Protocol):
    """Release reads, answered by the CLI engine or in-process from Helm's storage."""

    async def list_releases(self, target: HelmTarget, query: ReleaseListQuery) -> list[ReleaseSummary]: ...

    async def status(self, target: HelmTarget, release_name: str, revision: int | None) -> ReleaseStatus: ...

    async def history(self, target: HelmTarget, release_name: str, max_revisions: int) -> list[ReleaseRevision]: ...

    async def values(
        self, target: HelmTarget, release_name: str, revision: int | None, all_values: bool
    ) -> dict[str, Any]: ...

    async def manifest(self, target: HelmTarget, release_name: str, revision: int | None) -> str:
        """The rendered manifest as helm prints it (documents with `# Source:` comments)."""
        ...

    async def hooks(self, target: HelmTarget, release_name: str, revision: int | None) -> str:
        """The hook manifests as `helm get hooks` prints them."""
        ...

    async def notes(self, target: HelmTarget, release_name: str, revision: int | None) -> str: ...

    async def metadata(self, target: HelmTarget, release_name: str, revision: int | None) -> ReleaseMetadata: ...


class ReleaseWriter(Protocol):
    """Release changes, carried out by the helm CLI or (for what it supports) the Helm Go SDK."""

    async def install(self, target: HelmTarget, request: InstallRequest) -> ReleaseChanged: ...

    async def upgrade(self, target: HelmTarget, request: UpgradeRequest) -> ReleaseChanged: ...

    async def rollback(self, target: HelmTarget, request: RollbackRequest) -> None: ...

    async def uninstall(self, target: HelmTarget, request: UninstallRequest) -> str:
        """What `helm uninstall` prints (its info first, if any), ending with the release uninstalled."""
        ...

    async def test(self, target: HelmTarget, request: TestRequest) -> TestRun: ...


class ChartCommands(Protocol):
    """Chart authoring and inspection on this machine; no cluster involved."""

    async def create(self, path: str, starter: str | None) -> None: ...

    async def lint(self, request: LintRequest) -> LintReport: ...

    async def template(self, request: TemplateRequest) -> str:
        """The rendered manifest as helm prints it."""
        ...

    async def package(self, request: PackageRequest) -> str | None:
        """The archive helm reports it saved, if it says."""
        ...

    async def verify(self, chart: str, keyring: str | None) -> Verification: ...

    async def show(self, what: ShowWhat, source: ChartSource) -> str: ...

    async def dependency_list(self, chart_dir: str) -> list[dict[str, str]]: ...

    async def dependency_fetch(self, verb: Literal["update", "build"], request: DependencyFetchRequest) -> str: ...

    async def env(self) -> dict[str, str]: ...

    async def version(self) -> HelmVersionInfo: ...


class RemoteCommands(Protocol):
    """Helm's local state and what it fetches: repositories, registries, chart transfers, plugins."""

    async def repo_list(self) -> list[RepoEntry]: ...

    async def repo_add(self, request: RepoAddRequest) -> str: ...

    async def repo_update(self, names: list[str]) -> list[str]:
        """The repositories whose index was fetched."""
        ...

    async def repo_remove(self, names: list[str]) -> None: ...

    async def repo_index(self, request: RepoIndexRequest) -> None: ...

    async def search_repo(self, request: SearchRepoRequest) -> list[dict[str, Any]]: ...

    async def search_hub(self, keyword: str, endpoint: str) -> list[dict[str, Any]]: ...

    async def registry_login(self, request: RegistryLoginRequest) -> None: ...

    async def registry_logout(self, hostname: str) -> None: ...

    async def pull(self, request: PullRequest) -> Transfer: ...

    async def push(self, request: PushRequest) -> Transfer: ...

    async def plugin_list(self) -> list[dict[str, str]]: ...

    async def plugin_install(self, request: PluginInstallRequest) -> str | None:
        """The installed plugin's name, as helm reports it."""
        ...

    async def plugin_update(self, name: str) -> None: ...

    async def plugin_uninstall(self, name: str) -> None: ...


class HelmCommands(ChartCommands, RemoteCommands, Protocol):
    """Every helm command that is not a release read or change."""
