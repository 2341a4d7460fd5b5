"""The SDK engine: helm-python-sdk, the Helm Go SDK v4 in-process through ctypes (extra `sdk`).

Helm v4 only. Every SDK call blocks, so each runs in a worker thread with its own short-lived
`Config` (creating one costs ~50 µs and contacts nothing). `helm_python` is imported on first use:
the server starts without loading its 85 MB library and works without the extra installed.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.to_thread

from kubehelm_mcp.errors import ClusterUnavailable, DependencyMissing, Forbidden, InvalidInput, NotFound, ToolError
from kubehelm_mcp.helm.cli import metadata_from_get_json, release_status_from_record
from kubehelm_mcp.helm.commands import helm_command
from kubehelm_mcp.helm.manifests import hooks_text
from kubehelm_mcp.helm.models import (
    HelmTarget,
    ReleaseListQuery,
    ReleaseMetadata,
    ReleaseRevision,
    ReleaseStatus,
    ReleaseSummary,
    normalize_time,
)
from kubehelm_mcp.helm.storage import DEFAULT_STATUSES, STATUS_FLAG_MATCHES, StorageReleaseReader, _sorted
from kubehelm_mcp.kube.cluster_only import cluster_only_kubeconfig_file
from kubehelm_mcp.telemetry.hooks import NULL_OBSERVER, Observer

if TYPE_CHECKING:
    from helm_python import Config

T = TypeVar("T")

INSTALL_HINT = "pip install 'kubehelm-mcp[sdk]'"
# helm_error_code values (append-only ABI, see helm_python.errors.ErrorCode).
_INVALID_ARG, _NOT_FOUND, _VALUES, _KUBE = -2, -7, -22, -60

_sdk: ModuleType | None = None


def _import_sdk() -> ModuleType:
    global _sdk
    if _sdk is None:
        try:
            import helm_python
        except ImportError:
            raise DependencyMissing(f"The Helm SDK engine needs the helm-python-sdk package: {INSTALL_HINT}.") from None
        except Exception as exc:  # its Go library failed to load (HelmLibraryError, or OSError from ctypes)
            raise DependencyMissing(f"The helm-python-sdk library could not be loaded: {exc}.") from None
        _sdk = helm_python
    return _sdk


def sdk_installed() -> bool:
    """Whether the extra is installed, without loading its library."""
    return _sdk is not None or importlib.util.find_spec("helm_python") is not None


async def load_sdk() -> ModuleType:
    """The helm_python module; its first import loads the Go library, so it happens in a thread."""
    return _sdk if _sdk is not None else await anyio.to_thread.run_sync(_import_sdk)


def config_options(target: HelmTarget) -> dict[str, Any]:
    """helm_python.Config keywords for a target, chosen as the CLI engine chooses its environment."""
    cluster = target.cluster
    options: dict[str, Any] = {
        "namespace": target.namespace,
        "kubeconfig_path": cluster.kubeconfig,
        "kube_context": cluster.context,
        "kube_apiserver": cluster.apiserver,
        "kube_token": cluster.token,
        "kube_tls_server_name": cluster.tls_server_name,
        "kube_insecure_skip_tls_verify": cluster.insecure_tls,
    }
    if not cluster.user_credentials:
        # The caller's token is the only credential: the SDK gets a kubeconfig that names the cluster only.
        path, context = cluster_only_kubeconfig_file(cluster)
        options.update(kubeconfig_path=path, kube_context=context)
    elif cluster.apiserver and cluster.token:
        # A per-call identity replaces the server's: no kubeconfig client certificate may ride along.
        options.update(kubeconfig_path=os.devnull, kube_context=None)
    if cluster.impersonate_user:
        options.update(kube_as_user=cluster.impersonate_user, kube_as_groups=list(cluster.impersonate_groups))
    return {k: v for k, v in options.items() if v not in (None, "", False, [])}  # unset: the SDK's default


def sdk_error(code: int | None, detail: str, what: str, not_found: str) -> ToolError:
    """One of our errors for a helm_python error code and its detail message."""
    detail = detail.strip()
    if "\n" not in detail:  # one sentence; helm's own lines (schema violations, objects) stay as printed
        detail = detail.rstrip(".") + "."
    if code == _NOT_FOUND:
        return NotFound(not_found)
    if "forbidden" in detail.lower():
        return Forbidden(f"{what}: {detail}")
    if code == _KUBE:
        return ClusterUnavailable(f"{what}: {detail}")
    if code in (_INVALID_ARG, _VALUES):
        return InvalidInput(f"{what}: {detail}")
    return ToolError(f"{what}: {detail}")


def not_found_message(release_name: str, revision: int | None, target: HelmTarget) -> str:
    which = f" revision {revision}" if revision is not None else ""
    return f"Release '{release_name}'{which} was not found in namespace '{target.namespace}'."


async def run_sdk(
    target: HelmTarget,
    what: str,
    not_found: str,
    work: Callable[[Config], T],
    cancel: Callable[[], None] | None = None,
    observer: Observer = NULL_OBSERVER,
) -> T:
    """Run `work` with a Config for `target` in a worker thread, mapping the SDK's errors to ours.

    With `cancel` (long writes), a cancelled caller returns at once and `cancel` tells the SDK to
    stop; without it, cancellation waits for the (short) read to finish."""
    sdk = await load_sdk()

    def call() -> T:
        with sdk.Config(**config_options(target)) as config:
            return work(config)

    try:
        with observer.helm_command(helm_command(what.split()[1:]), "sdk") as seen:  # what: "helm get values x"
            result = await anyio.to_thread.run_sync(call, abandon_on_cancel=cancel is not None)
            seen.status = 0
        return result
    except sdk.HelmError as exc:
        raise sdk_error(exc.code, exc.detail, what, not_found) from None
    except anyio.get_cancelled_exc_class():
        if cancel is not None:
            cancel()
        raise


def summary_from_row(row: dict[str, Any]) -> ReleaseSummary:
    """A release summary as the SDK returns it (list, history and status rows share the shape)."""
    return ReleaseSummary(
        name=row["name"],
        namespace=row.get("namespace", ""),
        revision=int(row.get("revision", 0)),
        updated=normalize_time(row.get("deployed_at")),
        status=row.get("status", ""),
        chart=f"{row.get('chart_name', '')}-{row.get('chart_version', '')}",
        app_version=row.get("app_version") or "",
    )


def record_from_get_all(doc: dict[str, Any]) -> dict[str, Any]:
    """The SDK's `get_all` ({summary, info, hooks, config}) as a stored release record, so the
    helpers the other engines use read it the same way."""
    summary = doc.get("summary") or {}
    return {
        "name": summary["name"],
        "namespace": summary.get("namespace", ""),
        "version": summary.get("revision", 0),
        "info": doc.get("info") or {},
        "chart": {
            "metadata": {
                "name": summary.get("chart_name", ""),
                "version": summary.get("chart_version", ""),
                "appVersion": summary.get("app_version", ""),
            }
        },
        "manifest": summary.get("manifest") or "",
        "hooks": doc.get("hooks") or [],
        "config": doc.get("config") or {},
        "labels": summary.get("labels") or {},
    }


class SdkReleaseReader:
    """Release reads through the Helm Go SDK. The SDK's list takes no label selector and returns
    only each release's latest revision, so those two queries fall back to the storage engine,
    which reads the same release records."""

    def __init__(self, fallback: StorageReleaseReader, observer: Observer = NULL_OBSERVER) -> None:
        self._fallback = fallback
        self._observer = observer

    async def list_releases(self, target: HelmTarget, query: ReleaseListQuery) -> list[ReleaseSummary]:
        superseded_only = query.statuses == ("superseded",) and not query.all_statuses
        if query.selector or superseded_only:
            return await self._fallback.list_releases(target, query)
        rows = await run_sdk(
            target,
            "helm list",
            f"No releases were found in namespace '{target.namespace}'.",
            lambda config: config.list(
                all_states=True, all_namespaces=target.all_namespaces, name_filter=query.filter or None
            ),
            observer=self._observer,
        )
        # Status, order and paging are applied here: the SDK pages before we could filter by status.
        releases = [summary_from_row(row) for row in rows]
        if not query.all_statuses:
            wanted = {s for f in query.statuses or DEFAULT_STATUSES for s in STATUS_FLAG_MATCHES.get(f, (f,))}
            releases = [r for r in releases if r.status in wanted]
        releases = _sorted(releases, query)
        end = query.offset + query.limit if query.limit > 0 else None
        return releases[query.offset : end]

    async def _read(
        self, target: HelmTarget, command: str, release_name: str, revision: int | None, work: Callable[[Config], T]
    ) -> T:
        """One release read; `command` names it in errors as helm would (e.g. 'get values')."""
        not_found = not_found_message(release_name, revision, target)
        return await run_sdk(target, f"helm {command} {release_name}", not_found, work, observer=self._observer)

    async def _record(self, target: HelmTarget, release_name: str, revision: int | None) -> dict[str, Any]:
        doc = await self._read(
            target, "get all", release_name, revision, lambda config: config.get_all(release_name, revision=revision)
        )
        return record_from_get_all(doc)

    async def status(self, target: HelmTarget, release_name: str, revision: int | None) -> ReleaseStatus:
        # The SDK's status summary lacks the description and first deployment; get_all has them.
        return release_status_from_record(await self._record(target, release_name, revision))

    async def history(self, target: HelmTarget, release_name: str, max_revisions: int) -> list[ReleaseRevision]:
        def revisions(config: Config) -> list[tuple[dict[str, Any], dict[str, Any]]]:
            # History rows carry no description: each revision's comes from its own get_all
            # (one API read each, in this same worker thread).
            rows = config.history(release_name, max_revisions=max_revisions)
            return [(row, config.get_all(release_name, revision=row["revision"])["info"]) for row in rows]

        pairs = await self._read(target, "history", release_name, None, revisions)
        return [
            ReleaseRevision(s.revision, s.updated, s.status, s.chart, s.app_version, info.get("description") or "")
            for s, info in ((summary_from_row(row), info) for row, info in pairs)
        ]

    async def values(
        self, target: HelmTarget, release_name: str, revision: int | None, all_values: bool
    ) -> dict[str, Any]:
        values = await self._read(
            target,
            "get values",
            release_name,
            revision,
            lambda config: config.get_values(release_name, all_values=all_values, revision=revision),
        )
        return values if isinstance(values, dict) else {}

    async def manifest(self, target: HelmTarget, release_name: str, revision: int | None) -> str:
        return str((await self._record(target, release_name, revision))["manifest"])

    async def hooks(self, target: HelmTarget, release_name: str, revision: int | None) -> str:
        return hooks_text((await self._record(target, release_name, revision))["hooks"])

    async def notes(self, target: HelmTarget, release_name: str, revision: int | None) -> str:
        record = await self._record(target, release_name, revision)
        return str(record["info"].get("notes") or "").strip()

    async def metadata(self, target: HelmTarget, release_name: str, revision: int | None) -> ReleaseMetadata:
        doc = await self._read(
            target, "get metadata", release_name, revision, lambda c: c.get_metadata(release_name, revision=revision)
        )
        return metadata_from_get_json(doc)
