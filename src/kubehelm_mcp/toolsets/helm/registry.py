"""OCI registry logins: helm_registry_login and helm_registry_logout."""

from __future__ import annotations

from pydantic import Field

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.errors import NotFound, ToolError
from kubehelm_mcp.helm.requests import RegistryLoginRequest
from kubehelm_mcp.tooling import LOCAL_DESTRUCTIVE, WRITES_IDEMPOTENT, AnyTool, Category, Switch, Tool, ToolResult
from kubehelm_mcp.toolsets.helm.common import HelmInput
from kubehelm_mcp.toolsets.helm.remote import TlsInput, access_denied, commands
from kubehelm_mcp.validators import CliText, RegistryHost

HOSTNAME = Field(min_length=1, pattern=r"^[^\s/]+$", description="host[:port]")


class LoginInput(TlsInput):
    hostname: RegistryHost = HOSTNAME
    username: CliText = Field(min_length=1)
    password: str = Field(min_length=1, description="Or an identity token")
    plain_http: Switch = Field(False, description="Plain HTTP (insecure; v3 falls back to it by itself).")


class LogoutInput(HelmInput):
    hostname: RegistryHost = HOSTNAME


class RegistryLogin(ToolResult):
    hostname: str
    message: str


async def helm_registry_login(args: LoginInput, ctx: CallContext) -> RegistryLogin:
    request = RegistryLoginRequest(args.hostname, args.username, args.password, args.tls(), args.plain_http)
    try:
        await (await commands(args, ctx)).registry_login(request)  # v3 falls back to plain HTTP by itself
    except ToolError as exc:
        if access_denied(exc):
            raise ToolError(f"Registry {args.hostname} refused the username or password.") from None
        raise
    return RegistryLogin(hostname=args.hostname, message=f"Logged in to {args.hostname} as {args.username}.")


async def helm_registry_logout(args: LogoutInput, ctx: CallContext) -> RegistryLogin:
    try:
        await (await commands(args, ctx)).registry_logout(args.hostname)
    except ToolError as exc:
        if "not logged in" in str(exc):  # v3 only: v4 logs out of an unknown host silently
            raise NotFound(f"Not logged in to {args.hostname}.") from None
        raise
    return RegistryLogin(hostname=args.hostname, message=f"Logged out of {args.hostname}.")


TOOLS: list[AnyTool] = [
    Tool(
        name="helm_registry_login",
        description="Log in to an OCI registry.",
        input_model=LoginInput,
        output_model=RegistryLogin,
        annotations=WRITES_IDEMPOTENT,
        category=Category.REPO,
        handler=helm_registry_login,
    ),
    Tool(
        name="helm_registry_logout",
        description="Log out of an OCI registry.",
        input_model=LogoutInput,
        output_model=RegistryLogin,
        annotations=LOCAL_DESTRUCTIVE,
        category=Category.REPO,
        handler=helm_registry_logout,
    ),
]
