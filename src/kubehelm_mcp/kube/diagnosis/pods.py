"""A pod's failure as facts: phase, scheduling, each unhealthy container, and its last log lines."""

from __future__ import annotations

from typing import Any

from kubehelm_mcp.concurrency import gather
from kubehelm_mcp.errors import ToolError
from kubehelm_mcp.kube.api import KubeApi
from kubehelm_mcp.kube.diagnosis.facts import ContainerFacts, PodFacts, cut
from kubehelm_mcp.kube.logs import LogQuery, keep_newest, read_log_lines

LOG_LINES = 20
# Bytes of log kept per pod (keep_newest counts a line twice: text and its JSON-escaped copy).
LOG_BUDGET = 4096
MAX_LINE_CHARS = 300
# Waiting reasons of a container that never ran: it has no log to read.
NEVER_RAN = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError"}
)


def _container(status: dict[str, Any], init: bool) -> ContainerFacts | None:
    """None for a container that is fine: running and ready, or finished with exit code 0."""
    state = status.get("state") or {}
    last = (status.get("lastState") or {}).get("terminated") or {}
    waiting, terminated = state.get("waiting"), state.get("terminated")
    name = f"init:{status['name']}" if init else str(status["name"])
    restarts = int(status.get("restartCount") or 0)
    if terminated:
        if terminated.get("exitCode") == 0:
            return None
        return ContainerFacts(
            name=name,
            reason=terminated.get("reason"),
            message=cut(terminated.get("message")),
            exit_code=terminated.get("exitCode"),
            restarts=restarts,
        )
    if waiting:
        reason = waiting.get("reason")
        # CrashLoopBackOff's message only restates the back-off; the last exit says why
        message = None if reason == "CrashLoopBackOff" else cut(waiting.get("message"))
    elif status.get("ready") or init:  # a running init container is on its way
        return None
    else:
        reason, message = "NotReady", None
    return ContainerFacts(
        name=name,
        reason=reason,
        message=message,
        exit_code=last.get("exitCode"),
        last_reason=last.get("reason"),
        restarts=restarts,
    )


def _condition(pod: dict[str, Any], kind: str) -> dict[str, Any]:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == kind), {})


def pod_facts(pod: dict[str, Any]) -> PodFacts | None:
    """None for a pod that is fine: succeeded, ready, or being deleted."""
    status = pod.get("status") or {}
    phase = str(status.get("phase") or "Unknown")
    if phase == "Succeeded" or pod["metadata"].get("deletionTimestamp"):
        return None
    if phase == "Running" and _condition(pod, "Ready").get("status") == "True":
        return None
    scheduled = _condition(pod, "PodScheduled")
    containers = [
        facts
        for section, init in (("initContainerStatuses", True), ("containerStatuses", False))
        for s in status.get(section) or []
        if (facts := _container(s, init)) is not None
    ]
    reason = " ".join(filter(None, [status.get("reason"), cut(status.get("message"))])) or None
    scheduler = cut(scheduled.get("message")) if scheduled.get("status") == "False" else None
    return PodFacts(
        name=pod["metadata"]["name"],
        phase=phase,
        reason=reason,
        unschedulable=scheduler,
        scheduler_message=scheduler,
        containers=containers,
    )


def _signature(facts: PodFacts) -> tuple[Any, ...]:
    containers = tuple((c.name, c.reason, c.exit_code, c.last_reason) for c in facts.containers)
    return facts.phase, facts.reason, facts.unschedulable, containers


def group_alike(failing: list[PodFacts]) -> list[PodFacts]:
    """Pods failing the same way are one fact: the first of them, naming the others in `like`."""
    groups: dict[tuple[Any, ...], PodFacts] = {}
    for facts in failing:
        first = groups.setdefault(_signature(facts), facts)
        if first is not facts:
            first.like.append(facts.name)
    return list(groups.values())


def _log_source(facts: PodFacts) -> tuple[str, bool] | None:
    """The container whose log explains the failure, and whether its previous run's: one that
    terminated (or restarted) first, else one running but not ready; never one that never ran."""
    for c in facts.containers:
        if c.restarts and c.last_reason is not None:
            return c.name, True
    for c in facts.containers:
        if c.exit_code is not None and c.reason not in NEVER_RAN:
            return c.name, False
    for c in facts.containers:
        if c.reason == "NotReady":
            return c.name, False
    return None


async def _read_tail(api: KubeApi, namespace: str, pod: str, container: str, previous: bool, lines: int) -> list[str]:
    query = LogQuery(container.removeprefix("init:"), tail_lines=lines, previous=previous)
    read = await read_log_lines(api, namespace, pod, query)
    cut_lines = [line if len(line) <= MAX_LINE_CHARS else f"{line[:MAX_LINE_CHARS]}..." for line in read]
    return keep_newest(cut_lines, LOG_BUDGET)[0]


async def add_log(api: KubeApi, namespace: str, facts: PodFacts, lines: int = LOG_LINES) -> None:
    """The last lines of the failing container's previous run (its current one when it has none).
    A log that cannot be read (gone with the node, RBAC) is simply not shown."""
    source = _log_source(facts)
    if source is None:
        return
    container, previous = source
    try:
        log = await _read_tail(api, namespace, facts.name, container, previous, lines)
    except ToolError:
        if not previous:
            return
        try:
            log, previous = await _read_tail(api, namespace, facts.name, container, False, lines), False
        except ToolError:
            return
    if log:
        facts.log_of = f"{container}, previous run" if previous else container
        facts.log = log


async def add_logs(api: KubeApi, namespace: str, groups: list[PodFacts], lines: int = LOG_LINES) -> None:
    await gather(*(add_log(api, namespace, facts, lines) for facts in groups))
