"""Events, newest last, as kubectl shows them: for one object (describe) or a namespace."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from kubehelm_mcp.kube.api import KubeApi
from kubehelm_mcp.kube.resources import age

PAGE_SIZE = 500
MAX_SCANNED = 5000  # events read per call at most; a busy cluster has far more


@dataclass(frozen=True)
class EventQuery:
    namespace: str | None  # None: every namespace
    kind: str | None = None
    name: str | None = None
    uid: str | None = None
    event_type: str | None = None  # Normal or Warning

    def field_selector(self) -> str:
        parts = [
            f"{field}={value}"
            for field, value in (
                ("involvedObject.kind", self.kind),
                ("involvedObject.name", self.name),
                ("involvedObject.uid", self.uid),
                ("type", self.event_type),
            )
            if value
        ]
        if self.namespace and (self.kind or self.name):
            parts.append(f"involvedObject.namespace={self.namespace}")
        return ",".join(parts)


@dataclass
class EventPage:
    rows: list[dict[str, Any]]  # oldest first
    matched: int  # how many matched (of those scanned)
    complete: bool  # False when more than MAX_SCANNED matched


def _when(event: dict[str, Any]) -> str:
    series = event.get("series") or {}
    return str(
        event.get("lastTimestamp")
        or series.get("lastObservedTime")
        or event.get("eventTime")
        or event.get("firstTimestamp")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )


def _source(event: dict[str, Any]) -> str:
    source = event.get("source") or {}
    component = source.get("component") or event.get("reportingComponent") or ""
    host = source.get("host")
    return f"{component}, {host}" if component and host else component


def event_row(event: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    involved = event.get("involvedObject") or {}
    count = event.get("count") or (event.get("series") or {}).get("count") or 1
    when = _when(event)
    since = age(when, now) if when else ""
    return {
        "namespace": (event.get("metadata") or {}).get("namespace", ""),
        "type": event.get("type", ""),
        "reason": event.get("reason", ""),
        "object": f"{involved.get('kind', '').lower()}/{involved.get('name', '')}",
        "last_seen": f"{since} (x{count})" if count > 1 else since,
        "from": _source(event),
        "message": " ".join(str(event.get("message", "")).split()),
        "count": count,
        "time": when,
    }


async def list_events(api: KubeApi, query: EventQuery, *, newest: int) -> EventPage:
    """The `newest` most recent matching events, oldest first."""
    path = f"/api/v1/namespaces/{query.namespace}/events" if query.namespace else "/api/v1/events"
    params: list[tuple[str, Any]] = [("limit", PAGE_SIZE)]
    if query.field_selector():
        params.append(("fieldSelector", query.field_selector()))
    events: list[dict[str, Any]] = []
    token = None
    while True:
        doc = await api.request(
            "GET", path, query=[*params, *([("continue", token)] if token else [])], what="The events"
        )
        events.extend(doc.get("items") or [])
        token = (doc.get("metadata") or {}).get("continue")
        if not token or len(events) >= MAX_SCANNED:
            break
    now = dt.datetime.now(dt.UTC)
    rows = sorted((event_row(e, now) for e in events), key=lambda row: row["time"])
    return EventPage(rows=rows[-newest:] if newest else [], matched=len(rows), complete=not token)


async def object_events(api: KubeApi, obj: dict[str, Any], *, namespaced: bool, newest: int) -> EventPage:
    """Events about `obj`, matched by uid too, so a deleted namesake's events are not mixed in.
    Events about cluster-scoped objects may sit in any namespace, so those are searched everywhere."""
    meta = obj.get("metadata") or {}
    query = EventQuery(
        namespace=meta.get("namespace") if namespaced else None,
        kind=obj.get("kind"),
        name=meta.get("name"),
        uid=meta.get("uid"),
    )
    return await list_events(api, query, newest=newest)


# Normal events every healthy object produces on its way up: they explain nothing. (ScalingReplicaSet
# stays: it is a Deployment's rollout history.)
ROUTINE_REASONS = frozenset(
    {
        "Scheduled",
        "Pulling",
        "Pulled",
        "Created",
        "Started",
        "Killing",
        "SuccessfulCreate",
        "SuccessfulDelete",
        "SuccessfulAttach",
        "SuccessfulMountVolume",
        "Completed",
        "SawCompletedJob",
        "SuccessfulRescale",
        "Sync",
    }
)
_COUNT_SUFFIX = re.compile(r" \(x\d+\)$")


def condense(rows: list[dict[str, Any]], *, warnings_only: bool = False) -> list[dict[str, Any]]:
    """Each (type, reason, message) once, oldest first: the newest row of it, its count summed over
    the repeats, and the objects it was about (`objects`); routine Normal events dropped."""
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in rows:  # oldest first, so each group ends holding its newest row
        if row["type"] == "Normal" and (warnings_only or row["reason"] in ROUTINE_REASONS):
            continue
        key = (row["type"], row["reason"], row["message"])
        seen = groups.pop(key, None)  # re-inserted: the group moves to where its newest row is
        objects = [*(seen["objects"] if seen else []), row["object"]]
        count = row["count"] + (seen["count"] if seen else 0)
        since = _COUNT_SUFFIX.sub("", row["last_seen"])
        last_seen = f"{since} (x{count})" if count > 1 else since
        groups[key] = {**row, "count": count, "last_seen": last_seen, "objects": list(dict.fromkeys(objects))}
    return list(groups.values())
