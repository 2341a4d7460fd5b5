"""The CLI engine: drives a real helm binary through asyncio subprocesses.

Arguments are always a list (never a shell string); credentials travel in Helm's own
environment variables, not on the command line where other users could read them.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from kubehelm_mcp.errors import ClusterUnavailable, Forbidden, NotFound, ToolError
from kubehelm_mcp.helm.binaries import HelmBinary
from kubehelm_mcp.helm.models import (
    HelmTarget,
    ReleaseListQuery,
    ReleaseStatus,
    ReleaseSummary,
    list_shows_every_state_by_default,
    normalize_time,
)


def _target_env(helm_target: HelmTarget) -> dict[str, str]:
    target = helm_target.cluster
    env = {
        "HELM_NAMESPACE": helm_target.namespace,
        "HELM_KUBEAPISERVER": target.apiserver or "",
        "HELM_KUBETOKEN": target.token or "",
        "HELM_KUBETLS_SERVER_NAME": target.tls_server_name or "",
    }
    if target.apiserver and target.token:
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


def helm_error(stderr: str, what: str) -> ToolError:
    """Helm's last 'Error:' line, classified so the client sees the right kind of failure."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    message = (errors[-1] if errors else (lines[-1] if lines else "helm failed")).removeprefix("Error:").strip()
    lowered = message.lower()
    if "not found" in lowered:
        return NotFound(f"{what}: {message}.")
    if "cluster unreachable" in lowered or "connection refused" in lowered or "no such host" in lowered:
        return ClusterUnavailable(f"{what}: {message}.")
    if "forbidden" in lowered:
        return Forbidden(f"{what}: {message}.")
    return ToolError(f"{what}: {message}.")


class HelmCli:
    """Runs one helm binary against one target."""

    def __init__(self, binary: HelmBinary) -> None:
        self.binary = binary

    async def run(self, args: list[str], target: HelmTarget | None, what: str) -> str:
        env = dict(os.environ)
        if target is not None:
            env.update(_target_env(target))
        proc = await asyncio.create_subprocess_exec(
            self.binary.path,
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        try:
            out, err = await proc.communicate()
        except asyncio.CancelledError:  # a timed-out call must not leave helm running
            proc.kill()
            await proc.wait()
            raise
        if proc.returncode != 0:
            raise helm_error(err.decode("utf-8", "replace"), what)
        return out.decode("utf-8", "replace")

    async def run_json(self, args: list[str], target: HelmTarget | None, what: str) -> Any:
        out = await self.run([*args, "-o", "json"], target, what)
        try:
            return json.loads(out) if out.strip() else None
        except ValueError:
            raise ToolError(f"{what}: helm printed output that is not JSON.") from None


class CliReleaseReader:
    """Release reads through `helm list` / `helm status` with -o json."""

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
        revision_args = ["--revision", str(revision)] if revision is not None else []
        what = f"helm status {release_name}"
        doc, meta = await asyncio.gather(
            self._cli.run_json(["status", release_name, *revision_args], target, what),
            self._cli.run_json(["get", "metadata", release_name, *revision_args], target, what),
        )
        doc["chart"] = {
            "metadata": {"name": meta["chart"], "version": meta["version"], "appVersion": meta.get("appVersion", "")}
        }
        return release_status_from_record(doc)


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
