"""Why the scheduler finds no node for a pod, read from the pod's spec and the nodes: its
nodeSelector, its required node affinity, the taints it does not tolerate. One short line."""

from __future__ import annotations

import re
from typing import Any

from kubehelm_mcp.kube.diagnosis.facts import PodFacts, cut

MAX_NODES_NAMED = 3
# The scheduler's per-node reasons this module explains itself; any other (Insufficient cpu,
# volume node affinity, ...) keeps the scheduler's message.
EXPLAINED = re.compile(r"didn't match Pod's node affinity|had untolerated taint|that the pod didn't tolerate")
_REASONS = re.compile(r"nodes are available: (.*?)(?:\. preemption:|\.?$)")
_COUNTED = re.compile(r"\d+ node\(s\) ")
# Effects that keep a pod off a node it does not tolerate.
BLOCKING = frozenset({"NoSchedule", "NoExecute"})


def _matches_expression(expr: dict[str, Any], labels: dict[str, str]) -> bool:
    key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
    value = labels.get(str(key))
    if op == "In":
        return value in values
    if op == "NotIn":
        return value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt") and value is not None and values:
        try:
            have, want = int(value), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def _node_fields(node: dict[str, Any]) -> dict[str, str]:
    return {"metadata.name": str(node["metadata"]["name"])}


def _matches_term(term: dict[str, Any], node: dict[str, Any]) -> bool:
    labels = node["metadata"].get("labels") or {}
    return all(_matches_expression(e, labels) for e in term.get("matchExpressions") or []) and all(
        _matches_expression(e, _node_fields(node)) for e in term.get("matchFields") or []
    )


def _expression_text(expr: dict[str, Any]) -> str:
    values, op = ",".join(expr.get("values") or []), str(expr.get("operator"))
    if not values:
        return f"{expr.get('key')} {op}"
    return f"{expr.get('key')} {op.lower() if op in ('In', 'NotIn') else op} ({values})"


def _affinity_terms(spec: dict[str, Any]) -> list[dict[str, Any]]:
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    return list(required.get("nodeSelectorTerms") or [])


def _tolerates(taint: dict[str, Any], tolerations: list[dict[str, Any]]) -> bool:
    for t in tolerations:
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        if t.get("key") and t.get("key") != taint.get("key"):
            continue
        if not t.get("key") and t.get("operator") != "Exists":
            continue
        if t.get("operator") == "Exists" or t.get("value", "") == taint.get("value", ""):
            return True
    return False


def _taint_text(taint: dict[str, Any]) -> str:
    value = f"={taint['value']}" if taint.get("value") else ""
    return f"{taint.get('key')}{value}:{taint.get('effect')}"


def _misfits(spec: dict[str, Any], node: dict[str, Any], selector: str, affinity: str) -> list[str]:
    """What keeps the pod off this node, each as a short phrase; empty when it fits."""
    labels = node["metadata"].get("labels") or {}
    misfits = []
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        misfits.append(f"nodeSelector {selector}")
    terms = _affinity_terms(spec)
    if terms and not any(_matches_term(term, node) for term in terms):
        misfits.append(f"required node affinity {affinity}")
    tolerations = spec.get("tolerations") or []
    taints = [
        _taint_text(t)
        for t in (node.get("spec") or {}).get("taints") or []
        if t.get("effect") in BLOCKING and not _tolerates(t, tolerations)
    ]
    if taints:
        misfits.append(f"untolerated taint {', '.join(taints[:2])}")
    return misfits


def explain(pod: dict[str, Any], nodes: list[dict[str, Any]]) -> str | None:
    """One line naming what keeps the pod off every node, or None when its spec fits some node
    (then resources, ports or volumes are the cause, which the scheduler's message says)."""
    spec = pod.get("spec") or {}
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("nodeSelector") or {}).items()))
    affinity = " or ".join(
        " and ".join(_expression_text(e) for e in [*(t.get("matchExpressions") or []), *(t.get("matchFields") or [])])
        or "{}"
        for t in _affinity_terms(spec)
    )
    if not nodes:
        return "the cluster has no nodes"
    per_node = {str(node["metadata"]["name"]): _misfits(spec, node, selector, affinity) for node in nodes}
    if not all(per_node.values()):
        return None
    everywhere = [m for m in next(iter(per_node.values())) if all(m in misfits for misfits in per_node.values())]
    if everywhere:
        cause = everywhere[0]
        return f"{cause} matches no node" if not cause.startswith("untolerated") else f"{cause} on every node"
    named = [f"{name}: {', '.join(misfits)}" for name, misfits in list(per_node.items())[:MAX_NODES_NAMED]]
    more = len(per_node) - len(named)
    return "no node fits; " + "; ".join(named) + (f"; {more} more" if more else "")


def names_other_causes(scheduler_message: str) -> bool:
    """Whether the scheduler's message names a cause `explain` does not judge (Insufficient cpu, ...)."""
    reasons = _REASONS.search(scheduler_message)
    if reasons is None:
        return True
    return any(not EXPLAINED.search(part) for part in _COUNTED.split(reasons.group(1)) if part.strip(" ,"))


def restate(facts: PodFacts, pod: dict[str, Any], nodes: list[dict[str, Any]]) -> None:
    """Say what fails instead of the scheduler's counts; keep its message when it names more."""
    line, message = explain(pod, nodes), facts.scheduler_message
    if line is not None:
        other = message is not None and names_other_causes(message)
        facts.unschedulable = f"{line}; scheduler: {cut(message)}" if other else line
