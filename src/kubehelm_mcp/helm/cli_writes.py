"""The CLI engine's writes: release changes and every local chart/repository/registry/plugin command,
through one helm binary. Command lines come from `argv`; helm's output is parsed here."""

from __future__ import annotations

import re
from typing import Any, Literal

from kubehelm_mcp.errors import ToolError
from kubehelm_mcp.helm import argv as build
from kubehelm_mcp.helm.cli import HelmCli, helm_error, release_status_from_record
from kubehelm_mcp.helm.models import HelmMajor, HelmTarget
from kubehelm_mcp.helm.requests import (
    ChartSource,
    DependencyFetchRequest,
    HelmVersionInfo,
    InstallRequest,
    LintReport,
    LintRequest,
    PackageRequest,
    PluginInstallRequest,
    PullRequest,
    PushRequest,
    RegistryLoginRequest,
    ReleaseChanged,
    RepoAddRequest,
    RepoEntry,
    RepoIndexRequest,
    RollbackRequest,
    SearchRepoRequest,
    ShowWhat,
    TemplateRequest,
    TestRequest,
    TestRun,
    Transfer,
    UninstallRequest,
    UpgradeRequest,
    Verification,
)
from kubehelm_mcp.helm.values import values_args
from kubehelm_mcp.localfiles import FileReader

# helm's output ---------------------------------------------------------------------------------

_TEST_SUITE = re.compile(r"^TEST SUITE:\s+(\S+)\s*$(?:(?!^TEST SUITE:).)*?^Phase:\s+(\S+)", re.M | re.S)
_LINT_SECTION = re.compile(r"^==> Linting (.+)$", re.M)
_LINT_MESSAGE = re.compile(r"^\[(INFO|WARNING|ERROR)\] (.*)$")
_LINT_SUMMARY = re.compile(r"\d+ chart\(s\) linted, \d+ chart\(s\) failed")
_TRANSFER_LINE = re.compile(r"^(Pulled|Pushed|Digest): (\S+)$", re.M)
_UPDATED = re.compile(r'Successfully got an update from the "([^"]+)"')
_INSTALLED_PLUGIN = re.compile(r"^Installed plugin: (\S+)", re.M)
_SAVED = re.compile(r"saved it to: (.+)$", re.M)
_VERIFIED = re.compile(r"^(Signed by|Using Key With Fingerprint|Chart Hash Verified): (.+)$", re.M)
_ENV = re.compile(r'^(\w+)="(.*)"$', re.M)


def test_run(out: str, logs: bool) -> TestRun:
    """`helm test`: each suite's name and phase, and the pods' logs when asked for."""
    tests = [{"name": name, "phase": phase} for name, phase in _TEST_SUITE.findall(out)]
    return TestRun(tests=tests, logs=out.split("POD LOGS:", 1)[1].strip() if logs and "POD LOGS:" in out else None)


test_run.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def lint_messages(body: str) -> list[dict[str, str]]:
    """`[LEVEL] text` lines; Helm v4 continues a message on indented lines until a blank one."""
    messages: list[dict[str, str]] = []
    for line in body.splitlines():
        match = _LINT_MESSAGE.match(line)
        if match:
            messages.append({"severity": match.group(1), "message": match.group(2).strip()})
        elif line.strip() and messages and not _LINT_SUMMARY.search(line):
            messages[-1]["message"] += " " + line.strip()
    return messages


_GO_LOG_PREFIX = re.compile(r"^(?:\d{4}/\d\d/\d\d \d\d:\d\d:\d\d )?(?:[\w.-]+\.go:\d+: )?")
_LOGFMT_PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def lint_warnings(stderr: str) -> list[str]:
    """What helm logged while linting (stderr), e.g. a `required` value missing, which helm reports
    as a warning beside a passing lint: v3 as `engine.go:206: [INFO] Missing required value: ...`,
    v4 as `level=WARN msg="missing required value" message="..."`."""
    found: list[str] = []
    for line in stderr.splitlines():
        line = line.strip()
        if not line or line.startswith(("Error:", "WARNING: Kubernetes configuration file is")):
            continue  # the summary helm repeats on failure; a note about the server's own kubeconfig
        if line.startswith(("level=", "time=")):
            pairs = {key: value.strip('"').replace('\\"', '"') for key, value in _LOGFMT_PAIR.findall(line)}
            said = [pairs.get("msg", "")] + [v for k, v in pairs.items() if k not in ("time", "level", "msg")]
            line = ": ".join(part for part in said if part)
        else:
            line = _GO_LOG_PREFIX.sub("", line)
        if line and line not in found:
            found.append(line)
    return found


def lint_report(out: str) -> list[dict[str, Any]]:
    sections = _LINT_SECTION.split(out)[1:]  # [path, body, path, body, ...]
    return [
        {"path": path.strip(), "messages": lint_messages(body)}
        for path, body in zip(sections[::2], sections[1::2], strict=True)
    ]


def transfer_report(out: str) -> Transfer:
    """The `Pulled:`/`Pushed:`/`Digest:` lines helm prints for OCI transfers."""
    lines = dict(_TRANSFER_LINE.findall(out))
    return Transfer(reference=lines.get("Pushed") or lines.get("Pulled"), digest=lines.get("Digest"))


def tab_table(out: str) -> list[dict[str, str]]:
    """A tab-separated table read by its header row (lowercased); cells may hold spaces."""
    rows = [[c.strip() for c in line.split("\t")] for line in out.splitlines() if "\t" in line]
    header = [h.lower() for h in rows[0]] if rows else []
    return [dict(zip(header, row, strict=False)) for row in rows[1:]]


def plugin_table(out: str) -> list[dict[str, str]]:
    """`helm plugin list` has no JSON output: its tab-separated table is read by header."""
    lines = [line for line in out.splitlines() if line.strip()]
    if not lines:
        return []
    header = [cell.strip().lower().replace("apiversion", "api_version") for cell in lines[0].split("\t")]
    return [dict(zip(header, (cell.strip() for cell in line.split("\t")), strict=False)) for line in lines[1:]]


_GROUPS = ("repo", "search", "registry", "plugin")


def _what(argv: list[str]) -> str:
    """The error prefix: the command's verbs, e.g. 'helm repo add'."""
    return "helm " + " ".join(argv[:2] if argv[0] in _GROUPS else argv[:1])


# the engine ------------------------------------------------------------------------------------


class CliReleaseWriter:
    """Release changes through `helm install/upgrade/rollback/uninstall/test`."""

    def __init__(self, cli: HelmCli, major: HelmMajor, read_file: FileReader) -> None:
        self._cli = cli
        self._major = major
        self._read = read_file  # checks and size-caps every local values file

    async def _change(self, target: HelmTarget, request: InstallRequest, verb: str) -> ReleaseChanged:
        major = self._major
        with values_args(request.values, self._read) as value_flags:
            if isinstance(request, UpgradeRequest):
                args = build.upgrade_argv(major, request, value_flags)
            else:
                args = build.install_argv(major, request, value_flags)
            record = await self._cli.run_json(args, target, f"helm {verb} {request.release_name}")
        return ReleaseChanged(release_status_from_record(record), record.get("manifest") or "")

    async def install(self, target: HelmTarget, request: InstallRequest) -> ReleaseChanged:
        return await self._change(target, request, "install")

    async def upgrade(self, target: HelmTarget, request: UpgradeRequest) -> ReleaseChanged:
        return await self._change(target, request, "upgrade")

    async def rollback(self, target: HelmTarget, request: RollbackRequest) -> None:
        await self._cli.run(build.rollback_argv(self._major, request), target, f"helm rollback {request.release_name}")

    async def uninstall(self, target: HelmTarget, request: UninstallRequest) -> str:
        return await self._cli.run(build.uninstall_argv(request), target, f"helm uninstall {request.release_name}")

    async def test(self, target: HelmTarget, request: TestRequest) -> TestRun:
        out = await self._cli.run(build.test_argv(request), target, f"helm test {request.release_name}")
        return test_run(out, request.logs)


class CliHelmCommands:
    """The helm commands that need no cluster: charts, dependencies, repositories, registries,
    transfers and plugins."""

    def __init__(self, cli: HelmCli, major: HelmMajor, read_file: FileReader) -> None:
        self._cli = cli
        self._major = major
        self._read = read_file

    async def _run(self, args: list[str], stdin: str | None = None) -> str:
        """stdout and stderr together, since the majors differ in where they report (v3 prints
        `Pushed:`/`Digest:` on stderr)."""
        result = await self._cli.execute(args, None, stdin)
        if result.code != 0:
            raise helm_error(result.stderr, _what(args))
        return f"{result.stdout}\n{result.stderr}".strip()

    async def _json(self, args: list[str]) -> Any:
        return await self._cli.run_json(args, None, _what(args))

    # charts

    async def create(self, path: str, starter: str | None) -> None:
        await self._run(build.create_argv(path, starter))

    async def lint(self, request: LintRequest) -> LintReport:
        with values_args(request.values, self._read) as value_flags:
            result = await self._cli.execute(build.lint_argv(request, value_flags), None)
        summary = _LINT_SUMMARY.search(result.stdout + result.stderr)
        if summary is None:  # helm refused before linting (bad flag, unreadable values): report that
            raise helm_error(result.stderr, "helm lint")
        return LintReport(
            passed=result.code == 0,
            charts=lint_report(result.stdout),
            summary=summary.group(0),
            warnings=lint_warnings(result.stderr),
        )

    async def template(self, request: TemplateRequest) -> str:
        # stdout only: what helm logs on stderr (e.g. v4's 'skipping unknown hooks') is not a manifest
        with values_args(request.values, self._read) as value_flags:
            return await self._cli.run(build.template_argv(request, value_flags), None, "helm template")

    async def package(self, request: PackageRequest) -> str | None:
        saved = _SAVED.search(await self._run(build.package_argv(request)))
        return saved.group(1).strip() if saved else None

    async def verify(self, chart: str, keyring: str | None) -> Verification:
        fields = dict(_VERIFIED.findall(await self._run(build.verify_argv(chart, keyring))))
        return Verification(
            signed_by=fields.get("Signed by"),
            fingerprint=fields.get("Using Key With Fingerprint"),
            chart_hash=fields.get("Chart Hash Verified"),
        )

    async def show(self, what: ShowWhat, source: ChartSource) -> str:
        return await self._run(build.show_argv(what, source))

    async def dependency_list(self, chart_dir: str) -> list[dict[str, str]]:
        return tab_table(await self._run(build.dependency_list_argv(chart_dir)))

    async def dependency_fetch(self, verb: Literal["update", "build"], request: DependencyFetchRequest) -> str:
        return (await self._run(build.dependency_fetch_argv(verb, request))).strip()

    async def env(self) -> dict[str, str]:
        return dict(_ENV.findall(await self._run(["env"])))

    async def version(self) -> HelmVersionInfo:
        out = await self._cli.run(build.VERSION_ARGV, None, "helm version")
        version, commit, go = [*out.strip().split("|"), "", "", ""][:3]
        return HelmVersionInfo(version=version, git_commit=commit, go_version=go, binary=self._cli.binary.path)

    # repositories and search

    async def repo_list(self) -> list[RepoEntry]:
        """Helm calls having no repositories an error, which here is an empty list."""
        try:
            rows = await self._json(["repo", "list"]) or []
        except ToolError as exc:
            if "no repositories" in str(exc):
                return []
            raise
        return [RepoEntry(name=row["name"], url=row["url"]) for row in rows]

    async def repo_add(self, request: RepoAddRequest) -> str:
        return (await self._run(build.repo_add_argv(request), stdin=request.password)).strip()

    async def repo_update(self, names: list[str]) -> list[str]:
        return _UPDATED.findall(await self._run(build.repo_update_argv(self._major, names)))

    async def repo_remove(self, names: list[str]) -> None:
        await self._run(["repo", "remove", *names])

    async def repo_index(self, request: RepoIndexRequest) -> None:
        await self._run(build.repo_index_argv(request))

    async def search_repo(self, request: SearchRepoRequest) -> list[dict[str, Any]]:
        return await self._json(build.search_repo_argv(request)) or []

    async def search_hub(self, keyword: str, endpoint: str) -> list[dict[str, Any]]:
        return await self._json(build.search_hub_argv(keyword, endpoint)) or []

    # registries and transfers

    async def registry_login(self, request: RegistryLoginRequest) -> None:
        await self._run(build.registry_login_argv(self._major, request), stdin=request.password)

    async def registry_logout(self, hostname: str) -> None:
        await self._run(["registry", "logout", hostname])

    async def pull(self, request: PullRequest) -> Transfer:
        return transfer_report(await self._run(build.pull_argv(request)))

    async def push(self, request: PushRequest) -> Transfer:
        return transfer_report(await self._run(build.push_argv(request)))

    # plugins

    async def plugin_list(self) -> list[dict[str, str]]:
        return plugin_table(await self._run(["plugin", "list"]))

    async def plugin_install(self, request: PluginInstallRequest) -> str | None:
        found = _INSTALLED_PLUGIN.search(await self._run(build.plugin_install_argv(self._major, request)))
        return found.group(1) if found else None

    async def plugin_update(self, name: str) -> None:
        await self._run(["plugin", "update", name])

    async def plugin_uninstall(self, name: str) -> None:
        await self._run(["plugin", "uninstall", name])
