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
LogFormat = Literal["text", "json"]
HelmReadEngine = Literal["storage", "cli", "sdk"]
HelmWriteEngine = Literal["cli", "sdk"]
ClusterIdentity = Literal["server", "impersonate", "obo", "passthrough"]
ConfirmFallback = Literal["deny", "allow"]

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
    log_format: LogFormat = field(
        default="text", metadata=_opt("Log line format: text, or json (one JSON object per line).")
    )
    tracing: bool = field(
        default=False,
        metadata=_opt(
            "OpenTelemetry traces (extra kubehelm-mcp[otel]), exported as the standard OTEL_* variables say."
        ),
    )
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
    confirm: tuple[str, ...] = field(
        default=(),
        metadata=_opt(
            "Comma-separated confirmation rules, a tool name or glob (helm_uninstall) or verb:kind:namespace "
            "globs (delete:Deployment:prod-*): a matching call that changes something runs only after the user "
            "accepts an MCP elicitation."
        ),
    )
    confirm_fallback: ConfirmFallback = field(
        default="deny",
        metadata=_opt("What a call needing confirmation does when the client cannot elicit: deny or allow."),
    )
    request_state_keys: tuple[str, ...] = field(
        default=(),
        repr=False,  # secrets
        metadata=_opt(
            "Comma-separated secret keys sealing confirmation state on the stateless protocol (the first "
            "seals, every one unseals, for rotation); replicas behind one endpoint must share them "
            "(default: a random key per process)."
        ),
    )
    per_call_credentials: bool = field(
        default=False,
        metadata=_opt(
            "Add per-call kubeconfig, kube_apiserver, kube_token, kube_tls_server_name and "
            "kube_insecure_tls inputs to every tool."
        ),
    )
    per_call_kubeconfig: bool = field(
        default=False,
        metadata=_opt(
            "Add a per-call kubeconfig path input to every tool; such a file may name no exec or "
            "auth-provider credential plugin (nothing it says is ever run)."
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
    max_file_bytes: int = field(
        default=4 * 1024 * 1024,
        metadata=_opt(
            "Largest local file a tool reads the content of (values_files, set_file, a per-call kubeconfig "
            "and the files it names), in bytes; a larger one is refused before it is read."
        ),
    )
    allowed_plugin_sources: tuple[str, ...] = field(
        default=(),
        metadata=_opt(
            "Comma-separated globs of the plugin sources helm_plugin_install may install from: a local path "
            "(matched after symlinks are resolved) or a URL. Installing a plugin runs its code on the server, "
            "so empty (the default) refuses every plugin install."
        ),
    )
    allowed_hosts: tuple[str, ...] = field(
        default=(),
        metadata=_opt(
            "Comma-separated host globs or CIDRs that URL inputs and helm's fetches may reach although they "
            "are loopback, private, link-local, shared or cloud-metadata addresses (refused by default)."
        ),
    )
    query_timeout: float = field(default=30.0, metadata=_opt("Timeout in seconds for read tools."))
    mutate_timeout: float = field(
        default=120.0,
        metadata=_opt(
            "Timeout in seconds for mutating tools; a call whose own input waits longer (helm timeout, "
            "exec timeout_seconds) gets that wait plus 30 s."
        ),
    )
    chart_timeout: float = field(
        default=60.0, metadata=_opt("Timeout in seconds for chart tools (template, lint, show, package, create).")
    )
    repo_timeout: float = field(
        default=60.0, metadata=_opt("Timeout in seconds for repository, registry and plugin tools.")
    )
    retry_attempts: int = field(
        default=3,
        metadata=_opt(
            "Attempts for a read-only, idempotent call to a cluster that fails transiently (unreachable, "
            "HTTP 429/5xx); 1 turns retries off. Mutations are never retried."
        ),
    )
    breaker_failures: int = field(
        default=5,
        metadata=_opt("Consecutive transient failures of calls to one cluster that open its circuit breaker."),
    )
    breaker_reset_seconds: float = field(
        default=5.0,
        metadata=_opt(
            "Longest wait, in seconds, of an open circuit breaker before it probes the cluster's /readyz again: "
            "the first probe comes after 1 s, each failed one doubles the wait up to this."
        ),
    )
    max_concurrent_calls: int = field(
        default=32,
        metadata=_opt("Tool calls run at once; more wait for a slot within their timeout, then get 'server busy'."),
    )
    rate_limit_per_second: float = field(
        default=0.0, metadata=_opt("Calls per second each caller may make (token bucket); 0 turns the limit off.")
    )
    rate_limit_burst: int = field(
        default=20, metadata=_opt("Calls a caller may make at once before --rate-limit-per-second applies.")
    )
    read_cache_ttl: float = field(
        default=0.0,
        metadata=_opt(
            "Seconds results of read-only cluster calls are cached, per caller and target; any other call "
            "clears the cache; 0 turns it off."
        ),
    )
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
    cluster_identity: ClusterIdentity = field(
        default="server",
        metadata=_opt(
            "HTTP/SSE with OIDC: whose identity calls reach the cluster with: 'server' (the kubeconfig's or the "
            "pod's), 'impersonate' (the caller, through Impersonate-User/Group), 'obo' (a token exchanged for "
            "the caller's at --obo-token-url) or 'passthrough' (the caller's own token). Stdio is always 'server'."
        ),
    )
    impersonation_user_claim: str = field(
        default="sub",
        metadata=_opt("Token claim naming the impersonated user (like the apiserver's --oidc-username-claim)."),
    )
    impersonation_groups_claim: str = field(
        default="groups", metadata=_opt("Token claim listing the impersonated groups (string or list).")
    )
    impersonation_prefix: str = field(
        default="", metadata=_opt("Prefix for impersonated user names (like the apiserver's --oidc-username-prefix).")
    )
    impersonation_groups_prefix: str = field(
        default="", metadata=_opt("Prefix for impersonated groups (like the apiserver's --oidc-groups-prefix).")
    )
    obo_token_url: str | None = field(
        default=None, metadata=_opt("Token endpoint for --cluster-identity obo (RFC 8693 token exchange).")
    )
    obo_client_id: str | None = field(default=None, metadata=_opt("Client id this server exchanges tokens as."))
    obo_client_secret: str | None = field(
        default=None,
        repr=False,  # a secret: never in a repr or log line
        metadata=_opt("Client secret for the token exchange. Prefer the variable: flags show in ps."),
    )
    obo_audience: str | None = field(
        default=None, metadata=_opt("Audience requested for the exchanged token (the Kubernetes API's).")
    )
    obo_scope: str | None = field(default=None, metadata=_opt("Scope requested for the exchanged token."))
    audit_log: str | None = field(
        default=None,
        metadata=_opt(
            "JSON-lines audit log of every auth decision and tool call: a file path (created 0600) or '-' "
            "for stderr; empty: off."
        ),
    )
    max_body_bytes: int = field(
        default=1024 * 1024,
        metadata=_opt("HTTP/SSE: largest request body, in bytes; a larger one gets 413 as soon as it is seen."),
    )
    max_header_bytes: int = field(
        default=32 * 1024,
        metadata=_opt("HTTP/SSE: largest request line plus headers, in bytes; a larger one gets 431 (or 400)."),
    )
    read_timeout: float = field(
        default=30.0,
        metadata=_opt(
            "HTTP/SSE: seconds a connection has, from opening or from its previous response, to send a whole "
            "request (headers and body) before it is closed (slowloris)."
        ),
    )
    keep_alive_timeout: int = field(
        default=5, metadata=_opt("HTTP/SSE: seconds an idle keep-alive connection stays open.")
    )
    max_connections: int = field(
        default=1000,
        metadata=_opt("HTTP/SSE: connections served at once; beyond that a request gets 503."),
    )
    session_idle_timeout: float = field(
        default=300.0,
        metadata=_opt(
            "HTTP/SSE: seconds after which an idle Streamable HTTP session (no request in flight, no open "
            "stream) or legacy SSE stream (no message either way, no call running) is closed."
        ),
    )
    max_sessions: int = field(
        default=1000,
        metadata=_opt(
            "HTTP: Streamable HTTP sessions open at once; anonymous callers get 90% of them, the rest is kept "
            "for authenticated ones; beyond that a new session gets 503."
        ),
    )
    max_sessions_per_caller: int = field(
        default=100,
        metadata=_opt(
            "HTTP: Streamable HTTP sessions one caller (its principal, else its address) may hold open; one "
            "more gets 429."
        ),
    )
    max_sse_streams: int = field(
        default=100,
        metadata=_opt(
            "SSE: legacy SSE streams open at once (at most half of --max-connections); anonymous callers get "
            "90% of them; beyond that a new stream gets 503."
        ),
    )
    max_sse_streams_per_caller: int = field(
        default=10,
        metadata=_opt(
            "SSE: legacy SSE streams one caller (its principal, else its address) may hold open; one more gets 429."
        ),
    )
    shutdown_grace: float = field(
        default=25.0,
        metadata=_opt(
            "HTTP/SSE: on SIGTERM, seconds running tool calls may take to finish (new requests get 503) "
            "before they are cancelled."
        ),
    )
    http_allowed_hosts: tuple[str, ...] = field(
        default=(),
        metadata=_opt(
            "HTTP/SSE: comma-separated Host header globs accepted besides loopback names and the bind address "
            "(DNS-rebinding protection, always on; a foreign Host gets 421)."
        ),
    )
    http_allowed_origins: tuple[str, ...] = field(
        default=(),
        metadata=_opt(
            "HTTP/SSE: comma-separated Origin globs accepted besides loopback, the bind address and "
            "--cors-origins (a foreign Origin gets 403; requests without Origin pass)."
        ),
    )
    cors_origins: tuple[str, ...] = field(
        default=(),
        metadata=_opt("HTTP/SSE: comma-separated browser origins allowed by CORS (exact); empty turns CORS off."),
    )
    tls_cert: str | None = field(
        default=None, metadata=_opt("HTTP/SSE: PEM certificate (chain) to serve HTTPS with; needs --tls-key.")
    )
    tls_key: str | None = field(default=None, metadata=_opt("HTTP/SSE: PEM private key of --tls-cert."))
    stateless: bool = field(
        default=False,
        metadata=_opt(
            "HTTP: keep no server-side session for handshake-era Streamable HTTP clients, so any replica can "
            "answer any request (the 2026-07-28 protocol is stateless anyway; SSE keeps its sessions)."
        ),
    )

    def timeout_for(self, category: str) -> float:
        """The timeout of a tool category (tooling.Category's values)."""
        timeouts = {
            "query": self.query_timeout,
            "mutate": self.mutate_timeout,
            "chart": self.chart_timeout,
            "repo": self.repo_timeout,
        }
        if category not in timeouts:
            raise ValueError(f"unknown tool category {category!r}")
        return timeouts[category]

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
        "LogFormat": LogFormat,
        "HelmReadEngine": HelmReadEngine,
        "HelmWriteEngine": HelmWriteEngine,
        "ClusterIdentity": ClusterIdentity,
        "ConfirmFallback": ConfirmFallback,
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
    if any(len(key.encode()) < 32 for key in settings.request_state_keys):
        raise SettingsError(
            "--request-state-keys: each key must be at least 32 bytes of secret randomness "
            "(e.g. python -c 'import secrets; print(secrets.token_hex(32))')."
        )
    if settings.max_response_bytes < 1024:
        raise SettingsError("--max-response-bytes must be at least 1024.")
    if settings.max_file_bytes < 1024:
        raise SettingsError("--max-file-bytes must be at least 1024.")
    _validate_resilience(settings)
    _validate_http(settings)
    bad_rules = [rule for rule in settings.confirm if rule.count(":") not in (0, 2) or "" in rule.split(":")]
    if bad_rules:
        raise SettingsError(f"--confirm rule {bad_rules[0]!r} must be a tool name or glob, or verb:kind:namespace.")


def _validate_http(settings: Settings) -> None:
    for name in ("max_body_bytes", "max_header_bytes"):
        if getattr(settings, name) < 1024:
            raise SettingsError(f"--{name.replace('_', '-')} must be at least 1024.")
    for name in ("read_timeout", "keep_alive_timeout", "session_idle_timeout"):
        if getattr(settings, name) <= 0:
            raise SettingsError(f"--{name.replace('_', '-')} must be more than 0.")
    counts = (
        "max_connections",
        "max_sessions",
        "max_sessions_per_caller",
        "max_sse_streams",
        "max_sse_streams_per_caller",
    )
    for name in counts:
        if getattr(settings, name) < 1:
            raise SettingsError(f"--{name.replace('_', '-')} must be at least 1.")
    for name in ("max_sse_streams", "max_sse_streams_per_caller"):
        if getattr(settings, name) < 1:
            raise SettingsError(f"--{name.replace('_', '-')} must be at least 1.")
    if settings.shutdown_grace < 0:
        raise SettingsError("--shutdown-grace must be 0 or more.")


def _validate_resilience(settings: Settings) -> None:
    at_least_one = ("retry_attempts", "breaker_failures", "max_concurrent_calls", "rate_limit_burst")
    for name in at_least_one:
        if getattr(settings, name) < 1:
            raise SettingsError(f"--{name.replace('_', '-')} must be at least 1.")
    positive = ("query_timeout", "mutate_timeout", "chart_timeout", "repo_timeout", "breaker_reset_seconds")
    for name in positive:
        if getattr(settings, name) <= 0:
            raise SettingsError(f"--{name.replace('_', '-')} must be more than 0.")
    for name in ("rate_limit_per_second", "read_cache_ttl"):
        if getattr(settings, name) < 0:
            raise SettingsError(f"--{name.replace('_', '-')} must be 0 (off) or more.")


def settings_table(fields: Sequence[dataclasses.Field[Any]] | None = None) -> str:
    """A Markdown table of flags, environment variables and defaults (used for the README)."""
    rows = ["| flag | environment | default | meaning |", "|---|---|---|---|"]
    for f in fields or settings_fields():
        default = f.default
        shown = ",".join(default) if isinstance(default, tuple) else default
        rows.append(f"| `{flag_name(f)}` | `{env_name(f)}` | `{shown}` | {f.metadata['help']} |")
    return "\n".join(rows)
