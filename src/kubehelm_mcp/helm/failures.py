"""Why a release change failed in a hook: helm says only the phase ('failed post-install: timed out
waiting for the condition'), so the failed release's record names the hooks that did not succeed and
their pods say why (waiting reason, exit code, the last log lines)."""

from __future__ import annotations

import contextlib
import re
from typing import Any

from kubehelm_mcp.errors import ToolError
from kubehelm_mcp.helm.models import HelmTarget
from kubehelm_mcp.kube.api import KubeApi

HOOK_PHASE = re.compile(r"failed (?:pre|post)-(?:install|upgrade|rollback|delete)")
LOG_LINES = 3
MAX_PODS = 3  # per hook: a Job retried many times fails the same way each time


def failed_hooks(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The record's hooks whose last run did not succeed (tests are helm_test's business)."""
    return [
        hook
        for hook in record.get("hooks") or []
        if (hook.get("last_run") or {}).get("phase") in ("Failed", "Running")
        and "test" not in (hook.get("events") or [])
    ]


def container_states(pod: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(container, what its state says, whether it ended in error) for each container, init first."""
    status = pod.get("status") or {}
    found = []
    for item in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
        state = item.get("state") or {}
        if "waiting" in state:
            waiting = state["waiting"] or {}
            said = f"waiting: {waiting.get('reason', '')} {waiting.get('message', '')}".strip()
            found.append((item.get("name", "?"), said, False))
        elif "terminated" in state:
            ended = state["terminated"] or {}
            code = ended.get("exitCode", 0)
            said = f"terminated: {ended.get('reason', '')} (exit code {code}) {ended.get('message', '')}".strip()
            found.append((item.get("name", "?"), said, code != 0))
        elif "running" in state:
            found.append((item.get("name", "?"), "still running", False))
    if not found:  # not scheduled or not started: the pod's own conditions say why
        for condition in status.get("conditions") or []:
            if condition.get("status") == "False" and condition.get("message"):
                found.append(("pod", f"{condition.get('reason', '')}: {condition['message']}", False))
    return found


async def _pod_lines(api: KubeApi, namespace: str, pod: dict[str, Any]) -> list[str]:
    name = (pod.get("metadata") or {}).get("name", "?")
    lines = [f"  pod {name}: {status.get('phase', '?')}" for status in [pod.get("status") or {}]]
    for container, said, errored in container_states(pod):
        lines.append(f"    {container} {said}")
        if errored:
            with contextlib.suppress(ToolError):  # the log is a bonus: the state already says why
                log = await api.request_text(
                    f"/api/v1/namespaces/{namespace}/pods/{name}/log",
                    query=[("container", container), ("tailLines", LOG_LINES)],
                    what=f"log of pod {name}",
                )
                lines += [f"    | {line}" for line in log.strip().splitlines()[-LOG_LINES:]]
    return lines


async def _hook_pods(api: KubeApi, namespace: str, hook: dict[str, Any]) -> list[dict[str, Any]]:
    kind, name = hook.get("kind"), hook.get("name", "")
    if kind == "Pod":
        return [await api.request("GET", f"/api/v1/namespaces/{namespace}/pods/{name}", what=f"pod {name}")]
    if kind == "Job":
        query = [("labelSelector", f"job-name={name}")]
        doc = await api.request("GET", f"/api/v1/namespaces/{namespace}/pods", query=query, what=f"pods of {name}")
        return list(doc.get("items") or [])[-MAX_PODS:]
    return []


async def hook_report(api: KubeApi, target: HelmTarget, record: dict[str, Any]) -> list[str]:
    """One line per hook that did not succeed, then its pods' states and last log lines."""
    lines: list[str] = []
    for hook in failed_hooks(record):
        events = ", ".join(hook.get("events") or [])
        phase = (hook.get("last_run") or {}).get("phase", "").lower()
        lines.append(f"hook {hook.get('kind')} {hook.get('name')} ({events}, {hook.get('path', '')}): {phase}")
        with contextlib.suppress(ToolError):  # gone (deleted by its policy) or not readable: the line above stands
            for pod in await _hook_pods(api, target.namespace, hook):
                lines += await _pod_lines(api, target.namespace, pod)
    return lines


def with_report(error: ToolError, lines: list[str]) -> ToolError:
    """The same error (same kind), its message followed by the report."""
    if lines:
        error.message = "\n".join([error.message, *lines])
        error.args = (error.message,)
    return error
