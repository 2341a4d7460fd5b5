"""Release reads in-process: Helm keeps each release revision as a Secret labelled owner=helm,
type helm.sh/release.v1, whose `release` field is base64 of gzip of the release JSON.

Decoding those through the Kubernetes API answers list and status in about the time of one API
call, where a helm subprocess costs tens of milliseconds. Only the newest revision of each
release is decoded for a list.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from kubehelm_mcp.errors import InvalidInput, NotFound, ToolError
from kubehelm_mcp.helm.cli import metadata_from_record, release_status_from_record
from kubehelm_mcp.helm.failures import HOOK_PHASE, hook_report, with_report
from kubehelm_mcp.helm.manifests import hooks_text
from kubehelm_mcp.helm.models import (
    HelmTarget,
    ReleaseListQuery,
    ReleaseMetadata,
    ReleaseRevision,
    ReleaseStatus,
    ReleaseSummary,
)
from kubehelm_mcp.helm.values import coalesce_values
from kubehelm_mcp.kube.api import KubeApi
from kubehelm_mcp.kube.target import ClusterTarget

GZIP_MAGIC = b"\x1f\x8b\x08"
PAGE_SIZE = 500
DEFAULT_STATUSES = ("deployed", "failed")
STATUS_FLAG_MATCHES = {"pending": ("pending-install", "pending-upgrade", "pending-rollback")}

ApiForTarget = Callable[[ClusterTarget], Awaitable[KubeApi]]


def decode_release(secret: dict[str, Any]) -> dict[str, Any]:
    """Undo Helm's encoding: Secret base64, then Helm's own base64, then (usually) gzip."""
    encoded = base64.b64decode((secret.get("data") or {}).get("release", ""))
    raw = base64.b64decode(encoded)
    if raw.startswith(GZIP_MAGIC):
        raw = gzip.decompress(raw)
    record: dict[str, Any] = json.loads(raw)
    return record


def _labels(secret: dict[str, Any]) -> dict[str, str]:
    return (secret.get("metadata") or {}).get("labels") or {}


def _revision(secret: dict[str, Any]) -> int:
    try:
        return int(_labels(secret).get("version", "0"))
    except ValueError:
        return 0


def summarize(record: dict[str, Any]) -> ReleaseSummary:
    status = release_status_from_record(record)
    return ReleaseSummary(
        name=status.name,
        namespace=status.namespace,
        revision=status.revision,
        updated=status.last_deployed,
        status=status.status,
        chart=status.chart,
        app_version=status.app_version,
    )


class StorageReleaseReader:
    def __init__(self, api_for: ApiForTarget) -> None:
        self._api_for = api_for

    async def _release_secrets(self, target: HelmTarget, selector: str) -> list[dict[str, Any]]:
        api = await self._api_for(target.cluster)
        base = "/api/v1/secrets" if target.all_namespaces else f"/api/v1/namespaces/{target.namespace}/secrets"
        secrets: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            query: list[tuple[str, Any]] = [("labelSelector", selector), ("limit", PAGE_SIZE)]
            if token:
                query.append(("continue", token))
            doc = await api.request("GET", base, query=query, what="Helm release storage")
            secrets.extend(s for s in doc.get("items") or [] if s.get("type") == "helm.sh/release.v1")
            token = (doc.get("metadata") or {}).get("continue")
            if not token:
                return secrets

    async def list_releases(self, target: HelmTarget, query: ReleaseListQuery) -> list[ReleaseSummary]:
        try:
            pattern = re.compile(query.filter) if query.filter else None
        except re.error as exc:
            raise InvalidInput(f"The release filter is not a valid regular expression: {exc}.") from None
        selector = f"owner=helm,{query.selector}" if query.selector else "owner=helm"
        secrets = await self._release_secrets(target, selector)
        if pattern is not None:
            secrets = [s for s in secrets if pattern.search(_labels(s).get("name", ""))]
        wanted = {s for flag in query.statuses or DEFAULT_STATUSES for s in STATUS_FLAG_MATCHES.get(flag, (flag,))}
        if not (query.statuses == ("superseded",) and not query.all_statuses):
            secrets = _latest_per_release(secrets)  # as Helm does: status applies to the latest only
        if not query.all_statuses:
            secrets = [s for s in secrets if _labels(s).get("status") in wanted]
        releases = [summarize(decode_release(s)) for s in secrets]
        releases = _sorted(releases, query)
        end = query.offset + query.limit if query.limit > 0 else None
        return releases[query.offset : end]

    async def _records(self, target: HelmTarget, release_name: str, revision: int | None) -> list[dict[str, Any]]:
        """The release's decoded records, oldest first, each carrying its Secret's labels as Helm does."""
        selector = f"owner=helm,name={release_name}"
        if revision is not None:
            selector += f",version={revision}"
        secrets = await self._release_secrets(target, selector)
        if not secrets:
            which = f" revision {revision}" if revision is not None else ""
            raise NotFound(f"Release '{release_name}'{which} was not found in namespace '{target.namespace}'.")
        return [{**decode_release(s), "labels": _labels(s)} for s in sorted(secrets, key=_revision)]

    async def _record(self, target: HelmTarget, release_name: str, revision: int | None) -> dict[str, Any]:
        return (await self._records(target, release_name, revision))[-1]

    async def explain_hook_failure(self, target: HelmTarget, release_name: str, error: ToolError) -> ToolError:
        """`error`, followed by what the failed release's hooks and their pods say, when helm
        reported a hook phase failing (its own message names no hook, or not why)."""
        if not HOOK_PHASE.search(error.message):
            return error
        try:
            record = await self._record(target, release_name, None)
            lines = await hook_report(await self._api_for(target.cluster), target, record)
        except ToolError:  # the report is an addition: helm's own error stands without it
            return error
        return with_report(error, lines)

    async def status(self, target: HelmTarget, release_name: str, revision: int | None) -> ReleaseStatus:
        return release_status_from_record(await self._record(target, release_name, revision))

    async def history(self, target: HelmTarget, release_name: str, max_revisions: int) -> list[ReleaseRevision]:
        records = await self._records(target, release_name, None)
        return [revision_from_record(r) for r in records[-max_revisions:]]  # helm keeps the newest

    async def values(
        self, target: HelmTarget, release_name: str, revision: int | None, all_values: bool
    ) -> dict[str, Any]:
        record = await self._record(target, release_name, revision)
        config = record.get("config") or {}
        return coalesce_values((record.get("chart") or {}).get("values"), config) if all_values else config

    async def manifest(self, target: HelmTarget, release_name: str, revision: int | None) -> str:
        return str((await self._record(target, release_name, revision)).get("manifest") or "")

    async def hooks(self, target: HelmTarget, release_name: str, revision: int | None) -> str:
        return hooks_text((await self._record(target, release_name, revision)).get("hooks") or [])

    async def notes(self, target: HelmTarget, release_name: str, revision: int | None) -> str:
        record = await self._record(target, release_name, revision)
        return str((record.get("info") or {}).get("notes") or "").strip()

    async def metadata(self, target: HelmTarget, release_name: str, revision: int | None) -> ReleaseMetadata:
        return metadata_from_record(await self._record(target, release_name, revision))


def revision_from_record(record: dict[str, Any]) -> ReleaseRevision:
    s = release_status_from_record(record)
    return ReleaseRevision(s.revision, s.last_deployed, s.status, s.chart, s.app_version, s.description)


def _latest_per_release(secrets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for secret in secrets:
        key = ((secret.get("metadata") or {}).get("namespace", ""), _labels(secret).get("name", ""))
        if key not in latest or _revision(secret) > _revision(latest[key]):
            latest[key] = secret
    return list(latest.values())


def _sorted(releases: list[ReleaseSummary], query: ReleaseListQuery) -> list[ReleaseSummary]:
    if query.sort_by_date:
        # helm --date lists the oldest first, and --reverse flips it
        ordered = sorted(releases, key=lambda r: r.updated)
    else:
        ordered = sorted(releases, key=lambda r: (r.name, r.namespace))
    return list(reversed(ordered)) if query.reverse else ordered
