"""The CLI engine: drives a real helm binary through asyncio subprocesses.

Arguments are always a list (never a shell string); credentials travel in Helm's own
environment variables, not on the command line where other users could read them.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from dataclasses import dataclass
from typing import Any

import anyio

from kubehelm_mcp.concurrency import gather
from kubehelm_mcp.egress.proxy import EgressProxy
from kubehelm_mcp.errors import ClusterUnreachable, Forbidden, NotFound, ToolError
from kubehelm_mcp.helm.args import impersonation_flags
from kubehelm_mcp.helm.binaries import HelmBinary
from kubehelm_mcp.helm.commands import helm_command
from kubehelm_mcp.helm.egress import egress_environment
from kubehelm_mcp.helm.homes import HELM_UMASK, make_private
from kubehelm_mcp.helm.models import (
    HelmTarget,
    ReleaseListQuery,
    ReleaseMetadata,
    ReleaseRevision,
    ReleaseStatus,
    ReleaseSummary,
    list_shows_every_state_by_default,
    normalize_time,
    user_labels,
)
from kubehelm_mcp.kube.cluster_only import cluster_only_kubeconfig_file
from kubehelm_mcp.telemetry.hooks import NULL_OBSERVER, Observer


def _target_env(helm_target: HelmTarget) -> dict[str, str]:
    target = helm_target.cluster
    env = {
        "HELM_NAMESPACE": helm_target.namespace,
        "HELM_KUBEAPISERVER": target.apiserver or "",
        "HELM_KUBETOKEN": target.token or "",
        "HELM_KUBETLS_SERVER_NAME": target.tls_server_name or "",
    }
    if not target.user_credentials:
        # The caller's token is the only credential: helm gets a kubeconfig that names the cluster only.
        env["KUBECONFIG"], env["HELM_KUBECONTEXT"] = cluster_only_kubeconfig_file(target)
    elif target.apiserver and target.token:
        # A per-call identity replaces the server's: no kubeconfig client certificate may ride along.
        env["KUBECONFIG"] = os.devnull
    else:
        if target.kubeconfig:
            env["KUBECONFIG"] = target.kubeconfig
        if target.context:
            env["HELM_KUBECONTEXT"] = target.context
    if target.insecure_tls:
        env["HELM_KUBEINSECURE_SKIP_TLS_VERIFY"] = "true"
    return {k: v for k, v in env.items() if v}


# What Go's net/http and client-go print when the API server does not answer.
UNREACHABLE_MARKERS = (
    "cluster unreachable",
    "connection refused",
    "no such host",
    "connection reset by peer",
    "i/o timeout",
    "tls handshake timeout",
)


# What helm (and client-go inside it) prints on stderr that is about this server, not the call.
_NOISE = ("WARNING: Kubernetes configuration file is",)
_MULTIERROR = re.compile(r"^\d+ errors? occurred:$")
MAX_TAIL_LINES = 20  # without an 'Error:' line, the last lines helm printed


def error_lines(stderr: str) -> list[str]:
    """What helm said went wrong, every line in order: from its first 'Error:' line to the end
    (schema violations, each failing object, 'ensure CRDs are installed first' and the causes of
    Go's multierrors follow that line), without the 'Error:' prefix, blank lines or repeats."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip() and not line.startswith(_NOISE)]
    start = next((i for i, line in enumerate(lines) if line.startswith("Error:")), None)
    picked = lines[start:] if start is not None else lines[-MAX_TAIL_LINES:]
    if picked and picked[0].startswith("Error:"):
        picked[0] = picked[0].removeprefix("Error:").strip()
    out: list[str] = []
    for line in picked:
        if not out or line != out[-1]:
            out.append(line)
    return out


def _cause(line: str) -> str:
    """A multierror cause ('* text', printed with a tab) as a list item."""
    return f"- {line.lstrip('* ').strip()}" if line.startswith("*") else line


def error_message(lines: list[str]) -> str:
    """The lines as one message. Go's '1 error occurred:' heading gives way to its one cause
    ('failed post-install: job x failed: BackoffLimitExceeded')."""
    if not lines:
        return "helm failed"
    head, rest = lines[0], lines[1:]
    prefix, _, counted = head.rpartition(": ")
    if len(rest) == 1 and rest[0].startswith("*") and _MULTIERROR.match(counted or head):
        cause = rest[0].lstrip("* ").strip()
        return f"{prefix}: {cause}" if prefix else cause
    return "\n".join([head, *map(_cause, rest)])


def helm_error(stderr: str, what: str) -> ToolError:
    """Everything helm said went wrong, classified by its first line so the client sees the right kind of failure."""
    lines = error_lines(stderr)
    message = error_message(lines)
    lowered = (lines[0] if lines else message).lower()
    ending = "" if "\n" in message or message.endswith((".", "]", ")")) else "."  # helm's own lines stay as printed
    text = f"{what}: {message}{ending}"
    if "not found" in lowered:
        return NotFound(text)
    if any(marker in lowered for marker in UNREACHABLE_MARKERS):
        return ClusterUnreachable(text)
    if "forbidden" in lowered:
        return Forbidden(text)
    return ToolError(text)


@dataclass(frozen=True)
class HelmOutput:
    code: int
    stdout: str
    stderr: str


class HelmCli:
    """Runs one helm binary against one target."""

    def __init__(
        self, binary: HelmBinary, observer: Observer = NULL_OBSERVER, egress: EgressProxy | None = None
    ) -> None:
        self.binary = binary
        self._observer = observer
        self._egress = egress  # what helm fetches goes through it (kubehelm_mcp.egress)

    async def execute(self, args: list[str], target: HelmTarget | None, stdin: str | None = None) -> HelmOutput:
        with self._observer.helm_command(helm_command(args), "cli") as seen:
            result = await self._execute(args, target, stdin)
            seen.status = result.code
        return result

    async def _execute(self, args: list[str], target: HelmTarget | None, stdin: str | None) -> HelmOutput:
        """Run helm and return its exit code and output whatever the code (lint reports through both).

        `stdin` feeds flags like --password-stdin, so a secret never appears in the process list."""
        env = dict(os.environ)
        if target is not None:
            env.update(_target_env(target))
            args = [*impersonation_flags(target.cluster), *args]
        if self._egress is not None:
            env.update(await egress_environment(self._egress, target))
        proc = await asyncio.create_subprocess_exec(
            self.binary.path,
            *args,
            stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            umask=HELM_UMASK,  # what helm writes (repo and registry credentials, caches) stays private
        )
        try:
            out, err = await proc.communicate(None if stdin is None else stdin.encode())
        except asyncio.CancelledError:  # a timed-out or client-cancelled call must not leave helm running
            proc.kill()
            with anyio.CancelScope(shield=True):  # the scope stays cancelled: reap helm regardless
                await proc.wait()
            raise
        await anyio.to_thread.run_sync(make_private, env)
        return HelmOutput(proc.returncode or 0, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))

    async def run(self, args: list[str], target: HelmTarget | None, what: str, stdin: str | None = None) -> str:
        result = await self.execute(args, target, stdin)
        if result.code != 0:
            raise helm_error(result.stderr, what)
        return result.stdout

    async def run_json(self, args: list[str], target: HelmTarget | None, what: str) -> Any:
        return parse_json_output(await self.run([*args, "-o", "json"], target, what), what)


def parse_json_output(out: str, what: str) -> Any:
    """Helm's JSON, skipping the progress lines some commands print first (v4 prints
    'Pulled: ...' and 'Digest: ...' on stdout when it fetches an oci:// chart)."""
    lines = out.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(("{", "["))] or [0]
    try:
        return json.loads("\n".join(lines[starts[0] :])) if out.strip() else None
    except ValueError:
        raise ToolError(f"{what}: helm printed output that is not JSON.") from None


def _revision_args(revision: int | None) -> list[str]:
    return ["--revision", str(revision)] if revision is not None else []


class CliReleaseReader:
    """Release reads through `helm list`, `helm status`, `helm history` and `helm get`."""

    def __init__(self, cli: HelmCli) -> None:
        self._cli = cli

    async def list_releases(self, target: HelmTarget, query: ReleaseListQuery) -> list[ReleaseSummary]:
        args = ["list", "--max", str(query.limit), "--offset", str(query.offset)]
        if target.all_namespaces:
            args.append("--all-namespaces")
        if query.filter:
            args += ["--filter", query.filter]
        if query.selector:
            args += ["--selector", query.selector]
        if query.all_statuses and not list_shows_every_state_by_default(self._cli.binary.major):
            args.append("--all")
        args += [f"--{status}" for status in query.statuses]
        if query.sort_by_date:
            args.append("--date")
        if query.reverse:
            args.append("--reverse")
        rows = await self._cli.run_json(args, target, "helm list") or []
        return [
            ReleaseSummary(
                name=row["name"],
                namespace=row["namespace"],
                revision=int(row["revision"]),
                updated=normalize_time(row.get("updated")),
                status=row["status"],
                chart=row["chart"],
                app_version=row.get("app_version", ""),
            )
            for row in rows
        ]

    async def status(self, target: HelmTarget, release_name: str, revision: int | None) -> ReleaseStatus:
        # `helm status -o json` omits the chart; `helm get metadata` has it.
        revision_args = _revision_args(revision)
        what = f"helm status {release_name}"
        doc, meta = await gather(
            self._cli.run_json(["status", release_name, *revision_args], target, what),
            self._cli.run_json(["get", "metadata", release_name, *revision_args], target, what),
        )
        doc["chart"] = {
            "metadata": {"name": meta["chart"], "version": meta["version"], "appVersion": meta.get("appVersion", "")}
        }
        return release_status_from_record(doc)

    async def history(self, target: HelmTarget, release_name: str, max_revisions: int) -> list[ReleaseRevision]:
        rows = await self._cli.run_json(
            ["history", release_name, "--max", str(max_revisions)], target, f"helm history {release_name}"
        )
        return [
            ReleaseRevision(
                revision=int(row["revision"]),
                updated=normalize_time(row.get("updated")),
                status=row.get("status", ""),
                chart=row.get("chart", ""),
                app_version=row.get("app_version", "") or "",
                description=row.get("description", "") or "",
            )
            for row in rows or []
        ]

    async def values(
        self, target: HelmTarget, release_name: str, revision: int | None, all_values: bool
    ) -> dict[str, Any]:
        args = ["get", "values", release_name, *_revision_args(revision), *(["--all"] if all_values else [])]
        values = await self._cli.run_json(args, target, f"helm get values {release_name}")
        return values if isinstance(values, dict) else {}

    async def _get_text(self, what: str, target: HelmTarget, release_name: str, revision: int | None) -> str:
        args = ["get", what, release_name, *_revision_args(revision)]
        return await self._cli.run(args, target, f"helm get {what} {release_name}")

    async def manifest(self, target: HelmTarget, release_name: str, revision: int | None) -> str:
        return await self._get_text("manifest", target, release_name, revision)

    async def hooks(self, target: HelmTarget, release_name: str, revision: int | None) -> str:
        return await self._get_text("hooks", target, release_name, revision)

    async def notes(self, target: HelmTarget, release_name: str, revision: int | None) -> str:
        text = await self._get_text("notes", target, release_name, revision)
        return text.removeprefix("NOTES:\n").strip()

    async def metadata(self, target: HelmTarget, release_name: str, revision: int | None) -> ReleaseMetadata:
        args = ["get", "metadata", release_name, *_revision_args(revision)]
        doc = await self._cli.run_json(args, target, f"helm get metadata {release_name}")
        return metadata_from_get_json(doc)


def release_status_from_record(doc: dict[str, Any]) -> ReleaseStatus:
    """Build a status from a release record as Helm serialises it (CLI JSON and storage alike)."""
    info = doc.get("info") or {}
    meta = (doc.get("chart") or {}).get("metadata") or {}
    return ReleaseStatus(
        name=doc["name"],
        namespace=doc.get("namespace", ""),
        revision=int(doc.get("version", 0)),
        status=info.get("status", "unknown"),
        chart=f"{meta.get('name', '')}-{meta.get('version', '')}",
        app_version=meta.get("appVersion", "") or "",
        first_deployed=normalize_time(info.get("first_deployed")),
        last_deployed=normalize_time(info.get("last_deployed")),
        description=info.get("description", ""),
        notes=info.get("notes", "") or "",
    )


def metadata_from_get_json(doc: dict[str, Any]) -> ReleaseMetadata:
    """`helm get metadata -o json` (the SDK's get_metadata has the same shape), mapped onto a record."""
    chart_keys = ("version", "appVersion", "annotations", "dependencies")
    record = {
        "name": doc["name"],
        "namespace": doc.get("namespace", ""),
        "version": doc.get("revision", 0),
        "info": {"status": doc.get("status", ""), "last_deployed": doc.get("deployedAt")},
        "chart": {"metadata": {"name": doc.get("chart", ""), **{k: doc[k] for k in chart_keys if k in doc}}},
        "labels": doc.get("labels"),
    }
    return metadata_from_record(record)


def metadata_from_record(record: dict[str, Any]) -> ReleaseMetadata:
    """`helm get metadata` from a release record (the CLI's JSON is mapped onto one first)."""
    chart = (record.get("chart") or {}).get("metadata") or {}
    info = record.get("info") or {}
    return ReleaseMetadata(
        name=record["name"],
        chart=chart.get("name", ""),
        version=chart.get("version", ""),
        app_version=chart.get("appVersion", "") or "",
        namespace=record.get("namespace", ""),
        revision=int(record.get("version", 0)),
        status=info.get("status", ""),
        deployed_at=normalize_time(info.get("last_deployed")),
        annotations=chart.get("annotations") or {},
        dependencies=chart.get("dependencies") or [],
        labels=user_labels(record.get("labels")),
    )
