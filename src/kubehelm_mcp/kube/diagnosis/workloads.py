"""A workload's own state in one line, what is wrong with it, and the pods it selects."""

from __future__ import annotations

from typing import Any

from kubehelm_mcp.kube.diagnosis.facts import cut

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")


def label_selector(selector: dict[str, Any] | None) -> str | None:
    """A LabelSelector as the `labelSelector` query parameter; None when it selects nothing."""
    if not selector:
        return None
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), ",".join(expr.get("values") or [])
        parts.append(
            {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": str(key)}.get(
                str(op), f"!{key}"
            )
        )
    return ",".join(parts) or None


def _condition_problems(obj: dict[str, Any], bad: dict[str, str]) -> list[str]:
    """Conditions in their bad state (type -> the status that is bad), as `Type: reason: message`."""
    problems = []
    for c in (obj.get("status") or {}).get("conditions") or []:
        if bad.get(str(c.get("type"))) == c.get("status"):
            text = ": ".join(filter(None, [c.get("type"), c.get("reason"), cut(c.get("message"))]))
            problems.append(text)
    return problems


def _replicas(ready: int, desired: int, extra: str = "") -> tuple[str, bool]:
    return f"{ready}/{desired} ready{extra}", ready >= desired


def workload_state(kind: str, obj: dict[str, Any]) -> tuple[str, bool, list[str]]:
    """(status line, healthy by its own status, problems its conditions state)."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if kind in ("Deployment", "StatefulSet", "ReplicaSet"):
        desired = int(spec.get("replicas", 1))
        unavailable = int(status.get("unavailableReplicas") or 0)
        line, ok = _replicas(
            int(status.get("readyReplicas") or 0), desired, f", {unavailable} unavailable" * bool(unavailable)
        )
        # Available=False only restates the ready count; these say why pods do not come
        bad = {"Progressing": "False", "ReplicaFailure": "True"}
        problems = _condition_problems(obj, bad)
        return line, ok and not problems, problems
    if kind == "DaemonSet":
        line, ok = _replicas(int(status.get("numberReady") or 0), int(status.get("desiredNumberScheduled") or 0))
        misscheduled = int(status.get("numberMisscheduled") or 0)
        problems = [f"{misscheduled} pod(s) on nodes they should not run on"] if misscheduled else []
        return line, ok and not problems, problems
    if kind == "Job":
        pods = ", ".join(f"{status.get(k)} {k}" for k in ("active", "succeeded", "failed") if status.get(k))
        problems = _condition_problems(obj, {"Failed": "True"})
        conditions = status.get("conditions") or []
        complete = any(c.get("type") == "Complete" and c.get("status") == "True" for c in conditions)
        state = "complete" if complete else "failed" if problems else "running"
        return f"{state}; pods: {pods or 'none yet'}", not problems, problems
    if kind == "CronJob":
        active = len(status.get("active") or [])
        parts = [f"schedule {spec.get('schedule')}", "suspended" if spec.get("suspend") else ""]
        parts.append(f"last run {status['lastScheduleTime']}" if status.get("lastScheduleTime") else "never run")
        parts.append(f"{active} active job(s)" if active else "")
        return ", ".join(filter(None, parts)), True, []
    raise ValueError(f"not a workload kind: {kind}")


def owned_by(obj: dict[str, Any], uid: str) -> bool:
    return any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or [])
