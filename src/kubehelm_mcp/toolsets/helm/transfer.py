"""Moving chart archives: helm_pull (from a repository or OCI registry) and helm_push (to a registry)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, ValidationInfo, model_validator

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.errors import InvalidInput, NotFound, ToolError
from kubehelm_mcp.helm.requests import PullRequest, PushRequest
from kubehelm_mcp.tooling import DESTRUCTIVE, WRITES_IDEMPOTENT, AnyTool, Category, Switch, Tool, ToolResult
from kubehelm_mcp.toolsets.helm.remote import (
    TlsInput,
    access_denied,
    commands,
    denied_error,
    existing_dir,
    existing_file,
)
from kubehelm_mcp.validators import ChartRef, CliText, LocalPath, RegistryUrl, RepoUrl, local_path

PLAIN_HTTP = Field(False)


class PullInput(TlsInput):
    chart: ChartRef = Field(
        min_length=1,
        description="repo/chart, or oci:// URL",
        validation_alias=AliasChoices("chart", "chart_ref"),
    )
    version: CliText | None = Field(None, description="Default: latest")
    repo: RepoUrl | None = Field(None)
    destination: LocalPath = Field(".", validate_default=True)
    untar: Switch = Field(False, description="Unpack the chart after download.")
    untar_dir: CliText | None = Field(None)
    devel: Switch = Field(False)
    prov: Switch = Field(False, description="Also fetch the provenance file.")
    verify: Switch = Field(False, description="Verify the chart's provenance against the keyring.")
    keyring: LocalPath | None = Field(None)
    plain_http: Switch = PLAIN_HTTP
    pass_credentials: Switch = Field(False)

    @model_validator(mode="after")
    def _untar_under_destination(self, info: ValidationInfo) -> PullInput:
        """helm unpacks a relative untar_dir under destination: that joined path is the one checked
        and the one helm gets (absolute)."""
        if self.untar_dir is not None:
            self.untar_dir = local_path(str(Path(self.destination) / self.untar_dir), info)
        return self


class PushInput(TlsInput):
    chart_ref: LocalPath = Field(min_length=1, description="Packaged chart (.tgz) to push.")
    remote: RegistryUrl = Field(min_length=1, description="e.g. oci://host/charts")
    plain_http: Switch = PLAIN_HTTP


class Pulled(ToolResult):
    chart: str
    destination: str
    files: list[str]
    digest: str | None = None


class Pushed(ToolResult):
    reference: str
    digest: str | None = None


async def helm_pull(args: PullInput, ctx: CallContext) -> Pulled:
    destination = existing_dir(args.destination, "Destination")
    if args.keyring:
        existing_file(args.keyring, "Keyring")
    request = PullRequest(
        chart=args.chart,
        destination=str(destination),
        tls=args.tls(),
        version=args.version,
        repo=args.repo,
        untar=args.untar,
        untar_dir=args.untar_dir,
        devel=args.devel,
        prov=args.prov,
        verify=args.verify,
        keyring=args.keyring,
        plain_http=args.plain_http,
        pass_credentials=args.pass_credentials,
    )
    before = set(destination.iterdir())
    try:
        pulled = await (await commands(args, ctx)).pull(request)
    except ToolError as exc:
        if access_denied(exc):
            raise denied_error(args.chart) from None
        if not isinstance(exc, NotFound):
            raise
        where = f" in {args.repo}" if args.repo else ""
        version = f" version {args.version}" if args.version else ""
        raise NotFound(
            f"Chart {args.chart}{version} was not found{where}.",
            hint="helm_search_repo (after helm_repo_update) lists what a repository offers.",
        ) from None
    files = sorted(str(p) for p in set(destination.iterdir()) - before)
    return Pulled(chart=args.chart, destination=str(destination), files=files, digest=pulled.digest)


async def helm_push(args: PushInput, ctx: CallContext) -> Pushed:
    chart = existing_file(args.chart_ref, "Chart archive")
    if not args.remote.startswith("oci://"):
        raise InvalidInput(f"The remote must be an oci:// URL, got {args.remote}.")
    request = PushRequest(str(chart), args.remote, args.tls(), args.plain_http)
    try:
        pushed = await (await commands(args, ctx)).push(request)
    except ToolError as exc:
        if access_denied(exc):
            raise denied_error(args.remote) from None
        raise
    return Pushed(reference=pushed.reference or args.remote, digest=pushed.digest)


TOOLS: list[AnyTool] = [
    Tool(
        name="helm_pull",
        description="Download a chart from a repository or OCI registry.",
        input_model=PullInput,
        output_model=Pulled,
        annotations=WRITES_IDEMPOTENT,
        category=Category.REPO,
        handler=helm_pull,
    ),
    Tool(
        name="helm_push",
        description="Push a packaged chart to an OCI registry.",
        input_model=PushInput,
        output_model=Pushed,
        annotations=DESTRUCTIVE,
        category=Category.REPO,
        handler=helm_push,
    ),
]
