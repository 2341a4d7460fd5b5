"""Release changes through the Helm Go SDK (v4): install and uninstall of local charts.

`SdkReleaseWriter` is a `ReleaseWriter`: what the SDK cannot express (see `sdk_install`) and every
other change go to the CLI writer it falls back to; SDK calls run in a worker thread through `run_sdk`.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from kubehelm_mcp.helm.cli import release_status_from_record
from kubehelm_mcp.helm.engine import ReleaseWriter
from kubehelm_mcp.helm.models import HelmTarget, ReleaseStatus
from kubehelm_mcp.helm.requests import (
    InstallRequest,
    ReleaseChanged,
    RollbackRequest,
    TestRequest,
    TestRun,
    UninstallRequest,
    UpgradeRequest,
)
from kubehelm_mcp.helm.sdk import load_sdk, not_found_message, record_from_get_all, run_sdk
from kubehelm_mcp.telemetry.hooks import NULL_OBSERVER, Observer

if TYPE_CHECKING:
    from helm_python import Config


@dataclass(frozen=True)
class SdkInstall:
    """An install the SDK can do: a local chart, inline values and these options only."""

    chart: str  # a chart directory or archive on this machine
    values: dict[str, Any] | None
    timeout_seconds: int
    create_namespace: bool = False
    wait: bool = False
    rollback_on_failure: bool = False
    description: str | None = None


def sdk_install(request: InstallRequest) -> SdkInstall | None:
    """The SDK install for this request, or None when only the CLI can express it: the SDK's install
    has no option for Helm's own merge of values files and --set strings, a repository/registry
    lookup of `version`, dry runs, CRD skipping, adoption, the apply method or the other flags below, and it loads local
    charts only (a repo/name or oci:// reference needs the CLI's repositories and logins)."""
    values = request.values
    cli_only = (
        values.values_files,
        values.set,
        values.set_string,
        values.set_file,
        request.source.version is not None,
        request.dry_run is not None,
        request.skip_crds,
        request.take_ownership,
        request.hide_secret,
        request.server_side_apply is not None,  # e.g. server_side_apply=False is a choice, not an absence
        request.force_conflicts,
        request.no_hooks,
        request.wait_for_jobs,
        request.skip_schema_validation,
        request.force_replace,
        request.disable_openapi_validation,
        request.dependency_update,
        request.labels,
        request.enable_dns,
        request.render_subchart_notes,
    )
    if any(cli_only):
        return None
    chart = Path(request.source.chart).expanduser()
    if not chart.exists():
        return None
    return SdkInstall(
        chart=str(chart),
        values=values.values,
        timeout_seconds=math.ceil(request.timeout_seconds()),
        create_namespace=request.create_namespace,
        wait=request.wait,
        rollback_on_failure=request.rollback_on_failure,
        description=request.description,
    )


def _wait_strategy(wait: bool) -> str | None:
    """The CLI's bare `--wait` is v4's status watcher; None keeps the SDK's default (hooks only)."""
    return "watcher" if wait else None


def _install_client_side(sdk: ModuleType, config: Config, context: Any, name: str, request: SdkInstall) -> None:
    """Install with client-side apply, recorded on the release so later upgrades follow it.

    Under server-side apply the SDK's field manager is named after the host process ('python', not
    'helm'), so every later `helm upgrade` by the CLI would conflict on the fields it changes.
    `Config.install` (0.2.x) has no keyword for the apply method, though the C ABI takes one."""
    options = {
        "timeout_seconds": request.timeout_seconds,
        "wait": _wait_strategy(request.wait),
        "create_namespace": request.create_namespace or None,
        "rollback_on_failure": request.rollback_on_failure or None,
        "description": request.description,
        "server_side_apply": False,
    }
    sdk._native.call_string(
        "helm_install",
        config._raw(),
        context._raw(),
        sdk._native.HANDLE(0),  # no loaded chart handle: the chart is the path that follows
        request.chart,
        name,
        None if request.values is None else json.dumps(request.values),
        json.dumps({k: v for k, v in options.items() if v is not None}),
    )


class SdkReleaseWriter:
    """Installs (those `sdk_install` accepts) and uninstalls through the SDK; the rest through `fallback`."""

    def __init__(self, fallback: Callable[[], Awaitable[ReleaseWriter]], observer: Observer = NULL_OBSERVER) -> None:
        self._fallback = fallback  # the CLI writer, made only when needed (it locates the helm binary)
        self._observer = observer

    async def install(self, target: HelmTarget, request: InstallRequest) -> ReleaseChanged:
        sdk_request = sdk_install(request)
        if sdk_request is None:
            return await (await self._fallback()).install(target, request)
        return ReleaseChanged(await self._install(target, request.release_name, sdk_request))

    async def upgrade(self, target: HelmTarget, request: UpgradeRequest) -> ReleaseChanged:
        return await (await self._fallback()).upgrade(target, request)

    async def rollback(self, target: HelmTarget, request: RollbackRequest) -> None:
        await (await self._fallback()).rollback(target, request)

    async def test(self, target: HelmTarget, request: TestRequest) -> TestRun:
        return await (await self._fallback()).test(target, request)

    async def _install(self, target: HelmTarget, release_name: str, request: SdkInstall) -> ReleaseStatus:
        sdk = await load_sdk()
        context = sdk.HelmContext()  # lets a timed-out call stop the SDK, not only stop waiting for it

        def install(config: Config) -> dict[str, Any]:
            try:
                _install_client_side(sdk, config, context, release_name, request)
                # The install's summary lacks the description and first deployment; the record has them.
                return config.get_all(release_name)
            finally:
                context.close()

        def cancel() -> None:
            with contextlib.suppress(sdk.HelmError):  # already finished and closed
                context.cancel()

        doc = await run_sdk(
            target,
            f"helm install {release_name}",
            not_found_message(release_name, None, target),
            install,
            cancel,
            observer=self._observer,
        )
        return release_status_from_record(record_from_get_all(doc))

    async def uninstall(self, target: HelmTarget, request: UninstallRequest) -> str:
        """Uninstall and return what `helm uninstall` prints last (its info first, if any)."""
        release_name = request.release_name

        def uninstall(config: Config) -> dict[str, Any]:
            return config.uninstall(
                release_name,
                keep_history=request.keep_history,
                timeout=math.ceil(request.timeout_seconds()),
                wait=_wait_strategy(request.wait),
                description=request.description,
            )

        result = await run_sdk(
            target,
            f"helm uninstall {release_name}",
            not_found_message(release_name, None, target),
            uninstall,
            lambda: None,  # the SDK's uninstall takes no context: its thread ends at Helm's own timeout
            observer=self._observer,
        )
        info = str(result.get("info") or "").strip()
        return "\n".join(filter(None, [info, f'release "{release_name}" uninstalled']))
