"""Release changes through the Helm Go SDK (v4): install and uninstall of local charts.

Tools ask `HelmService.sdk_writer` and fall back to the CLI engine for what the SDK cannot express
(see `SdkInstall`); everything here runs in a worker thread through `run_sdk`.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from kubehelm_mcp.helm.cli import release_status_from_record
from kubehelm_mcp.helm.models import HelmTarget, ReleaseStatus
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
    def __init__(self, observer: Observer = NULL_OBSERVER) -> None:
        self._observer = observer

    async def install(self, target: HelmTarget, release_name: str, request: SdkInstall) -> ReleaseStatus:
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

    async def uninstall(
        self,
        target: HelmTarget,
        release_name: str,
        *,
        keep_history: bool,
        wait: bool,
        timeout_seconds: int,
        description: str | None,
    ) -> str:
        """Uninstall and return what `helm uninstall` prints last (its info first, if any)."""

        def uninstall(config: Config) -> dict[str, Any]:
            return config.uninstall(
                release_name,
                keep_history=keep_history,
                timeout=timeout_seconds,
                wait=_wait_strategy(wait),
                description=description,
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
