"""What a diagnosis finds, as plain models: the failing pods, their containers, the warning events."""

from __future__ import annotations

from pydantic import BaseModel, Field

MAX_MESSAGE_CHARS = 300


def cut(text: str | None, limit: int = MAX_MESSAGE_CHARS) -> str | None:
    if not text:
        return None
    text = " ".join(text.split())
    return text if len(text) <= limit else f"{text[:limit]}..."


class ContainerFacts(BaseModel):
    name: str  # init containers as `init:<name>`
    reason: str | None = None  # waiting or terminated reason; NotReady for a running container failing readiness
    message: str | None = None
    exit_code: int | None = None  # of the current termination, else of the last one
    last_reason: str | None = None  # the last termination's reason, when the container restarted
    restarts: int = 0


class PodFacts(BaseModel):
    name: str
    phase: str
    reason: str | None = None  # the pod's own reason and message (Evicted, ...)
    unschedulable: str | None = None  # PodScheduled=False: what keeps it off every node, else the scheduler's message
    # the scheduler's own message, kept to recognise events repeating it; never shown
    scheduler_message: str | None = Field(default=None, exclude=True)
    containers: list[ContainerFacts] = []
    like: list[str] = []  # other pods failing exactly the same way
    log_of: str | None = None  # "<container>, previous run" or "<container>"
    log: list[str] | None = None  # its last lines


class EventFact(BaseModel):
    reason: str
    message: str
    count: int
    objects: list[str]  # what it was about, e.g. pod/web-1


class Subject(BaseModel):
    """One object's diagnosis: a one-line status, its problems, failing pods and warning events."""

    object: str  # "Deployment web"
    status: str
    healthy: bool
    problems: list[str] = []
    pods: list[PodFacts] = []
    events: list[EventFact] = []
