"""Every helm command line, one builder per command, from the typed requests (pure functions).

Value flags (`--values` copies, `--set*`) come from `values.values_args`, which writes private
files; builders take them ready-made. Flags differing between the majors are spelled here.
"""

from __future__ import annotations

from kubehelm_mcp.errors import InvalidInput
from kubehelm_mcp.helm.args import ArgList, force_replace_flag, require_v4, rollback_on_failure_flag
from kubehelm_mcp.helm.models import HelmMajor
from kubehelm_mcp.helm.requests import (
    ChartSource,
    DependencyFetchRequest,
    InstallRequest,
    LintRequest,
    PackageRequest,
    PluginInstallRequest,
    PullRequest,
    PushRequest,
    RegistryLoginRequest,
    RepoAddRequest,
    RepoIndexRequest,
    RollbackRequest,
    SearchRepoRequest,
    ShowWhat,
    TemplateRequest,
    TestRequest,
    Tls,
    UninstallRequest,
    UpgradeRequest,
)


def source_flags(source: ChartSource) -> ArgList:
    return ArgList().opt("--version", source.version).flag("--plain-http", source.plain_http)


def tls_flags(tls: Tls, skip_flag: str = "--insecure-skip-tls-verify") -> list[str]:
    files = {"--ca-file": tls.ca_file, "--cert-file": tls.cert_file, "--key-file": tls.key_file}
    args = [f"{flag}={path}" for flag, path in files.items() if path]
    return [*args, skip_flag] if tls.insecure_skip_verify else args


def apply_flags(major: HelmMajor, request: InstallRequest | RollbackRequest) -> ArgList:
    """What install, upgrade and rollback share: waiting, hooks and how objects are applied,
    spelled for the requested major (v4-only options refused on v3 before anything runs)."""
    requested = {"server_side_apply": request.server_side_apply, "force_conflicts": request.force_conflicts}
    require_v4(major, [k for k, v in requested.items() if v not in (None, False)])
    out = ArgList().opt("--timeout", request.timeout)
    out.flag("--wait", request.wait or request.wait_for_jobs).flag("--wait-for-jobs", request.wait_for_jobs)
    out.flag("--no-hooks", request.no_hooks).flag(force_replace_flag(major), request.force_replace)
    out.flag("--force-conflicts", request.force_conflicts)
    if request.server_side_apply is not None:
        out.append(f"--server-side={str(request.server_side_apply).lower()}")
    return out


def change_flags(major: HelmMajor, request: InstallRequest) -> ArgList:
    """The flags install and upgrade share."""
    out = source_flags(request.source)
    out += apply_flags(major, request)
    out.flag("--create-namespace", request.create_namespace)
    out.flag(rollback_on_failure_flag(major), request.rollback_on_failure)
    out.flag("--skip-crds", request.skip_crds).flag("--take-ownership", request.take_ownership)
    out.flag("--hide-secret", request.hide_secret).opt("--description", request.description)
    out.flag("--skip-schema-validation", request.skip_schema_validation)
    out.flag("--disable-openapi-validation", request.disable_openapi_validation)
    out.flag("--dependency-update", request.dependency_update).flag("--enable-dns", request.enable_dns)
    out.flag("--render-subchart-notes", request.render_subchart_notes)
    if request.labels:
        out += ["--labels", ",".join(f"{key}={value}" for key, value in request.labels)]
    if request.dry_run:
        out.append(f"--dry-run={request.dry_run}")
    return out


def install_argv(major: HelmMajor, request: InstallRequest, value_flags: list[str]) -> list[str]:
    name, chart = request.release_name, request.source.chart
    return ["install", name, chart, *change_flags(major, request), *value_flags]


def upgrade_argv(major: HelmMajor, request: UpgradeRequest, value_flags: list[str]) -> list[str]:
    verb = ArgList(["upgrade"]).flag("--install", request.install)
    verb.flag("--reuse-values", request.reuse_values).flag("--reset-values", request.reset_values)
    verb.flag("--reset-then-reuse-values", request.reset_then_reuse_values)
    verb.flag("--cleanup-on-fail", request.cleanup_on_fail).opt("--history-max", request.max_history)
    name, chart = request.release_name, request.source.chart
    return [*verb, name, chart, *change_flags(major, request), *value_flags]


def rollback_argv(major: HelmMajor, request: RollbackRequest) -> list[str]:
    argv = ArgList(["rollback", request.release_name])
    if request.revision is not None:
        argv.append(str(request.revision))
    argv += apply_flags(major, request)
    return argv.flag("--cleanup-on-fail", request.cleanup_on_fail).opt("--history-max", request.max_history)


def uninstall_argv(request: UninstallRequest) -> list[str]:
    argv = ArgList(["uninstall", request.release_name]).flag("--keep-history", request.keep_history)
    argv.flag("--wait", request.wait).opt("--timeout", request.timeout).opt("--description", request.description)
    argv.flag("--no-hooks", request.no_hooks).opt("--cascade", request.cascade)
    return argv.flag("--ignore-not-found", request.ignore_not_found)


def test_argv(request: TestRequest) -> list[str]:
    argv = ArgList(["test", request.release_name]).opt("--timeout", request.timeout).flag("--logs", request.logs)
    if request.filter:
        argv += ["--filter", ",".join(request.filter)]
    return argv


test_argv.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def create_argv(path: str, starter: str | None) -> list[str]:
    return ArgList(["create", path]).opt("--starter", starter)


def lint_argv(request: LintRequest, value_flags: list[str]) -> list[str]:
    argv = ArgList(["lint", *request.paths]).flag("--strict", request.strict)
    argv.flag("--with-subcharts", request.with_subcharts)
    argv.flag("--quiet", request.quiet).opt("--kube-version", request.kube_version)
    argv.flag("--skip-schema-validation", request.skip_schema_validation)
    return [*argv, *value_flags]


def template_argv(request: TemplateRequest, value_flags: list[str]) -> list[str]:
    argv = ArgList(["template", request.release_name, request.source.chart, *source_flags(request.source)])
    argv.opt("--namespace", request.namespace).each("--show-only", request.show_only)
    argv.flag("--include-crds", request.include_crds).flag("--skip-tests", request.skip_tests)
    argv.flag("--no-hooks", request.no_hooks).flag("--is-upgrade", request.is_upgrade)
    argv.opt("--kube-version", request.kube_version).each("--api-versions", request.api_versions)
    argv.flag("--skip-schema-validation", request.skip_schema_validation)
    return [*argv, *value_flags]


def package_argv(request: PackageRequest) -> list[str]:
    argv = ArgList(["package", request.chart_dir, "--destination", request.destination])
    argv.opt("--version", request.version).opt("--app-version", request.app_version)
    argv.flag("--dependency-update", request.dependency_update)
    argv.flag("--sign", request.sign).opt("--key", request.key).opt("--keyring", request.keyring)
    return argv.opt("--passphrase-file", request.passphrase_file)


def verify_argv(chart: str, keyring: str | None) -> list[str]:
    return ArgList(["verify", chart]).opt("--keyring", keyring)


def show_argv(what: ShowWhat, source: ChartSource) -> list[str]:
    return ["show", what, source.chart, *source_flags(source)]


def dependency_list_argv(chart_dir: str) -> list[str]:
    return ["dependency", "list", chart_dir, "--max-col-width", "0"]


def dependency_fetch_argv(verb: str, request: DependencyFetchRequest) -> list[str]:
    argv = ArgList(["dependency", verb, request.chart_dir]).flag("--verify", request.verify)
    return argv.opt("--keyring", request.keyring).flag("--skip-refresh", request.skip_refresh)


def repo_add_argv(request: RepoAddRequest) -> list[str]:
    argv = ArgList(["repo", "add", request.name, request.url, *tls_flags(request.tls)])
    argv.opt("--username", request.username).flag("--password-stdin", request.password is not None)
    return argv.flag("--force-update", request.force_update).flag("--pass-credentials", request.pass_credentials)


def repo_update_argv(major: HelmMajor, names: list[str]) -> list[str]:
    # v4 fails when a repository cannot be fetched; v3 only with this flag
    return ArgList(["repo", "update", *names]).flag("--fail-on-repo-update-fail", major == "v3")


def repo_index_argv(request: RepoIndexRequest) -> list[str]:
    return ArgList(["repo", "index", request.directory]).opt("--url", request.url).opt("--merge", request.merge)


def search_repo_argv(request: SearchRepoRequest) -> list[str]:
    argv = ArgList(["search", "repo", request.keyword]).flag("--regexp", request.regexp)
    argv.flag("--versions", request.versions)
    if request.version_constraint:
        return argv.opt("--version", request.version_constraint)
    return argv.flag("--devel", request.devel)  # helm ignores --devel when --version is given


def search_hub_argv(keyword: str, endpoint: str) -> list[str]:
    return ["search", "hub", keyword, "--endpoint", endpoint]


def registry_login_argv(major: HelmMajor, request: RegistryLoginRequest) -> list[str]:
    argv = ArgList(["registry", "login", request.hostname, "--username", request.username, "--password-stdin"])
    argv += tls_flags(request.tls, skip_flag="--insecure")
    # v3 has no --plain-http and retries over HTTP itself
    return argv.flag("--plain-http", request.plain_http and major != "v3")


def pull_argv(request: PullRequest) -> list[str]:
    argv = ArgList(["pull", request.chart, "--destination", request.destination, *tls_flags(request.tls)])
    argv.opt("--version", request.version).opt("--repo", request.repo)
    argv.opt("--untardir", request.untar_dir).opt("--keyring", request.keyring)
    argv.flag("--untar", request.untar).flag("--devel", request.devel).flag("--prov", request.prov)
    argv.flag("--verify", request.verify).flag("--plain-http", request.plain_http)
    return argv.flag("--pass-credentials", request.pass_credentials)


def push_argv(request: PushRequest) -> list[str]:
    argv = ArgList(["push", request.chart, request.remote, *tls_flags(request.tls)])
    return argv.flag("--plain-http", request.plain_http)


def plugin_install_argv(major: HelmMajor, request: PluginInstallRequest) -> list[str]:
    argv = ArgList(["plugin", "install", request.source]).opt("--version", request.version)
    if major == "v3":
        if request.verify or request.keyring:
            raise InvalidInput("Helm v3 cannot verify plugin signatures; use helm_version v4 or drop verify/keyring.")
        return argv
    if request.verify is not None:
        argv.append(f"--verify={str(request.verify).lower()}")
    return argv.opt("--keyring", request.keyring)


VERSION_ARGV = ["version", "--template", "{{.Version}}|{{.GitCommit}}|{{.GoVersion}}"]
