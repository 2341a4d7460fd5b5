"""Typed requests and results of the Helm commands that change something or run helm locally:
what a tool asks for, independent of the engine (CLI or SDK) that carries it out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from kubehelm_mcp.helm.args import duration_seconds
from kubehelm_mcp.helm.models import ReleaseStatus
from kubehelm_mcp.helm.values import ValueSources

ShowWhat = Literal["all", "chart", "readme", "values", "crds"]


@dataclass(frozen=True)
class ChartSource:
    """Where a chart comes from: the same for install, upgrade, template and show."""

    chart: str
    version: str | None = None
    plain_http: bool = False


@dataclass(frozen=True)
class Tls:
    """TLS options of a repository or registry; the files are checked to exist before."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure_skip_verify: bool = False


# Release changes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class InstallRequest:
    release_name: str
    source: ChartSource
    values: ValueSources = field(default_factory=ValueSources)
    timeout: str | None = None  # a Go duration; None: helm's default 5m
    create_namespace: bool = False
    wait: bool = False
    rollback_on_failure: bool = False  # v3 --atomic, v4 --rollback-on-failure
    dry_run: Literal["client", "server"] | None = None
    description: str | None = None
    skip_crds: bool = False
    take_ownership: bool = False
    hide_secret: bool = False
    server_side_apply: bool | None = None  # v4 only
    force_conflicts: bool = False  # v4 only
    no_hooks: bool = False
    wait_for_jobs: bool = False  # implies wait
    skip_schema_validation: bool = False
    force_replace: bool = False  # v3 --force, v4 --force-replace
    disable_openapi_validation: bool = False
    dependency_update: bool = False
    labels: tuple[tuple[str, str], ...] = ()  # release labels
    enable_dns: bool = False
    render_subchart_notes: bool = False

    def timeout_seconds(self) -> float:
        return duration_seconds(self.timeout or "5m")


@dataclass(frozen=True)
class UpgradeRequest(InstallRequest):
    install: bool = False
    reuse_values: bool = False
    reset_values: bool = False
    reset_then_reuse_values: bool = False
    cleanup_on_fail: bool = False
    max_history: int | None = None


@dataclass(frozen=True)
class RollbackRequest:
    release_name: str
    revision: int | None = None  # None: the previous revision
    wait: bool = False
    timeout: str | None = None
    wait_for_jobs: bool = False  # implies wait
    no_hooks: bool = False
    cleanup_on_fail: bool = False
    force_replace: bool = False  # v3 --force, v4 --force-replace
    max_history: int | None = None
    server_side_apply: bool | None = None  # v4 only
    force_conflicts: bool = False  # v4 only


Cascade = Literal["background", "orphan", "foreground"]


@dataclass(frozen=True)
class UninstallRequest:
    release_name: str
    keep_history: bool = False
    wait: bool = False
    timeout: str | None = None
    description: str | None = None
    no_hooks: bool = False
    cascade: Cascade | None = None
    ignore_not_found: bool = False

    def timeout_seconds(self) -> float:
        return duration_seconds(self.timeout or "5m")


@dataclass(frozen=True)
class TestRequest:
    __test__ = False  # not a pytest class

    release_name: str
    timeout: str | None = None
    logs: bool = False
    filter: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReleaseChanged:
    """An install or upgrade: the release's new status and (for a dry run) its rendered manifest."""

    status: ReleaseStatus
    manifest: str = ""


@dataclass(frozen=True)
class TestRun:
    __test__ = False

    tests: list[dict[str, str]]  # {'name': ..., 'phase': ...}
    logs: str | None = None


# Charts on this machine ------------------------------------------------------------------------


@dataclass(frozen=True)
class LintRequest:
    paths: tuple[str, ...]
    values: ValueSources = field(default_factory=ValueSources)
    strict: bool = False
    with_subcharts: bool = False
    quiet: bool = False
    kube_version: str | None = None
    skip_schema_validation: bool = False


@dataclass(frozen=True)
class LintReport:
    passed: bool
    charts: list[dict[str, Any]]  # {'path': ..., 'messages': [{'severity': ..., 'message': ...}]}
    summary: str
    warnings: list[str] = field(default_factory=list)  # what helm logged on stderr (e.g. missing required values)


@dataclass(frozen=True)
class TemplateRequest:
    release_name: str
    source: ChartSource
    values: ValueSources = field(default_factory=ValueSources)
    namespace: str | None = None
    show_only: tuple[str, ...] = ()
    include_crds: bool = False
    skip_tests: bool = False
    no_hooks: bool = False
    is_upgrade: bool = False
    kube_version: str | None = None
    api_versions: tuple[str, ...] = ()
    skip_schema_validation: bool = False


@dataclass(frozen=True)
class PackageRequest:
    chart_dir: str
    destination: str
    version: str | None = None
    app_version: str | None = None
    dependency_update: bool = False
    sign: bool = False
    key: str | None = None
    keyring: str | None = None
    passphrase_file: str | None = None


@dataclass(frozen=True)
class Verification:
    signed_by: str | None = None
    fingerprint: str | None = None
    chart_hash: str | None = None


@dataclass(frozen=True)
class DependencyFetchRequest:
    chart_dir: str
    verify: bool = False
    keyring: str | None = None
    skip_refresh: bool = False


# Repositories, registries, transfers, plugins ---------------------------------------------------


@dataclass(frozen=True)
class RepoEntry:
    name: str
    url: str


@dataclass(frozen=True)
class RepoAddRequest:
    name: str
    url: str
    tls: Tls = field(default_factory=Tls)
    username: str | None = None
    password: str | None = None  # sent to helm on stdin
    force_update: bool = False
    pass_credentials: bool = False


@dataclass(frozen=True)
class RepoIndexRequest:
    directory: str
    url: str | None = None
    merge: str | None = None


@dataclass(frozen=True)
class SearchRepoRequest:
    keyword: str = ""
    regexp: bool = False
    versions: bool = False
    devel: bool = False
    version_constraint: str | None = None


@dataclass(frozen=True)
class RegistryLoginRequest:
    hostname: str
    username: str
    password: str  # sent to helm on stdin
    tls: Tls = field(default_factory=Tls)
    plain_http: bool = False


@dataclass(frozen=True)
class PullRequest:
    chart: str
    destination: str
    tls: Tls = field(default_factory=Tls)
    version: str | None = None
    repo: str | None = None
    untar: bool = False
    untar_dir: str | None = None
    devel: bool = False
    prov: bool = False
    verify: bool = False
    keyring: str | None = None
    plain_http: bool = False
    pass_credentials: bool = False


@dataclass(frozen=True)
class PushRequest:
    chart: str
    remote: str
    tls: Tls = field(default_factory=Tls)
    plain_http: bool = False


@dataclass(frozen=True)
class Transfer:
    """What helm reports for an OCI pull or push (`Pulled:`/`Pushed:` and `Digest:` lines)."""

    reference: str | None = None
    digest: str | None = None


@dataclass(frozen=True)
class PluginInstallRequest:
    source: str
    version: str | None = None
    verify: bool | None = None  # v4 only
    keyring: str | None = None  # v4 only


@dataclass(frozen=True)
class HelmVersionInfo:
    version: str
    git_commit: str
    go_version: str
    binary: str
