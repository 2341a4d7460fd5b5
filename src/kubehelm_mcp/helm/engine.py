"""The Helm engine protocol: every Helm tool goes through one of these."""

from __future__ import annotations

from typing import Protocol

from kubehelm_mcp.helm.models import HelmTarget, ReleaseListQuery, ReleaseStatus, ReleaseSummary


class ReleaseReader(Protocol):
    """Release reads, answered by the CLI engine or in-process from Helm's storage."""

    async def list_releases(self, target: HelmTarget, query: ReleaseListQuery) -> list[ReleaseSummary]: ...

    async def status(self, target: HelmTarget, release_name: str, revision: int | None) -> ReleaseStatus: ...
