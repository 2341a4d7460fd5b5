"""The release lifecycle: helm_install, helm_upgrade, helm_rollback, helm_uninstall and helm_test."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable
from typing import Any, TypeVar

from pydantic import Field

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.errors import ToolError
from kubehelm_mcp.helm.engine import ReleaseWriter
from kubehelm_mcp.helm.manifests import split_manifest
from kubehelm_mcp.helm.models import HelmTarget
from kubehelm_mcp.helm.requests import (
    Cascade,
    InstallRequest,
    ReleaseChanged,
    RollbackRequest,
    TestRequest,
    UninstallRequest,
    UpgradeRequest,
)
from kubehelm_mcp.tooling import DESTRUCTIVE, RELEASES, WRITES, AnyTool, Category, Switch, Tool, ToolResult
from kubehelm_mcp.toolsets.helm.inputs import ApplyInput, ChangeInput, ReleaseInput, TimeoutInput
from kubehelm_mcp.toolsets.helm.progress import with_progress
from kubehelm_mcp.toolsets.helm.releases import ReleaseStatusResult
from kubehelm_mcp.validators import CliText

T = TypeVar("T")


class InstallInput(ChangeInput):
    pass


class UpgradeInput(ChangeInput):
    install: Switch = Field(False, description="Install if the release does not exist.")
    reuse_values: Switch = Field(False, description="Merge over the last release's values.")
    reset_values: Switch = Field(False, description="Start from the chart's default values.")
    reset_then_reuse_values: Switch = Field(False, description="Chart defaults, then the last release's values.")
    cleanup_on_fail: Switch = Field(False, description="Delete new resources if the upgrade fails.")
    max_history: int | None = Field(None, ge=0, description="0: no limit")


class RollbackInput(ApplyInput, ReleaseInput):
    revision: int | None = Field(None, ge=1, description="Default: the previous")
    cleanup_on_fail: Switch = Field(False, description="Delete new resources if the rollback fails.")
    max_history: int | None = Field(None, ge=0, description="0: no limit")


class UninstallInput(TimeoutInput, ReleaseInput):
    keep_history: Switch = Field(False, description="Keep the release record (status uninstalled).")
    wait: Switch = Field(False, description="Wait until the resources are deleted.")
    description: CliText | None = Field(None)
    no_hooks: Switch = Field(False, description="Skip hooks.")
    cascade: Cascade | None = Field(None, description="Default background")
    ignore_not_found: Switch = Field(False, description="Succeed if the release is missing.")


class TestInput(TimeoutInput, ReleaseInput):
    filter: list[CliText] = Field(default_factory=list, description="name=test or !name=test filters.")
    logs: Switch = Field(False, description="Include the test pods' logs.")


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


def install_request(args: InstallInput) -> InstallRequest:
    return InstallRequest(**args.change_fields())


def upgrade_request(args: UpgradeInput) -> UpgradeRequest:
    return UpgradeRequest(
        **args.change_fields(),
        install=args.install,
        reuse_values=args.reuse_values,
        reset_values=args.reset_values,
        reset_then_reuse_values=args.reset_then_reuse_values,
        cleanup_on_fail=args.cleanup_on_fail,
        max_history=args.max_history,
    )


def _waits(args: ChangeInput) -> bool:
    """Helm waits when asked to, and always before deciding to undo a failed change."""
    return args.waits() or args.atomic or args.rollback_on_failure


async def _waiting(ctx: CallContext, work: Awaitable[T], args: TimeoutInput, wait: bool, message: str) -> T:
    """Await `work`, with progress notifications when Helm waits for resources."""
    return await (with_progress(ctx, work, args.timeout_seconds(), message) if wait else work)


async def _writer(args: ReleaseInput, ctx: CallContext) -> tuple[ReleaseWriter, HelmTarget]:
    return await ctx.helm.writer(args.helm_version, ctx.read_file), await ctx.helm_target()


async def _explained(ctx: CallContext, target: HelmTarget, release_name: str, work: Awaitable[T]) -> T:
    """`work`, whose failure in a hook is explained by the failing hooks and their pods."""
    try:
        return await work
    except ToolError as exc:
        raise await ctx.helm.explain_failure(target, release_name, exc) from None


def _changed(changed: ReleaseChanged, dry_run: bool) -> ReleaseChange:
    status = changed.status
    manifest = split_manifest(changed.manifest) if dry_run else None
    return ReleaseChange(**{**dataclasses.asdict(status), "notes": status.notes.strip() or None}, manifest=manifest)


async def helm_install(args: InstallInput, ctx: CallContext) -> ReleaseChange:
    writer, target = await _writer(args, ctx)
    work = _explained(ctx, target, args.release_name, writer.install(target, install_request(args)))
    message = f"waiting for release {args.release_name} to become ready"
    return _changed(await _waiting(ctx, work, args, _waits(args), message), bool(args.dry_run))


async def helm_upgrade(args: UpgradeInput, ctx: CallContext) -> ReleaseChange:
    writer, target = await _writer(args, ctx)
    work = _explained(ctx, target, args.release_name, writer.upgrade(target, upgrade_request(args)))
    message = f"waiting for release {args.release_name} to become ready"
    changed = await _waiting(ctx, work, args, _waits(args), message)
    return _changed(changed, bool(args.dry_run))


async def helm_rollback(args: RollbackInput, ctx: CallContext) -> ReleaseChange:
    writer, target = await _writer(args, ctx)
    request = RollbackRequest(
        args.release_name,
        args.revision,
        wait=args.wait,
        timeout=args.timeout,
        wait_for_jobs=args.wait_for_jobs,
        no_hooks=args.no_hooks,
        cleanup_on_fail=args.cleanup_on_fail,
        force_replace=args.force_replace,
        max_history=args.max_history,
        server_side_apply=args.server_side_apply,
        force_conflicts=args.force_conflicts,
    )
    work = _explained(ctx, target, args.release_name, writer.rollback(target, request))
    await _waiting(ctx, work, args, args.waits(), f"waiting for release {args.release_name} to roll back")
    reader = await ctx.helm.reader(args.helm_version)
    status = await reader.status(target, args.release_name, None)
    return ReleaseChange(**{**dataclasses.asdict(status), "notes": None})


async def helm_uninstall(args: UninstallInput, ctx: CallContext) -> Uninstalled:
    writer, target = await _writer(args, ctx)
    request = UninstallRequest(
        args.release_name,
        args.keep_history,
        args.wait,
        args.timeout,
        args.description,
        no_hooks=args.no_hooks,
        cascade=args.cascade,
        ignore_not_found=args.ignore_not_found,
    )
    work = _explained(ctx, target, args.release_name, writer.uninstall(target, request))
    message = f"waiting for release {args.release_name} to be deleted"
    out = await _waiting(ctx, work, args, args.wait, message)
    return Uninstalled(
        release_name=args.release_name,
        namespace=target.namespace,
        kept_history=args.keep_history,
        message=out.strip().splitlines()[-1] if out.strip() else "uninstalled",
    )


async def helm_test(args: TestInput, ctx: CallContext) -> TestSuite:
    writer, target = await _writer(args, ctx)
    work = writer.test(target, TestRequest(args.release_name, args.timeout, args.logs, tuple(args.filter)))
    run = await _waiting(ctx, work, args, True, f"running the tests of {args.release_name}")
    return TestSuite(release_name=args.release_name, tests=run.tests, logs=run.logs)


# Install, upgrade, rollback and uninstall overwrite or delete what a release deployed (destructive).
TOOLS: list[AnyTool] = [
    Tool(
        name="helm_install",
        touches=RELEASES,
        description="Install a chart as a new release.",
        input_model=InstallInput,
        output_model=ReleaseChange,
        annotations=DESTRUCTIVE,
        category=Category.MUTATE,
        handler=helm_install,
    ),
    Tool(
        name="helm_upgrade",
        touches=RELEASES,
        description="Upgrade a release to a chart version or new values.",
        input_model=UpgradeInput,
        output_model=ReleaseChange,
        annotations=DESTRUCTIVE,
        category=Category.MUTATE,
        handler=helm_upgrade,
    ),
    Tool(
        name="helm_rollback",
        touches=RELEASES,
        description="Roll a release back to a previous revision.",
        input_model=RollbackInput,
        output_model=ReleaseChange,
        annotations=DESTRUCTIVE,
        category=Category.MUTATE,
        handler=helm_rollback,
    ),
    Tool(
        name="helm_uninstall",
        touches=RELEASES,
        description="Uninstall a release and delete its resources.",
        input_model=UninstallInput,
        output_model=Uninstalled,
        annotations=DESTRUCTIVE,
        category=Category.MUTATE,
        handler=helm_uninstall,
    ),
    Tool(
        name="helm_test",
        touches=RELEASES,
        description="Run a release's test hooks and report each test's phase.",
        input_model=TestInput,
        output_model=TestSuite,
        annotations=WRITES,
        category=Category.MUTATE,
        handler=helm_test,
    ),
]
