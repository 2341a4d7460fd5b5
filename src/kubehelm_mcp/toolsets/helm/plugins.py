"""Helm plugins: helm_plugin_install, _list, _update and _uninstall."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.errors import Conflict, InvalidInput, NotFound, ToolError
from kubehelm_mcp.helm.requests import PluginInstallRequest
from kubehelm_mcp.tooling import (
    DESTRUCTIVE,
    LOCAL_DESTRUCTIVE,
    LOCAL_READ_ONLY,
    AnyTool,
    Category,
    PagedResult,
    Tool,
    ToolResult,
)
from kubehelm_mcp.toolsets.helm.common import HelmInput
from kubehelm_mcp.toolsets.helm.remote import commands, existing_file
from kubehelm_mcp.toolsets.rendering import render_table
from kubehelm_mcp.validators import CliText, CliWord, LocalPath, PluginSource

PLUGIN_NAME = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")


class PluginInstallInput(HelmInput):
    url_or_path: PluginSource = Field(min_length=1)
    version: CliText | None = Field(None)
    verify: bool | None = Field(None, description="v4; default true")
    keyring: LocalPath | None = Field(None, description="v4: public keyring for verify.")


class PluginNameInput(HelmInput):
    name: CliWord = PLUGIN_NAME


class Plugin(BaseModel):
    """v3 lists a description; v4 lists type, API version, provenance and source instead."""

    name: str
    version: str
    description: str | None = None
    type: str | None = None
    api_version: str | None = None
    provenance: str | None = None
    source: str | None = None


class PluginList(PagedResult):
    items: list[Plugin]

    def to_text(self) -> str:
        if not self.items:
            return "No plugins installed."
        rows = [p.model_dump(exclude_none=True) for p in self.items]
        return render_table(list(rows[0]), rows)


class PluginChanged(ToolResult):
    name: str
    message: str


async def installed_plugins(args: HelmInput, ctx: CallContext) -> list[Plugin]:
    return [Plugin(**row) for row in await (await commands(args, ctx)).plugin_list()]


async def require_plugin(args: PluginNameInput, ctx: CallContext) -> None:
    if not any(p.name == args.name for p in await installed_plugins(args, ctx)):
        raise NotFound(f"Plugin {args.name} is not installed.", hint="helm_plugin_list shows the installed ones.")


def plugin_source(source: str) -> str:
    """A URL as given; a local path (already resolved by validation), refused when it does not
    exist (helm's own message would blame a missing VCS)."""
    if "://" not in source and not Path(source).exists():
        raise InvalidInput(f"Plugin path {source} does not exist.")
    return source


async def helm_plugin_install(args: PluginInstallInput, ctx: CallContext) -> PluginChanged:
    source = plugin_source(args.url_or_path)
    keyring = str(existing_file(args.keyring, "Keyring")) if args.keyring else None
    request = PluginInstallRequest(source, args.version, args.verify, keyring)  # v3 refuses verify/keyring
    try:
        installed = await (await commands(args, ctx)).plugin_install(request)
    except ToolError as exc:
        if "already exists" in str(exc):
            raise Conflict("That plugin is already installed.", hint="Uninstall it first to reinstall.") from None
        raise
    name = installed or source
    return PluginChanged(name=name, message=f"Installed plugin {name}.")


async def helm_plugin_list(args: HelmInput, ctx: CallContext) -> PluginList:
    return PluginList(items=await installed_plugins(args, ctx))


async def helm_plugin_update(args: PluginNameInput, ctx: CallContext) -> PluginChanged:
    await require_plugin(args, ctx)
    try:
        await (await commands(args, ctx)).plugin_update(args.name)
    except ToolError as exc:
        if "plugin source" in str(exc):
            raise ToolError(
                f"Plugin {args.name} was not installed from a VCS repository, and Helm updates only those.",
                hint="A plugin installed from a local directory follows that directory already; "
                "reinstall one installed from an archive.",
            ) from None
        raise
    return PluginChanged(name=args.name, message=f"Updated plugin {args.name}.")


async def helm_plugin_uninstall(args: PluginNameInput, ctx: CallContext) -> PluginChanged:
    await require_plugin(args, ctx)
    await (await commands(args, ctx)).plugin_uninstall(args.name)
    return PluginChanged(name=args.name, message=f"Uninstalled plugin {args.name}.")


# Installing or updating a plugin runs its code (hooks, then its commands) as the server's user:
# destructive, so a default or read-only server refuses it; sources: --allowed-plugin-sources.
TOOLS: list[AnyTool] = [
    Tool(
        name="helm_plugin_install",
        description="Install a Helm plugin from a directory, archive or VCS URL.",
        input_model=PluginInstallInput,
        output_model=PluginChanged,
        annotations=DESTRUCTIVE,
        category=Category.REPO,
        handler=helm_plugin_install,
    ),
    Tool(
        name="helm_plugin_list",
        description="List installed Helm plugins.",
        input_model=HelmInput,
        output_model=PluginList,
        annotations=LOCAL_READ_ONLY,
        category=Category.REPO,
        handler=helm_plugin_list,
    ),
    Tool(
        name="helm_plugin_update",
        description="Update plugins installed from VCS.",
        input_model=PluginNameInput,
        output_model=PluginChanged,
        annotations=DESTRUCTIVE,
        category=Category.REPO,
        handler=helm_plugin_update,
    ),
    Tool(
        name="helm_plugin_uninstall",
        description="Uninstall a Helm plugin.",
        input_model=PluginNameInput,
        output_model=PluginChanged,
        annotations=LOCAL_DESTRUCTIVE,
        category=Category.REPO,
        handler=helm_plugin_uninstall,
    ),
]
