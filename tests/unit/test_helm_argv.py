"""The helm command lines the CLI engine runs (helm/argv.py), and how it reads helm's text output
(helm/cli_writes.py): pure functions, one place per command."""

from __future__ import annotations

import pytest

from kubehelm_mcp.errors import InvalidInput
from kubehelm_mcp.helm import argv
from kubehelm_mcp.helm.cli_writes import lint_report, plugin_table, tab_table, test_run, transfer_report
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
    TemplateRequest,
    TestRequest,
    Tls,
    Transfer,
    UninstallRequest,
    UpgradeRequest,
)

SOURCE = ChartSource("repo/web", version="^1.2", plain_http=True)
VALUES = ["--values", "/tmp/v/0.yaml", "--set", "a=1"]


def test_install_spells_each_major() -> None:
    request = InstallRequest(
        "web",
        SOURCE,
        timeout="90s",
        create_namespace=True,
        wait=True,
        rollback_on_failure=True,
        description="first",
        dry_run="server",
    )
    common = ["--version", "^1.2", "--plain-http", "--timeout", "90s", "--wait", "--create-namespace"]
    tail = ["--description", "first", "--dry-run=server", *VALUES]
    assert argv.install_argv("v3", request, VALUES) == ["install", "web", "repo/web", *common, "--atomic", *tail]
    v4 = ["install", "web", "repo/web", *common, "--rollback-on-failure", *tail]
    assert argv.install_argv("v4", request, VALUES) == v4


def test_v4_only_change_options() -> None:
    request = InstallRequest("web", ChartSource("./c"), server_side_apply=False, force_conflicts=True)
    assert argv.install_argv("v4", request, []) == ["install", "web", "./c", "--force-conflicts", "--server-side=false"]
    with pytest.raises(InvalidInput, match=r"force_conflicts .* only in Helm v4"):
        argv.install_argv("v3", request, [])
    # skip_crds, take_ownership and hide_secret exist in both majors
    both = InstallRequest("web", ChartSource("./c"), skip_crds=True, take_ownership=True, hide_secret=True)
    assert argv.install_argv("v3", both, []) == [
        "install",
        "web",
        "./c",
        "--skip-crds",
        "--take-ownership",
        "--hide-secret",
    ]


def test_one_input_per_flag_spelled_for_each_major() -> None:
    request = InstallRequest(
        "web",
        ChartSource("./c"),
        wait_for_jobs=True,
        no_hooks=True,
        force_replace=True,
        skip_schema_validation=True,
        labels=(("team", "a"), ("tier", "b")),
    )
    common = ["--wait", "--wait-for-jobs", "--no-hooks"]
    tail = ["--skip-schema-validation", "--labels", "team=a,tier=b"]
    assert argv.install_argv("v3", request, []) == ["install", "web", "./c", *common, "--force", *tail]
    assert argv.install_argv("v4", request, []) == ["install", "web", "./c", *common, "--force-replace", *tail]
    rollback = RollbackRequest("web", force_replace=True, cleanup_on_fail=True, max_history=3)
    expected = ["rollback", "web", "--force", "--cleanup-on-fail", "--history-max", "3"]
    assert argv.rollback_argv("v3", rollback) == expected
    with pytest.raises(InvalidInput, match=r"server_side_apply .* only in Helm v4"):
        argv.rollback_argv("v3", RollbackRequest("web", server_side_apply=True))
    gone = UninstallRequest("web", no_hooks=True, cascade="foreground", ignore_not_found=True)
    expected = ["uninstall", "web", "--no-hooks", "--cascade", "foreground", "--ignore-not-found"]
    assert argv.uninstall_argv(gone) == expected
    upgrade = UpgradeRequest("web", ChartSource("./c"), reset_then_reuse_values=True, cleanup_on_fail=True)
    assert argv.upgrade_argv("v4", upgrade, [])[:3] == ["upgrade", "--reset-then-reuse-values", "--cleanup-on-fail"]


def test_upgrade_puts_its_own_flags_before_the_release() -> None:
    request = UpgradeRequest("web", ChartSource("./c"), install=True, reuse_values=True, wait=True)
    assert argv.upgrade_argv("v4", request, VALUES) == [
        "upgrade",
        "--install",
        "--reuse-values",
        "web",
        "./c",
        "--wait",
        *VALUES,
    ]
    plain = UpgradeRequest("web", ChartSource("./c"), reset_values=True)
    assert argv.upgrade_argv("v3", plain, []) == ["upgrade", "--reset-values", "web", "./c"]


def test_rollback_uninstall_and_test() -> None:
    assert argv.rollback_argv("v3", RollbackRequest("web")) == ["rollback", "web"]
    assert argv.rollback_argv("v3", RollbackRequest("web", 2, wait=True, timeout="1m")) == [
        "rollback",
        "web",
        "2",
        "--timeout",
        "1m",
        "--wait",
    ]
    assert argv.uninstall_argv(UninstallRequest("web")) == ["uninstall", "web"]
    assert argv.uninstall_argv(UninstallRequest("web", keep_history=True, wait=True, description="bye")) == [
        "uninstall",
        "web",
        "--keep-history",
        "--wait",
        "--description",
        "bye",
    ]
    assert argv.test_argv(TestRequest("web", timeout="2m", logs=True, filter=("name=a", "!name=b"))) == [
        "test",
        "web",
        "--timeout",
        "2m",
        "--logs",
        "--filter",
        "name=a,!name=b",
    ]


def test_chart_commands() -> None:
    assert argv.create_argv("/c/web", None) == ["create", "/c/web"]
    assert argv.create_argv("/c/web", "base") == ["create", "/c/web", "--starter", "base"]
    lint = LintRequest(("/c/a", "/c/b"), strict=True, quiet=True, kube_version="1.30")
    lint_flags = ["--strict", "--quiet", "--kube-version", "1.30"]
    assert argv.lint_argv(lint, VALUES) == ["lint", "/c/a", "/c/b", *lint_flags, *VALUES]
    template = TemplateRequest(
        "web", SOURCE, namespace="apps", show_only=("templates/a.yaml",), include_crds=True, api_versions=("x/v1",)
    )
    assert argv.template_argv(template, []) == [
        "template",
        "web",
        "repo/web",
        "--version",
        "^1.2",
        "--plain-http",
        "--namespace",
        "apps",
        "--show-only",
        "templates/a.yaml",
        "--include-crds",
        "--api-versions",
        "x/v1",
    ]
    package = PackageRequest("/c/web", "/out", version="1.0.0", sign=True, key="me", keyring="/k")
    assert argv.package_argv(package) == [
        "package",
        "/c/web",
        "--destination",
        "/out",
        "--version",
        "1.0.0",
        "--sign",
        "--key",
        "me",
        "--keyring",
        "/k",
    ]
    assert argv.verify_argv("/c/web-1.tgz", None) == ["verify", "/c/web-1.tgz"]
    assert argv.show_argv("values", ChartSource("./c")) == ["show", "values", "./c"]
    assert argv.dependency_list_argv("/c") == ["dependency", "list", "/c", "--max-col-width", "0"]
    fetch = DependencyFetchRequest("/c", verify=True, keyring="/k", skip_refresh=True)
    assert argv.dependency_fetch_argv("build", fetch) == [
        "dependency",
        "build",
        "/c",
        "--verify",
        "--keyring",
        "/k",
        "--skip-refresh",
    ]


def test_repositories_and_search() -> None:
    add = RepoAddRequest("r", "https://r", Tls(ca_file="/ca"), username="u", password="p", force_update=True)
    assert argv.repo_add_argv(add) == [
        "repo",
        "add",
        "r",
        "https://r",
        "--ca-file=/ca",
        "--username",
        "u",
        "--password-stdin",
        "--force-update",
    ]
    assert argv.repo_update_argv("v3", ["r"]) == ["repo", "update", "r", "--fail-on-repo-update-fail"]
    assert argv.repo_update_argv("v4", []) == ["repo", "update"]
    assert argv.repo_index_argv(RepoIndexRequest("/d", url="https://r", merge="/d/old.yaml")) == [
        "repo",
        "index",
        "/d",
        "--url",
        "https://r",
        "--merge",
        "/d/old.yaml",
    ]
    devel = SearchRepoRequest("web", regexp=True, devel=True)
    assert argv.search_repo_argv(devel) == ["search", "repo", "web", "--regexp", "--devel"]
    # helm ignores --devel when --version is given
    pinned = SearchRepoRequest("web", versions=True, devel=True, version_constraint="^1")
    assert argv.search_repo_argv(pinned) == ["search", "repo", "web", "--versions", "--version", "^1"]
    assert argv.search_hub_argv("web", "https://hub") == ["search", "hub", "web", "--endpoint", "https://hub"]


def test_registries_and_transfers() -> None:
    login = RegistryLoginRequest("reg:5000", "u", "p", Tls(insecure_skip_verify=True), plain_http=True)
    head = ["registry", "login", "reg:5000", "--username", "u", "--password-stdin", "--insecure"]
    assert argv.registry_login_argv("v4", login) == [*head, "--plain-http"]
    assert argv.registry_login_argv("v3", login) == head  # v3 falls back to plain HTTP by itself
    pull = PullRequest("oci://reg/web", "/d", Tls(cert_file="/c", key_file="/k"), version="1.0.0", untar=True)
    assert argv.pull_argv(pull) == [
        "pull",
        "oci://reg/web",
        "--destination",
        "/d",
        "--cert-file=/c",
        "--key-file=/k",
        "--version",
        "1.0.0",
        "--untar",
    ]
    push = PushRequest("/d/web-1.tgz", "oci://reg/charts", plain_http=True)
    assert argv.push_argv(push) == ["push", "/d/web-1.tgz", "oci://reg/charts", "--plain-http"]


def test_plugin_install_verification_is_v4_only() -> None:
    assert argv.plugin_install_argv("v3", PluginInstallRequest("/p", version="1.0")) == [
        "plugin",
        "install",
        "/p",
        "--version",
        "1.0",
    ]
    signed = PluginInstallRequest("/p", verify=False, keyring="/k")
    assert argv.plugin_install_argv("v4", signed) == ["plugin", "install", "/p", "--verify=false", "--keyring", "/k"]
    with pytest.raises(InvalidInput, match="Helm v3 cannot verify plugin signatures"):
        argv.plugin_install_argv("v3", PluginInstallRequest("/p", verify=True))


def test_helm_text_output() -> None:
    out = (
        "NAME: web\nTEST SUITE:     web-a\nLast Started: x\nPhase:          Succeeded\n"
        "TEST SUITE:     web-b\nPhase:          Failed\nPOD LOGS: web-a\nok\n"
    )
    run = test_run(out, logs=True)
    assert run.tests == [{"name": "web-a", "phase": "Succeeded"}, {"name": "web-b", "phase": "Failed"}]
    assert run.logs == "web-a\nok"
    assert test_run(out, logs=False).logs is None

    lint = "==> Linting ./a\n[INFO] Chart.yaml: icon is recommended\n[ERROR] templates/: bad\n  more detail\n\n"
    lint += "==> Linting ./b\n\n2 chart(s) linted, 1 chart(s) failed\n"
    assert lint_report(lint) == [
        {
            "path": "./a",
            "messages": [
                {"severity": "INFO", "message": "Chart.yaml: icon is recommended"},
                {"severity": "ERROR", "message": "templates/: bad more detail"},
            ],
        },
        {"path": "./b", "messages": []},
    ]

    pushed = transfer_report("Pushed: reg/charts/web:1.0\nDigest: sha256:ab\n")
    assert pushed == Transfer("reg/charts/web:1.0", "sha256:ab")
    assert transfer_report("Pulled: reg/web:1.0\n") == Transfer("reg/web:1.0", None)
    assert plugin_table("NAME\tVERSION\tAPIVERSION\nhello\t0.1.0\tv1\n") == [
        {"name": "hello", "version": "0.1.0", "api_version": "v1"}
    ]
    assert plugin_table("") == []
    assert tab_table("NAME\tVERSION\tSTATUS\ndb\t1.0\twrong version\n") == [
        {"name": "db", "version": "1.0", "status": "wrong version"}
    ]
