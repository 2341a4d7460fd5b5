"""Moving chart archives: helm_pull (from a repository or OCI registry) and helm_push (to a registry)."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import AliasChoices, Field, ValidationInfo, model_validator

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.errors import InvalidInput, NotFound, ToolError
from kubehelm_mcp.tooling import Annotations, AnyTool, Category, Tool, ToolResult
from kubehelm_mcp.toolsets.helm.remote import (
    WRITES_REMOTE_CACHE,
    TlsInput,
    access_denied,
    denied_error,
    existing_dir,
    existing_file,
    helm_run,
)
from kubehelm_mcp.validators import ChartRef, CliText, LocalPath, RegistryUrl, RepoUrl, local_path

PLAIN_HTTP = Field(False, description="Reach an OCI registry over plain HTTP (insecure).")


class PullInput(TlsInput):
    chart: ChartRef = Field(
        min_length=1,
        description="Chart reference: repo/chart, a chart name with `repo`, or oci://host/path/chart.",
        validation_alias=AliasChoices("chart", "chart_ref"),
    )
    version: CliText | None = Field(None, description="Version or constraint (default: latest).")
    repo: RepoUrl | None = Field(None, description="Repository URL to look the chart up in.")
    destination: LocalPath = Field(".", validate_default=True, description="Existing directory to write to.")
    untar: bool = Field(False, description="Unpack the chart after download.")
    untar_dir: CliText | None = Field(None, description="Directory (relative: under destination) to unpack into.")
    devel: bool = Field(False, description="Allow development versions.")
    prov: bool = Field(False, description="Also fetch the provenance file.")
    verify: bool = Field(False, description="Verify the chart's provenance against the keyring.")
    keyring: LocalPath | None = Field(None, description="Public keyring for verify.")
    plain_http: bool = PLAIN_HTTP
    pass_credentials: bool = Field(False, description="Send credentials to every domain redirected to.")

    @model_validator(mode="after")
    def _untar_under_destination(self, info: ValidationInfo) -> PullInput:
        """helm unpacks a relative untar_dir under destination: that joined path is the one checked
        and the one helm gets (absolute)."""
        if self.untar_dir is not None:
            self.untar_dir = local_path(str(Path(self.destination) / self.untar_dir), info)
        return self


class PushInput(TlsInput):
    chart_ref: LocalPath = Field(min_length=1, description="Packaged chart (.tgz) to push.")
    remote: RegistryUrl = Field(min_length=1, description="Registry URL, e.g. oci://host:port/charts.")
    plain_http: bool = PLAIN_HTTP


class Pulled(ToolResult):
    chart: str
    destination: str
    files: list[str]
    digest: str | None = None


class Pushed(ToolResult):
    reference: str
    digest: str | None = None


_LINE = re.compile(r"^(Pulled|Pushed|Digest): (\S+)$", re.M)


def _reported(out: str) -> dict[str, str]:
    """The `Pulled:`/`Pushed:`/`Digest:` lines helm prints for OCI transfers."""
    return dict(_LINE.findall(out))


async def helm_pull(args: PullInput, ctx: CallContext) -> Pulled:
    destination = existing_dir(args.destination, "Destination")
    if args.keyring:
        existing_file(args.keyring, "Keyring")
    argv = ["pull", args.chart, "--destination", str(destination), *args.tls_args()]
    options = {"--version": args.version, "--repo": args.repo, "--untardir": args.untar_dir, "--keyring": args.keyring}
    argv += [part for flag, value in options.items() if value for part in (flag, value)]
    switches = {
        "--untar": args.untar,
        "--devel": args.devel,
        "--prov": args.prov,
        "--verify": args.verify,
        "--plain-http": args.plain_http,
        "--pass-credentials": args.pass_credentials,
    }
    argv += [flag for flag, on in switches.items() if on]
    before = set(destination.iterdir())
    try:
        out = await helm_run(args, ctx, argv)
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
    return Pulled(chart=args.chart, destination=str(destination), files=files, digest=_reported(out).get("Digest"))


async def helm_push(args: PushInput, ctx: CallContext) -> Pushed:
    chart = existing_file(args.chart_ref, "Chart archive")
    if not args.remote.startswith("oci://"):
        raise InvalidInput(f"The remote must be an oci:// URL, got {args.remote}.")
    argv = ["push", str(chart), args.remote, *args.tls_args(), *(["--plain-http"] if args.plain_http else [])]
    try:
        reported = _reported(await helm_run(args, ctx, argv))
    except ToolError as exc:
        if access_denied(exc):
            raise denied_error(args.remote) from None
        raise
    return Pushed(reference=reported.get("Pushed", args.remote), digest=reported.get("Digest"))


TOOLS: list[AnyTool] = [
    Tool(
        name="helm_pull",
        description="Download a chart from a repository or OCI registry into a local directory.",
        input_model=PullInput,
        output_model=Pulled,
        annotations=WRITES_REMOTE_CACHE,
        category=Category.REPO,
        handler=helm_pull,
    ),
    Tool(
        name="helm_push",
        description="Push a packaged chart to an OCI registry (replaces an existing tag of that version).",
        input_model=PushInput,
        output_model=Pushed,
        annotations=Annotations(read_only=False, destructive=True),
        category=Category.REPO,
        handler=helm_push,
    ),
]
