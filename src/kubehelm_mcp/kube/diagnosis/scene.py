"""What every diagnosis in one namespace reads once: its warning events; and the reads it repeats."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from kubehelm_mcp.errors import Forbidden, NotFound
from kubehelm_mcp.kube.api import KubeApi
from kubehelm_mcp.kube.diagnosis.facts import EventFact, PodFacts
from kubehelm_mcp.kube.diagnosis.pods import LOG_LINES
from kubehelm_mcp.kube.discovery import Discovery
from kubehelm_mcp.kube.events import EventQuery, condense, list_events
from kubehelm_mcp.kube.resources import get_object

WARNINGS_READ = 1000  # newest warning events of the namespace read per diagnosis
MAX_EVENT_OBJECTS = 3
LIST_LIMIT = 500  # objects read per list; a diagnosis is about what is failing, not an inventory
# Warnings about the node's setup that every pod gets and no failure is explained by.
NEVER_A_CAUSE = frozenset({"MissingClusterDNS"})
# Steps a pod retries until they work: a warning about one is old news once the pod got past it.
PASSED_STEPS = frozenset({"FailedMount", "FailedAttachVolume", "FailedCreatePodSandBox"})
# Waiting reasons of a pod still at those steps.
SETTING_UP = frozenset({"ContainerCreating", "PodInitializing"})
MIN_QUOTED_CHARS = 20  # a shorter shown message inside an event's is a coincidence, not a quote
_BARE_REASON = re.compile(r"Error: [A-Z][A-Za-z]+")


@dataclass
class Scene:
    api: KubeApi
    discovery: Discovery
    namespace: str
    log_lines: int = LOG_LINES
    warnings: list[dict[str, Any]] = field(default_factory=list)  # event rows, oldest first
    notes: list[str] = field(default_factory=list)  # what could not be read, once per diagnosis
    _nodes: list[dict[str, Any]] | None = None

    @classmethod
    async def open(cls, api: KubeApi, discovery: Discovery, namespace: str, log_lines: int = LOG_LINES) -> Scene:
        scene = cls(api, discovery, namespace, log_lines)
        try:
            page = await list_events(api, EventQuery(namespace, event_type="Warning"), newest=WARNINGS_READ)
        except Forbidden as exc:  # RBAC may allow the objects but not their events
            scene.notes.append(f"Events not shown: {exc.message}")
        else:
            scene.warnings = page.rows
        return scene

    async def get(self, kind: str, name: str) -> dict[str, Any]:
        rt = await self.discovery.resolve(kind)
        return await get_object(self.api, rt, name, self.namespace if rt.namespaced else None, may_watch=True)

    async def list_of(self, kind: str, selector: str | None = None) -> list[dict[str, Any]]:
        rt = await self.discovery.resolve(kind)
        query: list[tuple[str, Any]] = [("limit", LIST_LIMIT)]
        if selector:
            query.append(("labelSelector", selector))
        what = f"The {rt.plural} of namespace '{self.namespace}'"
        doc = await self.api.request("GET", rt.collection_path(self.namespace), query=query, what=what)
        items: list[dict[str, Any]] = doc.get("items") or []
        for item in items:  # list items carry no kind
            item.setdefault("kind", rt.kind)
        return items

    async def nodes(self) -> list[dict[str, Any]] | None:
        """The cluster's nodes, read once; None when they may not be read (then the scheduler's word stands)."""
        if self._nodes is None:
            try:
                self._nodes = await self.list_of("Node")
            except (Forbidden, NotFound):
                self._nodes = []
                return None
        return self._nodes or None

    def events(self, objects: set[str], covered: Covered) -> list[EventFact]:
        """The warning events about these objects (`kind/name`, kind lower-case), each once,
        without those that only repeat a fact already shown."""
        rows = [
            row
            for row in self.warnings
            if row["object"] in objects and not (row["reason"] in PASSED_STEPS and row["object"] in covered.started)
        ]
        facts = []
        for row in condense(rows, warnings_only=True):
            if covered.repeats(row["reason"], row["message"]):
                continue
            shown = row["objects"][:MAX_EVENT_OBJECTS]
            more = len(row["objects"]) - len(shown)
            facts.append(
                EventFact(
                    reason=row["reason"],
                    message=row["message"],
                    count=row["count"],
                    objects=[*shown, *([f"{more} more"] if more else [])],
                )
            )
        return facts


@dataclass
class Covered:
    """Facts a diagnosis already states, so an event saying the same is not shown again."""

    messages: set[str] = field(default_factory=set)
    reasons: set[str] = field(default_factory=set)
    started: set[str] = field(default_factory=set)  # pods past mounting volumes and making their sandbox
    problems: list[str] = field(default_factory=list)  # stated problems: an event message inside one repeats it

    def add_pods(self, pods: list[PodFacts]) -> None:
        for pod in pods:
            if pod.phase == "Running" or any(c.reason not in SETTING_UP for c in pod.containers):
                self.started.update(f"pod/{name}" for name in [pod.name, *pod.like])
            self.messages.update(filter(None, [pod.unschedulable, pod.scheduler_message]))
            for c in pod.containers:
                self.messages.update(filter(None, [c.message]))
                self.reasons.update(filter(None, [c.reason]))

    def repeats(self, reason: str, message: str) -> bool:
        if reason in NEVER_A_CAUSE:
            return True
        # the event quotes a message already shown ("Failed to pull image X: <the container's message>")
        if any(m == message or (len(m) >= MIN_QUOTED_CHARS and m in message) for m in self.messages):
            return True
        if len(message) >= MIN_QUOTED_CHARS and any(message in problem for problem in self.problems):
            return True  # a condition's message, already stated as a problem
        if self.reasons and _BARE_REASON.fullmatch(message):
            return True  # the kubelet's "Error: ImagePullBackOff": a container state, already shown
        # "Back-off restarting failed container" / "Back-off pulling image": the container's *BackOff says it
        return reason == "BackOff" and any(r.endswith("BackOff") for r in self.reasons)
