"""One typed settings object: command-line flags win over KUBEHELM_MCP_* environment variables,
which win over the defaults declared here.

Each field's metadata carries its help text, so the command line, the environment lookup and
the README's tables all come from this one declaration.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

ENV_PREFIX = "KUBEHELM_MCP_"

Transport = Literal["stdio", "http", "sse"]
LogLevel = Literal["debug", "info", "warning", "error"]
HelmReadEngine = Literal["storage", "cli", "sdk"]
HelmWriteEngine = Literal["cli", "sdk"]

ALL_TOOLSETS = ("kubernetes", "helm")


def _opt(help_text: str, **extra: Any) -> dict[str, Any]:
    return {"help": help_text, **extra}


@dataclass(frozen=True)
class Settings:
    transport: Transport = field(default="stdio", metadata=_opt("MCP transport: stdio, http or sse."))
    host: str = field(default="127.0.0.1", metadata=_opt("Address the HTTP server binds to."))
    port: int = field(default=8080, metadata=_opt("Port the HTTP server listens on."))
    path: str = field(default="/mcp", metadata=_opt("URL path of the Streamable HTTP endpoint."))
    kubeconfig: str | None = field(
        default=None, metadata=_opt("Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).")
    )
    context: str | None = field(default=None, metadata=_opt("Default kubeconfig context."))
    namespace: str | None = field(
        default=None, metadata=_opt("Default namespace (default: the context's, else 'default').")
    )
    in_cluster: bool = field(default=False, metadata=_opt("Use the pod's service account instead of a kubeconfig."))
    toolsets: tuple[str, ...] = field(
        default=ALL_TOOLSETS, metadata=_opt("Comma-separated toolsets to serve: kubernetes, helm.")
    )
    log_level: LogLevel = field(default="info", metadata=_opt("Log level (logs go to stderr)."))
    harden: bool = field(
        default=True,
        metadata=_opt(
            "Linux process hardening for serve: no core dumps, not dumpable, and (as root) an empty "
            "capability bounding set; --no-harden skips it."
        ),
    )
    read_only: bool = field(
        default=False, metadata=_opt("Serve only tools annotated read-only; refuse every other call.")
    )
    allow_destructive: bool = field(
        default=False, metadata=_opt("Allow tools annotated destructive (refused by default).")
    )
    dry_run: bool = field(
        default=False,
        metadata=_opt("Run every mutating call as a dry run; refuse mutating tools that cannot dry-run."),
    )
    enabled_tools: tuple[str, ...] = field(
        default=(), metadata=_opt("Comma-separated tool names or globs to serve; empty serves all.")
    )
    disabled_tools: tuple[str, ...] = field(
        default=(), metadata=_opt("Comma-separated tool names or globs never served (wins over --enabled-tools).")
    )
    allowed_namespaces: tuple[str, ...] = field(
        default=(), metadata=_opt("Comma-separated namespace globs calls may touch; empty allows all.")
    )
    denied_namespaces: tuple[str, ...] = field(
        default=(), metadata=_opt("Comma-separated namespace globs calls may never touch (wins over allowed).")
    )
    allow_cluster_scoped: bool = field(
        default=False, metadata=_opt("With --allowed-namespaces, still allow calls on cluster-scoped kinds.")
    )
    denied_kinds: tuple[str, ...] = field(
        default=(),
        metadata=_opt("Comma-separated kinds refused, by Kind, plural, short name or group-qualified (e.g. secrets)."),
    )
    per_call_credentials: bool = field(
        default=False,
        metadata=_opt(
            "Add per-call kubeconfig, kube_apiserver, kube_token, kube_tls_server_name and "
            "kube_insecure_tls inputs to every tool."
        ),
    )
    max_response_bytes: int = field(default=64 * 1024, metadata=_opt("Response budget per tool result, in bytes."))
    reveal_secrets: bool = field(
        default=False, metadata=_opt("Show Secret values instead of redacting them (not recommended).")
    )
    helm_v3_binary: str | None = field(default=None, metadata=_opt("Path of a Helm v3 binary."))
    helm_v4_binary: str | None = field(default=None, metadata=_opt("Path of a Helm v4 binary."))
    helm_read_engine: HelmReadEngine = field(
        default="storage",
        metadata=_opt(
            "How release reads (list, status, history, get) are answered: 'storage' decodes Helm's "
            "release records through the Kubernetes API in-process; 'cli' runs the helm binary; 'sdk' "
            "calls the Helm v4 Go SDK in-process (extra kubehelm-mcp[sdk]; v3 reads then use 'storage', "
            "which reads the same records)."
        ),
    )
    helm_write_engine: HelmWriteEngine = field(
        default="cli",
        metadata=_opt(
            "How helm_install and helm_uninstall change releases: 'cli' runs the helm binary; 'sdk' "
            "calls the Helm v4 Go SDK in-process (extra kubehelm-mcp[sdk]) for v4 installs of a local "
            "chart with inline values (with client-side apply) and for v4 uninstalls, and the CLI for "
            "everything else."
        ),
    )
    helm_hub_url: str = field(
        default="https://hub.helm.sh",
        metadata=_opt("Artifact Hub (or Monocular-compatible) endpoint that helm_search_hub queries."),
    )
    allowed_paths: tuple[str, ...] = field(
        default=(),
        metadata=_opt(
            "Comma-separated directories local path inputs must lie under (default: anywhere but sensitive places)."
        ),
    )
    allowed_hosts: tuple[str, ...] = field(
        default=(),
        metadata=_opt(
            "Comma-separated host globs or CIDRs that URL inputs may reach although they are loopback, "
            "private, link-local or cloud-metadata addresses (refused by default)."
        ),
    )
    query_timeout: float = field(default=30.0, metadata=_opt("Timeout in seconds for read tools."))
    mutate_timeout: float = field(default=300.0, metadata=_opt("Timeout in seconds for mutating tools."))
    oidc_issuer: str | None = field(
        default=None, metadata=_opt("HTTP/SSE: OIDC issuer whose JWT bearer tokens are accepted (enables auth).")
    )
    oidc_audience: str | None = field(
        default=None, metadata=_opt("HTTP/SSE: audience (aud) the tokens must carry; required with --oidc-issuer.")
    )
    oidc_jwks_url: str | None = field(
        default=None,
        metadata=_opt("HTTP/SSE: JWKS URL (default: discovered from the issuer's openid-configuration)."),
    )
    required_scopes: tuple[str, ...] = field(
        default=(), metadata=_opt("HTTP/SSE: comma-separated scopes (scp or scope) every token must carry.")
    )
    required_roles: tuple[str, ...] = field(
        default=(), metadata=_opt("HTTP/SSE: comma-separated roles (roles claim) every token must carry.")
    )
    allowed_clients: tuple[str, ...] = field(
        default=(), metadata=_opt("HTTP/SSE: comma-separated client ids (azp or appid) allowed; empty allows any.")
    )
    auth_token: str | None = field(
        default=None,
        repr=False,  # a secret: never in a repr or log line
        metadata=_opt("HTTP/SSE: static bearer token clients must send (used when no OIDC issuer is set)."),
    )
    allow_unauthenticated: bool = field(
        default=False, metadata=_opt("HTTP/SSE: allow serving without auth on a non-loopback --host.")
    )
    session_ttl: float = field(
        default=300.0, metadata=_opt("HTTP/SSE: seconds a validated token stays cached (never past its exp).")
    )

    def timeout_for(self, category: str) -> float:
        return self.query_timeout if category == "query" else self.mutate_timeout

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def settings_fields() -> list[dataclasses.Field[Any]]:
    return list(dataclasses.fields(Settings))


def flag_name(f: dataclasses.Field[Any]) -> str:
    return "--" + f.name.replace("_", "-")


def env_name(f: dataclasses.Field[Any]) -> str:
    return ENV_PREFIX + f.name.upper()


def _field_kind(f: dataclasses.Field[Any]) -> str:
    annotation = str(f.type)
    if annotation == "bool":
        return "bool"
    if annotation == "int":
        return "int"
    if annotation == "float":
        return "float"
    if annotation.startswith("tuple"):
        return "list"
    return "str"


def _choices(f: dataclasses.Field[Any]) -> tuple[str, ...] | None:
    literal = {
        "Transport": Transport,
        "LogLevel": LogLevel,
        "HelmReadEngine": HelmReadEngine,
        "HelmWriteEngine": HelmWriteEngine,
    }.get(str(f.type))
    return get_args(literal) if literal is not None else None


class SettingsError(ValueError):
    """A flag or environment variable has a value that cannot be used."""


def _parse_value(f: dataclasses.Field[Any], raw: str, source: str) -> Any:
    kind = _field_kind(f)
    try:
        if kind == "bool":
            lowered = raw.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "list":
            return tuple(item.strip() for item in raw.split(",") if item.strip())
    except ValueError:
        raise SettingsError(f"{source} must be a {kind}, got {raw!r}.") from None
    choices = _choices(f)
    if choices and raw not in choices:
        raise SettingsError(f"{source} must be one of {', '.join(choices)}; got {raw!r}.")
    return raw


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one flag per setting; every default is None so that 'not given' is detectable."""
    for f in settings_fields():
        kind = _field_kind(f)
        help_text = f"{f.metadata['help']} [env {env_name(f)}]"
        if kind == "bool":
            parser.add_argument(
                flag_name(f), dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        else:
            parser.add_argument(flag_name(f), dest=f.name, default=None, metavar=f.name.upper(), help=help_text)


def load_settings(namespace: argparse.Namespace | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Resolve every setting: a given flag, else its environment variable, else the default."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in settings_fields():
        flag_value = getattr(namespace, f.name, None) if namespace is not None else None
        if flag_value is not None:
            raw: str | None = flag_value if isinstance(flag_value, str) else None
            values[f.name] = _parse_value(f, raw, flag_name(f)) if raw is not None else flag_value
        elif env_name(f) in environ:
            values[f.name] = _parse_value(f, environ[env_name(f)], env_name(f))
    settings = Settings(**values)
    _validate(settings)
    return settings


def _validate(settings: Settings) -> None:
    unknown = sorted(set(settings.toolsets) - set(ALL_TOOLSETS))
    if unknown:
        raise SettingsError(f"Unknown toolset(s) {', '.join(unknown)}; choose from {', '.join(ALL_TOOLSETS)}.")
    if not settings.path.startswith("/"):
        raise SettingsError(f"--path must start with '/', got {settings.path!r}.")
    if settings.max_response_bytes < 1024:
        raise SettingsError("--max-response-bytes must be at least 1024.")


def settings_table(fields: Sequence[dataclasses.Field[Any]] | None = None) -> str:
    """A Markdown table of flags, environment variables and defaults (used for the README)."""
    rows = ["| flag | environment | default | meaning |", "|---|---|---|---|"]
    for f in fields or settings_fields():
        default = f.default
        shown = ",".join(default) if isinstance(default, tuple) else default
        rows.append(f"| `{flag_name(f)}` | `{env_name(f)}` | `{shown}` | {f.metadata['help']} |")
    return "\n".join(rows)
