"""The Helm engine protocol: every Helm tool goes through one of these."""

from __future__ import annotations

from typing import Any, Protocol

from kubehelm_mcp.helm.models import (
    HelmTarget,
    ReleaseListQuery,
    ReleaseMetadata,
    ReleaseRevision,
    ReleaseStatus,
    ReleaseSummary,
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
