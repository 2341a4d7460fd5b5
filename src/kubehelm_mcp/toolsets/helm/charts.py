"""Chart authoring and inspection on the server's filesystem: helm_create, helm_lint, helm_template,
helm_package, helm_verify and helm_show_*. None of them touches a cluster."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, ValidationInfo, model_validator

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.errors import InvalidInput
from kubehelm_mcp.helm.manifests import split_manifest
from kubehelm_mcp.helm.requests import LintRequest, PackageRequest, ShowWhat, TemplateRequest
from kubehelm_mcp.kube.manifests import load_bounded
from kubehelm_mcp.tooling import (
    LOCAL_READ_ONLY,
    LOCAL_WRITES,
    READ_ONLY,
    AnyTool,
    Category,
    Handler,
    Resumable,
    Switch,
    Tool,
    ToolResult,
)
from kubehelm_mcp.toolsets.helm.common import HelmInput
from kubehelm_mcp.toolsets.helm.dependency_sources import check_dependency_sources
from kubehelm_mcp.toolsets.helm.documents import Documents, page_of
from kubehelm_mcp.toolsets.helm.inputs import ChartInput, PageInput, ReleaseInput, ValuesInput
from kubehelm_mcp.toolsets.helm.remote import commands, existing_dir, existing_file
from kubehelm_mcp.toolsets.helm.value_keys import KeysInput, picked_values
from kubehelm_mcp.validators import ChartPath, CliText, LocalPath, StarterRef
from kubehelm_mcp.yamltext import dump_yaml


class CreateInput(HelmInput):
    name: LocalPath = Field(min_length=1, description="New chart's directory")
    starter: StarterRef | None = Field(None)


class LintInput(ValuesInput):
    paths: list[ChartPath] = Field(min_length=1)
    strict: Switch = Field(False, description="Fail on warnings too.")
    with_subcharts: Switch = Field(False, description="Lint dependent charts too.")
    quiet: Switch = Field(False, description="Only warnings and errors.")
    kube_version: CliText | None = Field(None)
    skip_schema_validation: Switch = Field(False, description="Skip values.schema.json checks.")


class TemplateInput(PageInput, ValuesInput, ChartInput, ReleaseInput):
    namespace_without_cluster: ClassVar[bool] = True  # the rendered release's namespace

    show_only: list[CliText] = Field(default_factory=list, description="e.g. templates/svc.yaml")
    include_crds: Switch = Field(False)
    skip_tests: Switch = Field(False)
    no_hooks: Switch = Field(False, description="Leave out hooks.")
    is_upgrade: Switch = Field(False, description="Render as an upgrade (.Release.IsUpgrade).")
    kube_version: CliText | None = Field(None)
    api_versions: list[CliText] = Field(default_factory=list)
    skip_schema_validation: Switch = Field(False, description="Skip values.schema.json checks.")


class PackageInput(HelmInput):
    path: ChartPath = Field(min_length=1, description="Chart directory to package.")
    destination: LocalPath | None = Field(None, description="Default: the chart's parent")
    version: CliText | None = Field(None, description="Set the chart version.")
    app_version: CliText | None = Field(None, description="Set the appVersion.")
    dependency_update: Switch = Field(False, description="Update dependencies first.")
    sign: Switch = Field(False)
    key: CliText | None = Field(None, description="Name of the signing key.")
    keyring: LocalPath | None = Field(None)
    passphrase_file: LocalPath | None = Field(None)

    @model_validator(mode="after")
    def _dependency_sources(self, info: ValidationInfo) -> PackageInput:
        if self.dependency_update:
            check_dependency_sources(self.path, info)
        return self


class VerifyInput(HelmInput):
    chart_file: LocalPath = Field(min_length=1, description=".tgz with its .prov beside it")
    keyring: LocalPath | None = Field(None)


class Created(ToolResult):
    path: str


class LintResult(ToolResult):
    passed: bool
    charts: list[dict[str, Any]]
    summary: str
    warnings: list[str] | None = None  # what helm logged beside the report, e.g. missing required values


class Packaged(ToolResult):
    path: str
    provenance: str | None = None


class Verified(ToolResult):
    verified: bool
    signed_by: str | None = None
    fingerprint: str | None = None
    chart_hash: str | None = None


class ChartText(ToolResult):
    chart: str
    content: str | None = None

    def to_text(self) -> str:
        return self.content or "(empty)"


class ChartMetadata(ToolResult):
    metadata: dict[str, Any]


def _new_chart_dir(name: str) -> Path:
    target = Path(name).expanduser()
    if target.exists():
        raise InvalidInput(f"'{name}' already exists; choose a new directory for the chart.")
    existing_dir(str(target.parent), "Parent directory")
    return target


def _provenance(archive: str) -> str | None:
    prov = Path(archive + ".prov")
    return str(prov) if prov.is_file() else None


async def helm_create(args: CreateInput, ctx: CallContext) -> Created:
    target = _new_chart_dir(args.name)
    await (await commands(args, ctx)).create(str(target), args.starter)
    return Created(path=str(target))


async def helm_lint(args: LintInput, ctx: CallContext) -> LintResult:
    request = LintRequest(
        paths=tuple(args.paths),
        values=args.value_sources(),
        strict=args.strict,
        with_subcharts=args.with_subcharts,
        quiet=args.quiet,
        kube_version=args.kube_version,
        skip_schema_validation=args.skip_schema_validation,
    )
    report = await (await commands(args, ctx)).lint(request)
    warned = f"; {len(report.warnings)} warning(s) logged" if report.warnings else ""
    return LintResult(
        passed=report.passed, charts=report.charts, summary=report.summary + warned, warnings=report.warnings or None
    )


async def helm_template(args: TemplateInput, ctx: CallContext) -> Documents:
    request = TemplateRequest(
        release_name=args.release_name,
        source=args.chart_source(),
        values=args.value_sources(),
        namespace=args.namespace,
        show_only=tuple(args.show_only),
        include_crds=args.include_crds,
        skip_tests=args.skip_tests,
        no_hooks=args.no_hooks,
        is_upgrade=args.is_upgrade,
        kube_version=args.kube_version,
        api_versions=tuple(args.api_versions),
        skip_schema_validation=args.skip_schema_validation,
    )
    out = await (await commands(args, ctx)).template(request)
    return Documents(**page_of(split_manifest(out, verbatim=True), args.continue_token))


def _archive_name(chart_dir: Path, version: str | None) -> str:
    meta = load_bounded((chart_dir / "Chart.yaml").read_text(), f"File {chart_dir / 'Chart.yaml'}")
    meta = meta if isinstance(meta, dict) else {}
    return f"{meta.get('name', chart_dir.name)}-{version or meta.get('version', '')}.tgz"


async def helm_package(args: PackageInput, ctx: CallContext) -> Packaged:
    chart_dir = existing_dir(args.path, "Chart directory")
    existing_file(str(chart_dir / "Chart.yaml"), "Chart.yaml")
    destination = existing_dir(args.destination, "Destination") if args.destination else chart_dir.parent
    archive = destination / _archive_name(chart_dir, args.version)
    if archive.exists():
        raise InvalidInput(f"{archive} already exists; remove it or choose another destination.")
    request = PackageRequest(
        chart_dir=str(chart_dir),
        destination=str(destination),
        version=args.version,
        app_version=args.app_version,
        dependency_update=args.dependency_update,
        sign=args.sign,
        key=args.key,
        keyring=args.keyring,
        passphrase_file=args.passphrase_file,
    )
    path = await (await commands(args, ctx)).package(request) or str(archive)
    return Packaged(path=path, provenance=_provenance(path) if args.sign else None)


async def helm_verify(args: VerifyInput, ctx: CallContext) -> Verified:
    chart = existing_file(args.chart_file, "Chart archive")
    found = await (await commands(args, ctx)).verify(str(chart), args.keyring)
    return Verified(verified=True, **dataclasses.asdict(found))


class ShowInput(Resumable, ChartInput):
    pass


class ShowValuesInput(KeysInput, ShowInput):
    pass


class CrdsInput(PageInput, ChartInput):
    pass


async def _show(args: ChartInput, ctx: CallContext, what: ShowWhat) -> str:
    return await (await commands(args, ctx)).show(what, args.chart_source())


def _show_text(what: ShowWhat) -> Handler[ShowInput, ChartText]:
    async def handler(args: ShowInput, ctx: CallContext) -> ChartText:
        return ChartText(chart=args.chart, content=await _show(args, ctx, what))

    return handler


async def helm_show_values(args: ShowValuesInput, ctx: CallContext) -> ChartText:
    content = await _show(args, ctx, "values")
    if args.keys:
        values = load_bounded(content, f"The values of {args.chart}")
        content = dump_yaml(picked_values(values if isinstance(values, dict) else {}, args.keys) or {})
    return ChartText(chart=args.chart, content=content)


async def helm_show_chart(args: ShowInput, ctx: CallContext) -> ChartMetadata:
    metadata = load_bounded(await _show(args, ctx, "chart"), f"The Chart.yaml of {args.chart}")
    return ChartMetadata(metadata=metadata if isinstance(metadata, dict) else {})


async def helm_show_crds(args: CrdsInput, ctx: CallContext) -> Documents:
    return Documents(**page_of(split_manifest(await _show(args, ctx, "crds"), verbatim=True), args.continue_token))


TOOLS: list[AnyTool] = [
    Tool(
        name="helm_create",
        description="Create a new chart scaffold.",
        input_model=CreateInput,
        output_model=Created,
        annotations=LOCAL_WRITES,  # writes new files, never replaces existing ones
        category=Category.CHART,
        handler=helm_create,
    ),
    Tool(
        name="helm_lint",
        description="Lint charts; every message and warning helm printed.",
        input_model=LintInput,
        output_model=LintResult,
        annotations=LOCAL_READ_ONLY,
        category=Category.CHART,
        handler=helm_lint,
    ),
    Tool(
        name="helm_template",
        description="Render a chart locally (no install) as documents.",
        input_model=TemplateInput,
        output_model=Documents,
        annotations=READ_ONLY,
        category=Category.CHART,
        handler=helm_template,
    ),
    Tool(
        name="helm_package",
        description="Package a chart directory into a .tgz (optionally signed).",
        input_model=PackageInput,
        output_model=Packaged,
        annotations=LOCAL_WRITES,  # writes new files, never replaces existing ones
        category=Category.CHART,
        handler=helm_package,
    ),
    Tool(
        name="helm_verify",
        description="Verify a packaged chart's signature and hash against a keyring.",
        input_model=VerifyInput,
        output_model=Verified,
        annotations=LOCAL_READ_ONLY,
        category=Category.CHART,
        handler=helm_verify,
    ),
    Tool(
        name="helm_show_all",
        description="Show a chart's Chart.yaml, values, README and CRDs.",
        input_model=ShowInput,
        output_model=ChartText,
        annotations=READ_ONLY,
        category=Category.CHART,
        handler=_show_text("all"),
    ),
    Tool(
        name="helm_show_chart",
        description="Show a chart's Chart.yaml.",
        input_model=ShowInput,
        output_model=ChartMetadata,
        annotations=READ_ONLY,
        category=Category.CHART,
        handler=helm_show_chart,
    ),
    Tool(
        name="helm_show_crds",
        description="Show a chart's CRDs as documents.",
        input_model=CrdsInput,
        output_model=Documents,
        annotations=READ_ONLY,
        category=Category.CHART,
        handler=helm_show_crds,
    ),
    Tool(
        name="helm_show_readme",
        description="Show a chart's README.",
        input_model=ShowInput,
        output_model=ChartText,
        annotations=READ_ONLY,
        category=Category.CHART,
        handler=_show_text("readme"),
    ),
    Tool(
        name="helm_show_values",
        description="Show a chart's default values.yaml, or only some keys.",
        input_model=ShowValuesInput,
        output_model=ChartText,
        annotations=READ_ONLY,
        category=Category.CHART,
        handler=helm_show_values,
    ),
]
