"""Charts in-process through the Helm Go SDK (extra `sdk`, Helm v4): `helm template` and `helm show`
of local charts without a helm process, for what the SDK expresses; everything else goes to the CLI.

`helm template` is a client-only dry-run install whose manifest is followed by the hooks. Both come
from one SDK render of every template, sorted and printed here as Helm does it (helm/sorting.py), for
a chart whose install checks nothing the render does not; otherwise, and wherever the sorting cannot
vouch for a document, the SDK's dry-run install gives the manifest byte for byte (the same Go code
sorts it and adds `# Source:`) and its own errors, and the hooks come from a render as above.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio.to_thread

from kubehelm_mcp.errors import DependencyMissing, InvalidInput, ToolError
from kubehelm_mcp.helm.cli import HelmCli, helm_error
from kubehelm_mcp.helm.cli_writes import CliHelmCommands
from kubehelm_mcp.helm.commands import helm_command
from kubehelm_mcp.helm.models import HelmMajor
from kubehelm_mcp.helm.requests import ChartSource, ShowWhat, TemplateRequest
from kubehelm_mcp.helm.sdk import load_sdk
from kubehelm_mcp.helm.sorting import cli_text, hooks_text, sorted_manifest
from kubehelm_mcp.helm.values import checked_values_file
from kubehelm_mcp.kube.manifests import load_bounded
from kubehelm_mcp.localfiles import FileReader
from kubehelm_mcp.telemetry.hooks import NULL_OBSERVER, Observer


@dataclass(frozen=True)
class SdkTemplate:
    """A `helm template` the SDK can render: a local chart, values merged here, these options only."""

    chart: str
    release_name: str
    namespace: str
    values: dict[str, Any]
    no_hooks: bool
    skip_tests: bool


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Helm's mergeMaps for values files: maps merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def default_namespace() -> str | None:
    """The namespace `helm template` renders into without --namespace: $HELM_NAMESPACE, else the
    current context's in a single kubeconfig file, else 'default'; None when that takes more than
    one kubeconfig file to say (the CLI then answers)."""
    if os.environ.get("HELM_NAMESPACE"):
        return os.environ["HELM_NAMESPACE"]
    files = [f for f in os.environ.get("KUBECONFIG", "").split(os.pathsep) if f]
    if len(files) > 1:
        return None
    path = Path(files[0] if files else "~/.kube/config").expanduser()
    try:
        changed = path.stat().st_mtime_ns
    except OSError:
        return "default"
    return _context_namespace(str(path), changed)


@functools.lru_cache(maxsize=8)
def _context_namespace(path: str, changed: int) -> str | None:
    """The current context's namespace in a kubeconfig file (cached per modification time)."""
    try:
        config = load_bounded(Path(path).read_text(encoding="utf-8"), f"Kubeconfig file {path}")
    except (OSError, UnicodeDecodeError, InvalidInput):
        return None
    config = config if isinstance(config, dict) else {}
    current = config.get("current-context")
    for entry in config.get("contexts") or []:
        if isinstance(entry, dict) and entry.get("name") == current:
            return str((entry.get("context") or {}).get("namespace") or "default")
    return "default"


def sdk_template(request: TemplateRequest, values: dict[str, Any] | None) -> SdkTemplate | None:
    """The SDK render for this request, or None when only the CLI does it: a chart that is not a local
    directory or archive, --set items (`values` None), and options the SDK's install has no switch for
    (CRDs, --show-only, --is-upgrade, capabilities, schema skipping)."""
    cli_only = (
        values is None,
        request.show_only,
        request.include_crds,
        request.is_upgrade,
        request.kube_version,
        request.api_versions,
        request.skip_schema_validation,
    )
    if any(cli_only):
        return None
    chart = local_chart(request.source)
    namespace = request.namespace or default_namespace()
    if chart is None or namespace is None or values is None:
        return None
    return SdkTemplate(chart, request.release_name, namespace, values, request.no_hooks, request.skip_tests)


def local_chart(source: ChartSource) -> str | None:
    """The chart directory or archive on this machine, or None for what only the CLI fetches
    (a repo/name or oci:// reference, or a version to resolve)."""
    if source.version is not None or source.plain_http:
        return None
    chart = Path(source.chart).expanduser()
    return str(chart) if chart.exists() else None


def _renders_alone(chart: Any) -> bool:
    """Whether one render of the chart's templates gives what its install would: not when the install
    checks more than the render does (kubeVersion, dependencies present in charts/, library type)."""
    metadata = chart.metadata
    return not (metadata.get("kubeVersion") or metadata.get("dependencies") or metadata.get("type") == "library")


def _rendered_once(sdk: ModuleType, plan: SdkTemplate) -> str | None:
    """The manifest and hooks from one render of every template, sorted here as Helm sorts them; None
    where Helm's own install must decide (and give its own errors)."""
    chart = sdk.Chart.load(plan.chart)
    try:
        if not _renders_alone(chart):
            return None
        try:
            rendered = chart.render(plan.values, name=plan.release_name, namespace=plan.namespace, is_install=True)
        except sdk.HelmError:
            return None  # the install path fails the same way, in the words the CLI uses
        return sorted_manifest(rendered, plan.no_hooks, plan.skip_tests)
    finally:
        chart.close()


def _installed(sdk: ModuleType, plan: SdkTemplate) -> str:
    """The manifest of a client-only dry-run install (byte for byte what the CLI prints: the same Go
    code sorts it and adds `# Source:`), then the hooks from a render of the same chart."""
    chart = sdk.Chart.load(plan.chart)
    try:
        # nothing is contacted: a client dry run; the kubeconfig is not needed for it
        with sdk.Config(namespace=plan.namespace, kubeconfig_path=os.devnull) as config:
            release = config.install(chart, plan.release_name, plan.values, dry_run="client", namespace=plan.namespace)
        manifest = str(release.get("manifest") or "")
        if plan.no_hooks:
            return cli_text(manifest, "")
        rendered = chart.render(plan.values, name=plan.release_name, namespace=plan.namespace, is_install=True)
        return cli_text(manifest, hooks_text(rendered, plan.skip_tests))
    finally:
        chart.close()


def render(sdk: ModuleType, plan: SdkTemplate) -> str:
    """The text `helm template` prints (blocking: run in a worker thread): from one render where
    that gives the same text, else through Helm's install, which renders once more for the hooks."""
    once = _rendered_once(sdk, plan)
    return once if once is not None else _installed(sdk, plan)


class SdkHelmCommands(CliHelmCommands):
    """The CLI commands, with `template` (when `sdk_template` accepts the request) and `show` of a
    local chart in-process."""

    def __init__(self, cli: HelmCli, major: HelmMajor, read_file: FileReader, observer: Observer = NULL_OBSERVER):
        super().__init__(cli, major, read_file)
        self._observer = observer

    def _values(self, request: TemplateRequest, values_from_yaml: Callable[[str], dict[str, Any]]) -> Any:
        """The values files and the inline object merged as helm merges its --values, or None when
        the CLI must merge (--set items, a values file given by URL). Files are checked as the CLI
        path checks them, then parsed by Helm's own YAML reader."""
        sources = request.values
        if sources.set or sources.set_string or sources.set_file:
            return None
        merged: dict[str, Any] = {}
        for path in sources.values_files:
            if re.match(r"^[a-z]+://", path):
                return None
            text = checked_values_file(path, self._read).decode("utf-8")
            merged = _merge(merged, values_from_yaml(text) or {})
        return _merge(merged, sources.values or {})

    async def template(self, request: TemplateRequest) -> str:
        try:
            sdk = await load_sdk()
        except DependencyMissing:  # the extra is there but its library would not load: the CLI renders
            return await super().template(request)
        try:
            plan = sdk_template(request, self._values(request, sdk.values_from_yaml))
        except sdk.HelmError as exc:
            raise _sdk_error(exc.detail, "helm template") from None
        if plan is None:
            return await super().template(request)
        with self._observer.helm_command(helm_command(["template"]), "sdk") as seen:
            try:
                out = await anyio.to_thread.run_sync(render, sdk, plan)
            except sdk.HelmError as exc:
                raise _sdk_error(exc.detail, "helm template") from None
            seen.status = 0
        return out

    async def show(self, what: ShowWhat, source: ChartSource) -> str:
        """`helm show` of a local chart through the SDK's own show action (the same text as the CLI's)."""
        chart = local_chart(source)
        if chart is None:
            return await super().show(what, source)
        try:
            sdk = await load_sdk()
        except DependencyMissing:
            return await super().show(what, source)
        with self._observer.helm_command(helm_command(["show", what]), "sdk") as seen:
            try:
                out = await anyio.to_thread.run_sync(lambda: sdk.show(chart, output_format=what))
            except sdk.HelmError as exc:
                raise _sdk_error(exc.detail, f"helm show {what}") from None
            seen.status = 0
        return str(out).strip()


def _sdk_error(detail: str, what: str) -> ToolError:
    """The SDK's error in the words the CLI path uses: every line helm gives, in order."""
    return helm_error(f"Error: {detail}", what)
