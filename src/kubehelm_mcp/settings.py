"""One typed settings object in small groups: command-line flags win over KUBEHELM_MCP_*
environment variables, which win over the defaults declared here.

Each field's metadata carries its help text and its group, so the command line, the environment
lookup and the README's tables all come from this one declaration. Each group checks its own
values (`problems()`); `check_settings` runs every group's checks and is what both the CLI and
`create_server()` call, so the Python API refuses exactly what `serve` refuses.

Settings are built and changed with the flat names the flags use
(`Settings(kubeconfig=...)`, `settings.replace(read_only=True)`); they are read through their
group (`settings.http.port`, `settings.policy.read_only`).
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import os
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, get_args
from urllib.parse import urlsplit

ENV_PREFIX = "KUBEHELM_MCP_"

Transport = Literal["stdio", "http", "sse"]
LogLevel = Literal["debug", "info", "warning", "error"]
LogFormat = Literal["text", "json"]
HelmReadEngine = Literal["storage", "cli", "sdk"]
HelmWriteEngine = Literal["cli", "sdk"]
ClusterIdentity = Literal["server", "impersonate", "obo", "passthrough"]
ConfirmFallback = Literal["deny", "allow"]
ResultFormat = Literal["text", "structured"]
ClusterProviderName = Literal["kubeconfig", "capi"]

ALL_TOOLSETS = ("kubernetes", "helm", "capi")  # capi's tools are served with --cluster-provider capi only
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def _opt(group: str) -> Callable[..., dict[str, Any]]:
    def opt(help_text: str, **extra: Any) -> dict[str, Any]:
        return {"help": help_text, "group": group, **extra}

    return opt


_server = _opt("server")
_http = _opt("http")
_http_limits = _opt("http_limits")
_auth = _opt("auth")
_identity = _opt("identity")
_kube = _opt("kube")
_clusters = _opt("clusters")
_policy = _opt("policy")
_output = _opt("output")
_files = _opt("files")
_helm = _opt("helm")
_resilience = _opt("resilience")
_telemetry = _opt("telemetry")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _at_least(group: object, names: Sequence[str], minimum: float) -> list[str]:
    return [f"{_flag(n)} must be at least {minimum}." for n in names if getattr(group, n) < minimum]


def _more_than_zero(group: object, names: Sequence[str]) -> list[str]:
    return [f"{_flag(n)} must be more than 0." for n in names if getattr(group, n) <= 0]


@dataclass(frozen=True)
class ServerSettings:
    """What `serve` serves, and how the process runs."""

    transport: Transport = field(default="stdio", metadata=_server("MCP transport: stdio, http or sse."))
    toolsets: tuple[str, ...] = field(
        default=ALL_TOOLSETS, metadata=_server("Comma-separated toolsets to serve: kubernetes, helm, capi.")
    )
    harden: bool = field(
        default=True,
        metadata=_server(
            "Linux process hardening for serve: no core dumps, not dumpable, and (as root) an empty "
            "capability bounding set; --no-harden skips it."
        ),
    )
    fast_start: bool = field(
        default=True,
        metadata=_server(
            "stdio: answer the client's initialize and tools/list from the answers an earlier start with the "
            "same code and settings gave (kept under ~/.cache/kubehelm-mcp/handshake) while the server loads."
        ),
    )

    def problems(self) -> list[str]:
        unknown = sorted(set(self.toolsets) - set(ALL_TOOLSETS))
        if unknown:
            return [f"Unknown toolset(s) {', '.join(unknown)}; choose from {', '.join(ALL_TOOLSETS)}."]
        return []


@dataclass(frozen=True)
class HttpSettings:
    """The HTTP/SSE endpoint: where it listens, which Host and Origin it accepts, TLS."""

    host: str = field(default="127.0.0.1", metadata=_http("Address the HTTP server binds to."))
    port: int = field(default=8080, metadata=_http("Port the HTTP server listens on."))
    path: str = field(default="/mcp", metadata=_http("URL path of the Streamable HTTP endpoint."))
    stateless: bool = field(
        default=False,
        metadata=_http(
            "HTTP: keep no server-side session for handshake-era Streamable HTTP clients, so any replica can "
            "answer any request (the 2026-07-28 protocol is stateless anyway; SSE keeps its sessions)."
        ),
    )
    tls_cert: str | None = field(
        default=None, metadata=_http("HTTP/SSE: PEM certificate (chain) to serve HTTPS with; needs --tls-key.")
    )
    tls_key: str | None = field(default=None, metadata=_http("HTTP/SSE: PEM private key of --tls-cert."))
    http_allowed_hosts: tuple[str, ...] = field(
        default=(),
        metadata=_http(
            "HTTP/SSE: comma-separated Host header globs accepted besides loopback names and the bind address "
            "(DNS-rebinding protection, always on; a foreign Host gets 421)."
        ),
    )
    http_allowed_origins: tuple[str, ...] = field(
        default=(),
        metadata=_http(
            "HTTP/SSE: comma-separated Origin globs accepted besides loopback, the bind address and "
            "--cors-origins (a foreign Origin gets 403; requests without Origin pass)."
        ),
    )
    cors_origins: tuple[str, ...] = field(
        default=(),
        metadata=_http("HTTP/SSE: comma-separated browser origins allowed by CORS (exact); empty turns CORS off."),
    )

    def problems(self, transport: Transport) -> list[str]:
        if not self.path.startswith("/"):
            return [f"--path must start with '/', got {self.path!r}."]
        if transport == "stdio":
            return []
        problem = self._tls_problem()
        return [problem] if problem else []

    def _tls_problem(self) -> str | None:
        """Why --tls-cert and --tls-key cannot serve HTTPS, or None (TLS off, or usable)."""
        if not (self.tls_cert or self.tls_key):
            return None
        if not (self.tls_cert and self.tls_key):
            given, missing = ("--tls-cert", "--tls-key") if self.tls_cert else ("--tls-key", "--tls-cert")
            return f"{given} needs {missing}: HTTPS takes a certificate and its private key."
        for flag, path in (("--tls-cert", self.tls_cert), ("--tls-key", self.tls_key)):
            try:
                Path(path).read_bytes()
            except OSError as exc:
                return f"{flag} {path} cannot be read: {exc.strerror or exc}."
        try:
            # An empty password, so an encrypted key fails here instead of prompting on a terminal.
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.tls_cert, self.tls_key, password=b"")
        except (ssl.SSLError, ValueError):
            return (
                f"{self.tls_cert} and {self.tls_key} are not a PEM certificate and its matching, "
                "unencrypted private key."
            )
        return None


@dataclass(frozen=True)
class HttpLimitSettings:
    """Bounds of the HTTP/SSE server: bodies, headers, connections, sessions, streams, shutdown."""

    max_body_bytes: int = field(
        default=1024 * 1024,
        metadata=_http_limits("HTTP/SSE: largest request body, in bytes; a larger one gets 413 as soon as it is seen."),
    )
    max_header_bytes: int = field(
        default=32 * 1024,
        metadata=_http_limits("HTTP/SSE: largest request line plus headers, in bytes; a larger one gets 431 (or 400)."),
    )
    read_timeout: float = field(
        default=30.0,
        metadata=_http_limits(
            "HTTP/SSE: seconds a connection has, from opening or from its previous response, to send a whole "
            "request (headers and body) before it is closed (slowloris)."
        ),
    )
    keep_alive_timeout: int = field(
        default=5, metadata=_http_limits("HTTP/SSE: seconds an idle keep-alive connection stays open.")
    )
    max_connections: int = field(
        default=1000,
        metadata=_http_limits("HTTP/SSE: connections served at once; beyond that a request gets 503."),
    )
    session_idle_timeout: float = field(
        default=300.0,
        metadata=_http_limits(
            "HTTP/SSE: seconds after which an idle Streamable HTTP session (no request in flight, no open "
            "stream) or legacy SSE stream (no message either way, no call running) is closed."
        ),
    )
    max_sessions: int = field(
        default=1000,
        metadata=_http_limits(
            "HTTP: Streamable HTTP sessions open at once; anonymous callers get 90% of them, the rest is kept "
            "for authenticated ones; beyond that a new session gets 503."
        ),
    )
    max_sessions_per_caller: int = field(
        default=100,
        metadata=_http_limits(
            "HTTP: Streamable HTTP sessions one caller (its principal, else its address) may hold open; one "
            "more gets 429."
        ),
    )
    max_sse_streams: int = field(
        default=100,
        metadata=_http_limits(
            "SSE: legacy SSE streams open at once (at most half of --max-connections); anonymous callers get "
            "90% of them; beyond that a new stream gets 503."
        ),
    )
    max_sse_streams_per_caller: int = field(
        default=10,
        metadata=_http_limits(
            "SSE: legacy SSE streams one caller (its principal, else its address) may hold open; one more gets 429."
        ),
    )
    shutdown_grace: float = field(
        default=25.0,
        metadata=_http_limits(
            "HTTP/SSE: on SIGTERM, seconds running tool calls may take to finish (new requests get 503) "
            "before they are cancelled."
        ),
    )

    def problems(self) -> list[str]:
        return [
            *_at_least(self, ("max_body_bytes", "max_header_bytes"), 1024),
            *_more_than_zero(self, ("read_timeout", "keep_alive_timeout", "session_idle_timeout")),
            *_at_least(
                self,
                (
                    "max_connections",
                    "max_sessions",
                    "max_sessions_per_caller",
                    "max_sse_streams",
                    "max_sse_streams_per_caller",
                ),
                1,
            ),
            *(["--shutdown-grace must be 0 or more."] if self.shutdown_grace < 0 else []),
        ]


@dataclass(frozen=True)
class AuthSettings:
    """Who may call over HTTP/SSE: OIDC or a static token, and what a token must carry."""

    oidc_issuer: str | None = field(
        default=None, metadata=_auth("HTTP/SSE: OIDC issuer whose JWT bearer tokens are accepted (enables auth).")
    )
    oidc_audience: str | None = field(
        default=None, metadata=_auth("HTTP/SSE: audience (aud) the tokens must carry; required with --oidc-issuer.")
    )
    oidc_jwks_url: str | None = field(
        default=None,
        metadata=_auth("HTTP/SSE: JWKS URL (default: discovered from the issuer's openid-configuration)."),
    )
    required_scopes: tuple[str, ...] = field(
        default=(), metadata=_auth("HTTP/SSE: comma-separated scopes (scp or scope) every token must carry.")
    )
    required_roles: tuple[str, ...] = field(
        default=(), metadata=_auth("HTTP/SSE: comma-separated roles (roles claim) every token must carry.")
    )
    allowed_clients: tuple[str, ...] = field(
        default=(), metadata=_auth("HTTP/SSE: comma-separated client ids (azp or appid) allowed; empty allows any.")
    )
    auth_token: str | None = field(
        default=None,
        repr=False,  # a secret: never in a repr or log line
        metadata=_auth("HTTP/SSE: static bearer token clients must send (used when no OIDC issuer is set)."),
    )
    allow_unauthenticated: bool = field(
        default=False, metadata=_auth("HTTP/SSE: allow serving without auth on a non-loopback --host.")
    )
    session_ttl: float = field(
        default=300.0, metadata=_auth("HTTP/SSE: seconds a validated token stays cached (never past its exp).")
    )

    def problems(self, transport: Transport, host: str) -> list[str]:
        """Why `serve` must not start with these auth settings on this transport and host."""
        if transport == "stdio":
            return []
        if self.oidc_issuer and not self.oidc_audience:
            return ["--oidc-issuer needs --oidc-audience: tokens are only accepted for this server's audience."]
        if self.oidc_issuer or self.auth_token or self.allow_unauthenticated or is_loopback(host):
            return []
        return [
            f"Refusing to serve MCP without authentication on non-loopback host {host}: set --oidc-issuer "
            "or --auth-token, or pass --allow-unauthenticated."
        ]


@dataclass(frozen=True)
class IdentitySettings:
    """Whose identity calls reach the cluster with (HTTP/SSE with OIDC)."""

    cluster_identity: ClusterIdentity = field(
        default="server",
        metadata=_identity(
            "HTTP/SSE with OIDC: whose identity calls reach the cluster with: 'server' (the kubeconfig's or the "
            "pod's), 'impersonate' (the caller, through Impersonate-User/Group), 'obo' (a token exchanged for "
            "the caller's at --obo-token-url) or 'passthrough' (the caller's own token). Stdio is always 'server'."
        ),
    )
    impersonation_user_claim: str = field(
        default="sub",
        metadata=_identity("Token claim naming the impersonated user (like the apiserver's --oidc-username-claim)."),
    )
    impersonation_groups_claim: str = field(
        default="groups", metadata=_identity("Token claim listing the impersonated groups (string or list).")
    )
    impersonation_prefix: str = field(
        default="",
        metadata=_identity("Prefix for impersonated user names (like the apiserver's --oidc-username-prefix)."),
    )
    impersonation_groups_prefix: str = field(
        default="", metadata=_identity("Prefix for impersonated groups (like the apiserver's --oidc-groups-prefix).")
    )
    obo_token_url: str | None = field(
        default=None, metadata=_identity("Token endpoint for --cluster-identity obo (RFC 8693 token exchange).")
    )
    obo_client_id: str | None = field(default=None, metadata=_identity("Client id this server exchanges tokens as."))
    obo_client_secret: str | None = field(
        default=None,
        repr=False,  # a secret: never in a repr or log line
        metadata=_identity("Client secret for the token exchange. Prefer the variable: flags show in ps."),
    )
    obo_audience: str | None = field(
        default=None, metadata=_identity("Audience requested for the exchanged token (the Kubernetes API's).")
    )
    obo_scope: str | None = field(default=None, metadata=_identity("Scope requested for the exchanged token."))

    def problems(self, transport: Transport, oidc_issuer: str | None) -> list[str]:
        """Why these identity settings cannot serve HTTP."""
        mode = self.cluster_identity
        if transport == "stdio" or mode == "server":
            return []  # stdio always runs as the server's identity
        if not oidc_issuer:
            return [
                f"--cluster-identity {mode} needs --oidc-issuer: the caller's cluster identity comes from "
                "their OIDC token."
            ]
        if mode != "obo":
            return []
        missing = [
            flag
            for flag, value in (
                ("--obo-token-url", self.obo_token_url),
                ("--obo-client-id", self.obo_client_id),
                ("--obo-client-secret", self.obo_client_secret),
            )
            if not value
        ]
        if missing:
            return [f"--cluster-identity obo needs {', '.join(missing)}."]
        url = urlsplit(self.obo_token_url or "")
        if url.scheme != "https" and not (url.scheme == "http" and url.hostname in LOOPBACK_HOSTS):
            return [
                "--obo-token-url must be an https URL (plain http only on loopback): it carries tokens and the secret."
            ]
        return []


@dataclass(frozen=True)
class KubeSettings:
    """Which cluster, context and namespace calls reach, and the per-call credential inputs."""

    kubeconfig: str | None = field(
        default=None, metadata=_kube("Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).")
    )
    context: str | None = field(default=None, metadata=_kube("Default kubeconfig context."))
    namespace: str | None = field(
        default=None, metadata=_kube("Default namespace (default: the context's, else 'default').")
    )
    in_cluster: bool = field(default=False, metadata=_kube("Use the pod's service account instead of a kubeconfig."))
    per_call_credentials: bool = field(
        default=False,
        metadata=_kube(
            "Add per-call kubeconfig, kube_apiserver, kube_token, kube_tls_server_name and "
            "kube_insecure_tls inputs to every tool."
        ),
    )
    per_call_kubeconfig: bool = field(
        default=False,
        metadata=_kube(
            "Add a per-call kubeconfig path input to every tool; such a file may name no exec or "
            "auth-provider credential plugin (nothing it says is ever run)."
        ),
    )

    def problems(self) -> list[str]:
        return []


@dataclass(frozen=True)
class ClusterSettings:
    """Which clusters calls may name (`cluster`), where they come from, and fleet-wide calls."""

    cluster_provider: ClusterProviderName = field(
        default="kubeconfig",
        metadata=_clusters(
            "Where clusters come from: 'kubeconfig' (each context is a cluster) or 'capi' (the Cluster API "
            "Clusters of the management cluster the kubeconfig or the pod reaches; `cluster` is namespace/name)."
        ),
    )
    capi_namespaces: tuple[str, ...] = field(
        default=(),
        metadata=_clusters(
            "Comma-separated namespaces whose Clusters are served (default: all; with this set the server "
            "needs read rights in these namespaces only)."
        ),
    )
    capi_refresh: float = field(
        default=30.0,
        metadata=_clusters(
            "Seconds a discovered Cluster list and kubeconfig Secret are trusted before they are read again "
            "(an unknown name is looked up at once)."
        ),
    )
    fleet_concurrency: int = field(default=8, metadata=_clusters("Clusters a fleet-wide call asks at the same time."))
    fleet_timeout: float = field(
        default=20.0, metadata=_clusters("Seconds each cluster of a fleet-wide call has to answer.")
    )
    max_clients: int = field(
        default=256,
        metadata=_clusters("Cluster connections kept at most (per cluster and identity); the least used go first."),
    )

    def problems(self) -> list[str]:
        return [
            *_more_than_zero(self, ("capi_refresh", "fleet_timeout")),
            *_at_least(self, ("fleet_concurrency", "max_clients"), 1),
        ]


@dataclass(frozen=True)
class PolicySettings:
    """Safety policy: which tools, namespaces and kinds calls may touch, and what needs confirming."""

    read_only: bool = field(
        default=False, metadata=_policy("Serve only tools annotated read-only; refuse every other call.")
    )
    allow_destructive: bool = field(
        default=False, metadata=_policy("Allow tools annotated destructive (refused by default).")
    )
    dry_run: bool = field(
        default=False,
        metadata=_policy("Run every mutating call as a dry run; refuse mutating tools that cannot dry-run."),
    )
    enabled_tools: tuple[str, ...] = field(
        default=(), metadata=_policy("Comma-separated tool names or globs to serve; empty serves all.")
    )
    disabled_tools: tuple[str, ...] = field(
        default=(), metadata=_policy("Comma-separated tool names or globs never served (wins over --enabled-tools).")
    )
    allowed_namespaces: tuple[str, ...] = field(
        default=(), metadata=_policy("Comma-separated namespace globs calls may touch; empty allows all.")
    )
    denied_namespaces: tuple[str, ...] = field(
        default=(), metadata=_policy("Comma-separated namespace globs calls may never touch (wins over allowed).")
    )
    allowed_clusters: tuple[str, ...] = field(
        default=(), metadata=_policy("Comma-separated cluster globs calls may reach; empty allows all.")
    )
    denied_clusters: tuple[str, ...] = field(
        default=(), metadata=_policy("Comma-separated cluster globs calls may never reach (wins over allowed).")
    )
    allow_cluster_scoped: bool = field(
        default=False, metadata=_policy("With --allowed-namespaces, still allow calls on cluster-scoped kinds.")
    )
    denied_kinds: tuple[str, ...] = field(
        default=(),
        metadata=_policy(
            "Comma-separated kinds refused, by Kind, plural, short name or group-qualified (e.g. secrets)."
        ),
    )
    confirm: tuple[str, ...] = field(
        default=(),
        metadata=_policy(
            "Comma-separated confirmation rules, a tool name or glob (helm_uninstall) or verb:kind:namespace "
            "globs (delete:Deployment:prod-*): a matching call that changes something runs only after the user "
            "accepts an MCP elicitation."
        ),
    )
    confirm_fallback: ConfirmFallback = field(
        default="deny",
        metadata=_policy("What a call needing confirmation does when the client cannot elicit: deny or allow."),
    )
    request_state_keys: tuple[str, ...] = field(
        default=(),
        repr=False,  # secrets
        metadata=_policy(
            "Comma-separated secret keys sealing confirmation state on the stateless protocol (the first "
            "seals, every one unseals, for rotation); replicas behind one endpoint must share them "
            "(default: a random key per process)."
        ),
    )

    def problems(self) -> list[str]:
        found = []
        if any(len(key.encode()) < 32 for key in self.request_state_keys):
            found.append(
                "--request-state-keys: each key must be at least 32 bytes of secret randomness "
                "(e.g. python -c 'import secrets; print(secrets.token_hex(32))')."
            )
        bad_rules = [rule for rule in self.confirm if rule.count(":") not in (0, 2) or "" in rule.split(":")]
        if bad_rules:
            found.append(f"--confirm rule {bad_rules[0]!r} must be a tool name or glob, or verb:kind:namespace.")
        return found


@dataclass(frozen=True)
class OutputSettings:
    """How results are shaped: what a result carries, the response budget and secret redaction."""

    result_format: ResultFormat = field(
        default="text",
        metadata=_output(
            "What a tool result carries: `text` (the compact text every client gives its model, once) or "
            "`structured` (that text plus structuredContent and output schemas, for programs)."
        ),
    )
    max_response_bytes: int = field(
        default=64 * 1024,
        metadata=_output("Response budget per tool result: the bytes the client receives, envelope included."),
    )
    reveal_secrets: bool = field(
        default=False, metadata=_output("Show Secret values instead of redacting them (not recommended).")
    )

    def problems(self) -> list[str]:
        return _at_least(self, ("max_response_bytes",), 1024)


@dataclass(frozen=True)
class FileSettings:
    """What local files tools may read and which addresses URL inputs and helm may reach."""

    allowed_paths: tuple[str, ...] = field(
        default=(),
        metadata=_files(
            "Comma-separated directories local path inputs must lie under (default: anywhere but sensitive places)."
        ),
    )
    max_file_bytes: int = field(
        default=4 * 1024 * 1024,
        metadata=_files(
            "Largest local file a tool reads the content of (values_files, set_file, a per-call kubeconfig "
            "and the files it names), in bytes; a larger one is refused before it is read."
        ),
    )
    allowed_hosts: tuple[str, ...] = field(
        default=(),
        metadata=_files(
            "Comma-separated host globs or CIDRs that URL inputs and helm's fetches may reach although they "
            "are loopback, private, link-local, shared or cloud-metadata addresses (refused by default)."
        ),
    )

    def problems(self) -> list[str]:
        return _at_least(self, ("max_file_bytes",), 1024)


@dataclass(frozen=True)
class HelmSettings:
    """The Helm binaries and engines, the hub and which plugins may be installed."""

    helm_v3_binary: str | None = field(default=None, metadata=_helm("Path of a Helm v3 binary."))
    helm_v4_binary: str | None = field(default=None, metadata=_helm("Path of a Helm v4 binary."))
    helm_read_engine: HelmReadEngine = field(
        default="storage",
        metadata=_helm(
            "How release reads (list, status, history, get) are answered: 'storage' decodes Helm's "
            "release records through the Kubernetes API in-process; 'cli' runs the helm binary; 'sdk' "
            "calls the Helm v4 Go SDK in-process (extra kubehelm-mcp[sdk]; v3 reads then use 'storage', "
            "which reads the same records)."
        ),
    )
    helm_write_engine: HelmWriteEngine = field(
        default="cli",
        metadata=_helm(
            "How helm_install and helm_uninstall change releases: 'cli' runs the helm binary; 'sdk' "
            "calls the Helm v4 Go SDK in-process (extra kubehelm-mcp[sdk]) for v4 installs of a local "
            "chart with inline values (with client-side apply) and for v4 uninstalls, and the CLI for "
            "everything else."
        ),
    )
    helm_hub_url: str = field(
        default="https://hub.helm.sh",
        metadata=_helm("Artifact Hub (or Monocular-compatible) endpoint that helm_search_hub queries."),
    )
    allowed_plugin_sources: tuple[str, ...] = field(
        default=(),
        metadata=_helm(
            "Comma-separated globs of the plugin sources helm_plugin_install may install from: a local path "
            "(matched after symlinks are resolved) or a URL. Installing a plugin runs its code on the server, "
            "so empty (the default) refuses every plugin install."
        ),
    )

    def problems(self) -> list[str]:
        return []


@dataclass(frozen=True)
class ResilienceSettings:
    """Timeouts, retries, circuit breakers, concurrency, rate limits and the read cache."""

    query_timeout: float = field(default=30.0, metadata=_resilience("Timeout in seconds for read tools."))
    mutate_timeout: float = field(
        default=120.0,
        metadata=_resilience(
            "Timeout in seconds for mutating tools; a call whose own input waits longer (helm timeout, "
            "exec timeout_seconds) gets that wait plus 30 s."
        ),
    )
    chart_timeout: float = field(
        default=60.0,
        metadata=_resilience("Timeout in seconds for chart tools (template, lint, show, package, create)."),
    )
    repo_timeout: float = field(
        default=60.0, metadata=_resilience("Timeout in seconds for repository, registry and plugin tools.")
    )
    retry_attempts: int = field(
        default=3,
        metadata=_resilience(
            "Attempts for a read-only, idempotent call to a cluster that fails transiently (unreachable, "
            "HTTP 429/5xx); 1 turns retries off. Mutations are never retried."
        ),
    )
    breaker_failures: int = field(
        default=5,
        metadata=_resilience("Consecutive transient failures of calls to one cluster that open its circuit breaker."),
    )
    breaker_reset_seconds: float = field(
        default=5.0,
        metadata=_resilience(
            "Longest wait, in seconds, of an open circuit breaker before it probes the cluster's /readyz again: "
            "the first probe comes after 1 s, each failed one doubles the wait up to this."
        ),
    )
    max_concurrent_calls: int = field(
        default=32,
        metadata=_resilience(
            "Tool calls run at once; more wait for a slot within their timeout, then get 'server busy'."
        ),
    )
    rate_limit_per_second: float = field(
        default=0.0,
        metadata=_resilience("Calls per second each caller may make (token bucket); 0 turns the limit off."),
    )
    rate_limit_burst: int = field(
        default=20, metadata=_resilience("Calls a caller may make at once before --rate-limit-per-second applies.")
    )
    read_cache_ttl: float = field(
        default=0.0,
        metadata=_resilience(
            "Seconds results of read-only cluster calls are cached, per caller and target; any other call "
            "clears the cache; 0 turns it off."
        ),
    )
    watch_reads: int = field(
        default=64,
        metadata=_resilience(
            "Objects (never Secrets) read twice within a minute are watched and answered from the watch, "
            "at most this many at once; any other call drops them; 0 turns it off."
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

    def problems(self) -> list[str]:
        return [
            *_at_least(self, ("retry_attempts", "breaker_failures", "max_concurrent_calls", "rate_limit_burst"), 1),
            *_more_than_zero(
                self, ("query_timeout", "mutate_timeout", "chart_timeout", "repo_timeout", "breaker_reset_seconds")
            ),
            *(
                f"{_flag(n)} must be 0 (off) or more."
                for n in ("rate_limit_per_second", "read_cache_ttl", "watch_reads")
                if getattr(self, n) < 0
            ),
        ]


@dataclass(frozen=True)
class TelemetrySettings:
    """Logs, traces and the audit log."""

    log_level: LogLevel = field(default="info", metadata=_telemetry("Log level (logs go to stderr)."))
    log_format: LogFormat = field(
        default="text", metadata=_telemetry("Log line format: text, or json (one JSON object per line).")
    )
    tracing: bool = field(
        default=False,
        metadata=_telemetry(
            "OpenTelemetry traces (extra kubehelm-mcp[otel]), exported as the standard OTEL_* variables say."
        ),
    )
    audit_log: str | None = field(
        default=None,
        metadata=_telemetry(
            "JSON-lines audit log of every auth decision and tool call: a file path (created 0600) or '-' "
            "for stderr; empty: off."
        ),
    )

    def problems(self) -> list[str]:
        found = []
        if self.audit_log and self.audit_log != "-":
            try:
                # Created 0600 (the umask may only tighten it); an existing file is appended to.
                os.close(os.open(self.audit_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
            except OSError as exc:
                found.append(f"--audit-log {self.audit_log} cannot be opened: {exc.strerror or type(exc).__name__}.")
        if self.tracing:
            from kubehelm_mcp.telemetry.tracing import tracing_problem  # needs opentelemetry: only when asked

            if problem := tracing_problem():  # e.g. the otel extra is not installed
                found.append(problem)
        return found


Group = (
    ServerSettings
    | HttpSettings
    | HttpLimitSettings
    | AuthSettings
    | IdentitySettings
    | KubeSettings
    | ClusterSettings
    | PolicySettings
    | OutputSettings
    | FileSettings
    | HelmSettings
    | ResilienceSettings
    | TelemetrySettings
)


@dataclass(frozen=True, init=False)
class Settings:
    """Every setting, in its group. Built and replaced with the flat (flag) names; read by group."""

    server: ServerSettings
    http: HttpSettings
    http_limits: HttpLimitSettings
    auth: AuthSettings
    identity: IdentitySettings
    kube: KubeSettings
    clusters: ClusterSettings
    policy: PolicySettings
    output: OutputSettings
    files: FileSettings
    helm: HelmSettings
    resilience: ResilienceSettings
    telemetry: TelemetrySettings

    GROUPS: ClassVar[dict[str, type[Any]]]  # group attribute -> its dataclass, in declaration order

    def __init__(self, **values: Any) -> None:
        """`values` are flat setting names (`port=9000`) or whole groups (`http=HttpSettings(...)`)."""
        for name, kind in self.GROUPS.items():
            given = values.pop(name, None)
            own = {f: values.pop(f) for f in _GROUP_FIELDS[name] if f in values}
            group = kind(**own) if given is None else dataclasses.replace(given, **own)
            object.__setattr__(self, name, group)
        if values:
            raise TypeError(f"Settings got unknown setting(s) {', '.join(sorted(values))}")

    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed, by flat name (`read_only=True`) or whole group."""
        groups: dict[str, Any] = {name: getattr(self, name) for name in self.GROUPS}
        return Settings(**groups, **changes)

    def problems(self) -> list[str]:
        """Every reason these settings cannot serve, one sentence each, in declaration order."""
        transport = self.server.transport
        return [
            *self.server.problems(),
            *self.http.problems(transport),
            *self.http_limits.problems(),
            *self.auth.problems(transport, self.http.host),
            *self.identity.problems(transport, self.auth.oidc_issuer),
            *self.kube.problems(),
            *self.clusters.problems(),
            *self.policy.problems(),
            *self.output.problems(),
            *self.files.problems(),
            *self.helm.problems(),
            *self.resilience.problems(),
            *self.telemetry.problems(),
        ]


Settings.GROUPS = {
    "server": ServerSettings,
    "http": HttpSettings,
    "http_limits": HttpLimitSettings,
    "auth": AuthSettings,
    "identity": IdentitySettings,
    "kube": KubeSettings,
    "clusters": ClusterSettings,
    "policy": PolicySettings,
    "output": OutputSettings,
    "files": FileSettings,
    "helm": HelmSettings,
    "resilience": ResilienceSettings,
    "telemetry": TelemetrySettings,
}
_GROUP_FIELDS: dict[str, tuple[str, ...]] = {
    name: tuple(f.name for f in dataclasses.fields(kind)) for name, kind in Settings.GROUPS.items()
}


class SettingsError(ValueError):
    """A flag or environment variable has a value that cannot be used, or settings that cannot serve."""


def check_settings(settings: Settings) -> Settings:
    """The one check of a whole configuration, run by the CLI (through load_settings) and by
    create_server(): raises SettingsError with the first problem's sentence."""
    found = settings.problems()
    if found:
        raise SettingsError(found[0])
    return settings


def settings_fields() -> list[dataclasses.Field[Any]]:
    """Every setting's field, group by group; `f.metadata['group']` names its group."""
    return [f for kind in Settings.GROUPS.values() for f in dataclasses.fields(kind)]


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
        "ResultFormat": ResultFormat,
        "HelmReadEngine": HelmReadEngine,
        "HelmWriteEngine": HelmWriteEngine,
        "ClusterIdentity": ClusterIdentity,
        "ConfirmFallback": ConfirmFallback,
    }.get(str(f.type))
    return get_args(literal) if literal is not None else None


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
        help_text = f"{f.metadata['help']} [env {env_name(f)}]".replace("%", "%%")  # argparse formats help with %
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
    return check_settings(Settings(**values))


def settings_table(fields: Sequence[dataclasses.Field[Any]] | None = None) -> str:
    """A Markdown table of flags, environment variables and defaults (used for the README)."""
    rows = ["| flag | environment | default | meaning |", "|---|---|---|---|"]
    for f in fields or settings_fields():
        default = f.default
        shown = ",".join(default) if isinstance(default, tuple) else default
        rows.append(f"| `{flag_name(f)}` | `{env_name(f)}` | `{shown}` | {f.metadata['help']} |")
    return "\n".join(rows)
