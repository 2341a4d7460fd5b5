"""Typed results shared by every Helm engine, so tools and tests compare like with like."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from kubehelm_mcp.kube.target import ClusterTarget

HelmMajor = Literal["v3", "v4"]

RELEASE_STATUSES = (
    "deployed",
    "failed",
    "pending-install",
    "pending-upgrade",
    "pending-rollback",
    "superseded",
    "uninstalled",
    "uninstalling",
    "unknown",
)


@dataclass(frozen=True)
class HelmTarget:
    """Where a Helm call acts: the cluster (with its identity) and the namespace."""

    cluster: ClusterTarget
    namespace: str
    all_namespaces: bool = False


LIST_STATUS_FLAGS = ("deployed", "failed", "pending", "superseded", "uninstalled", "uninstalling")


def list_shows_every_state_by_default(major: str) -> bool:
    """Helm v3 lists deployed and failed releases unless told otherwise; Helm v4 (which dropped
    `--all`) lists releases in every state."""
    return major == "v4"


@dataclass(frozen=True)
class ReleaseListQuery:
    filter: str | None = None
    selector: str | None = None
    statuses: tuple[str, ...] = ()  # helm list's status flags; empty means deployed + failed
    all_statuses: bool = False
    sort_by_date: bool = False
    reverse: bool = False
    limit: int = 256
    offset: int = 0


@dataclass(frozen=True)
class ReleaseSummary:
    name: str
    namespace: str
    revision: int
    updated: str
    status: str
    chart: str
    app_version: str


@dataclass(frozen=True)
class ReleaseStatus:
    name: str
    namespace: str
    revision: int
    status: str
    chart: str
    app_version: str
    first_deployed: str
    last_deployed: str
    description: str
    notes: str


@dataclass(frozen=True)
class ReleaseRevision:
    """One row of `helm history`."""

    revision: int
    updated: str
    status: str
    chart: str
    app_version: str
    description: str


# Labels Helm's storage sets itself; `helm get metadata` of v4 shows them, v3 hides them.
SYSTEM_LABELS = frozenset({"name", "owner", "status", "version", "createdAt", "modifiedAt"})


@dataclass(frozen=True)
class ReleaseMetadata:
    """`helm get metadata`, with only the user's own release labels."""

    name: str
    chart: str
    version: str
    app_version: str
    namespace: str
    revision: int
    status: str
    deployed_at: str
    annotations: dict[str, str] = field(default_factory=dict)
    dependencies: list[dict[str, Any]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)


def user_labels(labels: dict[str, str] | None) -> dict[str, str]:
    return {k: v for k, v in (labels or {}).items() if k not in SYSTEM_LABELS}


_GO_TIME = re.compile(r"^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:\.\d+)?\s*(Z|[+-]\d\d:?\d\d)?")


def normalize_time(value: str | None) -> str:
    """Helm prints Go times ('2026-01-02 15:04:05.999 +0000 UTC') or RFC 3339; keep UTC seconds."""
    if not value:
        return ""
    match = _GO_TIME.match(value.strip())
    if not match:
        return value
    date, clock, zone = match.groups()
    zone = zone or "Z"
    if zone != "Z" and ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    parsed = dt.datetime.fromisoformat(f"{date}T{clock}{'+00:00' if zone == 'Z' else zone}")
    return parsed.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
