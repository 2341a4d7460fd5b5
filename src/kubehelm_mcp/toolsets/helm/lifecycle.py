"""The release lifecycle: helm_install, helm_upgrade, helm_rollback, helm_uninstall and helm_test."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Awaitable
from typing import Any, TypeVar

from pydantic import Field

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.helm.args import ArgList, require_v4, rollback_on_failure_flag
from kubehelm_mcp.helm.cli import release_status_from_record
from kubehelm_mcp.helm.manifests import split_manifest
from kubehelm_mcp.helm.models import ReleaseStatus
from kubehelm_mcp.helm.values import values_args
from kubehelm_mcp.tooling import Annotations, AnyTool, Category, Tool, ToolResult
from kubehelm_mcp.toolsets.helm.inputs import ChangeInput, ReleaseInput, TimeoutInput
from kubehelm_mcp.toolsets.helm.progress import with_progress
from kubehelm_mcp.toolsets.helm.releases import ReleaseStatusResult
from kubehelm_mcp.toolsets.helm.sdk_changes import sdk_install
from kubehelm_mcp.validators import CliText

T = TypeVar("T")

# They overwrite or delete what a release deployed.
CHANGES_RELEASE = Annotations(read_only=False, destructive=True)
RUNS_TEST_PODS = Annotations(read_only=False)


class InstallInput(ChangeInput):
    pass


class UpgradeInput(ChangeInput):
    install: bool = Field(False, description="Install if the release does not exist.")
    reuse_values: bool = Field(False, description="Merge over the last release's values.")
    reset_values: bool = Field(False, description="Start from the chart's default values.")


class RollbackInput(TimeoutInput, ReleaseInput):
    revision: int | None = Field(None, ge=1, description="Revision to roll back to; default: the previous.")
    wait: bool = Field(False, description="Wait until resources are ready (up to timeout).")


class UninstallInput(TimeoutInput, ReleaseInput):
    keep_history: bool = Field(False, description="Keep the release record (status uninstalled).")
    wait: bool = Field(False, description="Wait until the resources are deleted.")
    description: CliText | None = Field(None, description="Description recorded when keep_history.")


class TestInput(TimeoutInput, ReleaseInput):
    filter: list[CliText] = Field(default_factory=list, description="name=test or !name=test filters.")
    logs: bool = Field(False, description="Include the test pods' logs.")


class ReleaseChange(ReleaseStatusResult):
    manifest: list[dict[str, Any]] | None = None  # the rendered documents, for a dry run


class Uninstalled(ToolResult):
    release_name: str
    namespace: str
    kept_history: bool
    message: str


class TestSuite(ToolResult):
    release_name: str
    tests: list[dict[str, str]]
    logs: str | None = None


def _change_args(args: ChangeInput) -> ArgList:
    """The flags install and upgrade share, spelled for the requested major."""
    major = args.helm_version
    require_v4(major, [k for k in ("server_side_apply", "force_conflicts") if getattr(args, k) not in (None, False)])
    out = args.source_args().opt("--timeout", args.timeout)
    out.flag("--create-namespace", args.create_namespace).flag("--wait", args.wait)
    out.flag(rollback_on_failure_flag(major), args.atomic or args.rollback_on_failure)
    out.flag("--skip-crds", args.skip_crds).flag("--take-ownership", args.take_ownership)
    out.flag("--hide-secret", args.hide_secret).flag("--force-conflicts", args.force_conflicts)
    out.opt("--description", args.description)
    if args.dry_run:
        out.append(f"--dry-run={args.dry_run}")
    if args.server_side_apply is not None:
        out.append(f"--server-side={str(args.server_side_apply).lower()}")
    return out


def _waits(args: ChangeInput) -> bool:
    """Helm waits when asked to, and always before deciding to undo a failed change."""
    return args.wait or args.atomic or args.rollback_on_failure


async def _waiting(ctx: CallContext, work: Awaitable[T], args: TimeoutInput, wait: bool, message: str) -> T:
    """Await `work`, with progress notifications when Helm waits for resources."""
    return await (with_progress(ctx, work, args.timeout_seconds(), message) if wait else work)


def _changed(status: ReleaseStatus, manifest: list[dict[str, Any]] | None = None) -> ReleaseChange:
    return ReleaseChange(**{**dataclasses.asdict(status), "notes": status.notes.strip() or None}, manifest=manifest)


async def _apply(args: ChangeInput, ctx: CallContext, verb: list[str]) -> ReleaseChange:
    cli = await ctx.helm.cli(args.helm_version)
    target = await ctx.helm_target()
    with values_args(args.value_sources(), ctx.read_file) as value_flags:
        argv = [*verb, args.release_name, args.chart, *_change_args(args), *value_flags]
        work = cli.run_json(argv, target, f"helm {verb[0]} {args.release_name}")
        record = await _waiting(
            ctx, work, args, _waits(args), f"waiting for release {args.release_name} to become ready"
        )
    manifest = split_manifest(record.get("manifest") or "") if args.dry_run else None
    return _changed(release_status_from_record(record), manifest)


async def helm_install(args: InstallInput, ctx: CallContext) -> ReleaseChange:
    writer = await ctx.helm.sdk_writer(args.helm_version)  # None: the CLI engine writes
    request = sdk_install(args) if writer is not None else None
    if writer is None or request is None:
        return await _apply(args, ctx, ["install"])
    work = writer.install(await ctx.helm_target(), args.release_name, request)
    message = f"waiting for release {args.release_name} to become ready"
    return _changed(await _waiting(ctx, work, args, _waits(args), message))


async def helm_upgrade(args: UpgradeInput, ctx: CallContext) -> ReleaseChange:
    verb = ArgList(["upgrade"]).flag("--install", args.install)
    verb.flag("--reuse-values", args.reuse_values).flag("--reset-values", args.reset_values)
    return await _apply(args, ctx, verb)


async def _run_waiting(args: TimeoutInput, ctx: CallContext, argv: list[str], wait: bool, message: str) -> str:
    cli = await ctx.helm.cli(args.helm_version)
    work = cli.run(argv, await ctx.helm_target(), f"helm {argv[0]} {argv[1]}")
    return await _waiting(ctx, work, args, wait, message)


async def helm_rollback(args: RollbackInput, ctx: CallContext) -> ReleaseChange:
    argv = ArgList(["rollback", args.release_name])
    if args.revision is not None:
        argv.append(str(args.revision))
    argv.flag("--wait", args.wait).opt("--timeout", args.timeout)
    await _run_waiting(args, ctx, argv, args.wait, f"waiting for release {args.release_name} to roll back")
    reader = await ctx.helm.reader(args.helm_version)
    status = await reader.status(await ctx.helm_target(), args.release_name, None)
    return ReleaseChange(**{**dataclasses.asdict(status), "notes": None})


async def helm_uninstall(args: UninstallInput, ctx: CallContext) -> Uninstalled:
    message = f"waiting for release {args.release_name} to be deleted"
    writer = await ctx.helm.sdk_writer(args.helm_version)  # None: the CLI engine writes
    if writer is not None:
        work = writer.uninstall(
            await ctx.helm_target(),
            args.release_name,
            keep_history=args.keep_history,
            wait=args.wait,
            timeout_seconds=math.ceil(args.timeout_seconds()),
            description=args.description,
        )
        out = await _waiting(ctx, work, args, args.wait, message)
    else:
        argv = ArgList(["uninstall", args.release_name]).flag("--keep-history", args.keep_history)
        argv.flag("--wait", args.wait).opt("--timeout", args.timeout).opt("--description", args.description)
        out = await _run_waiting(args, ctx, argv, args.wait, message)
    return Uninstalled(
        release_name=args.release_name,
        namespace=(await ctx.helm_target()).namespace,
        kept_history=args.keep_history,
        message=out.strip().splitlines()[-1] if out.strip() else "uninstalled",
    )


_TEST_SUITE = re.compile(r"^TEST SUITE:\s+(\S+)\s*$(?:(?!^TEST SUITE:).)*?^Phase:\s+(\S+)", re.M | re.S)


async def helm_test(args: TestInput, ctx: CallContext) -> TestSuite:
    argv = ArgList(["test", args.release_name]).opt("--timeout", args.timeout).flag("--logs", args.logs)
    if args.filter:
        argv += ["--filter", ",".join(args.filter)]
    out = await _run_waiting(args, ctx, argv, True, f"running the tests of {args.release_name}")
    tests = [{"name": name, "phase": phase} for name, phase in _TEST_SUITE.findall(out)]
    logs = out.split("POD LOGS:", 1)[1].strip() if args.logs and "POD LOGS:" in out else None
    return TestSuite(release_name=args.release_name, tests=tests, logs=logs)


TOOLS: list[AnyTool] = [
    Tool(
        name="helm_install",
        description="Install a chart as a new release (values, set, wait, atomic/rollback_on_failure, dry_run).",
        input_model=InstallInput,
        output_model=ReleaseChange,
        annotations=CHANGES_RELEASE,
        category=Category.MUTATE,
        handler=helm_install,
    ),
    Tool(
        name="helm_upgrade",
        description="Upgrade a release to a chart version or new values (install=true to install if missing).",
        input_model=UpgradeInput,
        output_model=ReleaseChange,
        annotations=CHANGES_RELEASE,
        category=Category.MUTATE,
        handler=helm_upgrade,
    ),
    Tool(
        name="helm_rollback",
        description="Roll a release back to a previous revision.",
        input_model=RollbackInput,
        output_model=ReleaseChange,
        annotations=CHANGES_RELEASE,
        category=Category.MUTATE,
        handler=helm_rollback,
    ),
    Tool(
        name="helm_uninstall",
        description="Uninstall a release and delete its resources (keep_history keeps the record).",
        input_model=UninstallInput,
        output_model=Uninstalled,
        annotations=CHANGES_RELEASE,
        category=Category.MUTATE,
        handler=helm_uninstall,
    ),
    Tool(
        name="helm_test",
        description="Run a release's test hooks and report each test's phase.",
        input_model=TestInput,
        output_model=TestSuite,
        annotations=RUNS_TEST_PODS,
        category=Category.MUTATE,
        handler=helm_test,
    ),
]
